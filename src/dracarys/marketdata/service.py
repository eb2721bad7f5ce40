"""Market data rules: an upload is checked for size and type (`dracarys.files`), read
by `engine.data` in the engine's sandbox process (any CSV layout it knows, or Parquet),
refused at its first bad cell with the row and column, checked against its instrument
and timeframe, then written as Parquet under `<data dir>/market-data/<symbol>/<timeframe>/`
and recorded in one step: a refused upload leaves neither a file nor a row. Only the
owner sees a private dataset; to anyone else it does not exist (404)."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import anyio
import numpy as np
import polars as pl

from dracarys.db import transaction
from dracarys.errors import InvalidInput, NotFound
from dracarys.files import PARQUET, size_label, sniff_data_file
from dracarys.identity import CurrentUser
from dracarys.marketdata import store
from dracarys.marketdata.models import (
    TIMEFRAME_SECONDS,
    Dataset,
    StoredDataset,
    Timeframe,
    Visibility,
)
from dracarys.platform import Platform
from dracarys.trading import require_instrument
from engine.data import DataError
from engine.sandbox import load_untrusted

DATA_FOLDER = "market-data"


def _refusal(exc: DataError) -> InvalidInput:
    """The engine's reason as a sentence naming the row (1-based, the header not
    counted) and the column."""
    where = ", ".join(
        part
        for part in (
            f"row {exc.row + 1}" if exc.row is not None else "",
            f"column {exc.column}" if exc.column else "",
        )
        if part
    )
    detail = f"{where}: {exc.reason}" if where else exc.reason
    extra: dict[str, object] = {}
    if exc.row is not None:
        extra["row"] = exc.row + 1
    if exc.column:
        extra["column"] = exc.column
    return InvalidInput(detail, field="file", extra=extra)


def read_ohlcv(content: bytes, limit_bytes: int) -> tuple[pl.DataFrame, str]:
    """The upload's normalised, validated frame and its format ('csv' or 'parquet')."""
    if len(content) > limit_bytes:
        raise InvalidInput(
            f"the file is {size_label(len(content))}; the largest taken is "
            f"{size_label(limit_bytes)}",
            field="file",
        )
    sniffed = sniff_data_file(content)
    if sniffed is None:
        raise InvalidInput("upload a CSV (UTF-8 text) or a Parquet file", field="file")
    try:
        # In a child process: a corrupt Parquet file can abort polars' native reader.
        frame = load_untrusted(content, "parquet" if sniffed is PARQUET else "csv")
    except DataError as exc:
        raise _refusal(exc) from None
    return frame, sniffed.extension


def _check_series(frame: pl.DataFrame, symbol: str, timeframe: Timeframe) -> pl.DataFrame:
    if "symbol" in frame.columns:
        symbols = frame["symbol"].unique(maintain_order=True).to_list()
        if len(symbols) > 1:
            raise InvalidInput(
                f"the file holds several symbols ({', '.join(map(str, symbols[:5]))}); "
                "upload one symbol per file",
                field="file",
            )
        if symbols[0] != symbol:
            raise InvalidInput(
                f"the file's symbol column says {symbols[0]}, not {symbol}", field="symbol"
            )
        frame = frame.drop("symbol")
    if frame.height >= 2:
        gaps_s = frame["timestamp"].diff().drop_nulls().dt.total_seconds().to_numpy()
        spacing_s = int(np.median(gaps_s))
        expected_s = TIMEFRAME_SECONDS[timeframe]
        if spacing_s != expected_s:
            raise InvalidInput(
                f"the bars are usually {spacing_s:,} seconds apart, not {expected_s:,} "
                f"as {timeframe} bars would be",
                field="timeframe",
            )
    return frame


async def upload_dataset(
    platform: Platform,
    user: CurrentUser,
    *,
    name: str,
    symbol: str,
    timeframe: Timeframe,
    visibility: Visibility,
    content: bytes,
) -> Dataset:
    name = name.strip()
    if not 1 <= len(name) <= 120:
        raise InvalidInput("give the dataset a name of 1 to 120 characters", field="name")
    if timeframe not in TIMEFRAME_SECONDS:
        raise InvalidInput(
            f"the timeframe is one of {', '.join(TIMEFRAME_SECONDS)}", field="timeframe"
        )
    if visibility not in ("private", "shared"):
        raise InvalidInput("a dataset is private or shared", field="visibility")
    async with platform.pool.acquire() as conn:
        await require_instrument(conn, symbol)
    frame, source_format = await anyio.to_thread.run_sync(
        read_ohlcv, content, platform.settings.market_data_max_upload_bytes
    )
    frame = _check_series(frame, symbol, timeframe)
    dataset_id = uuid.uuid4()
    relative = Path(DATA_FOLDER) / symbol.replace("/", "_") / timeframe / f"{dataset_id}.parquet"
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    parquet = buffer.getvalue()
    target = anyio.Path(platform.settings.data_path / relative)
    dataset = StoredDataset(
        id=dataset_id,
        owner_id=user.id,
        name=name,
        symbol=symbol,
        timeframe=timeframe,
        visibility=visibility,
        source_format=source_format,  # type: ignore[arg-type]
        bar_count=frame.height,
        first_bar_at=frame["timestamp"][0],
        last_bar_at=frame["timestamp"][-1],
        size_bytes=len(parquet),
        created_at=platform.clock.now(),
        path=str(relative),
    )
    await target.parent.mkdir(parents=True, exist_ok=True)
    await target.write_bytes(parquet)
    try:
        async with transaction(platform.pool) as conn:
            await store.insert_dataset(conn, dataset)
    except BaseException:
        await target.unlink(missing_ok=True)
        raise
    return _public(dataset)


def _public(dataset: StoredDataset) -> Dataset:
    fields = {f: getattr(dataset, f) for f in Dataset.__struct_fields__}
    return Dataset(**fields)


async def readable_dataset(
    platform: Platform, user_id: uuid.UUID, dataset_id: uuid.UUID, field: str = "dataset_id"
) -> Dataset:
    """The dataset if `user_id` may read it; else 404 naming `field`: a private dataset
    of someone else is not there at all."""
    async with platform.pool.acquire() as conn:
        dataset = await store.visible_dataset(conn, dataset_id, user_id)
    if dataset is None:
        raise NotFound(f"there is no dataset {dataset_id}", field=field)
    return _public(dataset)


async def list_datasets(
    platform: Platform, user: CurrentUser, symbol: str | None, limit: int
) -> list[Dataset]:
    async with platform.pool.acquire() as conn:
        return [_public(d) for d in await store.visible_datasets(conn, user.id, symbol, limit)]


async def dataset_frame(platform: Platform, dataset_id: uuid.UUID) -> pl.DataFrame:
    """A stored dataset's bars (whoever may read it was checked when the work was asked
    for: a backtest is submitted by someone who could)."""
    async with platform.pool.acquire() as conn:
        relative = await store.dataset_path(conn, dataset_id)
    if relative is None:
        raise NotFound(f"there is no dataset {dataset_id}", field="dataset_id")
    path = platform.settings.data_path / relative
    return await anyio.to_thread.run_sync(pl.read_parquet, path)

"""OHLCV loading and checking: CSV and Parquet files in common export layouts become one
normalised polars frame (``timestamp, open, high, low, close, volume`` and optionally
``symbol``), validated with errors that name the row and column, resampled, and handed to
the kernels as ``Bars``.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl

FloatArray = npt.NDArray[np.float64]
CsvLayout = Literal["auto", "yahoo", "bare", "binance", "metatrader", "generic"]
PRICE_COLUMNS = ("open", "high", "low", "close")
COLUMNS = ("timestamp", *PRICE_COLUMNS, "volume")
SECONDS_PER_YEAR = 365.25 * 86_400
BINANCE_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trade_count",
    "taker_buy_base",
    "taker_buy_quote",
    "ignore",
)
METATRADER_DATE = re.compile(r"^\d{4}\.\d{2}\.\d{2}[,\t]")


class DataError(ValueError):
    """Bad market data; ``row`` is 0-based in the loaded frame (the header not counted)."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        where = ", ".join(
            part
            for part in (
                f"row {row}" if row is not None else "",
                f"column {column!r}" if column else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.reason = message
        self.row = row
        self.column = column


@dataclass(frozen=True)
class Gap:
    """Bars missing between ``after_row`` and the next row, judged by the usual spacing."""

    after_row: int
    start: str
    end: str
    missing_bars: int


Source = str | Path | bytes
"""A file path, or the file's bytes (an upload)."""


def _first_line(source: Path | bytes) -> str:
    if isinstance(source, bytes):
        head = source[:4096].split(b"\n", 1)[0]
        return head.decode("utf-8").rstrip("\r")
    with source.open(encoding="utf-8") as handle:
        return handle.readline().rstrip("\r\n")


def detect_layout(source: Path | bytes) -> CsvLayout:
    first = _first_line(source).strip().lstrip("\ufeff")
    lowered = first.lower()
    if lowered.startswith("<date>"):
        return "metatrader"
    if METATRADER_DATE.match(first):
        return "metatrader"
    if lowered.startswith("date,open,high,low,close,adj close"):
        return "yahoo"
    if lowered.startswith((",open,high,low,close", '"",open,high,low,close')):
        return "bare"
    if first[:1].isdigit() and len(first.split(",")) == len(BINANCE_COLUMNS):
        return "binance"
    return "generic"


def _readable(source: Source) -> Path | bytes:
    return source if isinstance(source, bytes) else Path(source)


@contextmanager
def _reading(what: str) -> Iterator[None]:
    """Whatever a reader or a cast trips over in outside bytes becomes a ``DataError``
    saying so: a file is either loaded and valid or refused with a reason, never a crash."""
    try:
        yield
    except DataError:
        raise
    except (
        pl.exceptions.PolarsError,
        # Polars' Rust readers panic on some corrupt files (a slice past the end of a
        # Parquet page): the panic surfaces here as an exception and leaves nothing behind.
        pl.exceptions.PanicException,
        UnicodeDecodeError,
        OverflowError,
        ValueError,
    ) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"this is not a readable {what} file: {reason[:300]}") from exc


def load_csv(source: Source, layout: CsvLayout = "auto") -> pl.DataFrame:
    """Load a CSV export (a path, or the file's bytes) into the normalised frame and
    validate it."""
    readable = _readable(source)
    with _reading("CSV"):
        if layout == "auto":
            layout = detect_layout(readable)
        frame = _load_csv_layout(readable, layout)
        validate(frame)
    return frame


def _load_csv_layout(source: Path | bytes, layout: CsvLayout) -> pl.DataFrame:
    if layout == "binance":
        raw = pl.read_csv(source, has_header=False, new_columns=list(BINANCE_COLUMNS))
        if not raw.schema["open_time"].is_integer():
            raise DataError("open times must be whole epoch milliseconds", column="open_time")
        # Binance switched spot klines from milliseconds to microseconds in 2025.
        unit: Literal["us", "ms"] = "us" if raw["open_time"].max() > 10**14 else "ms"  # type: ignore[operator]
        return raw.select(
            pl.from_epoch("open_time", time_unit=unit)
            .dt.replace_time_zone("UTC")
            .alias("timestamp"),
            *(pl.col(c).cast(pl.Float64) for c in (*PRICE_COLUMNS, "volume")),
        )
    if layout == "metatrader":
        return _load_metatrader(source)
    raw = pl.read_csv(source, infer_schema_length=10_000)
    if layout == "bare":
        raw = raw.rename({raw.columns[0]: "timestamp"})
    elif layout == "yahoo":
        raw = raw.drop("Adj Close")
    return normalise(raw)


def _load_metatrader(source: Path | bytes) -> pl.DataFrame:
    first = _first_line(source)
    if first.lstrip("\ufeff").startswith("<DATE>"):
        raw = pl.read_csv(source, separator="\t")
        raw = raw.rename({c: c.strip("<>").lower() for c in raw.columns})
        real_volume = "vol" in raw.columns and raw.schema["vol"].is_numeric()
        volume = "vol" if real_volume and (raw["vol"].sum() or 0) > 0 else "tickvol"
    else:
        names = ["date", "time", "open", "high", "low", "close", "tickvol"]
        raw = pl.read_csv(source, has_header=False, new_columns=names[: len(first.split(","))])
        volume = "tickvol"
    missing = [c for c in ("date", "time", *PRICE_COLUMNS, volume) if c not in raw.columns]
    if missing:
        raise DataError(f"missing MetaTrader columns {missing}", column=missing[0])
    if raw.height == 0:
        raise DataError("no rows")
    stamp = pl.concat_str([pl.col("date"), pl.col("time")], separator=" ")
    time_format = "%Y.%m.%d %H:%M:%S" if len(str(raw["time"][0])) > 5 else "%Y.%m.%d %H:%M"
    return raw.select(
        stamp.str.to_datetime(time_format, time_unit="us")
        .dt.replace_time_zone("UTC")
        .alias("timestamp"),
        *(pl.col(c).cast(pl.Float64) for c in PRICE_COLUMNS),
        pl.col(volume).cast(pl.Float64).alias("volume"),
    )


def normalise(raw: pl.DataFrame) -> pl.DataFrame:
    """Map common column names (any case; ``date``/``datetime``/``time``/``timestamp``,
    ``ticker``/``symbol``) onto the normalised layout and parse timestamps as UTC."""
    renames: dict[str, str] = {}
    for column in raw.columns:
        key = column.strip().lower().replace(" ", "_")
        if key in {"date", "datetime", "time", "timestamp", "open_time"}:
            renames[column] = "timestamp"
        elif key in {*PRICE_COLUMNS, "volume", "symbol"}:
            renames[column] = key
        elif key == "ticker":
            renames[column] = "symbol"
    frame = raw.rename(renames)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"missing columns {missing}; found {raw.columns}", column=missing[0])
    _refuse_unparsable(frame)
    stamp = pl.col("timestamp")
    dtype = frame.schema["timestamp"]
    if dtype == pl.String:
        stamp = stamp.str.to_datetime(time_unit="us", time_zone="UTC")
    elif dtype == pl.Date:
        stamp = stamp.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    elif isinstance(dtype, pl.Datetime):
        stamp = stamp.dt.cast_time_unit("us")
        stamp = (
            stamp.dt.replace_time_zone("UTC")
            if dtype.time_zone is None
            else stamp.dt.convert_time_zone("UTC")
        )
    else:
        raise DataError(f"timestamps must be dates or date-times, not {dtype}", column="timestamp")
    keep = [
        stamp.alias("timestamp"),
        *(pl.col(c).cast(pl.Float64) for c in (*PRICE_COLUMNS, "volume")),
    ]
    if "symbol" in frame.columns:
        keep.insert(0, pl.col("symbol").cast(pl.String))
    return frame.select(keep)


def _refuse_unparsable(frame: pl.DataFrame) -> None:
    """Name the first cell that is not a number (or, in a text timestamp column, not a
    date-time), so a reader cast never fails without saying where."""
    checks: list[tuple[str, pl.Expr, str]] = []
    if frame.schema["timestamp"] == pl.String:
        # Parsed as `normalise` converts it: without the zone, polars reads a timestamp
        # carrying its UTC offset (as polars itself writes one) as no date at all.
        parsed = pl.col("timestamp").str.to_datetime(time_unit="us", time_zone="UTC", strict=False)
        checks.append(("timestamp", parsed, "is not a date or date-time"))
    for column in (*PRICE_COLUMNS, "volume"):
        if frame.schema[column] == pl.String:
            parsed = pl.col(column).str.strip_chars().cast(pl.Float64, strict=False)
            checks.append((column, parsed, "is not a number"))
    if not checks:
        return
    indexed = frame.with_row_index("row")
    for column, parsed, reason in checks:
        bad = indexed.filter(pl.col(column).is_not_null() & parsed.is_null())
        if bad.height:
            value = bad[column][0]
            raise DataError(f"{value!r} {reason}", row=int(bad["row"][0]), column=column)


def load_parquet(source: Source) -> pl.DataFrame:
    """Load a Parquet file (a path, or the file's bytes) into the normalised frame and
    validate it."""
    with _reading("Parquet"):
        frame = normalise(pl.read_parquet(_readable(source)))
        validate(frame)
    return frame


def load(path: str | Path) -> pl.DataFrame:
    """Load by extension: ``.parquet`` or any CSV layout."""
    path = Path(path)
    if path.suffix.lower() in {".parquet", ".pq"}:
        return load_parquet(path)
    return load_csv(path)


def validate(frame: pl.DataFrame) -> None:
    """Raise ``DataError`` at the first bad cell, per symbol when there is a symbol column."""
    if frame.height == 0:
        raise DataError("no rows")
    checked = frame.with_row_index("row")
    groups = (
        checked.partition_by("symbol", maintain_order=True)
        if "symbol" in frame.columns
        else [checked]
    )
    for group in groups:
        _validate_one(group)


def _first_row(frame: pl.DataFrame, mask: pl.Expr) -> int | None:
    hits = frame.filter(mask)
    return None if hits.height == 0 else int(hits["row"][0])


def _validate_one(frame: pl.DataFrame) -> None:
    for column in COLUMNS:
        bad = pl.col(column).is_null()
        if column != "timestamp":
            bad = bad | pl.col(column).is_nan() | pl.col(column).is_infinite()
        row = _first_row(frame, bad)
        if row is not None:
            raise DataError("missing or non-finite value", row=row, column=column)
    for column in (*PRICE_COLUMNS, "volume"):
        row = _first_row(frame, pl.col(column) < 0)
        if row is not None:
            raise DataError(
                f"negative {column} {frame.filter(pl.col('row') == row)[column][0]}",
                row=row,
                column=column,
            )
    step = pl.col("timestamp").diff()
    row = _first_row(frame, step == pl.duration(microseconds=0))
    if row is not None:
        raise DataError("duplicate timestamp", row=row, column="timestamp")
    row = _first_row(frame, step < pl.duration(microseconds=0))
    if row is not None:
        raise DataError(
            "timestamp earlier than the previous row (not sorted)", row=row, column="timestamp"
        )
    for low_side in ("open", "close", "low"):
        row = _first_row(frame, pl.col("high") < pl.col(low_side))
        if row is not None:
            raise DataError(f"high below {low_side}", row=row, column="high")
    for high_side in ("open", "close"):
        row = _first_row(frame, pl.col("low") > pl.col(high_side))
        if row is not None:
            raise DataError(f"low above {high_side}", row=row, column="low")


def find_gaps(frame: pl.DataFrame, tolerance: float = 1.5) -> list[Gap]:
    """Places where the spacing exceeds ``tolerance`` × the median spacing. For daily bars
    only missing weekdays count, so weekends are not gaps but holidays are reported (as
    information, not an error)."""
    if frame.height < 3:
        return []
    micros = frame["timestamp"].dt.epoch("us").to_numpy()
    steps = np.diff(micros)
    usual_us = float(np.median(steps))
    daily = abs(usual_us - 86_400e6) < 3_600e6
    if daily:
        days = (micros // 86_400_000_000).astype("datetime64[D]")
        missing = np.busday_count(days[:-1] + 1, days[1:])
    else:
        missing = np.where(steps > tolerance * usual_us, np.round(steps / usual_us) - 1, 0)
    stamps = frame["timestamp"]
    return [
        Gap(
            after_row=int(k),
            start=str(stamps[int(k)]),
            end=str(stamps[int(k) + 1]),
            missing_bars=int(missing[k]),
        )
        for k in np.flatnonzero(missing > 0)
    ]


def resample(frame: pl.DataFrame, every: str) -> pl.DataFrame:
    """Aggregate to a coarser bar (``"1h"``, ``"1d"``, polars duration strings): first
    open, highest high, lowest low, last close, summed volume; per symbol if present."""
    group_by = ["symbol"] if "symbol" in frame.columns else None
    return (
        frame.sort([*(group_by or []), "timestamp"])
        .group_by_dynamic("timestamp", every=every, group_by=group_by, label="left", closed="left")
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.col("volume").sum(),
        )
    )


@dataclass(frozen=True)
class Bars:
    """One symbol's validated bars: ``base`` is a C-contiguous (5, n) float64 matrix of
    open, high, low, close and volume rows that the kernels read directly."""

    symbol: str
    timestamps: npt.NDArray[np.int64]  # microseconds since the epoch, UTC
    base: FloatArray

    @property
    def open(self) -> FloatArray:
        row: FloatArray = self.base[0]
        return row

    @property
    def high(self) -> FloatArray:
        row: FloatArray = self.base[1]
        return row

    @property
    def low(self) -> FloatArray:
        row: FloatArray = self.base[2]
        return row

    @property
    def close(self) -> FloatArray:
        row: FloatArray = self.base[3]
        return row

    @property
    def volume(self) -> FloatArray:
        row: FloatArray = self.base[4]
        return row

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, symbol: str | None = None) -> "Bars":
        if "symbol" in frame.columns:
            symbols = frame["symbol"].unique(maintain_order=True).to_list()
            chosen = symbol if symbol is not None else symbols[0]
            if chosen not in symbols:
                raise DataError(f"symbol {chosen!r} not in data ({symbols})", column="symbol")
            if len(symbols) > 1 and symbol is None:
                raise DataError(f"several symbols ({symbols}); choose one", column="symbol")
            frame = frame.filter(pl.col("symbol") == chosen)
        else:
            chosen = symbol or "data"
        base = np.empty((5, frame.height))
        for row, name in enumerate((*PRICE_COLUMNS, "volume")):
            base[row] = frame[name].to_numpy()
        return cls(
            symbol=chosen,
            timestamps=frame["timestamp"].dt.epoch("us").to_numpy().astype(np.int64),
            base=base,
        )

    @classmethod
    def from_arrays(
        cls,
        open: FloatArray,
        high: FloatArray,
        low: FloatArray,
        close: FloatArray,
        volume: FloatArray | None = None,
        *,
        bar_seconds: int = 86_400,
        symbol: str = "data",
    ) -> "Bars":
        """Bars from plain arrays, timestamped every ``bar_seconds`` from the epoch."""
        n = close.shape[0]
        base = np.stack((open, high, low, close, np.ones(n) if volume is None else volume))
        return cls(
            symbol=symbol,
            timestamps=np.arange(n, dtype=np.int64) * bar_seconds * 1_000_000,
            base=np.ascontiguousarray(base, dtype=np.float64),
        )

    @property
    def length(self) -> int:
        return int(self.base.shape[1])

    @property
    def bars_per_year(self) -> float:
        """Bars per year for annualising: bars observed per year of calendar span when the
        data covers at least 30 days (so daily equity data, which skips weekends, gives
        about 252 and 24/7 crypto 365), else one year over the median bar spacing."""
        if self.length < 2:
            return 252.0
        span_s = (self.timestamps[-1] - self.timestamps[0]) / 1e6
        if span_s >= 30 * 86_400:
            return float((self.length - 1) / (span_s / SECONDS_PER_YEAR))
        median_s = float(np.median(np.diff(self.timestamps))) / 1e6
        return SECONDS_PER_YEAR / median_s

    def slice(self, start: int, stop: int) -> "Bars":
        return Bars(
            symbol=self.symbol,
            timestamps=self.timestamps[start:stop],
            base=np.ascontiguousarray(self.base[:, start:stop]),
        )

"""Market data uploads: a CSV refused at its first bad cell naming the row and column
(nothing stored), OHLC and ordering checks, the size limit, Parquet round trips,
private datasets invisible to others, unknown symbols, and a platform backtest run over
an uploaded dataset with the engine's own numbers."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import polars as pl
import pytest

from dracarys.errors import InvalidInput
from dracarys.marketdata.service import dataset_frame, read_ohlcv
from dracarys.platform import Platform
from engine.data import Bars
from engine.runner import run_backtest
from engine.strategy import TEMPLATES, ExecutionSettings
from engine.synthetic import generate_daily
from tests.support import AppClient, TestUser
from workers.runtime import Worker

MakeUser = Callable[..., Awaitable[TestUser]]
API = "/api/v1/market-data/datasets"
HEADER = "timestamp,open,high,low,close,volume\n"


def csv_rows(count: int) -> list[str]:
    return [f"2024-01-{d:02d},100,101,99,100.5,1000" for d in range(1, count + 1)]


async def upload(
    client: AppClient,
    user: TestUser,
    content: bytes,
    *,
    filename: str = "bars.csv",
    **form: str,
) -> Any:
    fields = {"symbol": "DEMO", "timeframe": "1d", "name": "My bars", **form}
    return await client.post(
        API, data=fields, files={"file": (filename, content, "text/csv")}, headers=user.headers
    )


def stored_files(platform: Platform) -> list[Path]:
    root = platform.settings.data_path / "market-data"
    return sorted(root.rglob("*.parquet")) if root.exists() else []


async def test_a_csv_with_a_bad_cell_is_refused_naming_its_row_and_column(
    client: AppClient, make_user: MakeUser, pool: asyncpg.Pool, platform: Platform
) -> None:
    user = await make_user()
    rows = csv_rows(20)
    rows[16] = "2024-01-17,100,101,99,abc,1000"
    refused = await upload(client, user, (HEADER + "\n".join(rows)).encode())
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["detail"] == "row 17, column close: 'abc' is not a number"
    assert problem["errors"][0]["field"] == "file"
    assert problem["extra"] == {"row": 17, "column": "close"}
    assert await pool.fetchval("SELECT count(*) FROM market_datasets") == 0
    assert stored_files(platform) == []


@pytest.mark.parametrize(
    ("bad_row", "detail"),
    [
        ("2024-01-05,100,98,99,100,1000", "row 5, column high: high below open"),
        ("2024-01-02,100,101,99,100.5,1000", "row 5, column timestamp: timestamp earlier"),
        ("2024-01-04,100,101,99,100.5,1000", "row 5, column timestamp: duplicate timestamp"),
    ],
)
async def test_bad_bars_and_timestamps_that_do_not_increase_are_refused_naming_the_row(
    client: AppClient, make_user: MakeUser, bad_row: str, detail: str
) -> None:
    user = await make_user()
    rows = csv_rows(8)
    rows[4] = bad_row
    refused = await upload(client, user, (HEADER + "\n".join(rows)).encode())
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith(detail)


def test_a_file_over_the_limit_or_not_text_is_refused_before_it_is_read() -> None:
    with pytest.raises(InvalidInput, match=r"the largest taken is 2\.05 KB") as too_big:
        read_ohlcv((HEADER + "\n".join(csv_rows(31) * 3)).encode(), 2048)
    assert too_big.value.errors[0].field == "file"
    with pytest.raises(InvalidInput, match=r"CSV .* or a Parquet"):
        read_ohlcv(b"\x89PNG\r\n\x1a\n\x00\x00", 2048)


async def test_a_parquet_upload_round_trips_to_the_stored_series(
    client: AppClient, make_user: MakeUser, platform: Platform
) -> None:
    user = await make_user()
    frame = generate_daily(300, seed=7)
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    created = await upload(
        client, user, buffer.getvalue(), filename="trend.parquet", symbol="TREND", name=""
    )
    assert created.status_code == 201, created.text
    dataset = created.json()
    assert dataset["source_format"] == "parquet"
    assert dataset["name"] == "trend.parquet"
    assert dataset["bar_count"] == 300
    assert (dataset["symbol"], dataset["timeframe"], dataset["visibility"]) == (
        "TREND",
        "1d",
        "private",
    )
    # Stored as Parquet per symbol and timeframe under the data dir.
    [path] = stored_files(platform)
    assert path.relative_to(platform.settings.data_path).parts[:3] == ("market-data", "TREND", "1d")
    stored = await dataset_frame(platform, dataset["id"])
    assert stored.equals(frame)
    listed = (await client.get(API, headers=user.headers)).json()
    assert [d["id"] for d in listed] == [dataset["id"]]


async def test_a_private_dataset_is_not_there_for_another_user_and_a_shared_one_is(
    client: AppClient, make_user: MakeUser
) -> None:
    owner, other = await make_user(), await make_user()
    body = (HEADER + "\n".join(csv_rows(10))).encode()
    private = (await upload(client, owner, body, name="Mine")).json()
    shared = (await upload(client, owner, body, name="Ours", visibility="shared")).json()
    assert (await client.get(f"{API}/{private['id']}", headers=owner.headers)).status_code == 200
    hidden = await client.get(f"{API}/{private['id']}", headers=other.headers)
    assert hidden.status_code == 404
    assert hidden.json()["errors"][0]["field"] == "dataset_id"
    assert (await client.get(f"{API}/{shared['id']}", headers=other.headers)).status_code == 200
    listed = (await client.get(API, headers=other.headers)).json()
    assert [d["name"] for d in listed] == ["Ours"]
    backtest = await client.post(
        "/api/v1/backtests",
        json={"template": "sma_cross", "dataset_id": private["id"]},
        headers=other.headers,
    )
    assert backtest.status_code == 404
    assert backtest.json()["errors"][0]["field"] == "dataset_id"


async def test_an_unknown_symbol_or_a_wrong_timeframe_is_refused_naming_the_field(
    client: AppClient, make_user: MakeUser, pool: asyncpg.Pool
) -> None:
    user = await make_user()
    body = (HEADER + "\n".join(csv_rows(10))).encode()
    unknown = await upload(client, user, body, symbol="NOPE")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "symbol"
    assert "NOPE" in unknown.json()["detail"]
    wrong = await upload(client, user, body, timeframe="1m")
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "timeframe"
    assert await pool.fetchval("SELECT count(*) FROM market_datasets") == 0


@pytest.fixture
async def worker(platform: Platform) -> AsyncIterator[Worker]:
    running = Worker(platform)
    await running.start()
    yield running
    await running.stop()


async def test_a_platform_backtest_runs_over_an_uploaded_dataset(
    client: AppClient, make_user: MakeUser, worker: Worker
) -> None:
    user = await make_user()
    frame = generate_daily(400, seed=11)
    csv = frame.with_columns(pl.col("timestamp").dt.date()).write_csv().encode()
    dataset = (await upload(client, user, csv, symbol="TREND")).json()
    submitted = await client.post(
        "/api/v1/backtests",
        json={
            "template": "sma_cross",
            "params": {"fast": 5, "slow": 20},
            "dataset_id": dataset["id"],
        },
        headers=user.headers,
    )
    assert submitted.status_code == 202, submitted.text
    for _ in range(600):
        done = (
            await client.get(f"/api/v1/backtests/{submitted.json()['id']}", headers=user.headers)
        ).json()
        if done["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.05)
    assert done["status"] == "succeeded", done["error"]
    expected = run_backtest(
        Bars.from_frame(frame),
        TEMPLATES["sma_cross"].build({"fast": 5, "slow": 20}, False),
        ExecutionSettings(initial_cash=10_000),
    )
    assert done["metrics"]["final_equity"] == pytest.approx(expected.metrics.final_equity, 1e-12)
    assert done["trade_count"] == expected.trade_table.shape[0]
    listed = (await client.get("/api/v1/backtests", headers=user.headers)).json()
    assert listed[0]["dataset"] == dataset["id"]

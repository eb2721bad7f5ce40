"""The engine as its own process (`dracarys paper-engine`): it replays the demo feed,
stops on SIGTERM with exit 0 and, started again, resumes right after the last tick it
persisted; against a database nobody migrated it says so and exits."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import asyncpg

from tests.conftest import ADMIN_DSN, DatabaseDropper, dsn_for

# The project's own program, installed beside the interpreter running the tests.
DRACARYS = str(Path(sys.executable).with_name("dracarys"))


def engine_env(database_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(
        {
            "DATABASE_URL": database_url,
            "DRACARYS_DATA_DIR": str(data_dir),
            "DRACARYS_SECRET_KEY": "test-secret-key-" + "x" * 32,
            "DRACARYS_LOG_LEVEL": "WARNING",
            "DRACARYS_TRADING_REPLAY_SPEED": str(86_400 * 50),  # 50 trading days a second
        }
    )
    return env


async def last_seq(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        value = await conn.fetchval(
            "SELECT last_seq FROM market_feed_state WHERE feed = 'demo-replay'"
        )
        return int(value or 0)
    finally:
        await conn.close()


async def run_engine_until(database_url: str, data_dir: Path, past_seq: int) -> list[int]:
    """Run the engine until it has persisted tick `past_seq`; → the positions seen."""
    process = await asyncio.create_subprocess_exec(
        DRACARYS,
        "paper-engine",
        env=engine_env(database_url, data_dir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    seen: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while not seen or seen[-1] <= past_seq:
            if process.returncode is not None:
                output = await process.stdout.read() if process.stdout else b""
                raise AssertionError(output.decode())
            assert time.monotonic() < deadline, "the engine made no progress"
            seen.append(await last_seq(database_url))
            await asyncio.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, output.decode()
    assert (
        "Paper engine: matching paper orders on every tick of demo-replay (DEMO, TREND, EURUSD)"
        " and crypto-replay (BTCUSD)"
    ) in output.decode()
    return seen


async def test_engine_process_resumes_after_the_last_tick_it_persisted(
    database_url: str, tmp_path: Path
) -> None:
    first = await run_engine_until(database_url, tmp_path, 20)
    stopped_at = await last_seq(database_url)
    assert stopped_at > 20
    second = await run_engine_until(database_url, tmp_path, stopped_at + 20)
    # Had it started over, the position would have dropped back towards 1.
    assert min(second) >= stopped_at
    assert second == sorted(second)
    assert first == sorted(first)
    conn = await asyncpg.connect(database_url)
    try:
        instrument = await conn.fetchval("SELECT feed FROM instruments WHERE symbol = 'DEMO'")
    finally:
        await conn.close()
    assert instrument == "demo-replay"


async def test_engine_against_a_database_without_the_schema_says_to_migrate_and_exits(
    database_dropper: DatabaseDropper, tmp_path: Path
) -> None:
    name = f"dracarys_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        process = await asyncio.create_subprocess_exec(
            DRACARYS,
            "paper-engine",
            env=engine_env(dsn_for(name), tmp_path),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.communicate()
    finally:
        database_dropper.drop_later(name)
    assert process.returncode == 1
    assert "has no Dracarys schema yet; run `dracarys migrate` first" in output.decode()

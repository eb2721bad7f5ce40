"""Ledger transfers per second on real PostgreSQL, beside a named peer from the same run:
the naive single-table approach (one `balances` table, `UPDATE ... SET balance = balance
- x WHERE balance >= x` and `+ x`, plus a log INSERT; no double entry, no entries, no
idempotency, no two-phase).

Both run the same workloads with the same concurrency: transfers spread over 10,000
wallets, and a hot spot where every transfer touches one wallet; each once with one
transfer per transaction (what a single API request does) and once batched, many
transfers per transaction (TigerBeetle-style batches; our `create_transfers` takes a
batch, the peer runs its statements for every transfer of the batch in one transaction).

Run: ``uv run python benchmarks/wallet_transfers.py`` (PostgreSQL at 127.0.0.1:5432;
override with BENCH_ADMIN_DSN; sizes with BENCH_TRANSFERS, BENCH_WORKERS, BENCH_BATCH)."""

from __future__ import annotations

import asyncio
import os
import platform as host
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
from benchdb import create_database, drop_database, dsn_for

from dracarys.db import transaction
from dracarys.db.pool import create_pool
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountCode, TransferSpec

WALLETS = 10_000
TRANSFERS = int(os.environ.get("BENCH_TRANSFERS", "40000"))
SINGLE_TRANSFERS = int(os.environ.get("BENCH_SINGLE_TRANSFERS", "6000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "8"))
BATCH = int(os.environ.get("BENCH_BATCH", "500"))
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

Pair = tuple[int, int, int]


async def fresh_database() -> str:
    """A migrated database with the naive peer's two tables beside ours."""
    name = await create_database()
    conn = await asyncpg.connect(dsn_for(name))
    await conn.execute(
        """CREATE TABLE naive_balances (id bigint PRIMARY KEY, balance bigint NOT NULL);
           CREATE TABLE naive_log (id bigserial PRIMARY KEY, from_id bigint, to_id bigint,
                                   amount bigint, created_at timestamptz DEFAULT now());"""
    )
    await conn.close()
    return name


async def open_wallets(pool: asyncpg.Pool) -> list[int]:
    """10,000 funded wallets. Accounts are created in one statement (set-up, not measured);
    the funding goes through the ledger in batches."""
    async with transaction(pool) as conn:
        source = await ledger.platform_account(conn, AccountCode.OPENING_BALANCE, "KES", NOW)
        rows = await conn.fetch(
            """WITH a AS (
                   INSERT INTO ledger_accounts (code, owner_id, currency, flags, created_at)
                   SELECT 'user_wallet', gen_random_uuid(), 'KES', 1, $2
                   FROM generate_series(1, $1) RETURNING id, flags)
               INSERT INTO ledger_balances (account_id, flags) SELECT id, flags FROM a
               RETURNING account_id""",
            WALLETS,
            NOW,
        )
        wallets = sorted(r["account_id"] for r in rows)
        for start in range(0, WALLETS, 1000):
            await ledger.create_transfers(
                conn,
                [
                    TransferSpec(
                        idempotency_key=f"fund:{w}",
                        code="opening",
                        debit_account_id=source,
                        credit_account_id=w,
                        amount_minor=10**9,
                        currency="KES",
                    )
                    for w in wallets[start : start + 1000]
                ],
                now=NOW,
            )
        await conn.execute(
            "INSERT INTO naive_balances SELECT unnest($1::bigint[]), 1000000000", wallets
        )
    return wallets


def plan(wallets: list[int], count: int, *, hot: bool, seed: int) -> list[Pair]:
    rng = random.Random(seed)
    pairs: list[Pair] = []
    for _ in range(count):
        a, b = rng.sample(wallets, 2)
        if hot:
            a, b = (wallets[0], b if b != wallets[0] else a)
            if rng.random() < 0.5:
                a, b = b, a
        pairs.append((a, b, rng.randint(1, 1000)))
    return pairs


def chunks(pairs: list[Pair], size: int) -> list[list[Pair]]:
    return [pairs[i : i + size] for i in range(0, len(pairs), size)]


async def ours(conn: asyncpg.Connection, batch: list[Pair]) -> None:
    await ledger.create_transfers(
        conn,
        [
            TransferSpec(
                idempotency_key=str(uuid.uuid4()),
                code="p2p",
                debit_account_id=a,
                credit_account_id=b,
                amount_minor=x,
                currency="KES",
            )
            for a, b, x in batch
        ],
        now=NOW,
    )


async def naive(conn: asyncpg.Connection, batch: list[Pair]) -> None:
    # Rows locked in id order first, as we do; without it concurrent batches deadlock
    # constantly and the peer measures PostgreSQL's deadlock timeout instead.
    await conn.execute(
        "SELECT 1 FROM naive_balances WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
        sorted({w for a, b, _ in batch for w in (a, b)}),
    )
    for a, b, x in batch:
        moved = await conn.execute(
            "UPDATE naive_balances SET balance = balance - $2 WHERE id = $1 AND balance >= $2",
            a,
            x,
        )
        if moved != "UPDATE 1":
            raise RuntimeError("insufficient")
        await conn.execute("UPDATE naive_balances SET balance = balance + $2 WHERE id = $1", b, x)
        await conn.execute(
            "INSERT INTO naive_log (from_id, to_id, amount) VALUES ($1, $2, $3)", a, b, x
        )


async def run(
    pool: asyncpg.Pool,
    work: Callable[[asyncpg.Connection, list[Pair]], Awaitable[None]],
    batches: list[list[Pair]],
) -> float:
    queue = list(reversed(batches))
    retries = 0

    async def worker() -> None:
        nonlocal retries
        while queue:
            batch = queue.pop()
            while True:
                try:
                    async with pool.acquire() as conn, conn.transaction():
                        await work(conn, batch)
                    break
                except asyncpg.DeadlockDetectedError:
                    retries += 1  # only the naive peer, which locks in arrival order

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(WORKERS)))
    elapsed = time.perf_counter() - started
    if retries:
        print(f"    (naive peer retried {retries} deadlocked transactions)")
    return sum(len(b) for b in batches) / elapsed


async def main() -> None:
    name = await fresh_database()
    try:
        pool = await create_pool(dsn_for(name), min_size=WORKERS, max_size=WORKERS + 2)
        async with pool.acquire() as conn:
            server = await conn.fetchval("SHOW server_version")
        print(
            f"Python {sys.version.split()[0]}, asyncpg {asyncpg.__version__}, PostgreSQL {server}"
        )
        print(f"{host.machine()} {host.processor() or ''} {os.cpu_count()} CPUs, {host.system()}")
        print(f"{WALLETS:,} wallets, {WORKERS} concurrent workers, batch {BATCH}\n")
        wallets = await open_wallets(pool)
        results: dict[str, tuple[float, float]] = {}
        for label, hot in (("spread over 10,000 wallets", False), ("single hot wallet", True)):
            for mode, size, count in (
                ("batched", BATCH, TRANSFERS),
                ("one per transaction", 1, SINGLE_TRANSFERS),
            ):
                pairs = plan(wallets, count, hot=hot, seed=len(results))
                ours_rate = await run(pool, ours, chunks(pairs, size))
                peer_rate = await run(pool, naive, chunks(pairs, size))
                key = f"{label}, {mode}"
                results[key] = (ours_rate, peer_rate)
                print(
                    f"{key:<40} dracarys ledger {ours_rate:>8,.0f}/s   "
                    f"naive UPDATE peer {peer_rate:>8,.0f}/s   ratio {ours_rate / peer_rate:.2f}",
                    flush=True,
                )
        async with pool.acquire() as conn:
            check = await ledger.check_ledger(conn)
        print(f"\nledger check after the run: {'sound' if check.ok else check.problems}")
        goal = results["spread over 10,000 wallets, batched"][0]
        verdict = "met" if goal >= 3000 else "NOT met"
        print(f"goal >= 3,000 transfers/s spread: {verdict} ({goal:,.0f}/s)")
        await pool.close()
    finally:
        await drop_database(name)


if __name__ == "__main__":
    asyncio.run(main())

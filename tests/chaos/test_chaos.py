"""Chaos: the API, the worker and the paper engine, each its own process as in production,
are killed with SIGKILL at random points of a mixed burst (paper orders, session and
course purchases, card and M-Pesa top-ups, withdrawals paid out through M-Pesa, points
earned and redeemed), several times, and started again. Clients retry every write with
its idempotency key until answered; Stripe and Daraja call back, twice at times, or not
at all. After each round, once the platform has drained, the ledger must check out and
agree with the providers' books and with every answer, each key must have had exactly
one effect, no payout may be stuck, every event's effects must be there exactly once and
every paper order filled once. The seed is printed (DRACARYS_CHAOS_SEED replays its
choices; the kills' timing is the machine's)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import random
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from redis.asyncio import Redis

from dracarys.clock import SystemClock
from dracarys.db import Database
from dracarys.identity import Role
from dracarys.payments.sandbox import StripeSimulator, serve
from dracarys.platform import Platform
from dracarys.settings import Settings
from tests.chaos.cluster import Cluster, build_cluster
from tests.chaos.invariants import (
    Invariants,
    check_answers,
    check_effects,
    check_events,
    check_ledger,
    undelivered,
)
from tests.chaos.traffic import (
    Burst,
    Cast,
    Figures,
    Http,
    LossyDaraja,
    Mentee,
    Providers,
    Scheduler,
    running,
)
from tests.conftest import REDIS_URL, make_settings
from tests.foundation.test_embedded import free_port
from tests.support import create_user, fund_wallet
from tests.wallet.simulators import provider_env

pytestmark = pytest.mark.slow

CLIENTS = 12
OPERATIONS_PER_CLIENT = 10
FUNDING_MINOR = 5_000_000
DRAIN_TIMEOUT_S = 120.0
# Who dies at each round's kill points, rounds and kills in the seed's order: the API and
# the worker alone, and all three at once (as when their machine dies).
ROUND_PLANS = (
    (("api",), ("worker",)),
    (("api",), ("worker",)),
    (("api",), ("api", "worker", "engine")),
)


@contextlib.contextmanager
def _providers() -> Iterator[tuple[StripeSimulator, str, LossyDaraja, str]]:
    stripe, daraja = StripeSimulator(), LossyDaraja()
    with serve(stripe.app()) as stripe_url, serve(daraja.app()) as daraja_url:
        yield stripe, stripe_url, daraja, daraja_url


def _settings_env(
    database_url: str, data_dir: Path, port: int, prefix: str, providers: dict[str, str]
) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "DRACARYS_REDIS_PREFIX": prefix,
        "DRACARYS_DATA_DIR": str(data_dir),
        "DRACARYS_SECRET_KEY": "chaos-secret-key-" + "x" * 32,
        "DRACARYS_ENV": "test",
        "DRACARYS_LOG_LEVEL": "WARNING",
        "DRACARYS_SEED_DEMO": "false",
        "DRACARYS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "DRACARYS_OUTBOUND": "files",
        "DRACARYS_DB_POOL_MAX_SIZE": "10",
        "DRACARYS_SHUTDOWN_GRACE_S": "5",
        # Events a killed worker held are handed over again after 5 s, not a minute.
        "DRACARYS_OUTBOX_REDELIVER_AFTER_S": "5",
        # A payout with no answer 3 s after its request is asked about.
        "DRACARYS_WALLET_PAYOUT_RECONCILE_AFTER_S": "3",
        "DRACARYS_POINTS_REDEMPTION_HOLD_DAYS": "0",
        "DRACARYS_POINTS_VELOCITY_LIMIT": "100000000",
        "DRACARYS_RATE_LIMIT_PER_MINUTE": "1000000",
        "DRACARYS_TRADING_FEED": "replay",
        "DRACARYS_TRADING_REPLAY_SPEED": str(86_400 * 4),
        **providers,
    }


async def _cast(
    pool: asyncpg.Pool, platform: Platform, cluster: Cluster
) -> tuple[Cast, dict[uuid.UUID, int]]:
    """Mentees with funded wallets, KYC level 2 and a paper portfolio; mentors; an admin.
    The burst's deposits and withdrawals trip the AML rules (velocity, deposit then
    withdraw): they raise alerts as usual but hold nothing here, so every withdrawal is
    answered as the crash checks expect (holds are tested in tests/admin/test_aml.py)."""
    clock = SystemClock()
    settings = platform.settings
    await pool.execute("UPDATE aml_rules SET action = 'alert'")
    admin = await create_user(pool, settings, clock, role=Role.ADMIN)
    mentors = [await create_user(pool, settings, clock, role=Role.MENTOR) for _ in range(3)]
    funding: dict[uuid.UUID, int] = {}
    mentees: list[Mentee] = []
    http = Http(cluster.base_url, Figures())
    try:
        disclaimer = (await http.answer("GET", "/api/v1/trading/disclaimer/")).json()
        for _ in range(CLIENTS):
            user = await create_user(pool, settings, clock, kyc_level=2)
            await fund_wallet(pool, user.id, "KES", FUNDING_MINOR, datetime.now(UTC))
            funding[user.id] = FUNDING_MINOR
            headers = {"Authorization": f"Bearer {user.token}"}
            acknowledged = await http.answer(
                "POST",
                "/api/v1/trading/disclaimer/acknowledgements",
                json={"version": disclaimer["version"]},
                headers=headers,
            )
            assert acknowledged.status_code == 201, acknowledged.text
            portfolio = await http.answer(
                "POST", "/api/v1/trading/portfolios/", json={"name": "chaos"}, headers=headers
            )
            assert portfolio.status_code == 201, portfolio.text
            mentees.append(Mentee(user, portfolio.json()["id"]))
    finally:
        await http.aclose()
    cast = Cast(mentees, [m.id for m in mentors], admin)
    return cast, funding


async def _priced(pool: asyncpg.Pool) -> None:
    """Orders are refused until the engine has persisted a tick of the symbol."""
    async with asyncio.timeout(120):
        while not await pool.fetchval(
            "SELECT last_seq FROM market_feed_state WHERE feed = 'demo-replay'"
        ):
            await asyncio.sleep(0.1)


class Conductor:
    """Kills processes when the burst reaches random points of its progress, and starts
    them again at once. Clients wait for a restarted API (they retry until it answers);
    a worker or engine boots while the burst goes on, so the round's next kill still
    lands inside the burst (a round kills the worker at most once for that reason)."""

    def __init__(
        self, cluster: Cluster, rng: random.Random, http: Http, pool: asyncpg.Pool
    ) -> None:
        self.cluster = cluster
        self.rng = rng
        self.http = http
        self.pool = pool
        self.plans = [list(plan) for plan in ROUND_PLANS]
        rng.shuffle(self.plans)
        for plan in self.plans:
            rng.shuffle(plan)
        self.kills: list[str] = []
        # What each kill cut short: requests the API was serving, deliveries a worker held.
        self.requests_cut: list[int] = []
        self.deliveries_cut: list[int] = []

    async def round(self, round_no: int, burst: Burst, total: int) -> None:
        plan = self.plans[round_no]
        marks = sorted(self.rng.uniform(0.1, 0.9) * total for _ in plan)
        start = burst.done
        booting: list[asyncio.Task[None]] = []
        for mark, names in zip(marks, plan, strict=True):
            while burst.done - start < mark:
                await asyncio.sleep(0.01)
            victims = [getattr(self.cluster, name) for name in names]
            if "worker" in names:
                # Within a second, the moment it holds deliveries it has not committed.
                deadline = time.monotonic() + 1
                while not (held := await in_queue(self.pool)) and time.monotonic() < deadline:
                    await asyncio.sleep(0.005)
                self.deliveries_cut.append(held)
            else:
                await asyncio.sleep(self.rng.uniform(0, 0.05))
            if "api" in names:
                self.requests_cut.append(self.http.in_flight)
            await asyncio.gather(*(service.kill() for service in victims))
            self.kills.append("+".join(names))
            starts = {s.name: asyncio.create_task(s.start(), name=s.name) for s in victims}
            if "api" in starts:
                await starts.pop("api")
            booting.extend(starts.values())
        await asyncio.gather(*booting)


async def in_queue(pool: asyncpg.Pool) -> int:
    """(event, consumer) deliveries handed to the queue whose consumer has not committed."""
    return await undelivered(pool, published_only=True)


async def _drain(
    pool: asyncpg.Pool, providers: Providers, scheduler: Scheduler, cluster: Cluster
) -> float:
    """Wait until the platform has finished everything the round started; → seconds."""
    started = time.monotonic()
    left: dict[str, int] = {}
    try:
        async with asyncio.timeout(DRAIN_TIMEOUT_S):
            while True:
                for service in cluster.services:
                    assert service.running, f"{service.name} died:\n{service.log_tail()}"
                await providers.settled()
                await scheduler.run()
                await providers.settled()
                left = {
                    "payouts in flight": await pool.fetchval(
                        "SELECT count(*) FROM payouts WHERE status NOT IN ('completed', 'failed')"
                    ),
                    "deposits pending": await pool.fetchval(
                        "SELECT count(*) FROM wallet_deposits WHERE status = 'pending'"
                    ),
                    "redemptions held": await pool.fetchval(
                        "SELECT count(*) FROM points_redemptions WHERE status = 'held'"
                    ),
                    "credits not landed": await pool.fetchval(
                        "SELECT count(*) FROM points_wallet_credits WHERE landed_at IS NULL"
                    ),
                    "orders working": await pool.fetchval(
                        """SELECT count(*) FROM paper_orders
                           WHERE status NOT IN ('filled', 'cancelled', 'expired', 'rejected')"""
                    ),
                    "messages unsent": await pool.fetchval(
                        "SELECT count(*) FROM outbound_messages WHERE sent_at IS NULL"
                    ),
                    "events incomplete": await pool.fetchval(
                        "SELECT count(*) FROM outbox WHERE completed_at IS NULL"
                    ),
                    "deliveries missing": await undelivered(pool),
                    "B2C requests unanswered": len(providers.daraja.b2c_requests)
                    - len(providers.b2c_handled),
                }
                if not any(left.values()):
                    return time.monotonic() - started
                await asyncio.sleep(0.5)
    except TimeoutError:
        pytest.fail(f"the platform did not drain in {DRAIN_TIMEOUT_S:.0f} s: {left}")


@contextlib.asynccontextmanager
async def _cluster_running(cluster: Cluster) -> AsyncIterator[Cluster]:
    try:
        await cluster.start()
        yield cluster
    finally:
        await cluster.ensure_gone()


@contextlib.contextmanager
def _quiet_http_log() -> Iterator[None]:
    """Thousands of requests: their INFO lines would only slow the run down."""
    logger = logging.getLogger("httpx")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


@dataclass
class Chaos:
    """One run: the rounds of burst and kills, the checks after each, the figures."""

    pool: asyncpg.Pool
    redis: Redis
    prefix: str
    settings: Settings
    rng: random.Random
    cluster: Cluster
    daraja: LossyDaraja
    http: Http
    figures: Figures
    providers: Providers
    scheduler: Scheduler
    burst: Burst
    conductor: Conductor
    funding: dict[uuid.UUID, int]
    invariants: Invariants = field(default_factory=Invariants)
    rounds_s: list[float] = field(default_factory=list)
    drains_s: list[float] = field(default_factory=list)
    deliveries: int = 0

    async def round(self, round_no: int) -> None:
        started = time.monotonic()
        self.burst.cast.sign_in_again(self.settings)
        # A few of Daraja's answers lost on the way, a payout request that never arrives.
        self.daraja.b2c_answers_to_lose = self.rng.randint(1, 3)
        self.daraja.b2c_lost_before_mpesa = 1
        self.daraja.stk_answers_to_lose = self.rng.randint(1, 2)
        before = len(self.burst.ops)
        async with asyncio.TaskGroup() as group:
            for i in range(CLIENTS):
                group.create_task(self.burst.client(i, round_no, OPERATIONS_PER_CLIENT))
            group.create_task(
                self.conductor.round(round_no, self.burst, CLIENTS * OPERATIONS_PER_CLIENT)
            )
        await self.burst.replay_all(self.burst.ops[before:])
        self.drains_s.append(await _drain(self.pool, self.providers, self.scheduler, self.cluster))
        await self.check()
        assert not self.invariants.broken, f"round {round_no + 1}: {self.invariants.report()}"
        self.rounds_s.append(time.monotonic() - started)

    async def check(self) -> None:
        ops, inv = self.burst.ops, self.invariants
        check_answers(inv, ops, self.figures)
        await check_ledger(inv, self.pool, ops, self.providers, self.funding)
        await check_effects(inv, self.pool, ops, self.providers)
        self.deliveries = await check_events(inv, self.pool, self.redis, self.prefix, ops)

    async def report(self, elapsed_s: float) -> str:
        effects = await self.pool.fetchrow(
            """SELECT (SELECT count(*) FROM ledger_transfers) AS ledger_transfers,
                      (SELECT count(*) FROM wallet_deposits) AS deposits,
                      (SELECT count(*) FROM wallet_charges) AS charges,
                      (SELECT count(*) FROM payouts WHERE status = 'completed') AS payouts_paid,
                      (SELECT count(*) FROM payouts WHERE status = 'failed') AS payouts_failed,
                      (SELECT count(*) FROM payout_attempts) AS payout_attempts,
                      (SELECT count(*) FROM points_ledger) AS points_entries,
                      (SELECT count(*) FROM paper_fills) AS fills,
                      (SELECT count(*) FROM outbox) AS events"""
        )
        assert effects is not None
        figures, conductor, services = self.figures, self.conductor, self.cluster.services
        kinds = sorted(collections.Counter(op.kind for op in self.burst.ops).items())
        boots = {s.name: round(statistics.median(s.boot_s), 1) for s in services if s.boot_s}
        return "\n".join(
            [
                f"runs: {len(self.rounds_s)} rounds, {len(conductor.kills)} kill points "
                f"({', '.join(conductor.kills)}); SIGKILLs "
                + ", ".join(f"{s.name} {s.kills}" for s in services)
                + f"; {sum(s.starts for s in services)} process starts, median boot s {boots}",
                f"cut short: requests in flight at API kills {conductor.requests_cut}, "
                f"deliveries queued but uncommitted at worker kills {conductor.deliveries_cut}",
                f"traffic: {len(self.burst.ops)} keyed operations ("
                + ", ".join(f"{kind} {n}" for kind, n in kinds)
                + f"); {figures.requests} requests sent, {figures.retried} retried (reset, "
                f"refused or timed out), {figures.twins} sent twice at once, {figures.resent} "
                f"sent again after their answer, all {len(self.burst.ops)} replayed after their "
                "round",
                f"providers: {figures.callbacks} callbacks delivered "
                f"({self.providers.b2c_results_lost} B2C results lost), "
                f"{self.scheduler.status_queries} status queries and "
                f"{self.scheduler.payout_retries} payout retries by the reconciliation jobs, "
                f"{self.scheduler.deposits_settled} M-Pesa top-ups settled by the stale-deposit "
                "job",
                f"effects: {dict(effects)}, {self.deliveries} event deliveries",
                f"invariants: {self.invariants.checked} checked after the rounds, 0 broken; "
                f"drained in {[round(d, 1) for d in self.drains_s]} s; rounds "
                f"{[round(r) for r in self.rounds_s]} s; {elapsed_s:.0f} s in all",
            ]
        )


async def test_killed_at_random_points_of_a_mixed_burst_the_platform_loses_and_doubles_nothing(
    pool: asyncpg.Pool,
    database_url: str,
    redis_prefix: str,
    redis_cleanup: None,
    tmp_path: Path,
) -> None:
    seed = int(os.environ.get("DRACARYS_CHAOS_SEED") or int.from_bytes(os.urandom(4)))
    print(f"\nchaos seed {seed} (DRACARYS_CHAOS_SEED={seed} replays its choices)")
    rng = random.Random(seed)
    started = time.monotonic()
    port = free_port()
    with _quiet_http_log(), _providers() as (stripe, stripe_url, daraja, daraja_url):
        env = _settings_env(
            database_url,
            tmp_path / "data",
            port,
            redis_prefix,
            provider_env(stripe, stripe_url, daraja, daraja_url),
        )
        cluster = build_cluster(env, port=port, logs=tmp_path)
        platform = Platform(
            settings=make_settings(
                database_url,
                tmp_path / "data",
                **{k: v for k, v in env.items() if k != "REDIS_URL"},
            ),
            database=Database(pool=pool, dsn=database_url),
        )
        figures = Figures()
        redis = Redis.from_url(REDIS_URL)
        http = Http(cluster.base_url, figures)
        try:
            async with _cluster_running(cluster):
                await _priced(pool)
                cast, funding = await _cast(pool, platform, cluster)
                providers = Providers(stripe, daraja, http, figures, random.Random(rng.random()))
                chaos = Chaos(
                    pool=pool,
                    redis=redis,
                    prefix=redis_prefix,
                    settings=platform.settings,
                    rng=rng,
                    cluster=cluster,
                    daraja=daraja,
                    http=http,
                    figures=figures,
                    providers=providers,
                    scheduler=Scheduler(platform, providers),
                    burst=Burst(http, cast, providers, figures, seed),
                    conductor=Conductor(cluster, rng, http, pool),
                    funding=funding,
                )
                async with running(providers.b2c_courier()):
                    for round_no in range(len(ROUND_PLANS)):
                        await chaos.round(round_no)
                # SIGTERM, as an orchestrator stops them: each exits cleanly.
                codes = await cluster.stop()
            assert codes == {"api": 0, "worker": 0, "engine": 0}, codes
        finally:
            await http.aclose()
            await redis.aclose()
    print(await chaos.report(time.monotonic() - started))  # the figures the README quotes

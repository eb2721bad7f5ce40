"""The `dracarys` command. It is the composition root, the one place that wires the
platform (dracarys), its background workers and the engine together, which is why it
lives in the outermost package."""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import uvicorn
from litestar import Litestar

from dracarys.app import LifespanHook, create_app
from dracarys.db import open_database
from dracarys.db.migrate import discover_migrations, pending_migrations
from dracarys.demo import seed_demo
from dracarys.identity import AuditCheck, build_session_cache, verify_audit_chain
from dracarys.messaging import outbound_directory
from dracarys.observability import configure_logging
from dracarys.payments import payment_mode
from dracarys.payments.sandbox import PaymentSandbox, SandboxedApp, internal_base, sandbox_for
from dracarys.platform import Platform
from dracarys.settings import Settings, SettingsError, load_settings
from dracarys.social import SOCIAL_SANDBOX_PATH, social_sandbox_for
from dracarys.trading import DEMO_DATA, market_feeds, paper_trading
from dracarys.upgrade import upgrade_database
from workers.engine_warmup import start_engine_warmup
from workers.main import STOP_SIGNALS, exit_0_on_stop_signals
from workers.runtime import Worker, embedded_background


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        print(f"dracarys: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


@asynccontextmanager
async def _standalone_platform(settings: Settings) -> AsyncIterator[Platform]:
    from redis.asyncio import Redis

    database = await open_database(settings)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    try:
        yield Platform(
            settings=settings,
            database=database,
            redis=redis,
            # Changes this process makes to login sessions reach the API processes.
            session_cache=build_session_cache(settings, redis),
        )
    finally:
        if redis is not None:
            await redis.aclose()
        await database.close()


async def _wait_for_stop() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _serve(app: Any, settings: Settings, **options: Any) -> int:
    """Run uvicorn until SIGTERM or Ctrl+C. Uvicorn stops accepting connections, lets the
    requests in flight finish for up to the shutdown grace (then cancels them), runs the
    app's shutdown (workers, pools, the embedded PostgreSQL), restores the handlers it
    found and raises the signal again: the handler set here turns that into exit 0, where
    Python's default for SIGTERM would kill the process."""
    exit_0_on_stop_signals()
    uvicorn.run(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_s),
        **_server_options(settings),
        **options,
    )
    return 0


def _warm_engine(settings: Settings) -> None:
    """Warm the engine's Numba cache beside the service (see ``workers.engine_warmup``)."""
    if settings.engine_warmup == "background":
        start_engine_warmup()


def _require_migrated(settings: Settings) -> None:
    """The scale-out commands expect `dracarys migrate` to have run (the embedded mode
    migrates as it starts): against a database without the schema they would start and
    then fail at every request, task or tick, so they refuse to start, saying why."""
    if settings.database_url is None:
        return

    async def pending(dsn: str) -> list[int]:
        conn = await asyncpg.connect(dsn)
        try:
            return await pending_migrations(conn)
        finally:
            await conn.close()

    try:
        missing = asyncio.run(pending(settings.database_url))
    except (OSError, asyncpg.PostgresError) as exc:
        raise SystemExit(f"dracarys: cannot reach the database at DATABASE_URL: {exc}") from None
    if missing:
        what = (
            "has no Dracarys schema yet"
            if len(missing) == len(discover_migrations())
            else "lacks migrations " + ", ".join(f"{version:04d}" for version in missing)
        )
        raise SystemExit(
            f"dracarys: the database at DATABASE_URL {what}; run `dracarys migrate` first"
        )


def cmd_migrate(_: argparse.Namespace) -> int:
    settings = _settings()
    configure_logging(settings)

    async def run() -> list[int]:
        async with _standalone_platform(settings) as platform, platform.pool.acquire() as conn:
            return await upgrade_database(conn, settings)

    applied = asyncio.run(run())
    print(f"migrations applied: {applied or 'none (schema is up to date)'}")
    return 0


def cmd_seed_demo(_: argparse.Namespace) -> int:
    settings = _settings()
    configure_logging(settings)

    async def run() -> list[str]:
        async with _standalone_platform(settings) as platform:
            async with platform.pool.acquire() as conn:
                await upgrade_database(conn, settings)
            return await seed_demo(platform)

    print(f"demo data seeded: {', '.join(asyncio.run(run())) or 'nothing to seed'}")
    return 0


def cmd_worker(_: argparse.Namespace) -> int:
    settings = _settings()
    configure_logging(settings)
    _require_migrated(settings)
    _warm_engine(settings)

    async def run() -> None:
        async with _standalone_platform(settings) as platform:
            worker = Worker(platform)
            await worker.start(receive=True, relay=True)
            try:
                await _wait_for_stop()
            finally:
                await worker.stop()

    asyncio.run(run())
    return 0


def cmd_scheduler(_: argparse.Namespace) -> int:
    settings = _settings()
    configure_logging(settings)
    _require_migrated(settings)

    async def run() -> None:
        async with _standalone_platform(settings) as platform:
            worker = Worker(platform)
            await worker.broker.startup()
            worker.start_scheduler()
            try:
                await _wait_for_stop()
            finally:
                await worker.stop()

    asyncio.run(run())
    return 0


def cmd_paper_engine(_: argparse.Namespace) -> int:
    settings = _settings()
    configure_logging(settings)
    if settings.trading_feed == "off":
        print("dracarys: DRACARYS_TRADING_FEED is off; nothing to run", file=sys.stderr)
        return 2
    if settings.trading_feed == "replay" and not DEMO_DATA.exists():
        print(
            f"dracarys: DRACARYS_TRADING_FEED=replay replays {DEMO_DATA}, which this "
            "installation lacks (it ships in the repository's data/ folder); copy it there "
            "or set DRACARYS_TRADING_FEED=synthetic",
            file=sys.stderr,
        )
        return 2
    _require_migrated(settings)
    feeds = market_feeds(settings)

    async def run() -> int:
        async with _standalone_platform(settings) as platform, paper_trading(platform) as engine:
            assert engine is not None
            print(
                "Paper engine: matching paper orders on every tick of "
                + " and ".join(f"{f.name} ({', '.join(f.symbols)})" for f in feeds)
                + ", resuming after the last tick it persisted "
                "— SIGTERM or Ctrl+C stops it after the tick in progress",
                flush=True,
            )
            stop = asyncio.create_task(_wait_for_stop())
            await asyncio.wait({stop, engine}, return_when=asyncio.FIRST_COMPLETED)
            if not engine.done():
                return 0
            stop.cancel()
            error = engine.exception()
            reason = repr(error) if error is not None else "its feed ended"
            print(f"dracarys: the paper engine stopped: {reason}", file=sys.stderr)
            return 1

    return asyncio.run(run())


def _server_options(settings: Settings) -> dict[str, Any]:
    """The server refuses stream frames over the limit before buffering them, and sends
    without per-message deflate: a compressed frame is per connection, which would turn
    one encoded broadcast into one compression per subscriber. The WebSocket protocol is
    websockets' Sans-I/O one, named rather than left to "auto", as the fan-out benchmark
    (benchmarks/streams_fanout.py) measures it. Whom to believe about the client's address
    is the app's to decide (DRACARYS_TRUSTED_PROXIES): uvicorn's own proxy headers, which
    trust X-Forwarded-For from 127.0.0.1 by default, are off."""
    return {
        "ws": "websockets-sansio",
        "ws_max_size": settings.stream_max_frame_bytes,
        "ws_per_message_deflate": False,
        "proxy_headers": False,
    }


def serve_workers(requested: int | None, settings: Settings) -> int:
    """API processes for `dracarys serve`: as asked, else one per core when Redis carries
    stream messages between processes (a WebSocket fan-out spends most of its time in
    per-connection sends, which one process runs on one core), else one: without Redis a
    message published in one process would never reach clients of another."""
    if requested is not None:
        if requested < 1:
            raise SystemExit("dracarys: --workers must be at least 1")
        if requested > 1 and not settings.uses_redis:
            raise SystemExit(
                "dracarys: --workers above 1 needs REDIS_URL: streams fan out across "
                "API processes through Redis"
            )
        return requested
    return (os.cpu_count() or 1) if settings.uses_redis else 1


@asynccontextmanager
async def _freeze_startup_heap(_: Platform) -> AsyncIterator[None]:
    """Put what the start built (routes, schemas, modules: about 190,000 objects) out of
    the garbage collector's sight. Every full collection walked them all, stopping the
    process 130-290 ms under load, which set the API's p99 (`benchmarks/auth_me.py`);
    with them frozen a full collection takes about 3 ms."""
    gc.collect()
    gc.freeze()
    yield


def serve_app() -> Litestar:
    """The app each `dracarys serve` process runs."""
    return create_app(lifespan_hooks=[_freeze_startup_heap])


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings()
    _require_migrated(settings)
    _warm_engine(settings)
    return _serve(
        "workers.cli:serve_app",
        settings,
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=serve_workers(args.workers, settings),
    )


@asynccontextmanager
async def _announce(platform: Platform) -> AsyncIterator[None]:
    settings = platform.settings
    if settings.seed_demo:
        await seed_demo(platform)
    outbound = ""
    if settings.outbound == "files":
        outbound = (
            f"E-mail and SMS are written to {outbound_directory(settings)} "
            "(set DRACARYS_OUTBOUND=providers and DRACARYS_SMTP_* to send them)\n"
        )
    payments = payment_mode(settings)
    if payments.sandbox_phone_url:
        outbound += (
            "Payments run in the sandbox: no real money moves. Cards pay on its checkout "
            f"page (test card 4242 4242 4242 4242); M-Pesa prompts wait at "
            f"{payments.sandbox_phone_url} (set DRACARYS_STRIPE_* and DRACARYS_DARAJA_* "
            "for real providers)\n"
        )
    if settings.social_sandbox == "on":
        outbound += (
            "Follows of YouTube and X are checked against a local sandbox of those "
            f"platforms at {settings.public_url.rstrip('/')}{SOCIAL_SANDBOX_PATH}/ (set "
            "DRACARYS_SOCIAL_YOUTUBE_* and DRACARYS_SOCIAL_X_* for the real ones)\n"
        )
    print(
        f"\nDracarys is running at http://{settings.host}:{settings.port}"
        f"  (API docs: http://{settings.host}:{settings.port}/schema)  — Ctrl+C stops it\n"
        f"{outbound}",
        flush=True,
    )
    yield


class DemoSandboxedApp(SandboxedApp):
    """The payments sandbox's app with the social platforms' sandbox beside it: requests
    under /sandbox/social/ go to the latter (also outside the platform's middleware)."""

    def __init__(self, platform_app: Litestar, sandbox: PaymentSandbox, social_app: Litestar):
        super().__init__(platform_app, sandbox)
        self.social_app = social_app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and path.startswith(f"{SOCIAL_SANDBOX_PATH}/"):
            await self.social_app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def up_app(
    settings: Settings,
    lifespan_hooks: Sequence[LifespanHook] = (embedded_background, _announce, _freeze_startup_heap),
) -> Litestar | SandboxedApp:
    """What `dracarys up` serves: the platform with its background work in-process, and,
    unless a payment provider is configured (or DRACARYS_PAYMENTS_SANDBOX=off, or in
    production), the payments sandbox under /sandbox/ with the payment adapters pointed
    at it. With it, unless a social OAuth client is configured (or
    DRACARYS_SOCIAL_SANDBOX=off), the social platforms' sandbox under /sandbox/social/,
    so the demo's follows page connects YouTube and X without real accounts."""
    sandbox = sandbox_for(settings)
    if sandbox is None:
        return create_app(settings, lifespan_hooks=lifespan_hooks, run_migrations=True)
    configured = sandbox.configure(settings)
    social = social_sandbox_for(settings)
    if social is not None:
        configured = social.configure(configured, internal_base(settings))
    app = create_app(
        configured,
        lifespan_hooks=[sandbox.running, *lifespan_hooks],
        run_migrations=True,
    )
    if social is None:
        return SandboxedApp(app, sandbox)
    return DemoSandboxedApp(app, sandbox, social.app(SOCIAL_SANDBOX_PATH))


def cmd_up(args: argparse.Namespace) -> int:
    if args.port:
        # Through the environment, so the public URL and allowed origins follow the port.
        os.environ["DRACARYS_PORT"] = str(args.port)
    settings = _settings()
    _warm_engine(settings)
    return _serve(up_app(settings), settings, host=settings.host, port=settings.port)


def cmd_audit_verify(args: argparse.Namespace) -> int:
    settings = _settings()
    configure_logging(settings)

    async def run() -> AuditCheck:
        async with _standalone_platform(settings) as platform:
            return await verify_audit_chain(platform, expected_head=args.expect_head)

    result = asyncio.run(run())
    if result.ok:
        print(f"audit log intact: {result.rows_checked} rows, hash chain unbroken")
        print(f"head (keep it outside the database, pass as --expect-head): {result.head}")
        return 0
    print(f"audit log TAMPERED ({result.rows_checked} rows checked):", file=sys.stderr)
    for problem in result.problems:
        print(f"  - {problem}", file=sys.stderr)
    return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dracarys",
        description="Dracarys trading-mentorship platform. Settings come from DRACARYS_* "
        "environment variables plus DATABASE_URL and REDIS_URL (see the README).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Listed for `dracarys --help`; `workers.main` hands its arguments to the engine.
    sub.add_parser(
        "backtest",
        help="backtest or sweep a strategy on an OHLCV file (no database needed); "
        "`dracarys backtest --help` lists its options",
        add_help=False,
    )

    # Listed for `dracarys --help`; `workers.main` hands its arguments to the engine.
    sub.add_parser(
        "warm-engine",
        help="compile the engine's kernels into the on-disk Numba cache (NUMBA_CACHE_DIR), "
        "as image builds do; `up`, `serve` and `worker` do it in the background",
        add_help=False,
    )

    up = sub.add_parser(
        "up",
        help="run everything in one process: API, WebSockets, worker, relay, scheduler",
        description="Run the whole platform in one process. Without DATABASE_URL it starts "
        "a private PostgreSQL under the data directory; without REDIS_URL it keeps "
        "channels, stores and the task queue in memory. Migrates, seeds demo data and "
        "serves on DRACARYS_HOST:DRACARYS_PORT (default http://127.0.0.1:8000). With no "
        "payment provider configured, payments go to a local sandbox (no real money).",
    )
    up.add_argument("--port", type=int, help="override DRACARYS_PORT")
    up.set_defaults(func=cmd_up)

    serve = sub.add_parser(
        "serve",
        help="serve the HTTP/WebSocket API only (scale-out mode)",
        description="Serve the API only; background work runs in `dracarys worker` and "
        "`dracarys scheduler` processes. Expects an already migrated database.",
    )
    serve.add_argument("--host", help="override DRACARYS_HOST")
    serve.add_argument("--port", type=int, help="override DRACARYS_PORT")
    serve.add_argument(
        "--workers",
        type=int,
        help="API processes (default: one per core with REDIS_URL, else 1)",
    )
    serve.set_defaults(func=cmd_serve)

    sub.add_parser(
        "migrate",
        help="apply pending database migrations",
        description="Apply the numbered SQL migrations in order under an advisory lock. "
        "Safe to run twice, and from several processes at once.",
    ).set_defaults(func=cmd_migrate)

    sub.add_parser(
        "worker",
        help="run a task worker and outbox relay",
        description="Consume tasks from the queue (Redis Streams when REDIS_URL is set) and "
        "relay committed outbox events. Run as many as you like.",
    ).set_defaults(func=cmd_worker)

    sub.add_parser(
        "scheduler",
        help="fire cron jobs (only one is active at a time)",
        description="Fire scheduled jobs. A PostgreSQL advisory lock makes one scheduler "
        "active; further ones wait on standby and take over if it stops.",
    ).set_defaults(func=cmd_scheduler)

    sub.add_parser(
        "paper-engine",
        help="run the paper-trading engine for one market feed (scale-out mode)",
        description="Match every open paper order on each tick of the feed chosen by "
        "DRACARYS_TRADING_FEED, persist fills and publish them. Run one per feed; it "
        "resumes after the last tick it persisted.",
    ).set_defaults(func=cmd_paper_engine)

    sub.add_parser(
        "seed-demo",
        help="load demo users, mentors, courses and market data",
        description="Migrate, then load the demo data set. Safe to run again.",
    ).set_defaults(func=cmd_seed_demo)
    audit = sub.add_parser(
        "audit",
        help="check the append-only audit log",
        description="Audit log tools.",
    )
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = audit_sub.add_parser(
        "verify",
        help="walk the hash chain; exit 1 if a row was edited, deleted or reordered",
        description="Recompute every row's hash in order and check each links to the one "
        "before; reports every break and exits 1 when the log was tampered with.",
    )
    verify.add_argument(
        "--expect-head",
        metavar="POSITION:HASH",
        help="a head printed by an earlier run; also catches rows deleted from the end",
    )
    verify.set_defaults(func=cmd_audit_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The platform's commands (`workers.main` hands `backtest` to the engine first)."""
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())

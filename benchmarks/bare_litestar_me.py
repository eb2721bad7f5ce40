"""The peer of `auth_me.py`: a bare Litestar app whose `GET /me` makes the same single
asyncpg query as Dracarys's `GET /api/v1/me` (the caller's record, over a pool sized like
ours) for the user `BENCH_USER_ID`, opens the same sealed contact fields with the same
cipher (the record's data work, not the platform's), and returns the same fields. No
token, no session check, no middleware: what one query behind Litestar costs, on asyncpg's
own pool. With `BENCH_OUR_POOL=1` it runs on Dracarys's pool instead
(`dracarys.db.pool.create_pool`: no reset query on release, connections handed out first
come first served): the like-for-like comparison of everything but the pool."""

from __future__ import annotations

import os
import uuid

import asyncpg
import msgspec
from litestar import Litestar, get
from litestar.datastructures import State

from dracarys.db.pool import create_pool
from dracarys.identity.personal import EMAIL, NAME, PHONE, personal_data_cipher
from dracarys.settings import load_settings

USER_ID = uuid.UUID(os.environ["BENCH_USER_ID"])
# The statement of `dracarys.identity.store.me_row`, word for word.
ME_SQL = """SELECT id, email_sealed, name_sealed, phone_sealed, role, kyc_level,
                  email_verified_at, phone_verified_at, totp_enabled_at, reputation_score
           FROM users WHERE id = $1"""
# The key the Dracarys process under test uses (same environment, same data dir).
CIPHER = personal_data_cipher(load_settings())


class Me(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str
    name: str
    role: str
    kyc_level: int
    email_verified: bool
    phone: str | None
    phone_verified: bool
    two_factor_enabled: bool
    reputation_score: int


class HealthStatus(msgspec.Struct):
    status: str


async def open_pool(app: Litestar) -> None:
    if os.environ.get("BENCH_OUR_POOL"):
        app.state.pool = await create_pool(os.environ["DATABASE_URL"], min_size=2, max_size=20)
    else:
        app.state.pool = await asyncpg.create_pool(
            os.environ["DATABASE_URL"], min_size=2, max_size=20, command_timeout=60
        )


async def close_pool(app: Litestar) -> None:
    await app.state.pool.close()


@get("/me")
async def me(state: State) -> Me:
    row = await state.pool.fetchrow(ME_SQL, USER_ID)
    # The same three openings `open_contact` makes, straight from the record.
    user_id, phone = row["id"], row["phone_sealed"]
    return Me(
        id=user_id,
        email=CIPHER.open(user_id, EMAIL, row["email_sealed"]),
        name=CIPHER.open(user_id, NAME, row["name_sealed"]),
        role=row["role"],
        kyc_level=row["kyc_level"],
        email_verified=row["email_verified_at"] is not None,
        phone=None if phone is None else CIPHER.open(user_id, PHONE, phone),
        phone_verified=row["phone_verified_at"] is not None,
        two_factor_enabled=row["totp_enabled_at"] is not None,
        reputation_score=row["reputation_score"],
    )


@get("/health")
async def health() -> HealthStatus:
    return HealthStatus(status="ok")


app = Litestar(route_handlers=[me, health], on_startup=[open_pool], on_shutdown=[close_pool])

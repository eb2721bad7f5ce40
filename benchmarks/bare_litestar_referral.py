"""The peer of `referral_redirect.py`: a bare Litestar app whose `GET /r/{code}` does the
data work Dracarys's referral link does — the same single INSERT ... SELECT of the click
(over a pool sized like ours), a random device token and its SHA-256, the address's /24 —
then sets the same two cookies and answers the same 302. No middleware, no dependencies,
no rate limit: what one query behind a Litestar redirect costs."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, Request, get
from litestar.datastructures import Cookie, State
from litestar.response import Redirect

# The statement of `dracarys.social.referrals.store.record_click`, word for word.
CLICK_SQL = """INSERT INTO referral_clicks (id, referrer_id, utm_source, utm_medium, utm_campaign,
                                        utm_term, utm_content, ip, ip_cluster, device_hash,
                                        created_at)
           SELECT $1, user_id, $3, $4, $5, $6, $7, $8::inet, $9::cidr, $10, $11
           FROM referral_codes WHERE code = $2
           RETURNING true"""


class HealthStatus(msgspec.Struct):
    status: str


async def open_pool(app: Litestar) -> None:
    app.state.pool = await asyncpg.create_pool(
        os.environ["DATABASE_URL"], min_size=2, max_size=20, command_timeout=60
    )


async def close_pool(app: Litestar) -> None:
    await app.state.pool.close()


@get("/r/{code:str}", status_code=302)
async def follow(code: str, state: State, request: Request[Any, Any, Any]) -> Redirect:
    ip = request.client.host if request.client else None
    device = secrets.token_urlsafe(24)
    click_id = uuid.uuid4()
    q = request.query_params
    recorded = await state.pool.fetchval(
        CLICK_SQL,
        click_id,
        code,
        q.get("utm_source"),
        q.get("utm_medium"),
        q.get("utm_campaign"),
        q.get("utm_term"),
        q.get("utm_content"),
        ip,
        str(ipaddress.ip_network(f"{ip}/24", strict=False)) if ip else None,
        hashlib.sha256(device.encode()).digest(),
        datetime.now(UTC),
    )
    cookies = [Cookie(key="dr_dev", value=device, max_age=400 * 86_400, httponly=True)]
    if recorded:
        cookies.append(
            Cookie(key="dr_ref", value=str(click_id), max_age=30 * 86_400, httponly=True)
        )
    return Redirect("/signup", status_code=302, cookies=cookies)


@get("/health")
async def health() -> HealthStatus:
    return HealthStatus(status="ok")


app = Litestar(route_handlers=[follow, health], on_startup=[open_pool], on_shutdown=[close_pool])

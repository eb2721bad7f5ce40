"""The e-mail verification link opens a page, and the API it calls tells the page which of
the ways a link can fail it met: unknown, already used, expired (or for an address the
account no longer uses), each a 422 on `token` with its own `extra.reason` and message."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from dracarys.clock import ManualClock
from dracarys.settings import Settings
from tests.identity.conftest import LINK, Client, signup
from tests.messaging.simulators import SmtpSimulator
from workers.runtime import Worker


async def verification_token(smtp: SmtpSimulator, email: str, count: int = 1) -> str:
    """The token of the latest verification link mailed to `email`."""
    messages = await smtp.wait_for(email, count=count)
    body = messages[-1].get_body(preferencelist=("plain",))
    assert body is not None
    match = LINK.search(body.get_content())
    assert match is not None
    return match["token"]


async def test_the_mailed_link_opens_the_verification_page(
    client: Client, worker: Worker, smtp_server: SmtpSimulator, settings: Settings
) -> None:
    _, email = await signup(client)
    (message,) = await smtp_server.wait_for(email)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert f"{settings.public_url}/verify-email?token=" in body.get_content()
    token = await verification_token(smtp_server, email)
    page = await client.get(f"/verify-email?token={token}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")


async def test_each_refusal_says_why(
    client: Client, worker: Worker, smtp_server: SmtpSimulator, clock: ManualClock
) -> None:
    _, email = await signup(client)
    token = await verification_token(smtp_server, email)
    answers = {}
    answers["unknown"] = await client.get("/api/v1/verify-email?token=never-issued")
    assert (await client.get(f"/api/v1/verify-email?token={token}")).status_code == 200
    answers["already_used"] = await client.get(f"/api/v1/verify-email?token={token}")
    _, late = await signup(client)
    late_token = await verification_token(smtp_server, late)
    clock.advance(timedelta(hours=24))
    answers["expired"] = await client.get(f"/api/v1/verify-email?token={late_token}")

    for reason, answer in answers.items():
        assert answer.status_code == 422, reason
        problem = answer.json()
        assert problem["extra"]["reason"] == reason
        assert problem["errors"][0]["field"] == "token"
    details = {answer.json()["detail"] for answer in answers.values()}
    assert len(details) == 3


async def test_a_used_link_stays_used_after_it_would_have_expired(
    client: Client, worker: Worker, smtp_server: SmtpSimulator, clock: ManualClock
) -> None:
    _, email = await signup(client)
    token = await verification_token(smtp_server, email)
    assert (await client.get(f"/api/v1/verify-email?token={token}")).status_code == 200
    clock.advance(timedelta(days=2))
    answer = await client.get(f"/api/v1/verify-email?token={token}")
    assert answer.json()["extra"]["reason"] == "already_used"


async def test_a_refused_link_changes_nothing(
    client: Client,
    worker: Worker,
    smtp_server: SmtpSimulator,
    clock: ManualClock,
    pool: asyncpg.Pool,
) -> None:
    user_id, email = await signup(client)
    token = await verification_token(smtp_server, email)
    clock.advance(timedelta(hours=24, seconds=1))
    assert (await client.get(f"/api/v1/verify-email?token={token}")).status_code == 422
    row = await pool.fetchrow(
        """SELECT u.email_verified_at, t.used_at FROM users u
           JOIN email_verification_tokens t ON t.user_id = u.id WHERE u.id = $1""",
        user_id,
    )
    assert row is not None
    assert row["email_verified_at"] is None
    assert row["used_at"] is None

"""The demo seeder: idempotent, vetted mentors, and every printed credential works."""

from __future__ import annotations

import asyncpg
import pyotp

from dracarys.clock import ManualClock
from dracarys.identity import DEMO_ACCOUNTS, DEMO_MENTORS, seed_identity_demo
from dracarys.platform import Platform
from tests.identity.conftest import Client, login
from tests.support import accounts_with_email


async def test_demo_accounts_seed_once_and_sign_in_with_their_printed_credentials(
    client: Client, platform: Platform, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    await seed_identity_demo(platform)
    await seed_identity_demo(platform)
    for account in DEMO_ACCOUNTS:
        assert await accounts_with_email(pool, platform.settings, account.email) == 1
    assert await pool.fetchval("SELECT count(*) FROM users") == 5
    for mentor in DEMO_MENTORS:
        row = await pool.fetchrow(
            "SELECT verified, on_probation FROM mentor_profiles WHERE user_id = $1", mentor.id
        )
        assert row is not None
        assert row["verified"] is True
        assert row["on_probation"] is False
    for account in DEMO_ACCOUNTS:
        extra = {}
        if account.totp_secret:
            extra["totp_code"] = pyotp.TOTP(account.totp_secret).at(clock.now())
        response = await login(client, account.email, account.password, **extra)
        assert response.status_code == 200, (account.email, response.text)
        assert response.json()["role"] == account.role

"""The wallet's demo seeder runs after identity's, shows money in every state, and
running it again changes nothing."""

from __future__ import annotations

import asyncpg

from dracarys.identity import DEMO_MENTEE, DEMO_MENTORS, seed_identity_demo
from dracarys.platform import Platform
from dracarys.wallet import seed_wallet_demo
from dracarys.wallet.balances.service import balances_of
from dracarys.wallet.ledger import service as ledger


async def test_wallet_demo_seeds_once_and_leaves_a_sound_ledger(
    platform: Platform, pool: asyncpg.Pool
) -> None:
    await seed_identity_demo(platform)
    for _ in range(2):
        await seed_wallet_demo(platform)
    async with pool.acquire() as conn:
        mentee = (await balances_of(conn, DEMO_MENTEE.id)).balances[0]
        mentor = (await balances_of(conn, DEMO_MENTORS[0].id)).balances[0]
        assert (mentee.available_minor, mentee.pending_out_minor) == (
            5_000_000 - 580_000 - 2 * 348_000,
            348_000,
        )
        assert mentor.available_minor > 0
        assert await conn.fetchval("SELECT count(*) FROM invoices") == 3
        assert (await ledger.check_ledger(conn)).problems == []
        # The demo promo code, created once (the second run finds it by its name).
        assert (
            await conn.fetchval("SELECT count(*) FROM discount_codes WHERE issuer = 'admin'") == 1
        )
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM audit_log WHERE action = 'promo_code.created'"
            )
            == 1
        )

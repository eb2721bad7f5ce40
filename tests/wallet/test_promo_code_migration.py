"""Migration 0690 turns the codes points bought into promo codes of the one model: a
fixed amount its owner uses once, for what it paid for (mentor credit: sessions only). A
code spent before the upgrade stays spent (its use becomes a row); an unspent one still
pays; mentor credit still refuses a cohort."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from dracarys.clock import ManualClock
from dracarys.db import Database
from dracarys.db.migrate import migrate
from dracarys.db.pool import create_pool
from dracarys.errors import Conflict, InvalidInput
from dracarys.platform import Platform
from dracarys.wallet import PurchaseKind, check_discount_code
from dracarys.wallet.discounts.service import my_discount_codes
from tests.conftest import database_migrated_without, make_settings
from tests.support import create_user

PROMO_CODES_MIGRATION = 690


async def test_points_codes_of_an_older_database_keep_working_after_the_upgrade(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    now = clock.now()
    async with database_migrated_without({PROMO_CODES_MIGRATION}) as dsn:
        settings = make_settings(dsn, tmp_path)
        pool = await create_pool(dsn, min_size=1, max_size=2)
        try:
            user = await create_user(pool, settings, clock)
            # As the code before migration 0690 wrote them.
            for code, value, used, pays_for in (
                ("PTS-UNUSED0001", 300, False, "anything"),
                ("PTS-SPENT00001", 200, True, "anything"),
                ("SES-CREDIT0001", 5_000, False, "sessions"),
            ):
                await pool.execute(
                    """INSERT INTO discount_codes (code, redemption_id, user_id, value_minor,
                           currency, created_at, expires_at, used_at, used_for, applied_minor,
                           pays_for)
                       VALUES ($1, $2, $3, $4, 'KES', $5, $6, $7, $8, $9, $10)""",
                    code,
                    uuid.uuid4(),
                    user.id,
                    value,
                    now - timedelta(days=1),
                    now + timedelta(days=89),
                    now if used else None,
                    "booking:older" if used else None,
                    value if used else None,
                    pays_for,
                )
            async with pool.acquire() as conn:
                assert await migrate(conn) == [PROMO_CODES_MIGRATION]
            platform = Platform(
                settings=settings, database=Database(pool=pool, dsn=dsn), clock=clock
            )

            async def applied(code: str, purchase: PurchaseKind) -> int:
                async with pool.acquire() as conn:
                    discount = await check_discount_code(
                        conn,
                        code=code,
                        user_id=user.id,
                        price_minor=10_000,
                        currency="KES",
                        purchase=purchase,
                        now=clock.now(),
                    )
                return discount.applied_minor

            assert await applied("PTS-UNUSED0001", PurchaseKind.COHORT) == 300
            assert await applied("SES-CREDIT0001", PurchaseKind.SESSION) == 5_000
            with pytest.raises(Conflict, match="already used"):
                await applied("PTS-SPENT00001", PurchaseKind.SESSION)
            with pytest.raises(InvalidInput, match="mentor credit"):
                await applied("SES-CREDIT0001", PurchaseKind.COHORT)
            use = await pool.fetchrow("SELECT * FROM discount_code_uses")
            assert (use["code"], use["used_for"], use["applied_minor"], use["user_id"]) == (
                "PTS-SPENT00001",
                "booking:older",
                200,
                user.id,
            )
            listed = await my_discount_codes(platform, user.id)
            assert sorted((c.code, c.status, c.pays_for.value) for c in listed) == [
                ("PTS-SPENT00001", "used", "anything"),
                ("PTS-UNUSED0001", "usable", "anything"),
                ("SES-CREDIT0001", "usable", "sessions"),
            ]
        finally:
            await pool.close()

"""Demo money for `dracarys up`: the demo mentee's wallet is topped up, a course is paid
(with its VAT invoice), one mentorship session is paid into escrow and released (mentor
share, holdback, commission), another is still held; the demo admin's promo code WELCOME10
(10% off, once per member) works at every checkout. Fixed idempotency keys (and the promo
code's name) make running it again change nothing."""

from __future__ import annotations

import uuid

from dracarys.db import transaction
from dracarys.identity import DEMO_ADMIN, DEMO_MENTEE, DEMO_MENTORS, CurrentUser, Role
from dracarys.platform import Platform
from dracarys.wallet.charges.models import ChargeRequest
from dracarys.wallet.charges.service import charge
from dracarys.wallet.discounts.models import CodeKind, PromoCodeInput
from dracarys.wallet.discounts.service import create_promo_code
from dracarys.wallet.escrow.service import release_escrow
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountCode, TransferSpec

_DEMO_SESSION = uuid.UUID("00000000-0000-0000-0000-00000000d3a0")


async def seed_wallet_demo(platform: Platform) -> None:
    now = platform.clock.now()
    mentee = CurrentUser(id=DEMO_MENTEE.id, role=Role.MENTEE, session_id=_DEMO_SESSION)
    mentor_id = DEMO_MENTORS[0].id
    async with transaction(platform.pool) as conn:
        await ledger.create_transfer(
            conn,
            TransferSpec(
                idempotency_key="demo:mentee:top-up",
                code="demo_top_up",
                debit_account_id=await ledger.platform_account(
                    conn, AccountCode.OPENING_BALANCE, "KES", now
                ),
                credit_account_id=await ledger.wallet_account(conn, mentee.id, "KES", now),
                amount_minor=5_000_000,
                currency="KES",
            ),
            now=now,
        )
    await charge(
        platform,
        mentee,
        ChargeRequest(
            purpose="course",
            reference="price-action-foundations",
            amount_minor=580_000,
            currency="KES",
        ),
        "demo-charge-course-1",
    )
    for n in (1, 2):
        paid = await charge(
            platform,
            mentee,
            ChargeRequest(
                purpose="session",
                reference=f"demo-session-{n}",
                amount_minor=348_000,
                currency="KES",
                mentor_id=mentor_id,
            ),
            f"demo-charge-session-{n}",
        )
        if n == 1 and paid.escrow_id is not None:
            async with transaction(platform.pool) as conn:
                await release_escrow(conn, paid.escrow_id, settings=platform.settings, now=now)
    admin = CurrentUser(
        id=DEMO_ADMIN.id, role=Role.ADMIN, session_id=_DEMO_SESSION, two_factor=True
    )
    await create_promo_code(
        platform,
        admin,
        PromoCodeInput(
            code="WELCOME10",
            kind=CodeKind.PERCENT,
            percent_bps=1_000,
            max_uses_per_user=1,
            description="Demo: 10% off a first purchase",
        ),
        source_ip=None,
    )

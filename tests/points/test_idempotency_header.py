"""Redeeming points for wallet credit and the award API move money and points, so they
take their idempotency key from the `Idempotency-Key` header or the body and apply once."""

from __future__ import annotations

import uuid

from dracarys.identity.access import Role
from dracarys.platform import Platform
from dracarys.points.ledger import service as ledger
from tests.idempotency import check_idempotent_route


async def _count(platform: Platform, sql: str, user_id: uuid.UUID) -> int:
    count: int = await platform.pool.fetchval(sql, user_id)
    return count


async def test_concurrent_conversions_to_wallet_credit_with_one_key_redeem_once(
    client, platform: Platform, make_user
) -> None:
    user = await make_user(kyc_level=2)
    async with platform.pool.acquire() as conn, conn.transaction():
        await ledger.adjust(
            conn,
            platform,
            user_id=user.id,
            change=1_000,
            reason_code="adjustment",
            related_entity=None,
            key=f"seed:{uuid.uuid4()}",
            source_ip=None,
        )
    first = await check_idempotent_route(
        client,
        "/api/v1/wallet/convert-points",
        body={"points": 300, "target": "credit"},
        changed_body={"points": 400, "target": "credit"},
        headers=user.headers,
        effects=lambda: _count(
            platform, "SELECT count(*) FROM points_redemptions WHERE user_id = $1", user.id
        ),
    )
    assert (first.json()["status"], first.json()["balance"]) == ("held", 700)


async def test_concurrent_awards_with_one_key_post_once(
    client, platform: Platform, make_user
) -> None:
    admin, user = await make_user(role=Role.ADMIN), await make_user()
    body = {"user_id": str(user.id), "change": 150, "reason_code": "goodwill"}
    await check_idempotent_route(
        client,
        "/api/v1/points/award",
        body=body,
        changed_body={**body, "change": 151},
        headers=admin.headers,
        effects=lambda: _count(
            platform, "SELECT count(*) FROM points_ledger WHERE user_id = $1", user.id
        ),
    )

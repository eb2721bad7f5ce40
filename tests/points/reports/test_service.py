"""The daily reconciliation report: what was issued, redeemed and expired, and drift
between the ledger and the balances, stored and served to admins."""

from __future__ import annotations

from datetime import timedelta

from dracarys.clock import ManualClock
from dracarys.identity.access import Role
from dracarys.platform import Platform
from dracarys.points import reconcile
from dracarys.points.expiry import service as expiry
from dracarys.points.redemption import service as redemption
from dracarys.points.redemption.models import ConvertPointsInput, Target
from tests.points.conftest import send


async def test_reconciliation_reports_issued_redeemed_expired_and_flags_drift(
    client, platform: Platform, clock: ManualClock, make_user, user_factory
) -> None:
    a, b = await user_factory(), await user_factory()
    clock.advance(timedelta(days=-400))
    await send(platform, "assessment.passed", user_id=a, assessment_id="old")
    clock.advance(timedelta(days=400))
    await send(platform, "assessment.passed", user_id=b, assessment_id="x")
    await redemption.convert_points(
        platform,
        b,
        ConvertPointsInput(points=50, target=Target.DISCOUNT),
        None,
        idempotency_key="redeem-0099",
    )
    assert await expiry.expire_points(platform) == 200
    clock.advance(timedelta(days=1))
    report = await reconcile(platform)
    assert report["consistent"] is True
    today = (clock.now() - timedelta(days=1)).date().isoformat()
    [day] = [d for d in report["economy"]["per_day"] if d["day"] == today]
    assert (day["issued"], day["redeemed"], day["expired"]) == (200, 50, 200)
    assert report["economy"]["points_per_user"]["total"] == 150
    assert report["fraud_flag_rate"] == 0.0
    # Drift the balance behind the ledger's back: the next report says so.
    await platform.pool.execute(
        "UPDATE points_balances SET balance = balance + 7 WHERE user_id = $1", b
    )
    drifted = await reconcile(platform)
    assert drifted["consistent"] is False
    assert drifted["balance_mismatches"] == [{"user_id": str(b), "balance": 157, "ledger_sum": 150}]
    admin = await make_user(role=Role.ADMIN)
    latest = (await client.get("/api/v1/points/reports/latest", headers=admin.headers)).json()
    assert latest["report"]["consistent"] is False

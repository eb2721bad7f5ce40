"""The points fraud rate counts what the points domain takes back or stops: a clawback
(a verified follow withdrawn) and a velocity freeze reach the analytics stream through the
outbox, as `points.clawed_back` and `points.frozen`, from the points domain's own
services, and the KPI counts them. The expected numbers are worked out in the comments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dracarys.analytics.kpis.service import kpi_report
from dracarys.clock import ManualClock
from dracarys.outbox import Event
from dracarys.platform import Platform
from dracarys.settings import Settings
from tests.analytics.fixture import deliver
from tests.points.conftest import send, velocity_limited


async def _outbox(platform: Platform) -> list[Event]:
    """Every event the services wrote, as the relay hands them on."""
    rows = await platform.pool.fetch(
        "SELECT id, topic, payload, created_at FROM outbox ORDER BY created_at"
    )
    return [
        Event(id=r["id"], topic=r["topic"], payload=r["payload"], created_at=r["created_at"])
        for r in rows
    ]


async def test_clawbacks_and_freezes_count_in_the_fraud_rate(
    settings: Settings, pool, clock: ManualClock, make_user
) -> None:
    # At most 500 points in 10 minutes before earning freezes.
    platform = velocity_limited(settings, pool, clock)
    follower, crammer = (await make_user()).id, (await make_user()).id
    # 150 for a verified follow, taken back when the follow is withdrawn.
    await send(platform, "social.follow_verified", user_id=follower, platform="youtube")
    await send(
        platform, "social.follow_revoked", user_id=follower, platform="youtube", reason="gone"
    )
    # 200 a passed assessment: 200 + 200 = 400 posted; the third would make 600 > 500, so
    # earning freezes and those 200 are refused.
    for assessment in ("a1", "a2", "a3"):
        await send(platform, "assessment.passed", user_id=crammer, assessment_id=assessment)

    events = await _outbox(platform)
    assert [e.payload for e in events if e.topic == "points.clawed_back"] == [
        {
            "user_id": str(follower),
            "entry_id": str(
                await pool.fetchval(
                    "SELECT id FROM points_ledger WHERE user_id = $1 AND delta < 0", follower
                )
            ),
            "points": 150,
            "reason_code": "follow_withdrawn",
            "related_entity": "youtube",
        }
    ]
    assert [e.payload for e in events if e.topic == "points.frozen"] == [
        {
            "user_id": str(crammer),
            "reason": "velocity",
            "rule_code": "assessment_passed",
            "points": 200,
        }
    ]
    await deliver(platform, events)
    clock.set(datetime.now(UTC) + timedelta(hours=1))

    points = (await kpi_report(platform)).points

    # Issued 150 + 200 + 200 = 550; reversed 150 clawed back + 200 refused by the freeze.
    assert (points.issued, points.reversed) == (550, 350)
    assert points.fraud_rate == 350 / 550

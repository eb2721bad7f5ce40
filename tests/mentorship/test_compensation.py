"""A mentor's contract: an admin sets the share of each payment the mentor keeps
(blueprint §7, "adjustable per mentor contract"); payments escrowed after that are split
with it, earlier ones keep the share they were taken with; the change is audit-logged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.platform import Platform
from tests.mentorship.conftest import Client, book
from tests.support import Auth, balance

WEDNESDAY_9_EAT = datetime(2026, 1, 7, 6, 0, tzinfo=UTC)
PRICE = 200_000


async def _share_of(pool: asyncpg.Pool, escrow_id: str) -> int:
    share: int = await pool.fetchval(
        "SELECT mentor_share_bps FROM escrows WHERE id = $1::uuid", escrow_id
    )
    return share


async def test_a_contract_share_splits_the_payments_escrowed_after_it(
    client: Client,
    auth: Auth,
    pool: asyncpg.Pool,
    platform: Platform,
    make_user,
    make_mentor,
    make_mentee,
    clock: ManualClock,
) -> None:
    admin = await make_user(role=Role.ADMIN)
    contracted, standard = (
        await make_mentor(price_minor=PRICE),
        await make_mentor(price_minor=PRICE),
    )
    mentee = await make_mentee()
    before = await book(client, auth(mentee), contracted.types["one_on_one"], WEDNESDAY_9_EAT)

    response = await client.put(
        f"/api/v1/admin/mentors/{contracted.id}/contract",
        json={"share_bps": 8_000},
        headers=admin.headers,
    )
    trail = await client.get(f"/api/v1/admin/users/{contracted.id}/audit", headers=admin.headers)
    after = await book(
        client, auth(mentee), contracted.types["one_on_one"], WEDNESDAY_9_EAT + timedelta(hours=1)
    )
    other = await book(
        client, auth(mentee), standard.types["one_on_one"], WEDNESDAY_9_EAT + timedelta(hours=1)
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"mentor_id": str(contracted.id), "share_bps": 8_000}
    contract_entries = [e for e in trail.json() if e["action"] == "mentor.contract_set"]
    assert [(e["details"], e["actor_id"]) for e in contract_entries] == [
        ({"share_bps": 8_000}, str(admin.id))
    ]
    assert [r.status_code for r in (before, after, other)] == [201, 201, 201]
    default_share = platform.settings.wallet_mentor_share_bps
    assert await _share_of(pool, before.json()["escrow_id"]) == default_share
    assert await _share_of(pool, after.json()["escrow_id"]) == 8_000
    assert await _share_of(pool, other.json()["escrow_id"]) == default_share
    # Released, the same price pays the contracted mentor more than the standard one.
    clock.set(WEDNESDAY_9_EAT + timedelta(hours=2))
    for mentor, booking in ((contracted, after), (standard, other)):
        completed = await client.post(
            f"/api/v1/sessions/{booking.json()['session']['id']}/complete",
            headers=auth(mentor.user),
        )
        assert completed.status_code == 200, completed.text
    assert (await balance(pool, contracted.id))[0] > (await balance(pool, standard.id))[0] > 0


async def test_only_admins_set_a_mentors_contract_and_a_share_is_at_most_the_whole(
    client: Client, auth: Auth, make_user, make_mentor, make_mentee
) -> None:
    admin = await make_user(role=Role.ADMIN)
    mentor = await make_mentor()
    mentee = await make_mentee()
    url = f"/api/v1/admin/mentors/{mentor.id}/contract"

    by_mentor = await client.put(url, json={"share_bps": 10_000}, headers=auth(mentor.user))
    too_much = await client.put(url, json={"share_bps": 10_001}, headers=admin.headers)
    not_a_mentor = await client.put(
        f"/api/v1/admin/mentors/{mentee.id}/contract",
        json={"share_bps": 5_000},
        headers=admin.headers,
    )
    everything = await client.put(url, json={"share_bps": 10_000}, headers=admin.headers)

    assert by_mentor.status_code == 403
    assert too_much.status_code == 422
    assert not_a_mentor.status_code == 404
    assert not_a_mentor.json()["errors"][0]["field"] == "user_id"
    assert everything.status_code == 200

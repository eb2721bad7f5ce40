"""The staff console's people API: finding a member by e-mail address (through the blind
index, any case) or id, the refusal of a name search as a sentence naming the field, the
mentors' vetting queue; reviewers and admins only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from dracarys.identity import Role
from tests.support import AppClient, TestUser

MakeUser = Callable[..., Awaitable[TestUser]]


async def test_staff_find_a_member_by_email_in_any_case_or_by_id_and_a_mentee_gets_403(
    client: AppClient, make_user: MakeUser
) -> None:
    reviewer = await make_user(role=Role.REVIEWER)
    member = await make_user(kyc_level=2, email="Found.Me@example.com")
    await make_user(email="someone.else@example.com")

    by_email = await client.get(
        "/api/v1/admin/users", params={"q": " found.me@EXAMPLE.com "}, headers=reviewer.headers
    )
    assert by_email.status_code == 200, by_email.text
    [found] = by_email.json()
    assert (found["id"], found["matched_by"], found["kyc_level"]) == (str(member.id), "email", 2)
    assert (found["name"], found["role"], found["status"]) == ("Test Mentee", "mentee", "active")

    by_id = await client.get(
        "/api/v1/admin/users", params={"q": str(member.id)}, headers=reviewer.headers
    )
    assert [(m["id"], m["matched_by"]) for m in by_id.json()] == [(str(member.id), "id")]

    nobody = await client.get(
        "/api/v1/admin/users", params={"q": "nobody@example.com"}, headers=reviewer.headers
    )
    assert (nobody.status_code, nobody.json()) == (200, [])

    denied = await client.get(
        "/api/v1/admin/users", params={"q": member.email}, headers=member.headers
    )
    assert denied.status_code == 403


async def test_a_search_by_name_is_refused_with_a_sentence_naming_the_field(
    client: AppClient, make_user: MakeUser
) -> None:
    admin = await make_user(role=Role.ADMIN)
    for query in ("Test Mentee", "", "@no-dashes"):
        refused = await client.get(
            "/api/v1/admin/users", params={"q": query}, headers=admin.headers
        )
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert problem["errors"][0]["field"] == "q"
        assert problem["detail"] == (
            "Search by a member's full e-mail address, their id or the start of their @handle."
            " Names are sealed and cannot be searched."
        )


async def test_staff_find_members_by_the_start_of_their_handle_in_handle_order(
    client: AppClient, make_user: MakeUser
) -> None:
    admin = await make_user(role=Role.ADMIN)
    chosen = {}
    for handle in ("trader_jo", "trader_ann", "tradex", "candle_kim"):
        member = await make_user()
        named = await client.put(
            "/api/v1/community/profile", json={"handle": handle}, headers=member.headers
        )
        assert named.status_code == 200, named.text
        chosen[handle] = str(member.id)

    found = await client.get("/api/v1/admin/users", params={"q": "@Trader_"}, headers=admin.headers)
    assert found.status_code == 200, found.text
    assert [(m["handle"], m["id"], m["matched_by"]) for m in found.json()] == [
        ("trader_ann", chosen["trader_ann"], "handle"),
        ("trader_jo", chosen["trader_jo"], "handle"),
    ]
    # `_` is a letter of the handle here, not a LIKE wildcard: "trade_" finds no "tradex".
    wildcard = await client.get(
        "/api/v1/admin/users", params={"q": "trade_"}, headers=admin.headers
    )
    assert wildcard.json() == []
    three = await client.get("/api/v1/admin/users", params={"q": "trad"}, headers=admin.headers)
    assert [m["handle"] for m in three.json()] == ["trader_ann", "trader_jo", "tradex"]


async def test_the_vetting_queue_lists_mentors_on_probation_or_unverified_oldest_first(
    client: AppClient, make_user: MakeUser
) -> None:
    admin = await make_user(role=Role.ADMIN)
    reviewer = await make_user(role=Role.REVIEWER)
    first, second, vetted = [await make_user() for _ in range(3)]
    for member in (first, second, vetted):
        promoted = await client.put(
            f"/api/v1/admin/users/{member.id}/role", json={"role": "mentor"}, headers=admin.headers
        )
        assert promoted.status_code == 200, promoted.text
    ended = await client.patch(
        f"/api/v1/admin/mentors/{second.id}", json={"on_probation": False}, headers=reviewer.headers
    )
    assert ended.status_code == 200, ended.text
    await client.patch(
        f"/api/v1/admin/mentors/{vetted.id}",
        json={"on_probation": False, "verified": True},
        headers=reviewer.headers,
    )

    queue = await client.get("/api/v1/admin/mentors", headers=reviewer.headers)
    assert queue.status_code == 200, queue.text
    assert [(m["id"], m["on_probation"], m["verified"]) for m in queue.json()] == [
        (str(first.id), True, False),
        (str(second.id), False, False),
    ]
    assert queue.json()[0]["name"] == "Test Mentee"

    denied = await client.get("/api/v1/admin/mentors", headers=first.headers)
    assert denied.status_code == 403

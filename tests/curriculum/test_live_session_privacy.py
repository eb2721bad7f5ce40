"""A cohort's live session is shown to whom its listing shows it: the cohort's members,
its mentor and staff; anyone else asking for it by id gets 404."""

from __future__ import annotations

from datetime import UTC, datetime

from dracarys.identity import Role
from tests.curriculum.conftest import Auth, Client, build_course, enrol


async def test_a_cohort_live_session_by_id_is_404_to_everyone_outside_the_cohort(
    client: Client, auth: Auth, course_mentor, make_mentee, make_user
) -> None:
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor)
    member, outsider = await make_mentee(), await make_mentee()
    observer = await make_user(role=Role.OBSERVER)
    admin = await make_user(role=Role.ADMIN)
    assert (await enrol(client, auth, member, course.cohort)).status_code in (200, 201)
    created = await client.post(
        f"/api/v1/cohorts/{course.cohort}/live-sessions",
        json={
            "title": "Live: reading the chain",
            "starts_at": datetime(2026, 1, 12, 15, 0, tzinfo=UTC).isoformat(),
            "duration_minutes": 90,
        },
        headers=auth(mentor),
    )
    assert created.status_code == 201, created.text
    url = f"/api/v1/sessions/{created.json()['id']}"

    for user in (outsider, observer, await course_mentor()):
        response = await client.get(url, headers=auth(user))
        assert response.status_code == 404, response.text
    for user in (member, mentor, admin):
        response = await client.get(url, headers=auth(user))
        assert response.status_code == 200, response.text
        assert response.json()["starts_at"] == "2026-01-12T15:00:00Z"

"""Course builder, uploads, enrolment, progress and cohort live sessions."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from dracarys.clock import ManualClock
from dracarys.mentorship import emit_due_reminders
from dracarys.platform import Platform
from dracarys.settings import Settings
from tests.curriculum.conftest import UPLOAD_LIMIT, Auth, Client, build_course, enrol
from tests.support import balance, events_of

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


async def test_lessons_render_sanitised_markdown_with_code_and_keep_their_order(
    client: Client, auth: Auth, course_mentor
) -> None:
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor)
    markdown = (
        "## Entry\n\n<script>alert('x')</script>\n\n[bad](javascript:alert(1)) "
        "<img src=x onerror=alert(1)> ![chart](/api/v1/lesson-assets/abc)\n\n"
        "```python\nsize = equity * 0.01\n```\n"
    )

    edited = await client.put(
        f"/api/v1/lessons/{course.lessons[0]}",
        json={"title": "Calls and puts", "estimated_minutes": 15, "body_markdown": markdown},
        headers=auth(mentor),
    )
    reordered = await client.put(
        f"/api/v1/modules/{course.modules[0]}/lesson-order",
        json={"ids": [course.lessons[1], course.lessons[0]]},
        headers=auth(mentor),
    )
    partial = await client.put(
        f"/api/v1/modules/{course.modules[0]}/lesson-order",
        json={"ids": [course.lessons[1]]},
        headers=auth(mentor),
    )
    intruder = await course_mentor()
    hijack = await client.put(
        f"/api/v1/lessons/{course.lessons[0]}",
        json={"title": "Mine now", "estimated_minutes": 5},
        headers=auth(intruder),
    )

    assert edited.status_code == 200, edited.text
    html = edited.json()["body_html"]
    # Raw HTML and script URLs survive only as inert text.
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert '<img src="x"' not in html
    # Highlighted on the server: Pygments' token spans survive the sanitiser.
    assert '<pre><code class="language-python"><span class="n">size</span>' in html
    assert '<span class="mf">0.01</span>' in html
    assert '<img src="/api/v1/lesson-assets/abc" alt="chart">' in html
    assert edited.json()["body_markdown"] == markdown
    assert reordered.status_code == 200
    first_module = reordered.json()["modules"][0]
    assert [lesson["id"] for lesson in first_module["lessons"]] == [
        course.lessons[1],
        course.lessons[0],
    ]
    assert reordered.json()["total_minutes"] == 15 + 20 + 30
    assert partial.status_code == 422
    assert hijack.status_code == 403


async def test_uploads_are_typed_by_their_bytes_size_limited_and_served_safely(
    client: Client, auth: Auth, course_mentor, settings: Settings
) -> None:
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor)
    url = f"/api/v1/programs/{course.program['id']}/assets"

    uploaded = await client.post(
        url, files={"file": ("chart.png", PNG, "image/png")}, headers=auth(mentor)
    )
    disguised = await client.post(
        url,
        files={"file": ("chart.png", b"<svg onload=alert(1)></svg>", "image/png")},
        headers=auth(mentor),
    )
    too_big = await client.post(
        url,
        files={"file": ("big.png", PNG + b"\x00" * UPLOAD_LIMIT, "image/png")},
        headers=auth(mentor),
    )

    assert uploaded.status_code == 201, uploaded.text
    asset = uploaded.json()
    assert asset["content_type"] == "image/png"
    assert asset["markdown"] == f"![chart]({asset['url']})"
    stored = list((Path(settings.data_dir) / "curriculum" / "assets").iterdir())
    assert [p.read_bytes() for p in stored] == [PNG]
    served = await client.get(asset["url"])
    assert served.status_code == 200
    assert served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert disguised.status_code == 422
    assert too_big.status_code == 422
    assert too_big.json()["errors"][0]["field"] == "file"


async def test_cohort_capacity_dates_and_membership_gate_the_lessons(
    client: Client, auth: Auth, course_mentor, make_mentee, clock: ManualClock
) -> None:
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor, capacity=2)
    first, second, third = [await make_mentee() for _ in range(3)]

    outsider_lesson = await client.get(f"/api/v1/lessons/{course.lessons[0]}", headers=auth(first))
    joined = [await enrol(client, auth, u, course.cohort) for u in (first, second)]
    again = await enrol(client, auth, first, course.cohort)
    full = await enrol(client, auth, third, course.cohort)
    member_lesson = await client.get(f"/api/v1/lessons/{course.lessons[0]}", headers=auth(first))
    late_course = await build_course(
        client, auth, mentor, ends_at="2026-01-06T00:00:00Z", starts_at="2026-01-01T00:00:00Z"
    )
    clock.set(datetime(2026, 1, 6, 0, 0, tzinfo=UTC))
    ended = await enrol(client, auth, third, late_course.cohort)

    assert outsider_lesson.status_code == 403
    assert [r.status_code for r in joined] == [201, 201]
    assert again.status_code == 201
    assert again.json()["enrolled_at"] == joined[0].json()["enrolled_at"]
    assert full.status_code == 409
    assert "full" in full.json()["detail"]
    assert member_lesson.status_code == 200
    assert member_lesson.json()["body_html"].startswith("<h1>Calls</h1>")
    assert ended.status_code == 409


async def test_paid_enrolment_holds_the_price_in_escrow_and_leaving_early_refunds_it(
    client: Client,
    auth: Auth,
    pool: asyncpg.Pool,
    course_mentor,
    make_mentee,
    clock: ManualClock,
) -> None:
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor, price_minor=150_000)
    payer = await make_mentee(funds_minor=200_000)
    broke = await make_mentee(funds_minor=100_000)

    paid = await enrol(client, auth, payer, course.cohort)
    refused = await enrol(client, auth, broke, course.cohort)

    assert paid.status_code == 201, paid.text
    escrow = await pool.fetchrow("SELECT * FROM escrows WHERE id = $1", paid.json()["escrow_id"])
    assert (escrow["amount_minor"], escrow["mentor_id"], escrow["status"]) == (
        150_000,
        mentor.id,
        "held",
    )
    assert await balance(pool, payer.id) == (50_000, 200_000)
    assert refused.status_code == 409
    assert await balance(pool, broke.id) == (100_000, 100_000)
    assert (
        await pool.fetchval("SELECT count(*) FROM cohort_enrolments WHERE user_id = $1", broke.id)
        == 0
    )

    left = await client.post(f"/api/v1/cohorts/{course.cohort}/leave", headers=auth(payer))
    assert left.status_code == 200, left.text
    assert left.json() == {"refunded_minor": 150_000}
    assert await balance(pool, payer.id) == (200_000, 200_000)
    assert (
        await pool.fetchval("SELECT count(*) FROM cohort_enrolments WHERE user_id = $1", payer.id)
        == 0
    )
    again = await client.post(f"/api/v1/cohorts/{course.cohort}/leave", headers=auth(payer))
    assert again.status_code == 404
    # Once the cohort has started, leaving is refused.
    reused_key = await enrol(client, auth, payer, course.cohort)
    assert reused_key.status_code == 422
    rejoined = await client.post(
        f"/api/v1/cohorts/{course.cohort}/join",
        json={"idempotency_key": "second-enrolment"},
        headers=auth(payer),
    )
    assert rejoined.status_code == 201
    assert await balance(pool, payer.id) == (50_000, 200_000)
    clock.set(datetime(2026, 1, 10, 6, 0, tzinfo=UTC))
    late = await client.post(f"/api/v1/cohorts/{course.cohort}/leave", headers=auth(payer))
    assert late.status_code == 409


async def test_progress_reports_percent_next_lesson_and_time_left(
    client: Client, auth: Auth, pool: asyncpg.Pool, course_mentor, make_mentee
) -> None:
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor)
    learner = await make_mentee()
    await enrol(client, auth, learner, course.cohort)
    # Test users are inserted without identity's profile row; give this one a timezone.
    await pool.execute(
        "INSERT INTO user_profiles (user_id, timezone) VALUES ($1, 'Africa/Nairobi')", learner.id
    )
    progress_url = f"/api/v1/programs/{course.program['id']}/progress"

    start = (await client.get(progress_url, headers=auth(learner))).json()
    done_first = await client.post(
        f"/api/v1/lessons/{course.lessons[0]}/complete", headers=auth(learner)
    )
    await client.post(f"/api/v1/lessons/{course.lessons[0]}/complete", headers=auth(learner))
    done_third = await client.post(
        f"/api/v1/lessons/{course.lessons[2]}/complete", headers=auth(learner)
    )

    assert (start["percent_complete"], start["minutes_remaining"]) == (0, 60)
    assert start["next_lesson"]["id"] == course.lessons[0]
    after_one = done_first.json()
    assert (after_one["percent_complete"], after_one["minutes_remaining"]) == (33, 50)
    assert after_one["next_lesson"]["id"] == course.lessons[1]
    after_two = done_third.json()
    assert (after_two["percent_complete"], after_two["minutes_remaining"]) == (66, 20)
    assert after_two["next_lesson"]["title"] == "Payoff diagrams"
    completed = await events_of(pool, "lesson.completed")
    assert completed == [
        {
            "user_id": str(learner.id),
            "lesson_id": course.lessons[0],
            "lesson_title": "Calls and puts",
            "timezone": "Africa/Nairobi",
        },
        {
            "user_id": str(learner.id),
            "lesson_id": course.lessons[2],
            "lesson_title": "Delta",
            "timezone": "Africa/Nairobi",
        },
    ]
    not_enrolled = await client.get(progress_url, headers=auth(await make_mentee()))
    assert not_enrolled.status_code == 404


async def test_cohort_live_session_seats_members_and_links_its_recording_to_a_lesson(
    client: Client,
    auth: Auth,
    pool: asyncpg.Pool,
    platform: Platform,
    course_mentor,
    make_mentee,
    clock: ManualClock,
) -> None:
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor)
    other_course = await build_course(client, auth, mentor)
    member, outsider = await make_mentee(), await make_mentee()
    await enrol(client, auth, member, course.cohort)
    starts = datetime(2026, 1, 12, 15, 0, tzinfo=UTC)

    created = await client.post(
        f"/api/v1/cohorts/{course.cohort}/live-sessions",
        json={
            "title": "Live: reading the chain",
            "starts_at": starts.isoformat(),
            "duration_minutes": 90,
        },
        headers=auth(mentor),
    )
    clash = await client.post(
        f"/api/v1/cohorts/{course.cohort}/live-sessions",
        json={
            "title": "Overlap",
            "starts_at": (starts + timedelta(minutes=30)).isoformat(),
            "duration_minutes": 30,
        },
        headers=auth(mentor),
    )
    assert created.status_code == 201, created.text
    assert clash.status_code == 409
    session = created.json()
    listed = await client.get(
        f"/api/v1/cohorts/{course.cohort}/live-sessions", headers=auth(member)
    )
    hidden = await client.get(
        f"/api/v1/cohorts/{course.cohort}/live-sessions", headers=auth(outsider)
    )
    clock.set(starts - timedelta(hours=23))
    assert await emit_due_reminders(platform) == 2  # the mentor and the cohort's member
    reminded = {r["user_id"] for r in await events_of(pool, "session.reminder")}
    assert reminded == {str(mentor.id), str(member.id)}
    clock.set(starts)
    member_join = await client.post(f"/api/v1/sessions/{session['id']}/join", headers=auth(member))
    outsider_join = await client.post(
        f"/api/v1/sessions/{session['id']}/join", headers=auth(outsider)
    )
    wrong_lesson = await client.put(
        f"/api/v1/sessions/{session['id']}/recording",
        json={
            "recording_url": "https://videos.example.com/r/1",
            "lesson_id": other_course.lessons[0],
        },
        headers=auth(mentor),
    )
    linked = await client.put(
        f"/api/v1/sessions/{session['id']}/recording",
        json={"recording_url": "https://videos.example.com/r/1", "lesson_id": course.lessons[2]},
        headers=auth(mentor),
    )
    lesson = await client.get(f"/api/v1/lessons/{course.lessons[2]}", headers=auth(member))

    assert [s["id"] for s in listed.json()] == [session["id"]]
    assert hidden.status_code == 403
    assert member_join.status_code == 200
    assert member_join.json()["room_url"] == session["room_url"]
    assert outsider_join.status_code == 404
    assert wrong_lesson.status_code == 422
    assert linked.status_code == 200
    assert lesson.json()["recordings"] == [
        {
            "session_id": session["id"],
            "title": "Live: reading the chain",
            "starts_at": starts.isoformat().replace("+00:00", "Z"),
            "recording_url": "https://videos.example.com/r/1",
        }
    ]


async def test_concurrent_joiners_never_overfill_a_cohort(
    client: Client, auth: Auth, pool: asyncpg.Pool, course_mentor, make_mentee
) -> None:
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor, capacity=3)
    learners = [await make_mentee(funds_minor=0) for _ in range(10)]

    responses = await asyncio.gather(*(enrol(client, auth, u, course.cohort) for u in learners))

    assert sorted(r.status_code for r in responses) == [201] * 3 + [409] * 7
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM cohort_enrolments WHERE cohort_id = $1", uuid.UUID(course.cohort)
        )
        == 3
    )

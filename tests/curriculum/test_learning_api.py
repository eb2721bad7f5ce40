"""What the learning pages need of the curriculum API: a submission's file checked by its
bytes and read only by its learner and the mentor, the mentor's grading queue, the
assignment itself for its learners, the lesson preview rendered as the reader shows it,
and a certificate's public PDF."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from tests.curriculum.conftest import (
    RIGHT,
    UPLOAD_LIMIT,
    Auth,
    Client,
    build_course,
    enrol,
)
from tests.support import TestUser

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"


async def test_an_attachment_is_checked_by_its_bytes_and_read_only_by_its_learner_and_mentor(
    client: Client, auth: Auth, pool: asyncpg.Pool, course_mentor, make_mentee
) -> None:
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor)
    learner, classmate, outsider = await make_mentee(), await make_mentee(), await make_mentee()
    for user in (learner, classmate):
        assert (await enrol(client, auth, user, course.cohort)).status_code == 201
    upload_url = f"/api/v1/assignments/{course.assignment}/attachments"

    def upload(user: TestUser, name: str, content: bytes, claimed: str = "application/pdf") -> Any:
        return client.post(upload_url, files={"file": (name, content, claimed)}, headers=auth(user))

    disguised = await upload(learner, "sheet.pdf", b"MZ\x90\x00 an executable")
    script = await upload(learner, "chart.png", b"<svg onload=alert(1)></svg>", "image/png")
    too_big = await upload(learner, "big.pdf", PDF + b"\x00" * UPLOAD_LIMIT)
    not_enrolled = await upload(outsider, "sheet.pdf", PDF)
    kept = await upload(learner, "../../etc/sheet.pdf", PDF)

    assert disguised.status_code == 422
    assert disguised.json()["errors"][0]["field"] == "file"
    assert script.status_code == 422
    assert too_big.status_code == 422
    assert not_enrolled.status_code == 403
    assert kept.status_code == 201, kept.text
    attachment = kept.json()
    # Only the file's own name is kept, and its type is what its bytes say.
    assert (attachment["file_name"], attachment["content_type"], attachment["size_bytes"]) == (
        "sheet.pdf",
        "application/pdf",
        len(PDF),
    )

    submit_url = f"/api/v1/assignments/{course.assignment}/submissions"
    borrowed = await client.post(
        submit_url,
        json={"body": "Mine too", "attachment_id": attachment["id"]},
        headers=auth(classmate),
    )
    submitted = await client.post(
        submit_url,
        json={"body": "Three sizes", "attachment_id": attachment["id"]},
        headers=auth(learner),
    )
    assert borrowed.status_code == 422
    assert borrowed.json()["errors"][0]["field"] == "attachment_id"
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["attachment"] == attachment
    assert submitted.json()["learner_name"] == "Test Mentee"

    file_url = f"/api/v1/submission-attachments/{attachment['id']}"
    by_learner = await client.get(file_url, headers=auth(learner))
    by_mentor = await client.get(file_url, headers=auth(mentor))
    by_classmate = await client.get(file_url, headers=auth(classmate))
    anonymous = await client.get(file_url)
    assert by_learner.status_code == 200
    assert by_learner.content == PDF
    assert by_learner.headers["content-type"] == "application/pdf"
    assert by_learner.headers["content-disposition"] == 'attachment; filename="sheet.pdf"'
    assert by_mentor.content == PDF
    assert by_classmate.status_code == 404
    assert anonymous.status_code == 401
    stored = await pool.fetchval(
        "SELECT attachment_id FROM assignment_submissions WHERE id = $1",
        uuid.UUID(submitted.json()["id"]),
    )
    assert str(stored) == attachment["id"]


async def test_the_grading_queue_lists_a_mentors_unscored_submissions_first(
    client: Client, auth: Auth, course_mentor, make_mentee
) -> None:
    mentor, other_mentor = await course_mentor(), await course_mentor()
    course = await build_course(client, auth, mentor)
    await build_course(client, auth, other_mentor)
    first, second = await make_mentee(), await make_mentee()
    submitted = []
    for user in (first, second):
        await enrol(client, auth, user, course.cohort)
        response = await client.post(
            f"/api/v1/assignments/{course.assignment}/submissions",
            json={"body": f"Work of {user.id}"},
            headers=auth(user),
        )
        submitted.append(response.json()["id"])
    scored = await client.put(
        f"/api/v1/submissions/{submitted[0]}/feedback",
        json={"scores": {"reasoning": 7, "sizing": 5}, "feedback": "Good."},
        headers=auth(mentor),
    )
    assert scored.status_code == 200

    queue = await client.get("/api/v1/teaching/submissions", headers=auth(mentor))
    others = await client.get("/api/v1/teaching/submissions", headers=auth(other_mentor))
    by_mentee = await client.get("/api/v1/teaching/submissions", headers=auth(first))

    assert queue.status_code == 200
    assert [s["id"] for s in queue.json()] == [submitted[1], submitted[0]]
    waiting = queue.json()[0]
    assert waiting["reviewed_at"] is None
    assert waiting["assignment_title"] == "Hedge a position"
    assert waiting["program_title"] == "Options foundations"
    assert waiting["rubric"] == [
        {"name": "reasoning", "max_points": 10},
        {"name": "sizing", "max_points": 5},
    ]
    assert queue.json()[1]["total_points"] == 12
    assert others.json() == []
    assert by_mentee.status_code == 403


async def test_an_assignment_is_shown_to_its_learners_with_its_rubric(
    client: Client, auth: Auth, course_mentor, make_mentee
) -> None:
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor)
    learner, outsider = await make_mentee(), await make_mentee()
    await enrol(client, auth, learner, course.cohort)
    url = f"/api/v1/assignments/{course.assignment}"

    shown = await client.get(url, headers=auth(learner))
    by_mentor = await client.get(url, headers=auth(mentor))
    refused = await client.get(url, headers=auth(outsider))

    assert shown.status_code == 200
    assert shown.json()["program_id"] == course.program["id"]
    assert shown.json()["instructions"] == "Show your work"
    assert [c["name"] for c in shown.json()["rubric"]] == ["reasoning", "sizing"]
    assert by_mentor.status_code == 200
    assert refused.status_code == 403


async def test_the_lesson_preview_is_the_readers_html_and_only_for_mentors(
    client: Client, auth: Auth, course_mentor, make_mentee
) -> None:
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor)
    learner = await make_mentee()
    await enrol(client, auth, learner, course.cohort)
    markdown = (
        "## Size\n\n```python\nsize = risk / stop\n```\n\n<script>x()</script> [a](javascript:x())"
    )

    preview = await client.post(
        "/api/v1/lesson-previews", json={"body_markdown": markdown}, headers=auth(mentor)
    )
    saved = await client.put(
        f"/api/v1/lessons/{course.lessons[0]}",
        json={"title": "Sizing", "estimated_minutes": 10, "body_markdown": markdown},
        headers=auth(mentor),
    )
    read = await client.get(f"/api/v1/lessons/{course.lessons[0]}", headers=auth(learner))
    by_learner = await client.post(
        "/api/v1/lesson-previews", json={"body_markdown": markdown}, headers=auth(learner)
    )

    assert preview.status_code == 200, preview.text
    html = preview.json()["body_html"]
    assert saved.status_code == 200
    assert read.json()["body_html"] == html
    assert read.json()["program_id"] == course.program["id"]
    assert '<span class="n">size</span>' in html
    assert "<script" not in html
    assert 'href="javascript' not in html
    assert by_learner.status_code == 403


async def test_a_certificate_pdf_is_public_and_a_tampered_id_gets_none(
    client: Client, auth: Auth, course_mentor, make_mentee
) -> None:
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor)
    learner = await make_mentee()
    await enrol(client, auth, learner, course.cohort)
    passed = await client.post(
        f"/api/v1/assessments/{course.assessment}/attempts",
        json={"answers": RIGHT},
        headers=auth(learner),
    )
    certificate = passed.json()["certificate"]
    public_id = certificate["id"]

    pdf = await client.get(f"/api/v1/certificates/{public_id}/pdf")  # no session
    tampered = await client.get(f"/api/v1/certificates/{public_id[:-2]}xx/pdf")
    page = await client.get(f"/certificates/{public_id}", headers={"Accept": "text/html"})

    assert certificate["pdf_url"].endswith(f"/api/v1/certificates/{public_id}/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert tampered.status_code == 404
    assert page.status_code == 200
    assert f'data-certificate-id="{public_id}"' in page.text


async def test_my_enrolments_list_the_programs_i_joined_with_cohort_and_price(
    client: Client, auth: Auth, course_mentor, make_mentee
) -> None:
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor, price_minor=250_000)
    learner, bystander = await make_mentee(), await make_mentee()
    assert (await enrol(client, auth, learner, course.cohort)).status_code == 201

    mine = await client.get("/api/v1/me/enrolments", headers=auth(learner))
    none = await client.get("/api/v1/me/enrolments", headers=auth(bystander))
    anonymous = await client.get("/api/v1/me/enrolments")

    assert mine.status_code == 200
    [joined] = mine.json()
    assert (joined["program_id"], joined["cohort_id"]) == (course.program["id"], course.cohort)
    assert (joined["program_title"], joined["cohort_title"]) == ("Options foundations", "January")
    assert (joined["amount_minor"], joined["currency"]) == (250_000, "KES")
    assert none.json() == []
    assert anonymous.status_code == 401


async def test_the_catalogue_lists_each_programs_cohorts_seats_and_mentor(
    client: Client, auth: Auth, course_mentor, make_mentee
) -> None:
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor, capacity=3)
    learner = await make_mentee()
    await enrol(client, auth, learner, course.cohort)

    listed = await client.get("/api/v1/programs")  # public

    assert listed.status_code == 200
    [program] = [p for p in listed.json() if p["id"] == course.program["id"]]
    assert program["owner_name"] == "Test Mentor"
    assert [(c["id"], c["capacity"], c["enrolled"]) for c in program["cohorts"]] == [
        (course.cohort, 3, 1)
    ]

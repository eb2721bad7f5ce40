"""Auto-graded assessments (single, multiple, numeric with tolerance; attempts and pass
marks), certificates with signed public ids, and assignments scored against a rubric."""

from __future__ import annotations

import asyncpg
import msgspec

from dracarys.curriculum.assessments.models import QuestionInput
from dracarys.curriculum.assessments.service import grade
from tests.curriculum.conftest import QUESTIONS, RIGHT, Auth, Client, build_course, enrol
from tests.support import events_of

# As stored: validated, with defaults filled in.
STORED = [msgspec.convert(q, QuestionInput) for q in QUESTIONS]


def test_grading_needs_the_exact_options_and_a_number_within_tolerance() -> None:
    assert grade(STORED, RIGHT) == (100, {"q1": True, "q2": True, "q3": True})
    # Multiple choice: a subset or a superset of the right options is wrong.
    assert grade(STORED, {**RIGHT, "q2": [0]})[1]["q2"] is False
    assert grade(STORED, {**RIGHT, "q2": [0, 1, 2]})[1]["q2"] is False
    # Single choice: exactly one option.
    assert grade(STORED, {**RIGHT, "q1": [0, 1]})[1]["q1"] is False
    # Numeric: 52.5 ± 0.1 inclusive, and a list is not a number.
    assert grade(STORED, {**RIGHT, "q3": 52.6})[1]["q3"] is True
    assert grade(STORED, {**RIGHT, "q3": 52.61})[1]["q3"] is False
    assert grade(STORED, {**RIGHT, "q3": [52]})[1]["q3"] is False
    # Points weigh the score: q3 is worth 2 of 4; unanswered questions score nothing.
    assert grade(STORED, {"q3": 52.5}) == (50, {"q1": False, "q2": False, "q3": True})
    assert grade(STORED, {"q1": [0]}) == (25, {"q1": True, "q2": False, "q3": False})


async def test_attempts_are_limited_and_passing_grants_a_verifiable_certificate(
    client: Client, auth: Auth, pool: asyncpg.Pool, course_mentor, make_mentee
) -> None:
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor)
    learner, struggler = await make_mentee(), await make_mentee()
    for user in (learner, struggler):
        assert (await enrol(client, auth, user, course.cohort)).status_code == 201
    url = f"/api/v1/assessments/{course.assessment}/attempts"

    shown = await client.get(f"/api/v1/assessments/{course.assessment}", headers=auth(learner))
    failed = await client.post(url, json={"answers": {"q1": [0]}}, headers=auth(learner))
    passed = await client.post(url, json={"answers": RIGHT}, headers=auth(learner))
    after_pass = await client.post(url, json={"answers": RIGHT}, headers=auth(learner))
    struggles = [
        await client.post(url, json={"answers": {"q1": [1]}}, headers=auth(struggler))
        for _ in range(3)
    ]
    unknown = await client.post(url, json={"answers": {"q9": [0]}}, headers=auth(learner))

    assert shown.status_code == 200
    assert all(
        set(q) == {"id", "kind", "prompt", "options", "points"} for q in shown.json()["questions"]
    )
    assert failed.status_code == 201
    assert (failed.json()["score_percent"], failed.json()["passed"]) == (25, False)
    assert failed.json()["attempts_left"] == 1
    assert failed.json()["certificate"] is None
    assert passed.status_code == 201
    result = passed.json()
    assert (result["score_percent"], result["passed"], result["attempt_no"]) == (100, True, 2)
    assert after_pass.status_code == 409
    assert [r.status_code for r in struggles] == [201, 201, 409]
    assert "attempts" in struggles[2].json()["detail"]
    assert unknown.status_code == 422
    assert await events_of(pool, "assessment.passed") == [
        {"user_id": str(learner.id), "assessment_id": course.assessment}
    ]

    certificate = result["certificate"]
    assert certificate["holder_name"] == "Test Mentee"
    # The verification URL is the public page (the API stays at /api/v1/certificates/…).
    assert certificate["verification_url"].endswith(f"/certificates/{certificate['id']}")
    assert "/api/" not in certificate["verification_url"]
    granted = await events_of(pool, "certificate.granted")
    assert [(g["user_id"], g["certificate_id"]) for g in granted] == [
        (str(learner.id), certificate["id"])
    ]
    verified = await client.get(f"/api/v1/certificates/{certificate['id']}")  # public
    assert verified.status_code == 200
    assert verified.json()["program_title"] == "Options foundations"

    public_id = certificate["id"]
    raw, signature = public_id.split(".")
    tampered_uuid = ("a" if raw[0] != "a" else "b") + raw[1:]
    tampered_signature = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for forged in (
        f"{tampered_uuid}.{signature}",
        f"{raw}.{tampered_signature}",
        raw,
        f"{raw}.",
        f"{raw.upper()}.{signature}",
    ):
        response = await client.get(f"/api/v1/certificates/{forged}")
        assert response.status_code == 404, forged
    progress = await client.get(
        f"/api/v1/programs/{course.program['id']}/progress", headers=auth(learner)
    )
    assert progress.json()["certificate"]["id"] == public_id
    assert (progress.json()["passed_assessments"], progress.json()["total_assessments"]) == (1, 1)


async def test_assignment_feedback_scores_every_rubric_criterion_within_its_maximum(
    client: Client, auth: Auth, course_mentor, make_mentee
) -> None:
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor)
    learner, classmate = await make_mentee(), await make_mentee()
    for user in (learner, classmate):
        await enrol(client, auth, user, course.cohort)

    submitted = await client.post(
        f"/api/v1/assignments/{course.assignment}/submissions",
        json={"body": "Buy 2 puts per 100 shares because..."},
        headers=auth(learner),
    )
    await client.post(
        f"/api/v1/assignments/{course.assignment}/submissions",
        json={"body": "Mine"},
        headers=auth(classmate),
    )
    submission_url = f"/api/v1/submissions/{submitted.json()['id']}/feedback"
    over = await client.put(
        submission_url, json={"scores": {"reasoning": 11, "sizing": 5}}, headers=auth(mentor)
    )
    missing = await client.put(
        submission_url, json={"scores": {"reasoning": 8}}, headers=auth(mentor)
    )
    by_learner = await client.put(
        submission_url, json={"scores": {"reasoning": 10, "sizing": 5}}, headers=auth(learner)
    )
    reviewed = await client.put(
        submission_url,
        json={"scores": {"reasoning": 8, "sizing": 4}, "feedback": "Size from the delta."},
        headers=auth(mentor),
    )
    own = await client.get(
        f"/api/v1/assignments/{course.assignment}/submissions", headers=auth(learner)
    )
    everyone = await client.get(
        f"/api/v1/assignments/{course.assignment}/submissions", headers=auth(mentor)
    )

    assert submitted.status_code == 201, submitted.text
    assert over.status_code == 422
    assert over.json()["errors"][0]["field"] == "scores.reasoning"
    assert missing.status_code == 422
    assert by_learner.status_code == 403
    assert reviewed.status_code == 200
    body = reviewed.json()
    assert (body["total_points"], body["max_points"]) == (12, 15)
    assert body["scores"] == {"reasoning": 8, "sizing": 4}
    assert body["feedback"] == "Size from the delta."
    assert [s["user_id"] for s in own.json()] == [str(learner.id)]
    assert len(everyone.json()) == 2

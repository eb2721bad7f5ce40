"""Editing a course after it is built: a module renamed, an assessment's questions changed
until a learner attempts it (then only its title, pass mark and attempts), an assignment's
rubric changed until work is scored on it; only the program's owner edits."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.curriculum.conftest import QUESTIONS, RIGHT, Auth, Client, build_course, enrol

RUBRIC = [{"name": "reasoning", "max_points": 10}, {"name": "sizing", "max_points": 5}]


def _assessment(**changes: Any) -> dict[str, Any]:
    return {
        "title": "Greeks quiz",
        "pass_mark_percent": 75,
        "max_attempts": 2,
        "questions": QUESTIONS,
        **changes,
    }


async def test_a_module_is_renamed_by_its_owner_only(
    client: Client, auth: Auth, course_mentor, make_mentee
) -> None:
    mentor, other = await course_mentor(), await course_mentor()
    course = await build_course(client, auth, mentor)
    url = f"/api/v1/modules/{course.modules[0]}"

    foreign = await client.put(url, json={"title": "Mine now"}, headers=auth(other))
    empty = await client.put(url, json={"title": ""}, headers=auth(mentor))
    renamed = await client.put(url, json={"title": "Options basics"}, headers=auth(mentor))

    assert foreign.status_code == 403
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "title"
    assert renamed.status_code == 200, renamed.text
    assert [m["title"] for m in renamed.json()["modules"]] == ["Options basics", "Greeks"]


async def test_an_assessments_questions_change_until_someone_attempts_it(
    client: Client, auth: Auth, course_mentor, make_mentee
) -> None:
    mentor, other = await course_mentor(), await course_mentor()
    course = await build_course(client, auth, mentor)
    learner = await make_mentee()
    url = f"/api/v1/assessments/{course.assessment}"
    fewer = QUESTIONS[:2]

    draft = await client.get(f"{url}/draft", headers=auth(mentor))
    learner_draft = await client.get(f"{url}/draft", headers=auth(learner))
    foreign = await client.put(url, json=_assessment(questions=fewer), headers=auth(other))
    duplicate = await client.put(
        url, json=_assessment(questions=[QUESTIONS[0], QUESTIONS[0]]), headers=auth(mentor)
    )
    edited = await client.put(
        url, json=_assessment(title="Greeks, short", questions=fewer), headers=auth(mentor)
    )

    assert draft.status_code == 200
    assert draft.json()["questions_locked"] is False
    assert draft.json()["questions"][0]["correct"] == QUESTIONS[0]["correct"]  # answers shown
    assert learner_draft.status_code == 403
    assert foreign.status_code == 403
    assert duplicate.status_code == 422
    assert edited.status_code == 200, edited.text
    assert [q["id"] for q in edited.json()["questions"]] == ["q1", "q2"]

    # A learner attempts it: the questions are now fixed; the pass mark may still move.
    await enrol(client, auth, learner, course.cohort)
    answers = {k: v for k, v in RIGHT.items() if k in ("q1", "q2")}
    attempted = await client.post(
        f"{url}/attempts", json={"answers": answers}, headers=auth(learner)
    )
    assert attempted.status_code == 201
    locked = await client.put(url, json=_assessment(questions=QUESTIONS), headers=auth(mentor))
    assert locked.status_code == 409
    assert locked.json()["errors"][0]["field"] == "questions"
    assert "1 attempt" in locked.json()["detail"]
    softer = await client.put(
        url,
        json=_assessment(title="Greeks, short", questions=fewer, pass_mark_percent=60),
        headers=auth(mentor),
    )
    assert softer.status_code == 200, softer.text
    assert softer.json()["pass_mark_percent"] == 60
    after = await client.get(f"{url}/draft", headers=auth(mentor))
    assert (after.json()["attempts"], after.json()["questions_locked"]) == (1, True)


async def test_an_edit_racing_the_first_attempt_never_regrades_it(
    client: Client, auth: Auth, course_mentor, make_mentee
) -> None:
    """Of an edit of the questions and a first attempt at once, either the attempt is graded
    against the old questions and the edit refused, or the edit lands first and the
    attempt is graded against the new ones; never both changed."""
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor)
    learner = await make_mentee()
    await enrol(client, auth, learner, course.cohort)
    url = f"/api/v1/assessments/{course.assessment}"

    edit, attempt = await asyncio.gather(
        client.put(url, json=_assessment(questions=QUESTIONS[:1]), headers=auth(mentor)),
        client.post(f"{url}/attempts", json={"answers": RIGHT}, headers=auth(learner)),
    )

    assert attempt.status_code in (201, 422)
    if edit.status_code == 200:
        # The attempt answered a question the edit removed: graded against the new set.
        assert attempt.status_code == 422
        assert attempt.json()["errors"][0]["field"] == "answers"
    else:
        assert edit.status_code == 409
        assert attempt.json()["score_percent"] == 100


async def test_an_assignments_rubric_changes_until_work_is_scored_on_it(
    client: Client, auth: Auth, course_mentor, make_mentee
) -> None:
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor)
    learner = await make_mentee()
    await enrol(client, auth, learner, course.cohort)
    url = f"/api/v1/assignments/{course.assignment}"
    wider = [*RUBRIC, {"name": "risk", "max_points": 5}]

    submitted = await client.post(
        f"{url}/submissions", json={"body": "Two puts per 100 shares"}, headers=auth(learner)
    )
    before_scoring = await client.put(
        url,
        json={"title": "Hedge a position", "instructions": "Show your work", "rubric": wider},
        headers=auth(mentor),
    )
    assert before_scoring.status_code == 200, before_scoring.text
    scored = await client.put(
        f"/api/v1/submissions/{submitted.json()['id']}/feedback",
        json={"scores": {"reasoning": 8, "sizing": 4, "risk": 5}},
        headers=auth(mentor),
    )
    assert scored.status_code == 200, scored.text

    locked = await client.put(
        url,
        json={"title": "Hedge a position", "instructions": "", "rubric": RUBRIC},
        headers=auth(mentor),
    )
    clarified = await client.put(
        url,
        json={"title": "Hedge a delta", "instructions": "Show every step", "rubric": wider},
        headers=auth(mentor),
    )
    draft = await client.get(f"{url}/draft", headers=auth(mentor))

    assert locked.status_code == 409
    assert locked.json()["errors"][0]["field"] == "rubric"
    assert clarified.status_code == 200
    assert clarified.json()["instructions"] == "Show every step"
    assert (draft.json()["graded"], draft.json()["rubric_locked"]) == (1, True)
    assert [c["name"] for c in draft.json()["rubric"]] == ["reasoning", "sizing", "risk"]

"""Editing a built course in the browser: the mentor renames a module in place, edits an
assessment (its title, pass mark and questions) and an assignment (its rubric) from the
course builder; once a learner has attempted the assessment, its questions are shown
locked with the reason, and the pass mark still changes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect

from tests.web.conftest import LiveServer, assert_accessible, register, screenshot, sign_in
from tests.web.test_sessions_pages import headers_of

pytestmark = pytest.mark.browser

QUESTIONS = [
    {
        "id": "risk",
        "kind": "single",
        "prompt": "Risk per trade?",
        "options": ["10%", "1%"],
        "correct": [1],
        "points": 3,
    },
    {
        "id": "lots",
        "kind": "numeric",
        "prompt": "Lots for 1% of 10,000 at 50 pips?",
        "answer": 0.2,
        "tolerance": 0.01,
    },
]


async def _built(server: LiveServer, mentor: Any) -> dict[str, str]:
    headers = await headers_of(server, mentor)
    async with server.api() as client:

        async def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
            response = await client.post(url, json=body, headers=headers)
            assert response.status_code == 201, response.text
            result: dict[str, Any] = response.json()
            return result

        program = await post("/api/v1/programs", {"title": "Sizing", "published": True})
        module = await post(f"/api/v1/programs/{program['id']}/modules", {"title": "Basics"})
        assessment = await post(
            f"/api/v1/modules/{module['id']}/assessments",
            {"title": "Sizing check", "pass_mark_percent": 100, "questions": QUESTIONS},
        )
        assignment = await post(
            f"/api/v1/modules/{module['id']}/assignments",
            {"title": "Size a trade", "rubric": [{"name": "Correct size", "max_points": 10}]},
        )
        cohort = await post(
            f"/api/v1/programs/{program['id']}/cohorts",
            {
                "title": "Open",
                "starts_at": "2026-01-01T00:00:00Z",
                "ends_at": "2027-12-31T00:00:00Z",
                "capacity": 10,
            },
        )
    return {
        "program": program["id"],
        "assessment": assessment["id"],
        "assignment": assignment["id"],
        "cohort": cohort["id"],
    }


async def _draft(server: LiveServer, mentor: Any, kind: str, item_id: str) -> dict[str, Any]:
    async with server.api() as client:
        response = await client.get(
            f"/api/v1/{kind}/{item_id}/draft", headers=await headers_of(server, mentor)
        )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_a_mentor_edits_a_built_course_until_learners_lock_its_questions(
    browser: Any, live_server: LiveServer
) -> None:
    mentor = await register(live_server, name="Edith Editor", role="mentor", kyc_level=2)
    learner = await register(live_server, name="Lulu Learner")
    course = await _built(live_server, mentor)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = await context.new_page()
        await sign_in(page, live_server, mentor, f"/teach/programs/{course['program']}")

        # ---- a module renamed in place ----------------------------------------------------
        await page.get_by_role("button", name="Rename Basics").click()
        await page.get_by_label("New name of Basics").fill("")
        await page.get_by_role("button", name="Save name").click()
        await expect(page.locator(".rename-form .field-error")).not_to_be_empty()
        await page.get_by_label("New name of Basics").fill("Sizing basics")
        await page.get_by_role("button", name="Save name").click()
        await expect(page.locator("#module-list h3")).to_have_text(["Sizing basics"])

        # ---- the assessment: title, pass mark, one question fewer ---------------------------
        await page.get_by_role("button", name="Edit assessment").click()
        form = page.locator("#assessment-form")
        await expect(page.locator("#assessment-editor-heading")).to_have_text(
            "Edit assessment: Sizing check"
        )
        await expect(form.locator("#q1-options")).to_have_value("10%\n1%")
        await expect(form.locator("#q1-correct")).to_have_value("2")
        await expect(form.locator("#q2-answer")).to_have_value("0.2")
        await expect(form.locator("fieldset.question")).to_have_count(2)
        await screenshot(page, "course-edit-01-assessment")
        await assert_accessible(page, "course builder editing an assessment")
        await form.get_by_role("button", name="Remove question 2").click()
        await form.get_by_label("Assessment title").fill("Sizing check, short")
        await form.get_by_label("Pass mark (%)").fill("80")
        await form.get_by_role("button", name="Save changes to the assessment").click()
        await expect(
            page.get_by_role("link", name="Assessment: Sizing check, short")
        ).to_be_visible()
        await expect(page.locator("#assessment-editor-heading")).to_have_text("New assessment")
        draft = await _draft(live_server, mentor, "assessments", course["assessment"])
        assert (draft["title"], draft["pass_mark_percent"]) == ("Sizing check, short", 80)
        # The kept question keeps its id and weight (attempts' answers name it).
        assert [(q["id"], q["points"]) for q in draft["questions"]] == [("risk", 3)]

        # ---- the assignment: a second criterion ----------------------------------------------
        await page.get_by_role("button", name="Edit assignment").click()
        form = page.locator("#assignment-form")
        await expect(form.get_by_label("Criterion 1", exact=True)).to_have_value("Correct size")
        await form.get_by_role("button", name="Add a criterion").click()
        await form.get_by_label("Criterion 2", exact=True).fill("Clear reasoning")
        await form.get_by_label("Criterion 2: most points").fill("5")
        await form.get_by_role("button", name="Save changes to the assignment").click()
        await expect(page.locator("#assignment-editor-heading")).to_have_text("New assignment")
        draft = await _draft(live_server, mentor, "assignments", course["assignment"])
        assert [c["name"] for c in draft["rubric"]] == ["Correct size", "Clear reasoning"]

        # ---- a learner attempts it: the questions lock, the pass mark still moves -----------
        learner_headers = await headers_of(live_server, learner)
        async with live_server.api() as client:
            joined = await client.post(
                f"/api/v1/cohorts/{course['cohort']}/join",
                json={"idempotency_key": "join-the-open-cohort"},
                headers=learner_headers,
            )
            assert joined.status_code == 201, joined.text
            attempt = await client.post(
                f"/api/v1/assessments/{course['assessment']}/attempts",
                json={"answers": {"risk": [0]}},
                headers=learner_headers,
            )
            assert attempt.status_code == 201, attempt.text
        await page.get_by_role("button", name="Edit assessment").click()
        form = page.locator("#assessment-form")
        await expect(page.locator("#assessment-lock")).to_contain_text(
            "1 attempt was graded against these questions"
        )
        await expect(form.locator("#q1-prompt")).to_be_disabled()
        await expect(form.get_by_role("button", name="Add a question")).to_be_disabled()
        await form.get_by_label("Pass mark (%)").fill("70")
        await form.get_by_role("button", name="Save changes to the assessment").click()
        await expect(page.locator("#assessment-editor-heading")).to_have_text("New assessment")
        draft = await _draft(live_server, mentor, "assessments", course["assessment"])
        assert (draft["pass_mark_percent"], draft["questions_locked"]) == (70, True)
        await screenshot(page, "course-edit-02-saved")
    finally:
        await context.close()


async def test_what_the_mentor_types_before_the_program_loads_is_not_overwritten(
    browser: Any, live_server: LiveServer
) -> None:
    """The program form stays disabled until the saved program is read into it: typed
    into earlier, the load would overwrite the price with the saved 0 and a save would
    publish the course as free (how a slow run once lost the price)."""
    mentor = await register(live_server, name="Amani Mentor", role="mentor")
    ids = await _built(live_server, mentor)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = await context.new_page()
        await sign_in(page, live_server, mentor, "/teach")

        async def slowly(route: Any) -> None:
            await asyncio.sleep(1.5)
            await route.continue_()

        await page.route(f"**/api/v1/programs/{ids['program']}", slowly)
        await page.goto(f"{live_server.url}/teach/programs/{ids['program']}")
        price = page.get_by_label("Price (0 for free)")
        await expect(price).to_be_disabled()
        await price.fill("1,500")  # waits until the form is enabled, i.e. loaded
        await page.get_by_role("button", name="Save program").click()
        await expect(page.locator("#program-status")).to_have_text("Saved; published.")
        headers = await headers_of(live_server, mentor)
        async with live_server.api() as client:
            saved = (await client.get(f"/api/v1/programs/{ids['program']}", headers=headers)).json()
        assert (saved["price_minor"], saved["title"]) == (150_000, "Sizing")
    finally:
        await context.close()

"""Courses in the browser, end to end: a mentor builds a course in the course builder
(two lessons in Markdown with a live preview, an image, an assessment and an assignment
with a rubric) and opens a cohort; a mentee finds it in the catalogue, enrols through the
checkout (paid into escrow), reads the lessons (sanitised, highlighted on the server),
passes the assessment, hands in the assignment with a file checked by its bytes; the
mentor scores it in the grading queue, the mentee sees the feedback, finishes the course
with a certificate, and opens its public verification page and its PDF. Every page is
checked with axe-core at desktop and phone width."""

from __future__ import annotations

import re
import struct
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest
from playwright.async_api import expect

from tests.support import fund_wallet
from tests.web.conftest import (
    PHONE_VIEWPORT,
    LiveServer,
    assert_accessible,
    nav_link,
    register,
    screenshot,
    sign_in,
)
from tests.web.test_checkout import headers_of, platform_of

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}

LESSON_ONE = """## Risk per trade

Risk **1%** of equity on each trade.

```python
size = equity * 0.01 / stop_distance
```

<script>alert('x')</script>
"""


def tiny_png() -> bytes:
    """A valid 2×2 PNG, made here so the upload is checked by real bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\xff\x88\x00" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


async def check_both_widths(page: Any, label: str) -> None:
    await assert_accessible(page, f"{label} (desktop)")
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, f"{label} (phone)")
    await screenshot(page, f"{label}-phone")
    await page.set_viewport_size(DESKTOP)
    await screenshot(page, label)


def local_input(moment: datetime) -> str:
    """A datetime-local input's value (the browser's zone is UTC in these tests)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


async def escrow_and_enrolment(database_url: str, user_id: Any) -> tuple[int, str, bool] | None:
    """(amount paid, currency, held in escrow) of the user's enrolment, or None."""
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT amount_minor, currency, escrow_id FROM cohort_enrolments WHERE user_id = $1",
            user_id,
        )
    finally:
        await conn.close()
    if row is None:
        return None
    return row["amount_minor"], row["currency"], row["escrow_id"] is not None


async def build_course(page: Any, server: LiveServer) -> str:
    """The mentor's part: returns the program's id."""
    await check_both_widths(page, "learning-teach-empty")
    await page.get_by_label("Title").fill("Risk first: position sizing")
    await page.get_by_role("button", name="Create program").click()
    await page.wait_for_url(re.compile(r"/teach/programs/[0-9a-f-]{36}$"))
    program_id = page.url.rsplit("/", 1)[1]

    # The program: a price typed in major units with its currency, topics, published.
    await page.get_by_label("Description").fill("Size every position from the risk you accept.")
    await page.get_by_label("Difficulty").select_option("beginner")
    await page.get_by_label("Price (0 for free)").fill("1,500")
    await page.get_by_label("Currency").select_option("KES")
    await page.get_by_label("forex").check()
    await page.get_by_label("Published: learners can find and join it").check()
    await page.get_by_role("button", name="Save program").click()
    await expect(page.locator("#program-status")).to_have_text("Saved; published.")

    # A cohort: dates and seats.
    starts = datetime.now(UTC) + timedelta(days=7)
    await page.get_by_label("Cohort name").fill("January cohort")
    await page.get_by_label("Starts").fill(local_input(starts))
    await page.get_by_label("Ends").fill(local_input(starts + timedelta(days=30)))
    await page.get_by_label("Seats").fill("12")
    await page.get_by_role("button", name="Open cohort").click()
    await expect(page.locator("#cohort-list")).to_contain_text("0 of 12 seats taken")

    # Two modules, the second moved above the first and back through the reorder API.
    await page.get_by_label("New module").fill("Foundations")
    await page.get_by_role("button", name="Add module").click()
    await expect(page.locator("#module-list")).to_contain_text("Foundations")
    await page.get_by_label("New module").fill("Practice")
    await page.get_by_role("button", name="Add module").click()
    modules = page.locator("#module-list > li[data-module-id] h3")
    await expect(modules).to_have_text(["Foundations", "Practice"])
    await page.get_by_role("button", name="Move module Practice up").click()
    await expect(modules).to_have_text(["Practice", "Foundations"])
    await page.get_by_role("button", name="Move module Practice down").click()
    await expect(modules).to_have_text(["Foundations", "Practice"])

    # Lesson one: Markdown with code, an uploaded image, previewed as the reader shows it.
    await page.get_by_role("button", name="Add a lesson to Foundations").click()
    await page.get_by_label("Lesson title").fill("Risk per trade")
    await page.get_by_label("Minutes to study").fill("20")
    await page.get_by_label("Lesson text (Markdown)").fill(LESSON_ONE)
    preview = page.locator("#lesson-preview")
    await expect(preview.locator("h2")).to_have_text("Risk per trade")
    await expect(preview.locator("pre code span.n").first).to_have_text("size")
    await expect(preview).to_contain_text("<script>alert('x')</script>")  # shown as text
    assert await preview.locator("script").count() == 0
    await page.get_by_label("Add an image or chart").set_input_files(
        {"name": "sizing-chart.png", "mimeType": "image/png", "buffer": tiny_png()}
    )
    await expect(preview.locator("img[alt='sizing-chart']")).to_have_count(1)
    await check_both_widths(page, "learning-builder-lesson-preview")
    await page.get_by_role("button", name="Save lesson").click()
    await expect(page.locator("#module-list")).to_contain_text("Risk per trade (20 min)")

    await page.get_by_role("button", name="Add a lesson to Foundations").click()
    await page.get_by_label("Lesson title").fill("Stops and targets")
    await page.get_by_label("Minutes to study").fill("15")
    await page.get_by_label("Lesson text (Markdown)").fill("Place the stop **first**.")
    await expect(preview.locator("strong")).to_have_text("first")
    await page.get_by_role("button", name="Save lesson").click()
    lessons = page.locator("#module-list li[data-lesson-id]")
    await expect(lessons).to_have_count(2)
    # Ordering through the reorder API: up, then back down.
    await page.get_by_role("button", name="Move lesson Stops and targets up").click()
    await expect(lessons.first).to_contain_text("Stops and targets")
    await page.get_by_role("button", name="Move lesson Stops and targets down").click()
    await expect(lessons.first).to_contain_text("Risk per trade")
    await page.get_by_role("button", name="Close").click()

    # An assessment: one question, pass mark 100%.
    form = page.locator("#assessment-form")
    await form.get_by_label("Assessment title").fill("Sizing check")
    await form.get_by_label("Pass mark (%)").fill("100")
    await form.get_by_label("Question", exact=True).fill("How much of equity is risked per trade?")
    await form.get_by_label("Answers to choose from, one per line").fill("10%\n1%\n50%")
    await form.get_by_label("Number of the right answer(s), e.g. 2 or 1, 3").fill("2")
    await form.get_by_role("button", name="Create assessment").click()
    await expect(page.get_by_role("link", name="Assessment: Sizing check")).to_be_visible()

    # An assignment with a two-criterion rubric.
    form = page.locator("#assignment-form")
    await form.get_by_label("Assignment title").fill("Size three trades")
    await form.get_by_label("Instructions").fill("Size three trades on EURUSD; attach your sheet.")
    await form.get_by_label("Criterion 1", exact=True).fill("Correct sizes")
    await form.get_by_label("Criterion 1: most points").fill("10")
    await form.get_by_role("button", name="Add a criterion").click()
    await form.get_by_label("Criterion 2", exact=True).fill("Clear reasoning")
    await form.get_by_label("Criterion 2: most points").fill("5")
    await form.get_by_role("button", name="Create assignment").click()
    await expect(page.get_by_role("link", name="Assignment: Size three trades")).to_be_visible()
    # The mentor sees the assessment as learners do, without answering it.
    await page.get_by_role("link", name="Assessment: Sizing check").click()
    await expect(page.locator("#assessment-form")).to_contain_text(
        "How much of equity is risked per trade?"
    )
    await expect(page.locator("#assessment-form")).to_contain_text("You are this course's mentor")
    await expect(page.get_by_role("button", name="Hand in my answers")).to_have_count(0)
    await page.go_back()
    await expect(page.get_by_role("link", name="Assignment: Size three trades")).to_be_visible()
    await check_both_widths(page, "learning-builder")
    await page.goto(f"{server.url}/teach")
    await expect(page.locator("#my-programs")).to_contain_text("Risk first: position sizing")
    await check_both_widths(page, "learning-teach")
    return program_id


async def test_a_mentor_builds_a_course_and_a_mentee_learns_it_to_a_certificate(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    mentor = await register(live_server, name="Amani Mentor", role="mentor")
    mentee = await register(live_server, name="Baraka Learner")
    mentor_context = await browser.new_context(viewport=DESKTOP, timezone_id="UTC")
    mentee_context = await browser.new_context(viewport=DESKTOP, timezone_id="UTC")
    try:
        teacher = await mentor_context.new_page()
        await sign_in(teacher, live_server, mentor, "/teach")
        program_id = await build_course(teacher, live_server)

        # ---- the mentee finds the course and enrols through the checkout ----
        page = await mentee_context.new_page()
        await sign_in(page, live_server, mentee, "/courses")
        await expect(await nav_link(page, "Courses")).to_be_visible()
        await expect(await nav_link(page, "Course builder")).to_be_hidden()
        await page.get_by_label("Topic").select_option("forex")
        await page.get_by_label("Price").select_option("paid")
        await page.get_by_label("Mentor").select_option(label="Amani Mentor")
        card = page.locator(f"#course-list li[data-program-id='{program_id}']")
        await expect(card).to_contain_text("1,500.00 KES")
        await expect(card).to_contain_text("12 seats left")
        await page.get_by_label("Price").select_option("free")
        await expect(card).to_have_count(0)
        await page.get_by_label("Price").select_option("")
        await check_both_widths(page, "learning-courses")
        await card.get_by_role("link", name="Risk first: position sizing").click()
        await page.wait_for_url(f"{live_server.url}/courses/{program_id}")
        await expect(page.locator("#course-about")).to_contain_text("Amani Mentor")
        await expect(page.locator("#course-cohorts")).to_contain_text("12 of 12 seats left")
        await check_both_widths(page, "learning-course-before-enrolling")

        async with platform_of(live_server, tmp_path) as platform:
            await fund_wallet(platform.pool, mentee.id, "KES", 500_000, datetime.now(UTC))
        await page.get_by_role("button", name="Enrol in January cohort").click()
        dialog = page.get_by_role("dialog", name="Confirm and pay")
        await expect(dialog.locator("[data-line='price']")).to_contain_text("1,500.00 KES")
        await screenshot(page, "learning-checkout")
        await dialog.get_by_role("button", name="Confirm and pay 1,500.00 KES").click()
        await expect(dialog).to_have_count(0)
        await expect(page.locator("#enrol-status")).to_have_text(
            "You are enrolled in January cohort."
        )
        await expect(page.locator("#course-progress")).to_contain_text("0% complete")
        assert await escrow_and_enrolment(live_server.database_url, mentee.id) == (
            150_000,
            "KES",
            True,
        )
        await expect(page.locator("#leave-cohort")).to_contain_text(
            "Until January cohort starts you may leave and get 1,500.00 KES back."
        )
        await check_both_widths(page, "learning-course-enrolled")

        # ---- reading: sanitised, highlighted, the image; mark complete; next lesson ----
        await page.get_by_role("link", name="Continue: Risk per trade").click()
        await page.wait_for_url(re.compile(r"/lessons/[0-9a-f-]{36}$"))
        body = page.locator("#lesson-body")
        await expect(body.locator("pre code span.n").first).to_have_text("size")
        assert await body.locator("script").count() == 0
        image = body.locator("img[alt='sizing-chart']")
        await expect(image).to_have_count(1)
        # decode() settles once the bytes have arrived and decoded (or rejects if they never
        # do), so the check does not race the image's download.
        assert await image.evaluate("img => img.decode().then(() => img.naturalWidth)") == 2
        await expect(page.locator("#lesson-progress")).to_contain_text("35 min left")
        # The first lesson has no previous one: its place stays empty (no stray "null").
        await expect(page.locator("#lesson-actions")).to_have_text(
            re.compile(r"^Mark complete\s*Next lesson: Stops and targets$")
        )
        await check_both_widths(page, "learning-lesson")
        await page.get_by_role("button", name="Mark complete").click()
        await expect(page.locator("#lesson-status")).to_have_text("Lesson marked complete.")
        await expect(page.locator("#lesson-progress")).to_contain_text("15 min left")
        await page.get_by_role("link", name="Next lesson: Stops and targets").click()
        await expect(page.locator("main h1")).to_have_text("Stops and targets")
        await expect(
            page.get_by_role("link", name="Previous lesson: Risk per trade")
        ).to_be_visible()
        await page.get_by_role("button", name="Mark complete").click()
        await expect(page.locator("#lesson-progress")).to_contain_text("100% of the course")
        await page.get_by_role("link", name=re.compile("^Back to the course")).click()

        # ---- the assessment: a wrong answer first, then the right one ----
        await page.get_by_role("link", name="Assessment: Sizing check").click()
        await expect(page.locator("main h1")).to_have_text("Sizing check")
        await expect(page.locator("#assessment-rules")).to_contain_text("Pass mark 100%")
        await check_both_widths(page, "learning-assessment")
        await page.get_by_label("10%").check()
        await page.get_by_role("button", name="Hand in my answers").click()
        await expect(page.locator("#assessment-score")).to_have_text(
            "Not passed: 0% (pass mark 100%)"
        )
        await expect(page.locator("#answer-q1-verdict")).to_have_text("✗ Not right")
        # No certificate yet: nothing in its place (not the text "null").
        await expect(page.locator("#assessment-result")).to_have_text(
            re.compile(r"^Not passed: 0% \(pass mark 100%\)\s*You have \d+ attempts? left\.$")
        )
        await page.get_by_label("1%", exact=True).check()
        await page.get_by_role("button", name="Hand in my answers").click()
        await expect(page.locator("#assessment-score")).to_have_text(
            "Passed: 100% (pass mark 100%)"
        )
        await expect(page.locator("#answer-q1-verdict")).to_have_text("✓ Right")
        await expect(page.get_by_role("link", name="Open your certificate")).to_be_visible()
        await check_both_widths(page, "learning-assessment-passed")

        # ---- the assignment: a file that is not what it says is refused, a PDF is kept ----
        await page.get_by_role("link", name=re.compile("^Back to ")).click()
        await page.get_by_role("link", name="Assignment: Size three trades").click()
        await expect(page.locator("#assignment-rubric")).to_contain_text(
            "Correct sizes: up to 10 points"
        )
        await page.get_by_role("button", name="Hand in").click()
        await expect(page.locator("#submission-body-error")).to_have_text(
            "Write your answer before handing it in."
        )
        await page.get_by_label("Your answer").fill("Sizes: 0.5, 0.3 and 0.2 lots.")
        await expect(page.locator("#submission-body-error")).to_have_text("")
        file_input = page.get_by_label("Attach a file (PDF or image, optional)")
        await file_input.set_input_files(
            {"name": "sheet.pdf", "mimeType": "application/pdf", "buffer": b"not really a pdf"}
        )
        await page.get_by_role("button", name="Hand in").click()
        await expect(page.locator("#submission-file-error")).to_have_text(
            "Attach a PDF or a PNG, JPEG, GIF or WebP image"
        )
        await file_input.set_input_files(
            {"name": "sheet.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}
        )
        await expect(page.locator("#submission-file-error")).to_have_text("")
        await page.get_by_role("button", name="Hand in").click()
        await expect(page.locator("#submission-status")).to_contain_text("Handed in")
        await expect(page.locator("#my-submissions")).to_contain_text(
            "Waiting for the mentor's score."
        )
        await expect(page.get_by_role("button", name="Download sheet.pdf")).to_be_visible()
        await check_both_widths(page, "learning-assignment-handed-in")

        # ---- the mentor scores it in the grading queue ----
        await teacher.goto(f"{live_server.url}/teach/grading")
        await expect(teacher.locator("#grading-status")).to_have_text(
            "1 submission waiting for a score."
        )
        item = teacher.locator("#grading-queue li").first
        await expect(item).to_contain_text("Size three trades · Baraka Learner")
        async with teacher.expect_download() as download_info:
            await item.get_by_role("button", name="Download sheet.pdf").click()
        download = await download_info.value
        assert (await anyio.Path(await download.path()).read_bytes()).startswith(b"%PDF-")
        await check_both_widths(teacher, "learning-grading")
        await item.get_by_label("Correct sizes (0 to 10)").fill("11")
        await item.get_by_label("Clear reasoning (0 to 5)").fill("4")
        await item.get_by_label("Feedback for the learner").fill("Good sizes; show the stop.")
        await item.get_by_role("button", name="Save the score").click()
        await expect(
            item.locator(".form-error, .field-error").filter(has_text="at most 10")
        ).to_have_count(1)
        await item.get_by_label("Correct sizes (0 to 10)").fill("9")
        await item.get_by_role("button", name="Save the score").click()
        await expect(teacher.locator("#grading-status")).to_have_text(
            "Nothing is waiting for a score."
        )
        await expect(item).to_contain_text("scored 13 of 15")

        # ---- the mentee sees the feedback ----
        await page.reload()
        submission = page.locator("#my-submissions li").first
        await expect(submission).to_contain_text("Score: 13 of 15")
        await expect(submission).to_contain_text("Correct sizes: 9 of 10")
        await expect(submission).to_contain_text("Good sizes; show the stop.")
        await check_both_widths(page, "learning-assignment-feedback")

        # ---- the program complete, the certificate, its public page and its PDF ----
        await page.goto(f"{live_server.url}/courses/{program_id}")
        await expect(page.locator("#course-progress")).to_contain_text("100% complete")
        await expect(page.locator("#course-progress")).to_contain_text("Every lesson is done.")
        await check_both_widths(page, "learning-course-complete")
        await page.get_by_role("link", name="Open your certificate").click()
        await page.wait_for_url(re.compile(r"/certificates/[0-9a-f]{32}\."))
        certificate_url = page.url
        # Its holder shares it (issue 19 item 5): a tracked link with the certificate's card.
        await expect(page.locator("#certificate-outcome")).to_have_text(
            "This certificate is genuine"
        )
        await page.get_by_role("button", name="Share your certificate").click()
        share_dialog = page.get_by_role("dialog", name="Share your certificate")
        await share_dialog.get_by_role("button", name="Facebook").click()
        await expect(
            share_dialog.get_by_role("link", name="Post it on Facebook")
        ).to_have_attribute(
            "href", re.compile(r"^https://www\.facebook\.com/sharer/sharer\.php\?u=")
        )
        await page.wait_for_function(
            "() => document.getElementById('share-image').naturalWidth === 1200"
        )
        await screenshot(page, "share-dialog-certificate")
        await share_dialog.get_by_role("button", name="Close").click()

        # The verification page is public: a browser with no session opens it.
        visitor_context = await browser.new_context(viewport=DESKTOP)
        try:
            visitor = await visitor_context.new_page()
            await visitor.goto(certificate_url)
            await expect(visitor.locator("#certificate-outcome")).to_have_text(
                "This certificate is genuine"
            )
            await expect(visitor.locator("#certificate-holder")).to_have_text("Baraka Learner")
            await expect(
                visitor.get_by_role("button", name="Share your certificate")
            ).to_have_count(0)
            await expect(visitor.locator("#certificate-program")).to_have_text(
                "Risk first: position sizing"
            )
            await check_both_widths(visitor, "learning-certificate")
            pdf_link = visitor.get_by_role("link", name="Download the certificate (PDF)")
            pdf = await visitor.request.get(await pdf_link.get_attribute("href"))
            assert pdf.status == 200
            assert pdf.headers["content-type"] == "application/pdf"
            assert (await pdf.body()).startswith(b"%PDF-")
            (tmp_path / "certificate.pdf").write_bytes(await pdf.body())

            # A tampered id is not verified.
            await visitor.goto(
                certificate_url[:-2] + ("AA" if not certificate_url.endswith("AA") else "BB")
            )
            await expect(visitor.locator("#certificate-outcome")).to_have_text(
                "This certificate could not be verified"
            )
            await check_both_widths(visitor, "learning-certificate-not-verified")
        finally:
            await visitor_context.close()
    finally:
        await mentor_context.close()
        await mentee_context.close()


async def test_a_free_course_is_joined_through_the_checkout_and_builders_errors_sit_by_their_fields(
    browser: Any, live_server: LiveServer
) -> None:
    mentor = await register(live_server, name="Chebet Mentor", role="mentor")
    mentee = await register(live_server, name="Dalia Learner")
    headers = await headers_of(live_server, mentor)
    starts = datetime.now(UTC) + timedelta(days=3)
    async with live_server.api() as client:
        program = await client.post(
            "/api/v1/programs",
            json={"title": "Journal every trade", "published": True, "difficulty": "advanced"},
            headers=headers,
        )
        assert program.status_code == 201, program.text
        program_id = program.json()["id"]
        cohort = await client.post(
            f"/api/v1/programs/{program_id}/cohorts",
            json={
                "title": "Spring cohort",
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(days=10)).isoformat(),
                "capacity": 1,
            },
            headers=headers,
        )
        assert cohort.status_code == 201, cohort.text
        module = await client.post(
            f"/api/v1/programs/{program_id}/modules", json={"title": "Habits"}, headers=headers
        )
        lesson = await client.post(
            f"/api/v1/modules/{module.json()['id']}/lessons",
            json={
                "title": "Why journal",
                "estimated_minutes": 5,
                "body_markdown": "Write it down.",
            },
            headers=headers,
        )
        assert lesson.status_code == 201, lesson.text
        lesson_id = lesson.json()["id"]

    context = await browser.new_context(viewport=DESKTOP, timezone_id="UTC")
    mentor_context = await browser.new_context(viewport=DESKTOP, timezone_id="UTC")
    try:
        # A mentee may not use the builder: the page says so and the navigation hides it.
        page = await context.new_page()
        await sign_in(page, live_server, mentee, "/teach")
        await expect(page.locator("main h1")).to_have_text("Not allowed")
        # A lesson of a course not joined says so, with the way to the catalogue.
        await page.goto(f"{live_server.url}/lessons/{lesson_id}")
        await expect(page.locator("main h1")).to_have_text("Join the course first")
        await page.get_by_role("link", name="Browse the courses").click()
        await page.get_by_label("Price").select_option("free")
        await page.get_by_label("Difficulty").select_option("advanced")
        card = page.locator(f"#course-list li[data-program-id='{program_id}']")
        await expect(card).to_contain_text("Free")
        await card.get_by_role("link", name="Journal every trade").click()
        await expect(page.locator("#course-cohorts")).to_contain_text("1 of 1 seats left")
        await page.get_by_role("button", name="Enrol in Spring cohort").click()
        # A free seat: the checkout asks only for a confirmation.
        dialog = page.get_by_role("dialog", name="Confirm", exact=True)
        await expect(dialog).to_contain_text("Journal every trade")
        await screenshot(page, "learning-checkout-free")
        await dialog.get_by_role("button", name="Confirm", exact=True).click()
        await expect(dialog).to_have_count(0)
        await expect(page.locator("#enrol-status")).to_contain_text("You are enrolled")
        await expect(page.locator("#course-cohorts")).to_contain_text("Full")
        # Free: a seat with nothing paid and nothing in escrow.
        assert await escrow_and_enrolment(live_server.database_url, mentee.id) == (0, "KES", False)
        await page.goto(f"{live_server.url}/lessons/{lesson_id}")
        await expect(page.locator("#lesson-body")).to_contain_text("Write it down.")

        # "Your courses" on the catalogue; leaving before the start frees the seat.
        await page.goto(f"{live_server.url}/courses")
        mine = page.locator("#my-courses")
        await expect(mine).to_contain_text("Journal every trade")
        await expect(mine).to_contain_text("Spring cohort")
        await check_both_widths(page, "learning-courses-mine")
        await mine.get_by_role("link", name="Journal every trade").click()
        await page.get_by_role("button", name="Leave Spring cohort").click()
        await page.get_by_role("button", name="Yes, leave", exact=True).click()
        await expect(page.locator("#enrol-status")).to_have_text("You left Spring cohort.")
        await expect(page.locator("#course-cohorts")).to_contain_text("1 of 1 seats left")
        await expect(page.get_by_role("button", name="Enrol in Spring cohort")).to_be_visible()
        await expect(page.locator("#progress-card")).to_be_hidden()
        assert await escrow_and_enrolment(live_server.database_url, mentee.id) is None

        # The builder: a price with too many decimals is refused beside its field, and
        # the message goes as soon as the price is edited.
        teacher = await mentor_context.new_page()
        await sign_in(teacher, live_server, mentor, f"/teach/programs/{program_id}")
        await expect(teacher.get_by_label("Program title")).to_have_value("Journal every trade")
        await teacher.get_by_label("Price (0 for free)").fill("12.345")
        await teacher.get_by_role("button", name="Save program").click()
        error = teacher.locator("#program-price-error")
        await expect(error).to_have_text("KES amounts have at most 2 digits after the point.")
        await screenshot(teacher, "learning-builder-price-error")
        await teacher.get_by_label("Price (0 for free)").fill("12.50")
        await expect(error).to_have_text("")
        await teacher.get_by_role("button", name="Save program").click()
        await expect(teacher.locator("#program-status")).to_have_text("Saved; published.")
        await teacher.reload()
        await expect(teacher.get_by_label("Price (0 for free)")).to_have_value("12.50")
    finally:
        await context.close()
        await mentor_context.close()

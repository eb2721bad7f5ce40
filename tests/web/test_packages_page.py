"""A package of sessions in the browser, both sides: the mentor offers three sessions at one
price on Teaching sessions; a mentee buys it on the mentor's profile through the checkout,
books two sessions from it on My sessions without paying again, cancels one in time (it
goes back to the package, as the dialog says before confirming), books again, and closes
the package: the one session never booked comes back to the wallet, as the balances say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.web.conftest import LiveServer, assert_accessible, register, screenshot, sign_in
from tests.web.test_sessions_pages import (
    FUNDS,
    bookings_of,
    check_both_widths,
    kes_balance,
    set_up_mentor,
)

pytestmark = pytest.mark.browser

PACKAGE_PRICE = 400_000  # 4,000.00 KES for three 1,500.00 KES sessions
SHARES = (133_334, 133_333, 133_333)


async def test_a_package_of_three_is_bought_two_used_and_the_rest_refunded(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    mentor = await register(live_server, name="Amina Mentor", role="mentor", kyc_level=2)
    mentee = await register(live_server, name="Baraka Buyer")
    await set_up_mentor(live_server, mentor, mentee, tmp_path)
    mentor_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    mentee_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        # ---- the mentor offers the package -----------------------------------------------
        teacher = await mentor_ctx.new_page()
        await sign_in(teacher, live_server, mentor, "/mentor/sessions")
        form = teacher.locator("#package-form")
        await form.get_by_label("Title").fill("Three forex reviews")
        await expect(form.get_by_label("Session type", exact=True)).to_contain_text("Forex review")
        await form.get_by_label("Sessions", exact=True).fill("3")
        await form.get_by_label("Price for all sessions").fill("abc")
        await form.get_by_role("button", name="Offer this package").click()
        await expect(teacher.locator("#pk-price-error")).not_to_be_empty()
        await form.get_by_label("Price for all sessions").fill("4000")
        await form.get_by_role("button", name="Offer this package").click()
        offered = teacher.locator("#packages li", has_text="Three forex reviews")
        await expect(offered).to_contain_text("4,000.00 KES (4,500.00 KES one by one)")
        await expect(offered).to_contain_text("on sale")
        await screenshot(teacher, "packages-01-mentor-offers")
        await check_both_widths(teacher, "mentor-packages")

        # ---- the mentee buys it through the checkout -------------------------------------
        learner = await mentee_ctx.new_page()
        await sign_in(learner, live_server, mentee, f"/mentors/{mentor.id}")
        card = learner.locator("#packages li", has_text="Three forex reviews")
        await expect(card).to_contain_text("save 500.00 KES")
        await card.get_by_role("button", name="Buy Three forex reviews").click()
        checkout = learner.get_by_role("dialog", name="Confirm and pay")
        await expect(checkout).to_contain_text("Sessions you have not booked come back in full")
        await screenshot(learner, "packages-02-checkout")
        await checkout.get_by_role("button", name="Confirm and pay 4,000.00 KES").click()
        await expect(learner.locator("#package-status")).to_contain_text(
            "Bought: Three forex reviews, 3 sessions"
        )
        assert await kes_balance(live_server, mentee) == (FUNDS - PACKAGE_PRICE, FUNDS)

        # ---- two sessions booked from it, without paying again ---------------------------
        await learner.locator("#package-status").get_by_role("link").click()
        await learner.wait_for_url(f"{live_server.url}/sessions")
        item = learner.locator("#packages li", has_text="Three forex reviews")
        await expect(item).to_contain_text("3 of 3 sessions left to book")
        book = item.get_by_role("button", name="Book a session of Three forex reviews")
        await book.click()
        dialog = learner.get_by_role("dialog", name="Book a session of Three forex reviews")
        await expect(dialog).to_contain_text("Already paid")
        await assert_accessible(learner, "package booking dialog")
        await dialog.locator("#package-slots button").first.click()
        await expect(learner.locator("#sessions-status")).to_contain_text(
            "Booked from your package"
        )
        await expect(item).to_contain_text("2 of 3 sessions left to book")
        # The last slot offered is more than a day away: cancelling it is in time.
        await book.click()
        await dialog.locator("#package-slots button").last.click()
        await expect(item).to_contain_text("1 of 3 sessions left to book")
        assert await kes_balance(live_server, mentee) == (FUNDS - PACKAGE_PRICE, FUNDS)
        booked = await bookings_of(live_server, mentee)
        assert sorted(b["amount_minor"] for b in booked.values()) == sorted(SHARES[:2])
        await screenshot(learner, "packages-03-two-booked")

        # ---- cancelled in time, the session goes back to the package ---------------------
        later = max(booked.values(), key=lambda b: b["session"]["starts_at"])
        row = learner.locator(f"#upcoming li[data-booking-id='{later['id']}']")
        await row.get_by_role("button", name="Cancel…").click()
        cancel = learner.get_by_role("dialog", name="Cancel this session?")
        await expect(cancel.locator("[data-line='refund']")).to_contain_text("0.00 KES")
        await expect(cancel.locator("[data-line='package']")).to_contain_text("1 session")
        await expect(cancel.locator("#cancel-policy")).to_contain_text("goes back to your package")
        await screenshot(learner, "packages-04-cancel-back-to-package")
        await cancel.get_by_role(
            "button", name="Cancel and put the session back in my package"
        ).click()
        await expect(learner.locator("#sessions-status")).to_contain_text(
            "The session went back to your package"
        )
        await expect(item).to_contain_text("2 of 3 sessions left to book")
        await book.click()
        await dialog.locator("#package-slots button").last.click()
        await expect(item).to_contain_text("1 of 3 sessions left to book")
        await expect(item).to_contain_text("2 booked or used")

        # ---- closing refunds the session never booked ------------------------------------
        await item.get_by_role("button", name="Close package…").click()
        closing = learner.get_by_role("dialog", name="Close Three forex reviews?")
        await expect(closing.locator("[data-line='refund']")).to_contain_text("1,333.33 KES")
        await screenshot(learner, "packages-05-close")
        await closing.get_by_role("button", name="Close and refund 1,333.33 KES").click()
        await expect(learner.locator("#sessions-status")).to_contain_text(
            "1,333.33 KES went back to your wallet"
        )
        await expect(item).to_contain_text("closed")
        await expect(item.get_by_role("button")).to_have_count(0)
        # Two sessions' shares stay reserved in escrow for the sessions booked (pending,
        # nothing posted yet); the third's hold was voided back to the wallet.
        assert await kes_balance(live_server, mentee) == (FUNDS - SHARES[0] - SHARES[1], FUNDS)
        await check_both_widths(learner, "my-sessions-packages")
    finally:
        await mentor_ctx.close()
        await mentee_ctx.close()

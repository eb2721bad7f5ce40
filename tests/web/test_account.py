"""The account journeys in Chromium: verifying the e-mail address from the mail (and the
banner that asks for it, with its re-send), a forgotten password reset from the mail
(signing out a browser that was signed in), two-factor set up from the QR page and used
at the next sign-in, signing another device out, the profile with its time zone, the
phone confirmed by SMS, and Google sign-in where it is configured. Every page is checked
with axe-core at desktop and phone width."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pyotp
import pytest
from playwright.async_api import expect

from dracarys.app import create_app
from tests.conftest import make_settings
from tests.identity.oidc_simulator import OidcProviderSimulator
from tests.messaging.simulators import SmsSimulator, SmtpSimulator, free_port, serve_http
from tests.support import served_in_thread
from tests.web.conftest import (
    PHONE_VIEWPORT,
    Account,
    LiveServer,
    assert_accessible,
    register,
    screenshot,
    sign_in,
)
from workers.runtime import embedded_background

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a fresh passphrase for the browser 8"
VERIFY_LINK = re.compile(r"https?://\S+/verify-email\?token=[A-Za-z0-9_\-]+")
RESET_LINK = re.compile(r"https?://\S+/reset-password\?token=[A-Za-z0-9_\-]+")


# ---- a live server whose SMS gateway and sign-in provider are the local simulators ----


@pytest.fixture(scope="module")
async def sms_gateway() -> AsyncIterator[SmsSimulator]:
    gateway = SmsSimulator()
    async with serve_http(gateway.app(), gateway.port):
        yield gateway


@pytest.fixture(scope="module")
async def oidc_provider() -> AsyncIterator[OidcProviderSimulator]:
    provider = OidcProviderSimulator()
    async with serve_http(provider.app(), provider.port):
        yield provider


@pytest.fixture
def provider_server(
    database_url: str,
    tmp_path: Path,
    mail_sink: SmtpSimulator,
    sms_gateway: SmsSimulator,
    oidc_provider: OidcProviderSimulator,
) -> Iterator[LiveServer]:
    """As `live_server`, with SMS and Google sign-in configured (the simulators)."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    settings = make_settings(
        database_url,
        tmp_path,
        DRACARYS_PUBLIC_URL=origin,
        DRACARYS_ALLOWED_ORIGINS=origin,
        DRACARYS_OUTBOX_POLL_INTERVAL_S="0.1",
        DRACARYS_LOG_LEVEL="ERROR",
        DRACARYS_SMTP_PORT=str(mail_sink.port),
        DRACARYS_SMS_API_URL=sms_gateway.url,
        DRACARYS_SMS_USERNAME=sms_gateway.username,
        DRACARYS_SMS_API_KEY=sms_gateway.api_key,
        DRACARYS_GOOGLE_ISSUER=oidc_provider.issuer("google"),
        DRACARYS_GOOGLE_CLIENT_ID=oidc_provider.client_id,
        DRACARYS_GOOGLE_CLIENT_SECRET=oidc_provider.client_secret,
    )
    app = create_app(settings, lifespan_hooks=[embedded_background], run_migrations=False)
    with served_in_thread(app, port, "provider-server"):
        yield LiveServer(url=origin, database_url=database_url)


# ---- helpers -----------------------------------------------------------------------------


async def links_in_mail(
    mail_sink: SmtpSimulator, address: str, pattern: re.Pattern[str], count: int
) -> list[str]:
    """The links matching `pattern` in the mail to `address`, oldest first, once `count`
    such links arrived."""
    for _ in range(300):
        found = []
        for message in mail_sink.to(address):
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            found += pattern.findall(body.get_content())
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} links in the mail to {address}")


async def check_page(page: Any, label: str) -> None:
    """axe-core at desktop width and at phone width, with a screenshot of each."""
    await assert_accessible(page, f"{label} (desktop)")
    await screenshot(page, f"account-{label}")
    desktop = page.viewport_size
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, f"{label} (phone)")
    await screenshot(page, f"account-{label}-phone")
    await page.set_viewport_size(desktop)


async def db(server: LiveServer) -> asyncpg.Connection:
    return await asyncpg.connect(server.database_url)


# ---- e-mail verification -----------------------------------------------------------------


async def test_verifying_from_the_mail_after_the_banner_and_its_resend(
    context: Any, live_server: LiveServer, mail_sink: SmtpSimulator
) -> None:
    account = await register(live_server, name="Vera Verify")
    page = await context.new_page()
    await sign_in(page, live_server, account, "/account")
    banner = page.locator("#account-banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text(account.email)
    await check_page(page, "banner")

    resend = page.get_by_role("button", name="Re-send the e-mail")
    await resend.click()
    await expect(page.locator("#verify-banner-status")).to_contain_text("Sent.")
    await links_in_mail(mail_sink, account.email, VERIFY_LINK, count=2)
    # The API allows five re-sends an hour; the sixth is explained, not failed.
    for _ in range(4):
        await expect(resend).to_be_enabled()
        await resend.click()
        await expect(page.locator("#verify-banner-status")).to_contain_text("Sent.")
    await expect(resend).to_be_enabled()
    await resend.click()
    await expect(page.locator("#verify-banner-status")).to_contain_text("you can ask again in")
    await screenshot(page, "account-banner-throttled")

    links = await links_in_mail(mail_sink, account.email, VERIFY_LINK, count=6)
    await page.goto(links[-1])
    await expect(page.locator("#verify-outcome")).to_have_text("Your e-mail address is verified")
    assert "token=" not in page.url
    await check_page(page, "verify-email-verified")

    await page.goto(links[-1])
    await expect(page.locator("#verify-outcome")).to_have_text("This link was already used")
    await check_page(page, "verify-email-used")

    await page.goto(f"{live_server.url}/verify-email?token=not-a-link-we-sent")
    await expect(page.locator("#verify-outcome")).to_have_text("This link does not work")

    # A link mailed more than a day ago (written as the service would have written it).
    stale = secrets.token_urlsafe(32)
    conn = await db(live_server)
    try:
        await conn.execute(
            """INSERT INTO email_verification_tokens (token_hash, user_id, email_index, expires_at)
               SELECT $1, id, email_index, $3 FROM users WHERE id = $2""",
            hashlib.sha256(stale.encode()).digest(),
            account.id,
            datetime.now(UTC) - timedelta(minutes=1),
        )
    finally:
        await conn.close()
    await page.goto(f"{live_server.url}/verify-email?token={stale}")
    await expect(page.locator("#verify-outcome")).to_have_text("This link has expired")
    await check_page(page, "verify-email-expired")

    await page.goto(f"{live_server.url}/account")
    await expect(page.locator("#email-state")).to_have_text("verified")
    await expect(banner).to_be_hidden()


# ---- forgotten password ------------------------------------------------------------------


async def test_a_forgotten_password_is_reset_from_the_mail_and_signs_other_browsers_out(
    browser: Any, context: Any, live_server: LiveServer, mail_sink: SmtpSimulator
) -> None:
    account = await register(live_server, name="Fern Forgot")
    elsewhere = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        signed_in = await elsewhere.new_page()
        await sign_in(signed_in, live_server, account, "/account")
        await expect(signed_in.locator("#whoami")).to_contain_text("Fern Forgot")

        page = await context.new_page()
        await page.goto(f"{live_server.url}/signin")
        # No sign-in provider is configured on this server: no provider buttons.
        await expect(page.locator("#oidc-providers")).to_be_hidden()
        await page.get_by_role("link", name="Forgot your password?").click()
        await page.wait_for_url(f"{live_server.url}/forgot-password")
        await check_page(page, "forgot-password")
        await page.get_by_label("E-mail").fill(account.email)
        await page.get_by_role("button", name="Send the link").click()
        await expect(page.locator("#forgot-sent")).to_be_visible()
        await expect(page.locator("#forgot-sent-detail")).to_contain_text(account.email)
        await check_page(page, "forgot-password-sent")

        # An address without an account gets the very same answer.
        await page.goto(f"{live_server.url}/forgot-password")
        nobody = f"nobody-{uuid.uuid4().hex[:6]}@example.com"
        await page.get_by_label("E-mail").fill(nobody)
        await page.get_by_role("button", name="Send the link").click()
        await expect(page.locator("#forgot-sent-detail")).to_have_text(
            f"If an account uses {nobody}, we have sent it a link to choose a new password."
        )

        (link,) = await links_in_mail(mail_sink, account.email, RESET_LINK, count=1)
        await page.goto(link)
        await check_page(page, "reset-password")
        await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        await page.get_by_label("New password again").fill(NEW_PASSWORD + "!")
        await page.get_by_role("button", name="Save the new password").click()
        await expect(page.locator("#password_again-error")).to_contain_text("differ")
        await page.get_by_label("New password", exact=True).fill("password123")
        await page.get_by_label("New password again").fill("password123")
        await page.get_by_role("button", name="Save the new password").click()
        await expect(page.locator("#password-error")).to_contain_text("common")
        await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        await page.get_by_label("New password again").fill(NEW_PASSWORD)
        await page.get_by_role("button", name="Save the new password").click()
        await expect(page.locator("#reset-done")).to_be_visible()
        await check_page(page, "reset-password-done")

        # The browser that was signed in is sent to sign in at its next page.
        # It leaves for /signin before "load": wait only for the response to start.
        await signed_in.goto(f"{live_server.url}/account", wait_until="commit")
        await signed_in.wait_for_url(re.compile(r".*/signin\?next=%2Faccount$"))
        assert await signed_in.evaluate("localStorage.getItem('dracarys.session')") is None

        # The link worked once.
        await page.goto(link)
        await page.get_by_label("New password", exact=True).fill("another passphrase 99")
        await page.get_by_label("New password again").fill("another passphrase 99")
        await page.get_by_role("button", name="Save the new password").click()
        await expect(page.locator("#form-error")).to_contain_text("already used")
        await expect(page.get_by_role("link", name="Ask for a new link")).to_be_visible()

        await sign_in(
            page,
            live_server,
            Account(account.id, account.email, NEW_PASSWORD, account.role),
            "/account",
        )
        await expect(page.locator("#whoami")).to_contain_text("Fern Forgot")
    finally:
        await elsewhere.close()


# ---- two-factor authentication -----------------------------------------------------------


async def wait_for_next_step(after_step: int) -> None:
    """Until the TOTP step after `after_step` has begun (codes are accepted once)."""
    while int(time.time()) // 30 <= after_step:
        await asyncio.sleep(0.5)


async def test_two_factor_is_set_up_from_the_qr_page_used_at_sign_in_and_turned_off(
    context: Any, live_server: LiveServer
) -> None:
    account = await register(live_server, name="Tess Totp")
    page = await context.new_page()
    await sign_in(page, live_server, account, "/account")
    # The staff home links straight to this section.
    await page.goto(f"{live_server.url}/account#two-factor")
    section = page.locator("#two-factor")
    await expect(section).to_be_focused()
    await expect(section.locator("#two-factor-state")).to_have_text(
        "Two-factor authentication is off."
    )
    await page.get_by_role("button", name="Set up two-factor authentication").click()
    qr = page.get_by_role("img", name=re.compile("QR code"))
    await expect(qr).to_be_visible()
    assert await qr.evaluate("img => img.decode().then(() => img.naturalWidth)") > 100
    assert (await qr.get_attribute("src") or "").startswith("data:image/svg+xml")
    await check_page(page, "two-factor-scan")
    secret = (await page.locator("#totp-secret").inner_text()).replace(" ", "")
    totp = pyotp.TOTP(secret)

    enrol_code = page.locator("#totp-enrol").get_by_label("Code from your authenticator app")
    await enrol_code.fill("000000")
    await page.get_by_role("button", name="Turn two-factor authentication on").click()
    await expect(page.locator("#totp-confirm-code-error")).to_contain_text("wrong")
    enrolled_step = int(time.time()) // 30
    await enrol_code.fill(totp.at(enrolled_step * 30))
    await page.get_by_role("button", name="Turn two-factor authentication on").click()
    codes = page.locator("#recovery-codes li")
    await expect(codes).to_have_count(10)
    await check_page(page, "two-factor-recovery-codes")
    await page.get_by_role("button", name="I have saved my recovery codes").click()
    await expect(codes).to_have_count(0)
    await expect(section.locator("#two-factor-state")).to_contain_text("is on")

    await page.get_by_role("button", name="Sign out", exact=True).click()
    await page.wait_for_url(f"{live_server.url}/signin")
    await page.get_by_label("E-mail").fill(account.email)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_label("Authenticator code")).to_be_visible()
    # The next step's code: the one of the enrolment's step was spent.
    await page.get_by_label("Authenticator code").fill(totp.at((enrolled_step + 1) * 30))
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{live_server.url}/dashboard")

    await page.goto(f"{live_server.url}/account#two-factor")
    await expect(section.locator("#two-factor-state")).to_contain_text("is on")
    await check_page(page, "two-factor-on")
    await wait_for_next_step(enrolled_step)
    await (
        page.locator("#totp-on")
        .get_by_label("Code from your authenticator app")
        .fill(totp.at((enrolled_step + 2) * 30))
    )
    await page.get_by_role("button", name="Turn two-factor authentication off").click()
    await expect(section.locator("#two-factor-state")).to_have_text(
        "Two-factor authentication is off."
    )
    conn = await db(live_server)
    try:
        enabled = await conn.fetchval("SELECT totp_enabled_at FROM users WHERE id = $1", account.id)
    finally:
        await conn.close()
    assert enabled is None


# ---- signed-in devices -------------------------------------------------------------------


async def test_signing_out_lands_on_the_sign_in_page_though_the_stream_is_refused_first(
    context: Any, live_server: LiveServer
) -> None:
    account = await register(live_server, name="Sid Signout")
    page = await context.new_page()
    await sign_in(page, live_server, account, "/dashboard")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")

    async def answered_late(route: Any) -> None:
        # The server has ended the session when it answers; held back here, the live
        # stream's refusal (4401, then a refused refresh) reaches the page first.
        response = await route.fetch()
        await asyncio.sleep(1.5)
        await route.fulfill(response=response)

    await page.route("**/api/v1/logout", answered_late)
    await page.get_by_role("button", name="Sign out", exact=True).click()
    # Not "sign in to come back to the dashboard": the person chose to leave.
    await page.wait_for_url(f"{live_server.url}/signin", timeout=10_000)
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.url == f"{live_server.url}/signin"


async def test_another_device_is_signed_out_from_the_list(
    browser: Any, context: Any, live_server: LiveServer
) -> None:
    account = await register(live_server, name="Devi Devices")
    phone = await browser.new_context(viewport=PHONE_VIEWPORT)
    try:
        other = await phone.new_page()
        await sign_in(other, live_server, account, "/account")
        page = await context.new_page()
        await sign_in(page, live_server, account, "/account")
        sessions = page.locator("#session-list li")
        await expect(sessions).to_have_count(2)
        current = page.locator('#session-list li[data-current="true"]')
        await expect(current).to_contain_text("This device")
        await expect(current).to_contain_text("Chrome on Linux")
        await check_page(page, "account")

        await (
            page.locator('#session-list li[data-current="false"]')
            .get_by_role("button", name="Sign out")
            .click()
        )
        await expect(sessions).to_have_count(1)
        await expect(page.locator('#session-list li[data-current="true"]')).to_have_count(1)

        await other.reload()
        await other.wait_for_url(re.compile(r".*/signin\?next=%2Faccount$"))
        # This device keeps working.
        await page.reload()
        await expect(page.locator("#session-list li")).to_have_count(1)
    finally:
        await phone.close()


# ---- profile ------------------------------------------------------------------------------


async def test_the_profile_and_time_zone_are_edited_and_kept(
    context: Any, live_server: LiveServer
) -> None:
    account = await register(live_server, name="Pia Profile")
    page = await context.new_page()
    await sign_in(page, live_server, account, "/account")
    await expect(page.get_by_label("Name", exact=True)).to_have_value("Pia Profile")
    await page.get_by_label("Name", exact=True).fill("Pia Profiled")
    await page.get_by_label("Headline").fill("Swing trader, Nairobi")
    await page.get_by_label("About you").fill("Ten years of FX, mostly majors.")
    await page.get_by_label("Experience").select_option("advanced")
    await page.get_by_label("Trading style").select_option("swing_trader")
    await page.get_by_label("Forex").check()
    await page.get_by_label("Risk management").check()
    await page.get_by_label("Time zone").select_option("Africa/Nairobi")
    await page.get_by_label("Country you live in").select_option("KE")
    await page.get_by_text("Links to your profiles elsewhere").click()
    await page.get_by_label("YouTube").fill("http://youtube.com/@pia")
    await page.get_by_role("button", name="Save profile").click()
    await expect(page.locator("#social-youtube-error")).to_contain_text("https://")
    await page.get_by_label("YouTube").fill("https://youtube.com/@pia")
    await page.get_by_role("button", name="Save profile").click()
    await expect(page.locator("#profile-saved")).to_have_text("Saved.")
    await expect(page.locator("#social-youtube-error")).to_be_empty()
    await expect(page.locator("#whoami")).to_contain_text("Pia Profiled")

    await page.reload()
    await expect(page.get_by_label("Name", exact=True)).to_have_value("Pia Profiled")
    await expect(page.get_by_label("Time zone")).to_have_value("Africa/Nairobi")
    await expect(page.get_by_label("Country you live in")).to_have_value("KE")
    await expect(page.get_by_label("Forex")).to_be_checked()
    await expect(page.get_by_label("YouTube")).to_have_value("https://youtube.com/@pia")
    conn = await db(live_server)
    try:
        row = await conn.fetchrow(
            "SELECT timezone, headline, specialties FROM user_profiles WHERE user_id = $1",
            account.id,
        )
    finally:
        await conn.close()
    assert row is not None
    assert row["timezone"] == "Africa/Nairobi"
    assert row["headline"] == "Swing trader, Nairobi"
    assert sorted(row["specialties"]) == ["forex", "risk_management"]
    await check_page(page, "profile")


# ---- phone and sign-in providers (simulators) ---------------------------------------------


async def test_the_phone_number_is_confirmed_with_the_code_sent_by_sms(
    context: Any, provider_server: LiveServer, sms_gateway: SmsSimulator
) -> None:
    account = await register(provider_server, name="Sam Sms")
    number = f"+25472{uuid.uuid4().int % 10_000_000:07d}"
    page = await context.new_page()
    await sign_in(page, provider_server, account, "/account")
    # The page's forms take their handlers once it has read the account (shown here).
    await expect(page.locator("#phone-number")).to_have_text("none yet")
    await page.get_by_label("Phone number to verify").fill("0712")
    await page.get_by_role("button", name="Send a code").click()
    await expect(page.locator("#phone-error")).to_contain_text("international form")
    await page.get_by_label("Phone number to verify").fill(number)
    await page.get_by_role("button", name="Send a code").click()
    await expect(page.locator("#phone-code-sent")).to_contain_text(number)
    sms = await sms_gateway.wait_for(number)
    code = re.search(r"\b(\d{6})\b", sms["message"])
    assert code is not None
    await page.get_by_label("Code from the SMS").fill("000000" if code[1] != "000000" else "111111")
    await page.get_by_role("button", name="Confirm the number").click()
    await expect(page.locator("#phone-code-error")).to_contain_text("wrong")
    await check_page(page, "phone-code")
    await page.get_by_label("Code from the SMS").fill(code[1])
    await page.get_by_role("button", name="Confirm the number").click()
    await expect(page.locator("#phone-state")).to_have_text("verified")
    await expect(page.locator("#phone-number")).to_have_text(number)
    await expect(page.locator("#phone-status")).to_have_text("Your phone number is verified.")


async def test_google_sign_in_is_offered_where_configured_and_signs_in(
    context: Any, provider_server: LiveServer, oidc_provider: OidcProviderSimulator
) -> None:
    email = f"gia-{uuid.uuid4().hex[:6]}@example.com"
    oidc_provider.reset()
    oidc_provider.identity = {
        "sub": f"google-{uuid.uuid4().hex}",
        "email": email,
        "email_verified": True,
        "name": "Gia Google",
    }
    page = await context.new_page()
    await page.goto(f"{provider_server.url}/signup")
    await expect(page.get_by_role("button", name="Continue with Google")).to_be_visible()
    # Only the configured provider is offered.
    await expect(page.get_by_role("button", name="Continue with Apple")).to_have_count(0)
    await page.goto(f"{provider_server.url}/signin?next=/account")
    await check_page(page, "signin-with-providers")
    await page.get_by_role("button", name="Continue with Google").click()
    await page.wait_for_url(f"{provider_server.url}/account")
    await expect(page.locator("#whoami")).to_contain_text("Gia Google")
    await expect(page.locator("#email-address")).to_have_text(email)
    # The provider vouched for the address: nothing to verify.
    await expect(page.locator("#account-banner")).to_be_hidden()

    # A callback this tab did not start is refused without calling the API.
    await page.goto(f"{provider_server.url}/auth/callback/google?code=stolen&state=forged")
    await expect(page.locator("#oidc-outcome")).to_have_text("Sign-in did not finish")
    await check_page(page, "oidc-callback-refused")

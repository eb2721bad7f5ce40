"""Web Push on the notification settings page, in Chromium: the button registers the
service worker (/sw.js, scope /), asks for permission and subscribes with the platform's
VAPID key; the subscription is stored as this account's device, listed with a remove
button; a notification then reaches the device through the push service, and the service
worker shows it.

Headless Chromium has no push service of its own (it cannot reach one from here), so
`PushManager.subscribe` cannot succeed: the first test shows the page's flow up to that
point and its message when the browser's push service is unreachable. The second stands
in for the browser's push service only: an init script makes `subscribe` hand back a
subscription whose endpoint and keys belong to a fake browser at the local push-service
simulator. Everything else is real: the page's registration, permission and POST, the
server's encrypted, VAPID-signed push, the simulator's check and decryption, and the
service worker's notification (the decrypted message is handed to it by Chromium's
DevTools `ServiceWorker.deliverPushMessage`, as the browser would on receipt)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from dracarys.db import transaction
from dracarys.notifications import ensure_vapid_keys
from dracarys.outbox import emit_event
from dracarys.wallet import PaymentCaptured
from tests.messaging.simulators import serve_http
from tests.notifications.push_simulator import PushServiceSimulator
from tests.web.conftest import (
    LiveServer,
    assert_accessible,
    platform_of,
    register,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

PAGE = "/notifications/preferences"


@pytest.fixture(scope="module")
async def push_service() -> AsyncIterator[PushServiceSimulator]:
    simulator = PushServiceSimulator()
    async with serve_http(simulator.app(), simulator.port):
        yield simulator


async def _worker_of(page: Any) -> tuple[str | None, str | None]:
    return tuple(
        await page.evaluate(
            """async () => {
                const registration = await navigator.serviceWorker.getRegistration("/");
                return [registration?.active?.scriptURL ?? null, registration?.scope ?? null];
            }"""
        )
    )


async def test_the_push_button_registers_the_service_worker_and_says_when_no_push_service_answers(
    context: Any, live_server: LiveServer
) -> None:
    member = await register(live_server, name="Wendy Worker")
    await context.grant_permissions(["notifications"], origin=live_server.url)
    page = await context.new_page()
    await sign_in(page, live_server, member, PAGE)
    await expect(page.locator("body[data-ready=true]")).to_have_count(1)
    await expect(page.get_by_label("Push for Sessions")).to_be_enabled()
    await expect(page.get_by_label("Push for Sessions")).not_to_be_checked()
    await expect(page.locator("#push-devices-empty")).to_be_visible()

    await page.get_by_role("button", name="Turn on push on this device").click()

    await expect(page.locator("body[data-service-worker=registered]")).to_have_count(1)
    assert await _worker_of(page) == (f"{live_server.url}/sw.js", f"{live_server.url}/")
    assert await page.evaluate("Notification.permission") == "granted"
    await expect(page.locator("#push-status")).to_contain_text(
        "could not reach its push service", timeout=30_000
    )
    await expect(page.locator("#push-devices li")).to_have_count(0)
    await assert_accessible(page, "notification settings, push unavailable")


_FAKE_SUBSCRIBE = """
(subscription) => {
  const made = {
    endpoint: subscription.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true, applicationServerKey: null },
    toJSON: () => subscription,
    unsubscribe: async () => { window.__pushSubscribed = null; return true; },
  };
  PushManager.prototype.subscribe = async function (options) {
    made.options.applicationServerKey = options.applicationServerKey.buffer;
    window.__pushSubscribed = made;
    return made;
  };
  PushManager.prototype.getSubscription = async function () {
    return window.__pushSubscribed ?? null;
  };
}
"""


async def test_a_subscribed_browser_is_listed_gets_a_payment_push_and_can_be_removed(
    context: Any, live_server: LiveServer, tmp_path: Path, push_service: PushServiceSimulator
) -> None:
    member = await register(live_server, name="Paula Push")
    async with (
        platform_of(live_server, tmp_path) as platform,
        transaction(platform.pool) as conn,
    ):
        key = await ensure_vapid_keys(conn, platform.settings, platform.clock.now())
    browser = push_service.subscribe(key)
    await context.grant_permissions(["notifications"], origin=live_server.url)
    await context.add_init_script(f"({_FAKE_SUBSCRIBE})({json.dumps(browser.subscription())})")
    page = await context.new_page()
    await sign_in(page, live_server, member, PAGE)
    await expect(page.locator("body[data-ready=true]")).to_have_count(1)

    await page.get_by_role("button", name="Turn on push on this device").click()
    await expect(page.locator("#push-status")).to_contain_text("Push is on for this device")
    devices = page.locator("#push-devices li")
    await expect(devices).to_have_count(1)
    await expect(devices.first).to_contain_text("Chrome")
    await expect(devices.first).to_contain_text("This device")
    assert (await _worker_of(page))[0] == f"{live_server.url}/sw.js"
    await page.get_by_label("Push for Payments and payouts").check()
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#prefs-note")).to_have_text("Saved.")

    async with platform_of(live_server, tmp_path) as platform:
        stored = await platform.pool.fetch(
            "SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = $1", member.id
        )
        assert [dict(r) for r in stored] == [
            {
                "endpoint": browser.endpoint,
                "p256dh": browser.subscription()["keys"]["p256dh"],
                "auth": browser.subscription()["keys"]["auth"],
            }
        ]
        async with transaction(platform.pool) as conn:
            await emit_event(
                conn,
                PaymentCaptured(
                    user_id=member.id,
                    charge_id=uuid.uuid4(),
                    purpose="course",
                    reference="C-9",
                    amount_minor=150_000,
                    currency="KES",
                    escrow_id=None,
                ),
            )
    received = await push_service.wait_for(browser, timeout_s=30)
    assert received.payload["title"] == "Payment received: KES 1,500.00"
    assert received.payload["link"] == "/wallet"

    # What the browser does on receipt: hand the decrypted message to the service worker.
    cdp = await context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    await cdp.send("ServiceWorker.enable")
    for _ in range(100):
        if registrations:
            break
        await asyncio.sleep(0.1)
    [registration] = [r for r in registrations if not r.get("isDeleted")][:1]
    await cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": live_server.url,
            "registrationId": registration["registrationId"],
            "data": json.dumps(received.payload),
        },
    )
    shown_js = """async () => {
        const registration = await navigator.serviceWorker.getRegistration("/");
        return (await registration.getNotifications()).map(
            (n) => ({ title: n.title, body: n.body, link: n.data.link }));
    }"""
    for _ in range(100):
        if notifications := await page.evaluate(shown_js):
            break
        await asyncio.sleep(0.1)
    [shown] = notifications
    assert shown["title"] == "Payment received: KES 1,500.00"
    assert "C-9" in shown["body"]
    assert shown["link"] == "/wallet"

    await page.reload()
    await expect(page.locator("body[data-ready=true]")).to_have_count(1)
    await expect(devices).to_have_count(1)
    await expect(devices.first).to_contain_text("last push")
    await assert_accessible(page, "notification settings with a push device")
    await screenshot(page, "notification-settings-push")
    await devices.first.get_by_role("button", name="Remove").click()
    await expect(page.locator("#push-status")).to_contain_text("no longer receives push")
    await expect(devices).to_have_count(0)
    await expect(page.locator("#push-devices-empty")).to_be_visible()

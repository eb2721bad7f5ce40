"""The signed-in user's own sessions: listed with device, sign-in and last-seen times and
the calling one marked; one can be ended (its access and refresh tokens refused at once),
never someone else's (404, as an unknown one). Also the sign-in providers a page may
offer, and the QR code given with a two-factor enrolment."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import asyncpg
import pyotp
import segno

from dracarys.app import create_app
from dracarys.clock import ManualClock
from dracarys.identity.sessions.devices import device_label
from tests.conftest import make_settings
from tests.identity.conftest import Client, login, new_account
from tests.support import AppClient

FIREFOX_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
)


async def test_the_list_shows_each_live_session_with_its_device_and_marks_the_current_one(
    client: Client, clock: ManualClock
) -> None:
    account = await new_account(client)
    signed_in_at = clock.now()
    clock.advance(timedelta(minutes=3))
    other = await client.post(
        "/api/v1/login",
        json={"email": account.email, "password": account.password},
        headers={"user-agent": FIREFOX_ON_WINDOWS},
    )
    assert other.status_code == 200
    response = await client.get("/api/v1/me/sessions", headers=account.headers)
    assert response.status_code == 200, response.text
    listed = response.json()
    assert len(listed) == 2
    newest, oldest = listed
    assert newest["device"] == "Firefox on Windows"
    assert newest["user_agent"] == FIREFOX_ON_WINDOWS
    assert newest["current"] is False
    assert oldest["current"] is True
    assert oldest["device"] == "testclient"
    assert datetime.fromisoformat(oldest["signed_in_at"]) == signed_in_at
    assert datetime.fromisoformat(oldest["last_seen_at"]) == signed_in_at


async def test_last_seen_moves_when_a_session_renews_its_access_token(
    client: Client, clock: ManualClock
) -> None:
    account = await new_account(client)
    signed_in_at = clock.now()
    renewed_at = clock.advance(timedelta(minutes=14))
    pair = (
        await client.post("/api/v1/token/refresh", json={"refresh_token": account.refresh_token})
    ).json()
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    (session,) = (await client.get("/api/v1/me/sessions", headers=headers)).json()
    assert datetime.fromisoformat(session["signed_in_at"]) == signed_in_at
    assert datetime.fromisoformat(session["last_seen_at"]) == renewed_at


async def test_ending_another_own_session_refuses_its_access_and_refresh_tokens(
    client: Client, pool: asyncpg.Pool
) -> None:
    account = await new_account(client)
    other = (await login(client, account.email)).json()
    other_headers = {"Authorization": f"Bearer {other['access_token']}"}
    # In use, so in the session cache, before it is ended.
    assert (await client.get("/api/v1/me", headers=other_headers)).status_code == 200
    listed = (await client.get("/api/v1/me/sessions", headers=account.headers)).json()
    (target,) = [s for s in listed if not s["current"]]

    ended = await client.delete(f"/api/v1/me/sessions/{target['id']}", headers=account.headers)
    assert ended.status_code == 204, ended.text
    assert (await client.get("/api/v1/me", headers=other_headers)).status_code == 401
    refused = await client.post(
        "/api/v1/token/refresh", json={"refresh_token": other["refresh_token"]}
    )
    assert refused.status_code == 401
    remaining = (await client.get("/api/v1/me/sessions", headers=account.headers)).json()
    assert [s["current"] for s in remaining] == [True]
    audit = await pool.fetchrow(
        "SELECT actor_id, details FROM audit_log WHERE action = 'auth.session_revoked'"
    )
    assert audit is not None
    assert audit["actor_id"] == account.id
    assert audit["details"] == {"session_id": target["id"], "current": False}
    again = await client.delete(f"/api/v1/me/sessions/{target['id']}", headers=account.headers)
    assert again.status_code == 404


async def test_someone_elses_session_cannot_be_ended_and_looks_unknown(client: Client) -> None:
    owner = await new_account(client)
    intruder = await new_account(client)
    (session,) = (await client.get("/api/v1/me/sessions", headers=owner.headers)).json()

    refused = await client.delete(f"/api/v1/me/sessions/{session['id']}", headers=intruder.headers)
    assert refused.status_code == 404
    unknown = await client.delete(f"/api/v1/me/sessions/{uuid.uuid4()}", headers=intruder.headers)
    assert unknown.status_code == 404
    assert refused.json()["detail"] == unknown.json()["detail"]
    assert (await client.get("/api/v1/me", headers=owner.headers)).status_code == 200
    assert len((await client.get("/api/v1/me/sessions", headers=intruder.headers)).json()) == 1


async def test_ending_the_current_session_signs_this_device_out(client: Client) -> None:
    account = await new_account(client)
    (session,) = (await client.get("/api/v1/me/sessions", headers=account.headers)).json()
    ended = await client.delete(f"/api/v1/me/sessions/{session['id']}", headers=account.headers)
    assert ended.status_code == 204
    assert (await client.get("/api/v1/me", headers=account.headers)).status_code == 401


async def test_the_sessions_api_needs_a_signed_in_caller(client: Client) -> None:
    assert (await client.get("/api/v1/me/sessions")).status_code == 401
    assert (await client.delete(f"/api/v1/me/sessions/{uuid.uuid4()}")).status_code == 401


def test_device_labels_name_browser_and_system_or_the_program() -> None:
    iphone_safari = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
    )
    android_chrome = (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36"
    )
    edge = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
    )
    assert device_label(iphone_safari) == "Safari on iPhone"
    assert device_label(android_chrome) == "Chrome on Android"
    assert device_label(edge) == "Edge on Windows"
    assert device_label(FIREFOX_ON_WINDOWS) == "Firefox on Windows"
    assert device_label("python-httpx/0.28.1") == "python-httpx/0.28.1"
    assert device_label(None) == "Unknown device"


async def test_the_providers_list_names_only_configured_providers(
    client: Client, database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    # The identity tests' settings configure both providers (the OIDC simulator).
    configured = await client.get("/api/v1/auth/providers")
    assert configured.status_code == 200
    assert configured.json() == [
        {"id": "google", "name": "Google"},
        {"id": "apple", "name": "Apple"},
    ]
    bare = make_settings(database_url, tmp_path / "bare")
    async with AppClient(create_app(bare, clock=clock)) as unconfigured:
        assert (await unconfigured.get("/api/v1/auth/providers")).json() == []


async def test_two_factor_enrolment_gives_the_otpauth_uri_as_a_qr_code_image(
    client: Client, clock: ManualClock
) -> None:
    account = await new_account(client)
    enrolment = (await client.post("/api/v1/me/totp", headers=account.headers)).json()
    data_uri: str = enrolment["qr_code_data_uri"]
    prefix = "data:image/svg+xml;charset=utf-8,"
    assert data_uri.startswith(prefix)
    svg = unquote(data_uri[len(prefix) :])
    assert svg.startswith("<svg")
    assert svg.rstrip().endswith("</svg>")
    # The image is the QR code of the URI (secret, issuer and account included).
    parsed = pyotp.parse_uri(enrolment["otpauth_uri"])
    assert parsed.secret == enrolment["secret"]
    assert parsed.issuer == "Dracarys"
    expected = segno.make(enrolment["otpauth_uri"], error="m")
    assert svg == unquote(
        expected.svg_data_uri(scale=5, dark="#000000", light="#ffffff")[len(prefix) :]
    )
    confirmed = await client.post(
        "/api/v1/me/totp/confirm",
        json={"code": pyotp.TOTP(enrolment["secret"]).at(clock.now())},
        headers=account.headers,
    )
    assert confirmed.status_code == 200

"""OIDC sign-in against a local provider that signs real RS256 ID tokens: PKCE, state,
nonce, JWKS signature, issuer/audience/expiry checks, and linking by verified e-mail."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx

from dracarys.identity.personal import OIDC_EMAIL, personal_data_cipher
from dracarys.settings import Settings
from tests.identity.conftest import PASSWORD, Client, login, signup, unique_email
from tests.identity.oidc_simulator import OidcProviderSimulator
from tests.support import accounts_with_email


async def _consent(client: Client, provider: str = "google") -> dict[str, str]:
    """Start the flow, then let the simulator's authorize endpoint redirect back, as the
    browser would; returns the callback's code and state."""
    start = await client.get(f"/api/v1/auth/oidc/{provider}/start")
    assert start.status_code == 200, start.text
    url = start.json()["authorization_url"]
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["nonce"][0]
    async with httpx.AsyncClient() as browser:
        redirect = await browser.get(url)
    assert redirect.status_code in (302, 307), redirect.text
    back = parse_qs(urlsplit(redirect.headers["location"]).query)
    return {"code": back["code"][0], "state": back["state"][0]}


async def _finish(client: Client, grant: dict[str, str], provider: str = "google") -> Any:
    return await client.post(f"/api/v1/auth/oidc/{provider}/callback", json=grant)


async def test_first_sign_in_creates_a_verified_account(
    client: Client, oidc_provider: OidcProviderSimulator, pool: asyncpg.Pool, settings: Settings
) -> None:
    email = unique_email("google")
    subject = "g-" + uuid.uuid4().hex
    oidc_provider.identity = {"sub": subject, "email": email, "email_verified": True}
    response = await _finish(client, await _consent(client))
    assert response.status_code == 200, response.text
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"}
    )
    assert me.json()["email"] == email
    assert me.json()["email_verified"] is True
    # The address the provider gave is kept with the link, sealed like the account's own.
    link = await pool.fetchrow(
        "SELECT user_id, plain_email, email_sealed FROM oidc_identities WHERE subject = $1",
        subject,
    )
    assert link is not None
    assert link["plain_email"] is None
    opened = personal_data_cipher(settings).open(link["user_id"], OIDC_EMAIL, link["email_sealed"])
    assert opened == email


async def test_sign_in_links_to_an_existing_account_by_verified_email(
    client: Client, oidc_provider: OidcProviderSimulator, pool: asyncpg.Pool
) -> None:
    user_id, email = await signup(client)
    await pool.execute("UPDATE users SET email_verified_at = now() WHERE id = $1", user_id)
    subject = "apple-" + uuid.uuid4().hex
    # Apple sends email_verified as a string.
    oidc_provider.identity = {"sub": subject, "email": email, "email_verified": "true"}
    response = await _finish(client, await _consent(client, "apple"), "apple")
    assert response.status_code == 200, response.text
    assert response.json()["user_id"] == str(user_id)
    linked = await pool.fetchval(
        "SELECT user_id FROM oidc_identities WHERE provider = 'apple' AND subject = $1", subject
    )
    assert linked == user_id
    # The password still works for a verified account.
    assert (await login(client, email, PASSWORD)).status_code == 200


async def test_unverified_provider_email_does_not_take_over_an_account(
    client: Client, oidc_provider: OidcProviderSimulator
) -> None:
    _, email = await signup(client)
    oidc_provider.identity = {
        "sub": "g-" + uuid.uuid4().hex,
        "email": email,
        "email_verified": False,
    }
    response = await _finish(client, await _consent(client))
    assert response.status_code == 409


async def test_preregistered_unverified_account_loses_its_password_when_the_owner_signs_in(
    client: Client, oidc_provider: OidcProviderSimulator
) -> None:
    _, email = await signup(client)  # e.g. squatted by someone who does not own the mailbox
    oidc_provider.identity = {
        "sub": "g-" + uuid.uuid4().hex,
        "email": email,
        "email_verified": True,
    }
    assert (await _finish(client, await _consent(client))).status_code == 200
    assert (await login(client, email, PASSWORD)).status_code == 401


async def test_tampered_foreign_key_wrong_audience_expired_or_wrong_nonce_tokens_are_rejected(
    client: Client, oidc_provider: OidcProviderSimulator, pool: asyncpg.Pool, settings: Settings
) -> None:
    email = unique_email("victim")
    oidc_provider.identity = {
        "sub": "g-" + uuid.uuid4().hex,
        "email": email,
        "email_verified": True,
    }
    misbehaviours = {
        "tampered payload": {"tamper": True},
        "signed with a key not in the JWKS": {"foreign_key": True},
        "wrong audience": {"audience": "another-client"},
        "expired": {"expires_in_s": -120},
        "nonce from another sign-in": {"nonce_override": "replayed-nonce"},
    }
    for name, change in misbehaviours.items():
        oidc_provider.reset()
        oidc_provider.clock_s = await _clock_s(client)
        for attribute, value in change.items():
            setattr(oidc_provider, attribute, value)
        response = await _finish(client, await _consent(client))
        assert response.status_code == 401, name
    assert await accounts_with_email(pool, settings, email) == 0
    assert await accounts_with_email(pool, settings, "attacker@example.com") == 0


async def _clock_s(client: Client) -> float:
    return float(client.app.state.platform.clock.now().timestamp())


async def test_state_is_single_use_and_an_unknown_state_is_refused(
    client: Client, oidc_provider: OidcProviderSimulator
) -> None:
    oidc_provider.identity = {
        "sub": "g-" + uuid.uuid4().hex,
        "email": unique_email(),
        "email_verified": True,
    }
    grant = await _consent(client)
    assert (await _finish(client, grant)).status_code == 200
    assert (await _finish(client, grant)).status_code == 422
    forged_state = await _finish(client, {"code": "x" * 20, "state": "never-issued"})
    assert forged_state.status_code == 422


async def test_unknown_provider_is_404(client: Client) -> None:
    assert (await client.get("/api/v1/auth/oidc/myspace/start")).status_code == 404


async def test_the_provider_refuses_a_code_without_the_matching_pkce_verifier(
    client: Client, oidc_provider: OidcProviderSimulator
) -> None:
    """The simulator checks S256(code_verifier) == code_challenge exactly as a real
    provider does, so every successful sign-in above proves our verifier matched."""
    oidc_provider.identity = {"sub": "g-" + uuid.uuid4().hex, "email": unique_email()}
    grant = await _consent(client)
    token_url = oidc_provider.issuer("google") + "/token"
    async with httpx.AsyncClient() as http:
        response = await http.post(
            token_url,
            data={
                "grant_type": "authorization_code",
                "code": grant["code"],
                "redirect_uri": "http://127.0.0.1:8000/auth/callback/google",
                "client_id": oidc_provider.client_id,
                "client_secret": oidc_provider.client_secret,
                "code_verifier": "a-verifier-the-attacker-made-up-" + "x" * 20,
            },
        )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"

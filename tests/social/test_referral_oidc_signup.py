"""A first sign-in with Google (the local OIDC provider that signs real ID tokens) creates
the account through identity's other sign-up path: the referral link's cookie maps it to
the referrer there too."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import pytest

from dracarys.settings import Settings
from tests.conftest import make_settings
from tests.identity.conftest import (  # noqa: F401 - fixtures
    oidc_provider,
    oidc_server,
    simulators_env,
    sms_gateway,
    smtp_server,
)
from tests.identity.oidc_simulator import OidcProviderSimulator
from tests.identity.test_oidc import _consent, _finish
from tests.social.conftest import from_ip
from tests.support import AppClient


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Path,
    smtp_server,  # noqa: F811
    sms_gateway,  # noqa: F811
    oidc_server,  # noqa: F811
) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        DRACARYS_TRUSTED_PROXIES="127.0.0.1",
        **simulators_env(smtp_server, sms_gateway, oidc_server),
    )


async def test_a_first_google_sign_in_after_a_referral_link_is_credited_to_the_referrer(
    client: AppClient,
    pool: asyncpg.Pool,
    oidc_provider: OidcProviderSimulator,  # noqa: F811
    make_user,
) -> None:
    referrer = await make_user()
    page = await client.get(
        "/api/v1/referrals/me", headers={**referrer.headers, **from_ip("198.51.100.40")}
    )
    client.cookies.clear()
    await client.get(f"/r/{page.json()['code']}", headers=from_ip("203.0.113.40"))
    oidc_provider.identity = {
        "sub": "g-" + uuid.uuid4().hex,
        "email": f"google-{uuid.uuid4().hex[:6]}@example.com",
        "email_verified": True,
    }
    signed_in = await _finish(client, await _consent(client))
    assert signed_in.status_code == 200, signed_in.text
    referee_id = uuid.UUID(signed_in.json()["user_id"])
    row = await pool.fetchrow("SELECT * FROM referrals WHERE referee_id = $1", referee_id)
    assert row is not None
    assert (row["referrer_id"], row["status"]) == (referrer.id, "signed_up")

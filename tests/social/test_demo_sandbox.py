"""`dracarys up` with no social OAuth client serves the platforms' sandbox under
/sandbox/social/ beside the payments sandbox, with the adapters pointed at it: a member
connects YouTube through its consent page and the follow is verified, all over HTTP on
the one local port; a configured client, or the setting turned off, keeps it away."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest

from dracarys.clock import SystemClock
from dracarys.payments.sandbox import SandboxedApp
from dracarys.social import social_sandbox_for
from tests.support import create_user
from tests.wallet.sandboxed import free_port, serve_up, up_settings
from workers.cli import DemoSandboxedApp, up_app


async def test_up_serves_the_social_sandbox_and_a_member_verifies_youtube_through_it(
    database_url: str, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    port = free_port()
    settings = up_settings(database_url, tmp_path, port)
    with serve_up(settings, port) as server:
        assert isinstance(server.app, DemoSandboxedApp)
        member = await create_user(pool, settings, SystemClock())
        async with server.client() as client:
            started = await client.post(
                "/api/v1/social/verify/youtube/start", headers=member.headers
            )
            assert started.status_code == 200, started.text
            url = started.json()["authorization_url"]
            assert url.startswith(f"{server.url}/sandbox/social/google/o/oauth2/v2/auth?")
            consent = await client.get(url)
            assert consent.status_code == 200
            assert "YouTube sandbox" in consent.text
            action = re.search(r'<form method="post" action="([^"]+)"', consent.text)
            fields = dict(
                re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', consent.text)
            )
            assert action is not None
            allowed = await client.post(
                action.group(1),
                data={**fields, "account": "Demo tester", "follows": "yes", "decision": "allow"},
                follow_redirects=False,
            )
            assert allowed.status_code == 303
            back = urlsplit(allowed.headers["location"])
            assert back.path == "/social/callback/youtube"
            query = {k: v[0] for k, v in parse_qs(back.query).items()}
            verified = await client.post(
                "/api/v1/social/verify",
                json={"platform": "youtube", "code": query["code"], "state": query["state"]},
                headers=member.headers,
            )
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified"
    assert verified.json()["account_name"] == "Demo tester"


@pytest.mark.parametrize(
    "extra",
    [
        {"DRACARYS_SOCIAL_SANDBOX": "off"},
        {"DRACARYS_SOCIAL_YOUTUBE_CLIENT_ID": "real.apps.googleusercontent.com"},
        {"DRACARYS_SOCIAL_X_CLIENT_ID": "real-x-client"},
    ],
    ids=["turned-off", "youtube-client", "x-client"],
)
def test_a_social_client_or_turning_it_off_keeps_the_social_sandbox_away(
    database_url: str, tmp_path: Path, extra: dict[str, str]
) -> None:
    settings = up_settings(database_url, tmp_path, free_port(), **extra)
    assert social_sandbox_for(settings) is None
    app = up_app(settings, ())
    assert isinstance(app, SandboxedApp)
    assert not isinstance(app, DemoSandboxedApp)

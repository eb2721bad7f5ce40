"""No input gives a 5xx: what the edge refuses for every route (JSON nested too deep, a
body that is not UTF-8, NUL in any text, integers beyond bigint, sweep bounds beyond what
the engine computes with, cursors no history issued), each a 4xx problem naming the field."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from dracarys.app import create_app
from dracarys.identity import Role
from dracarys.settings import Settings
from streams.protocol import CLOSE_PROTOCOL_ERROR
from tests.support import AppClient, TestUser, add_instrument

PROBLEM_JSON = "application/problem+json"
JSON = {"content-type": "application/json"}
BEYOND_BIGINT = 2**63  # one past what PostgreSQL's bigint holds

MakeUser = Callable[..., Awaitable[TestUser]]


def refused(response: httpx.Response, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert [error["field"] for error in problem["errors"]] == [field]
    return problem


async def test_json_nested_a_thousand_deep_is_a_400_naming_the_body(client: AppClient) -> None:
    for deep in ("[" * 1000 + "]" * 1000, '{"a":' * 1000 + "1" + "}" * 1000):
        response = await client.post("/api/v1/login", content=deep, headers=JSON)
        problem = refused(response, 400, "body")
        assert "32 levels" in problem["detail"]


async def test_json_nested_within_the_bound_reaches_the_handler(client: AppClient) -> None:
    nested: Any = "x"
    for _ in range(30):
        nested = [nested]
    response = await client.post("/api/v1/login", json={"email": nested, "password": "p"})
    refused(response, 422, "email")


async def test_invalid_utf8_in_a_json_string_is_a_400_naming_the_body(client: AppClient) -> None:
    response = await client.post(
        "/api/v1/token/refresh", content=b'{"refresh_token": "\xff\xfe"}', headers=JSON
    )
    problem = refused(response, 400, "body")
    assert "UTF-8" in problem["detail"]


async def test_nul_in_an_anonymous_query_parameter_is_a_422_naming_it(client: AppClient) -> None:
    problem = refused(await client.get("/api/v1/mentors?skill=%00"), 422, "skill")
    assert "NUL" in problem["detail"]


async def test_nul_in_a_json_field_is_a_422_naming_it(client: AppClient) -> None:
    response = await client.post(
        "/api/v1/login", json={"email": "mentee\u0000@example.com", "password": "secret"}
    )
    refused(response, 422, "email")


async def test_nul_in_a_json_key_is_a_422_naming_it(client: AppClient) -> None:
    response = await client.post(
        "/api/v1/login", json={"email": "a@example.com", "password": "p", "x\u0000": 1}
    )
    refused(response, 422, "x\u0000")


async def test_nul_in_a_header_we_read_is_a_422_naming_it(client: AppClient) -> None:
    response = await client.post(
        "/api/v1/login",
        json={"email": "nobody@example.com", "password": "secret"},
        headers={"user-agent": "curl\x00/8"},
    )
    refused(response, 422, "user-agent")


async def test_nul_in_a_path_parameter_is_a_422_naming_it(client: AppClient) -> None:
    response = await client.get("/api/v1/calendar/feeds/feed%00name")
    refused(response, 422, "feed_name")


async def test_nul_in_a_profile_field_is_a_422_naming_it(
    client: AppClient, make_user: MakeUser, pool: asyncpg.Pool
) -> None:
    user = await make_user()
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO user_profiles (user_id, updated_at) VALUES ($1, now())", user.id
        )
    response = await client.patch(
        f"/api/v1/users/{user.id}/profile",
        json={"headline": "Swing\u0000trader", "bio": "fine"},
        headers=user.headers,
    )
    refused(response, 422, "headline")
    unchanged = await client.get(f"/api/v1/users/{user.id}", headers=user.headers)
    assert unchanged.json()["headline"] == ""


async def test_nul_in_a_client_order_id_is_a_422_naming_it(
    client: AppClient, make_user: MakeUser, pool: asyncpg.Pool
) -> None:
    user = await make_user()
    await add_instrument(pool)
    acknowledged = await client.post(
        "/api/v1/trading/disclaimer/acknowledgements", json={"version": 1}, headers=user.headers
    )
    assert acknowledged.status_code == 201, acknowledged.text
    portfolio = await client.post(
        "/api/v1/trading/portfolios", json={"name": "Main"}, headers=user.headers
    )
    assert portfolio.status_code == 201, portfolio.text
    response = await client.post(
        f"/api/v1/trading/portfolios/{portfolio.json()['id']}/orders",
        json={
            "symbol": "XYZ",
            "side": "buy",
            "kind": "market",
            "qty": 1,
            "client_order_id": "ord\u00001",
        },
        headers=user.headers,
    )
    refused(response, 422, "client_order_id")


async def test_nul_in_a_form_field_is_a_422_naming_it(
    client: AppClient, make_user: MakeUser
) -> None:
    user = await make_user()
    response = await client.patch(
        f"/api/v1/users/{user.id}/kyc-upload",
        data={"doc_type": "government_id\x00"},
        files={"file": ("id.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png")},
        headers=user.headers,
    )
    refused(response, 422, "doc_type")


async def test_an_integer_beyond_bigint_in_a_json_body_is_a_422_naming_it(
    client: AppClient, make_user: MakeUser
) -> None:
    user = await make_user()
    response = await client.put(
        "/api/v1/matches/quiz",
        json={
            "style": "swing",
            "experience": "beginner",
            "goals": ["consistency"],
            "budget_minor": BEYOND_BIGINT,
            "timezone": "Africa/Nairobi",
        },
        headers=user.headers,
    )
    refused(response, 422, "budget_minor")


async def test_a_points_cap_beyond_its_integer_column_is_a_422_naming_it(
    client: AppClient, make_user: MakeUser
) -> None:
    admin = await make_user(role=Role.ADMIN)
    response = await client.post(
        "/api/v1/points/rules/lesson_completed/versions",
        json={"daily_limit": 2**31},
        headers=admin.headers,
    )
    refused(response, 422, "daily_limit")


async def test_an_integer_query_parameter_beyond_bigint_is_a_422_naming_it(
    client: AppClient,
) -> None:
    refused(await client.get(f"/api/v1/mentors?max_price={BEYOND_BIGINT}"), 422, "max_price")


async def test_a_tax_export_month_out_of_the_calendar_is_a_422_naming_it(
    client: AppClient, make_user: MakeUser
) -> None:
    admin = await make_user(role=Role.ADMIN)
    response = await client.get("/api/v1/admin/tax-exports/2026/13", headers=admin.headers)
    refused(response, 422, "month")
    response = await client.get("/api/v1/admin/tax-exports/99999999/1", headers=admin.headers)
    refused(response, 422, "year")


@pytest.mark.parametrize(
    ("sweep", "field"),
    [
        ({"fast": {"start": -1e308, "stop": 1e308, "step": 1}}, "sweep.fast.start"),
        ({"fast": {"start": 5, "stop": 1e308, "step": 1}}, "sweep.fast.stop"),
        ({"fast": {"start": 5, "stop": 10, "step": 5e-324}}, "sweep.fast.step"),
        ({"fast": {"start": 5, "stop": 10, "step": -1}}, "sweep.fast.step"),
    ],
)
async def test_a_sweep_range_the_engine_cannot_step_through_is_a_422_naming_it(
    client: AppClient, make_user: MakeUser, sweep: dict[str, Any], field: str
) -> None:
    user = await make_user()
    response = await client.post(
        "/api/v1/backtests", json={"template": "sma_cross", "sweep": sweep}, headers=user.headers
    )
    refused(response, 422, field)


async def test_a_template_parameter_of_1e308_is_a_422_naming_it(
    client: AppClient, make_user: MakeUser
) -> None:
    user = await make_user()
    response = await client.post(
        "/api/v1/backtests",
        json={"template": "sma_cross", "params": {"fast": 1e308}},
        headers=user.headers,
    )
    refused(response, 422, "params.fast")


@pytest.mark.parametrize("position", [BEYOND_BIGINT, 10**30, 0])
async def test_a_points_history_cursor_beyond_bigint_is_a_422_naming_it(
    client: AppClient, make_user: MakeUser, position: int
) -> None:
    user = await make_user()
    cursor = base64.urlsafe_b64encode(str(position).encode()).decode()
    response = await client.get(f"/api/v1/points/history?cursor={cursor}", headers=user.headers)
    refused(response, 422, "cursor")


@pytest.mark.parametrize("cursor", [str(BEYOND_BIGINT), "²", "%%%"])
async def test_a_wallet_history_cursor_no_history_issued_is_a_422_naming_it(
    client: AppClient, make_user: MakeUser, cursor: str
) -> None:
    user = await make_user()
    response = await client.get(
        f"/api/v1/wallets/{user.id}/history", params={"cursor": cursor}, headers=user.headers
    )
    refused(response, 422, "cursor")


def test_nul_in_a_stream_handshake_closes_it_as_a_malformed_request(settings: Settings) -> None:
    with (
        TestClient(create_app(settings)) as client,
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/api/v1/stream?channel=%00") as socket,
    ):
        socket.receive()
    assert closed.value.code == CLOSE_PROTOCOL_ERROR
    assert "`channel`" in closed.value.detail

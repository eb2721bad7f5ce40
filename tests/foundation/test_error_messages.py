"""Refusals read as sentences a person understands: each family of msgspec's validation
reasons becomes its sentence naming the field by a label (the field itself keeps its
machine name), and no problem the API serves quotes validator text or an API path."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import msgspec
import pytest
from litestar import get, post
from litestar.params import FromQuery, JSONBody, QueryParameter

from dracarys.app import create_app
from dracarys.errors import field_label, humane_reason
from dracarys.settings import Settings
from dracarys.wire import Input
from tests.support import AppClient, TestUser

MakeUser = Callable[..., Awaitable[TestUser]]


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("qty", "Quantity"),
        ("execution.initial_cash", "Initial cash"),
        ("tif", "Time in force"),
        ("share_with[2]", "Share with (item 3)"),
        ("legs[1].qty", "Quantity (item 2)"),
        ("price_minor", "Price"),
        ("commission_bps", "Commission (basis points)"),
        ("user_id", "User ID"),
    ],
)
def test_a_field_is_named_by_its_label(field: str, label: str) -> None:
    assert field_label(field) == label


@pytest.mark.parametrize(
    ("field", "reason", "sentence"),
    [
        ("qty", "Expected `float` > 0.0", "Quantity must be more than 0"),
        ("qty", "Expected `float` < 1000000000000.0",
         "Quantity must be less than 1,000,000,000,000"),
        ("days", "Expected `int` >= 1", "Days must be at least 1"),
        ("days", "Expected `int` <= 366", "Days must be at most 366"),
        ("ratio", "Expected `float` <= 0.5", "Ratio must be at most 0.5"),
        ("age", "Expected `int`, got `str`", "Age must be a whole number"),
        ("limit_price", "Expected `float | null`, got `str`", "Limit price must be a number"),
        ("name", "Expected `str`, got `int`", "Name must be text"),
        ("allow_short", "Expected `bool`, got `str`", "Allow short must be true or false"),
        ("tags", "Expected `array`, got `str`", "Tags must be a list"),
        ("execution", "Expected `object`, got `int`", "Execution must be a set of named values"),
        ("title", "Expected `str` of length >= 1", "Title must not be empty"),
        ("code", "Expected `str` of length >= 4", "Code must be at least 4 characters long"),
        ("title", "Expected `str` of length <= 200", "Title must be at most 200 characters long"),
        ("share_with", "Expected `array` of length <= 20", "Share with may have at most 20 items"),
        ("sweep", "Expected `object` of length <= 2", "Sweep may have at most 2 entries"),
        ("slots", "Expected `array` of length >= 1", "Slots needs at least 1 item"),
        ("step", "Expected `int` that's a multiple of 5", "Step must be a multiple of 5"),
        ("currency", "Expected `str` matching regex '^[A-Z]{3}$'",
         "Currency is not in the expected format"),
        ("starts_at", "Invalid RFC3339 encoded datetime",
         "Starts at must be a date and time such as 2025-01-31T09:30:00Z"),
        ("starts_at", "Expected `datetime` with a timezone component",
         "Starts at must include a time zone, such as Z or +03:00"),
        ("day", "Invalid RFC3339 encoded date", "Day must be a date such as 2025-01-31"),
        ("user_id", "Invalid UUID", "User ID must be a valid ID"),
        ("amount", "Invalid decimal string", "Amount must be a number"),
        ("price_minor", "Expected `int` >= 0",
         "Price must be at least 0 in the currency's smallest unit (such as cents)"),
        ("kind", "Invalid enum value 'teleport'", "Kind is not one of the accepted values"),
        ("odd", "Something msgspec may say one day", "Odd is not valid"),
    ],
)  # fmt: skip
def test_each_reason_family_becomes_its_sentence(field: str, reason: str, sentence: str) -> None:
    assert humane_reason(field, reason) == sentence


def test_an_enum_reason_lists_the_accepted_values_when_known() -> None:
    sentence = humane_reason("kind", "Invalid enum value 'x'", ["market", "limit"])
    assert sentence == "Kind must be one of: market, limit"


class Leg(Input):
    qty: Annotated[float, msgspec.Meta(gt=0)]
    side: Literal["buy", "sell"]


class Ticket(Input):
    kind: Literal["market", "limit"]
    qty: Annotated[float, msgspec.Meta(gt=0)]
    legs: list[Leg] = msgspec.field(default_factory=list)


@post("/probe/ticket", operation_id="probeTicket")
async def probe_ticket(data: JSONBody[Ticket]) -> dict[str, Any]:
    return {"kind": data.kind}


@get("/api/probe/items", operation_id="probeItems")
async def probe_items(
    needed: FromQuery[str], limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50
) -> dict[str, Any]:
    return {"limit": limit}


@pytest.fixture
async def probe(settings: Settings) -> Any:
    app = create_app(settings)
    for handler in (probe_ticket, probe_items):
        app.register(handler)
    async with AppClient(app) as client:
        yield client


async def test_a_bound_in_the_body_is_a_sentence_keeping_the_machine_field(probe: Any) -> None:
    response = await probe.post("/probe/ticket", json={"kind": "market", "qty": 0})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "qty", "message": "Quantity must be more than 0"}
    ]
    assert response.json()["detail"] == "Quantity must be more than 0"


async def test_a_nested_field_keeps_its_path_and_says_which_item(probe: Any) -> None:
    body = {
        "kind": "market",
        "qty": 1,
        "legs": [{"qty": 1, "side": "buy"}, {"qty": -1, "side": "buy"}],
    }
    response = await probe.post("/probe/ticket", json=body)
    assert response.json()["errors"] == [
        {"field": "legs[1].qty", "message": "Quantity (item 2) must be more than 0"}
    ]


async def test_an_enum_refusal_lists_the_values_the_field_accepts(probe: Any) -> None:
    top = await probe.post("/probe/ticket", json={"kind": "teleport", "qty": 1})
    assert top.json()["errors"] == [
        {"field": "kind", "message": "Kind must be one of: limit, market"}
    ]
    body = {"kind": "market", "qty": 1, "legs": [{"qty": 1, "side": "hold"}]}
    nested = await probe.post("/probe/ticket", json=body)
    assert nested.json()["errors"] == [
        {"field": "legs[0].side", "message": "Side (item 1) must be one of: buy, sell"}
    ]


async def test_a_query_parameter_out_of_bounds_is_named(probe: Any) -> None:
    response = await probe.get("/api/probe/items", params={"needed": "x", "limit": 0})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "limit", "message": "Limit must be at least 1"}]


async def test_a_missing_query_parameter_is_named_without_the_path(probe: Any) -> None:
    response = await probe.get("/api/probe/items")
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"] == [{"field": "needed", "message": "Needed is required"}]
    assert problem["detail"] == "Needed is required"


async def test_a_body_that_is_not_an_object_says_so(probe: Any) -> None:
    response = await probe.post("/probe/ticket", json=[1, 2])
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "body", "message": "The request body must be a set of named values"}
    ]


async def test_no_problem_served_quotes_validator_text_or_an_api_path(
    client: AppClient, make_user: MakeUser
) -> None:
    user = await make_user()
    auth = user.headers
    portfolio = (
        await client.post("/api/v1/trading/portfolios", json={"name": "P"}, headers=auth)
    ).json()
    orders = f"/api/v1/trading/portfolios/{portfolio['id']}/orders"
    order = {"symbol": "DEMO", "side": "buy", "kind": "market", "qty": 1}
    requests: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]] = [
        ("POST", orders, {**order, "qty": 0}, None),
        ("POST", orders, {**order, "qty": "ten"}, None),
        ("POST", orders, {**order, "kind": "teleport"}, None),
        ("POST", orders, {**order, "symbol": "lower case"}, None),
        ("POST", orders, {**order, "tif": "forever"}, None),
        ("POST", orders, {**order, "owner_id": str(uuid.uuid4())}, None),
        ("POST", orders, {"side": "buy"}, None),
        ("POST", orders, order, None),  # the disclaimer is not accepted yet
        ("POST", "/api/v1/trading/portfolios", {"name": "", "starting_cash_minor": 1}, None),
        ("POST", "/api/v1/trading/portfolios", {"name": "P", "currency": "dollars"}, None),
        ("GET", "/api/v1/backtests", None, {"limit": 0}),
        ("GET", "/api/v1/backtests", None, {"limit": "many"}),
        ("GET", f"/api/v1/backtests/{uuid.uuid4()}", None, None),
        ("POST", "/api/v1/backtests", {"template": "sma_cross", "params": {"fast": 0}}, None),
        ("POST", "/api/v1/backtests", {"template": "sma_cross", "rank_by": "luck"}, None),
        ("POST", "/api/v1/backtests", {"spec": {"indicators": 3}}, None),
        (
            "POST",
            "/api/v1/backtests",
            {"template": "sma_cross", "execution": {"initial_cash": -5}},
            None,
        ),
        (
            "POST",
            "/api/v1/backtests",
            {"template": "sma_cross", "sweep": {"fast": {"start": 5, "stop": 1, "step": 1}}},
            None,
        ),
        ("POST", "/api/v1/backtests", {"template": "sma_cross", "datasets": ["nope"]}, None),
        (
            "POST",
            "/api/v1/backtests",
            {
                "template": "sma_cross",
                "datasets": ["sample_daily", "sample_daily_b"],
                "portfolio": {"method": "fixed_units", "units": [1]},
            },
            None,
        ),
        (
            "POST",
            "/api/v1/backtests",
            {"template": "sma_cross", "datasets": ["sample_daily"], "allow_short": True},
            None,
        ),
        ("POST", "/api/v1/me/step-up", {"code": "12"}, None),
        ("POST", "/api/v1/signup", {"email": "x", "password": 3}, None),
        ("POST", "/api/v1/login", {"email": "nobody@example.com"}, None),
    ]
    served = []
    for method, path, body, params in requests:
        response = await client.request(method, path, json=body, params=params, headers=auth)
        assert response.status_code >= 400, (method, path, body, response.text)
        served.append(response.text)
    for text in served:
        assert "Expected `" not in text
        assert "/api/" not in text.replace('"instance":"/api/', "")
        assert " - at `$" not in text

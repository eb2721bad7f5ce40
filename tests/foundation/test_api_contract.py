"""The OpenAPI document is a contract. Schemathesis generates requests for every operation,
valid and invalid ones, and each is sent to the app in-process twice, by a signed-in
mentor and by an admin who passed two-factor; no answer may be a server error, and every
answer must match the document: a documented status, content type and body schema.

The payment adapters talk to the local Stripe and Daraja simulators, as in production
they talk to the providers: an unconfigured adapter's honest 503 is not what this test
is about."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import requests.adapters
import schemathesis
import urllib3
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dracarys.app import create_app
from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.payments.sandbox import DarajaSimulator, StripeSimulator, serve
from tests.conftest import make_settings
from tests.support import AppClient, TestUser
from tests.wallet.simulators import provider_env

BASE_URL = "http://testserver.local"
# Enough to reach each operation's validation, its not-found and some of its happy paths,
# while the whole run stays near two minutes on two cores.
EXAMPLES_PER_OPERATION = 10
ROLES = (Role.MENTOR, Role.ADMIN)
# Path parameters that name an account: random ids only ever find nothing, so some cases
# name the caller's own account, or the other caller's, to reach the answers with bodies
# (a private and a public profile, a wallet's history, a mentor's schedules).
ACCOUNT_PATH_PARAMETERS = frozenset({"user_id", "wallet_id", "mentor_id"})
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Explicit, so the run does not depend on a profile a developer or CI loaded, nor on the
# app's rate limits (every operation signs in accounts of its own): the same examples on
# every run, so a failure reproduces; no shrinking, so the request is reported as sent;
# no example database on disk.
CONTRACT_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


class AppAdapter(requests.adapters.HTTPAdapter):
    """Lets schemathesis' `requests` transport reach the app through `AppClient`, on the
    test's event loop, while the generator runs on a worker thread."""

    def __init__(self, client: AppClient, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.client = client
        self.loop = loop

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        answer = asyncio.run_coroutine_threadsafe(
            self.client.request(
                request.method or "GET",
                request.url or "/",
                headers=dict(request.headers),
                content=body or b"",
            ),
            self.loop,
        ).result(timeout=120)
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(answer.content),
            headers=list(answer.headers.multi_items()),
            status=answer.status_code,
            reason=answer.reason_phrase,
            version=11,
            preload_content=False,
            decode_content=False,
        )
        return self.build_response(request, raw)


@dataclass(frozen=True)
class Caller:
    role: Role
    sign_in: Callable[[], TestUser]


def contract_test(
    operation: schemathesis.APIOperation,
    session: requests.Session,
    users: dict[Role, TestUser],
) -> Callable[[], None]:
    cases = st.one_of(
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE),
    )
    names = {p.name for p in operation.path_parameters} & ACCOUNT_PATH_PARAMETERS
    whose = st.sampled_from(("generated", "own", "other")) if names else st.just("generated")

    @CONTRACT_SETTINGS
    @given(case=cases, whose=whose)
    def answers_as_documented(case: schemathesis.Case, whose: str) -> None:
        for role, user in users.items():
            if whose != "generated":
                account = user if whose == "own" else next(u for u in users.values() if u != user)
                for name in names:
                    case.path_parameters[name] = str(account.id)
            try:
                case.call_and_validate(
                    base_url=BASE_URL, session=session, headers=user.headers, checks=CHECKS
                )
            except BaseExceptionGroup as group:
                raise AssertionError(f"as {role.value}: {group}") from group

    return answers_as_documented


def check_every_operation(
    schema: schemathesis.BaseSchema, session: requests.Session, callers: list[Caller]
) -> list[str]:
    """Runs on a worker thread; returns one report per operation that broke the contract."""
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        # New accounts for each operation: one that signs out (or otherwise ends its
        # session) must not turn the operations after it into 401s.
        users = {caller.role: caller.sign_in() for caller in callers}
        try:
            contract_test(operation, session, users)()
        except AssertionError as failure:
            failures.append(f"{operation.label} {failure}")
    return failures


@pytest.fixture(scope="module")
def payment_providers() -> Iterator[dict[str, str]]:
    stripe, daraja = StripeSimulator(), DarajaSimulator()
    with serve(stripe.app()) as stripe_url, serve(daraja.app()) as daraja_url:
        yield provider_env(stripe, stripe_url, daraja, daraja_url)


async def test_every_operation_answers_a_mentor_and_an_admin_as_the_openapi_document_says(
    database_url: str,
    tmp_path: Any,
    clock: ManualClock,
    payment_providers: dict[str, str],
    make_user: Callable[..., Awaitable[TestUser]],
) -> None:
    app = create_app(make_settings(database_url, tmp_path, **payment_providers), clock=clock)
    loop = asyncio.get_running_loop()

    def signer(role: Role) -> Caller:
        def sign_in() -> TestUser:
            made = make_user(role=role, kyc_level=2)
            return asyncio.run_coroutine_threadsafe(made, loop).result(timeout=60)

        return Caller(role, sign_in)

    async with AppClient(app) as client:
        document = (await client.get("/schema/openapi.json")).json()
        schema = schemathesis.openapi.from_dict(document)
        session = requests.Session()
        session.mount("http://", AppAdapter(client, loop))
        callers = [signer(role) for role in ROLES]
        failures = await asyncio.to_thread(check_every_operation, schema, session, callers)
    assert not failures, "\n\n".join(failures)


# ---- the document's shape, checked directly -------------------------------------------

BIGINT = (-(2**63), 2**63 - 1)
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield f"{method.upper()} {path}", operation


async def test_every_operation_declares_its_errors_as_problem_details(client: AppClient) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    shared = document["components"]["responses"]
    for label, operation in operations(document):
        errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
        assert set(errors) == {"4XX", "5XX"}, label
        for reference in errors.values():
            response = shared[reference["$ref"].rsplit("/", 1)[1]]
            assert list(response["content"]) == ["application/problem+json"], label
            schema = response["content"]["application/problem+json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}
    assert set(document["components"]["schemas"]["Problem"]["required"]) == {
        "type",
        "title",
        "status",
        "detail",
    }


async def test_every_integer_a_path_or_query_carries_is_bounded_within_bigint(
    client: AppClient,
) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    for label, operation in operations(document):
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            kinds = [schema, *schema.get("oneOf", [])]
            if not any(kind.get("type") == "integer" for kind in kinds):
                continue
            where = f"{label} {parameter['name']}"
            assert "minimum" in schema, where
            assert "maximum" in schema, where
            assert BIGINT[0] <= schema["minimum"] <= schema["maximum"] <= BIGINT[1], where


async def test_a_profile_matches_exactly_one_view_of_the_document_for_owner_and_stranger(
    client: AppClient, make_user: Callable[..., Awaitable[TestUser]]
) -> None:
    owner, stranger = await make_user(role=Role.MENTOR), await make_user()
    document = (await client.get("/schema/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(document)
    read = schema["/api/v1/users/{user_id}"]["GET"]
    as_owner = await client.get(f"/api/v1/users/{owner.id}", headers=owner.headers)
    as_stranger = await client.get(f"/api/v1/users/{owner.id}", headers=stranger.headers)
    assert (as_owner.json()["view"], as_stranger.json()["view"]) == ("private", "public")
    assert "email" not in as_stranger.json()
    assert read.is_valid_response(as_owner)
    assert read.is_valid_response(as_stranger)

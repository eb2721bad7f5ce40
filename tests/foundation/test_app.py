from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Litestar, get, post
from litestar.params import JSONBody

from dracarys.app import create_app
from dracarys.errors import Conflict
from dracarys.settings import Settings
from dracarys.wire import Input
from tests.support import AppClient


async def test_health_and_ready_answer(client: AppClient) -> None:
    health = await client.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "postgres": "ok", "redis": "not configured"}


async def test_ready_checks_redis_when_configured(redis_settings: Settings) -> None:
    async with AppClient(create_app(redis_settings)) as client:
        ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["redis"] == "ok"


async def test_ready_reports_503_problem_when_redis_is_down(settings: Settings) -> None:
    dead = msgspec.structs.replace(settings, redis_url="redis://127.0.0.1:1/0")
    async with AppClient(create_app(dead)) as client:
        ready = await client.get("/ready")
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert "Redis" in ready.json()["detail"]


async def test_every_route_in_the_schema_has_a_unique_operation_id(
    client: AppClient,
) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operation_ids = [
        op.get("operationId")
        for path in schema["paths"].values()
        for method, op in path.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert operation_ids, "the schema lists no operations"
    assert None not in operation_ids
    assert len(operation_ids) == len(set(operation_ids))


async def test_metrics_count_api_requests_but_not_probes(
    client: AppClient,
) -> None:
    await client.get("/health")
    await client.get("/schema/openapi.json")
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert 'path="/schema/openapi.json"' in metrics.text
    assert 'path="/health"' not in metrics.text


async def test_request_id_is_echoed_or_generated(client: AppClient) -> None:
    echoed = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = await client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["x-request-id"] != "bad id with spaces"
    assert len(generated.headers["x-request-id"]) == 32


class Probe(Input):
    name: str
    age: int
    email: str | None = None


@post("/probe", operation_id="probe")
async def probe(data: JSONBody[Probe]) -> dict[str, Any]:
    if data.name == "taken":
        raise Conflict("that name is taken", field="name")
    return {"name": data.name}


def probe_app(settings: Settings) -> Litestar:
    app = create_app(settings)
    app.register(probe)
    return app


@get("/probe/broken", operation_id="probeBroken")
async def broken_probe() -> None:
    raise RuntimeError("a bug")


def metric(text: str, name: str, **labels: str) -> float:
    """One sample of a Prometheus exposition (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    found = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


async def test_metrics_count_each_route_and_status_with_durations_and_errors(
    settings: Settings,
) -> None:
    app = probe_app(settings)
    app.register(broken_probe)
    ok = {"app_name": "dracarys", "method": "POST", "path": "/probe", "status_code": "201"}
    failed = {**ok, "method": "GET", "path": "/probe/broken", "status_code": "500"}
    async with AppClient(app) as client:
        before = (await client.get("/metrics")).text
        for name in ("a", "b"):
            assert (await client.post("/probe", json={"name": name, "age": 3})).status_code == 201
        assert (await client.get("/probe/broken")).status_code == 500
        after = (await client.get("/metrics")).text

    def grew(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert grew("litestar_requests_total", **ok) == 2
    assert grew("litestar_request_duration_seconds_count", **ok) == 2
    assert grew("litestar_request_duration_seconds_bucket", le="+Inf", **ok) == 2
    assert grew("litestar_request_duration_seconds_sum", **ok) > 0
    # Buckets are cumulative: each holds at least the one below it.
    buckets = [
        metric(after, "litestar_request_duration_seconds_bucket", le=le, **ok)
        for le in ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "10.0", "+Inf")
    ]
    assert buckets == sorted(buckets)
    assert grew("litestar_requests_error_total", **ok) == 0
    assert grew("litestar_requests_error_total", **failed) == 1
    in_progress = {"app_name": "dracarys", "method": "POST", "path": "/probe"}
    assert metric(after, "litestar_requests_in_progress", **in_progress) == 0


async def test_malformed_json_is_a_400_problem(settings: Settings) -> None:
    async with AppClient(probe_app(settings)) as client:
        response = await client.post(
            "/probe", content=b'{"name": "x", "age": ', headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 400
    assert body["title"] == "Malformed request body"
    assert body["instance"] == "/probe"


async def test_wrong_type_is_a_422_problem_naming_the_field(settings: Settings) -> None:
    async with AppClient(probe_app(settings)) as client:
        response = await client.post("/probe", json={"name": "x", "age": "old"})
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["field"] == "age"
    assert body["errors"][0]["message"] == "Age must be a whole number"
    assert body["detail"] == "Age must be a whole number"


async def test_missing_field_is_named(settings: Settings) -> None:
    async with AppClient(probe_app(settings)) as client:
        response = await client.post("/probe", json={"name": "x"})
    assert response.status_code == 422
    assert response.json()["errors"][0] == {"field": "age", "message": "Age is required"}


async def test_unknown_or_server_owned_field_is_refused(settings: Settings) -> None:
    async with AppClient(probe_app(settings)) as client:
        response = await client.post("/probe", json={"name": "x", "age": 3, "role": "admin"})
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "role"
    assert error["message"] == "Role is not accepted here"


async def test_domain_errors_render_as_problems(settings: Settings) -> None:
    async with AppClient(probe_app(settings)) as client:
        response = await client.post("/probe", json={"name": "taken", "age": 3})
    assert response.status_code == 409
    body = response.json()
    assert body["type"].endswith("/conflict")
    assert body["errors"] == [{"field": "name", "message": "that name is taken"}]
    assert body["request_id"] == response.headers["x-request-id"]


async def test_unknown_route_is_a_404_problem(client: AppClient) -> None:
    response = await client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_cors_is_off_unless_other_origins_are_configured(
    client: AppClient, settings: Settings
) -> None:
    plain = await client.get("/health", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in plain.headers

    opened = msgspec.structs.replace(settings, cors_origins=("https://partner.example",))
    async with AppClient(create_app(opened)) as cors_client:
        allowed = await cors_client.get("/health", headers={"Origin": "https://partner.example"})
        other = await cors_client.get("/health", headers={"Origin": "https://elsewhere.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://partner.example"
    assert "access-control-allow-origin" not in other.headers

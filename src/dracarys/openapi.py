"""The OpenAPI document the app serves: what Litestar generates from the handlers, plus the
error contract every operation shares, declared once here rather than on each handler:
any 4xx or 5xx answer is an RFC 9457 problem (`application/problem+json`); and the page
that renders it at /schema, from the app's own files (no CDN), so it works offline."""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import OpenAPI

from dracarys.errors import PROBLEM_JSON, Problem

_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_SCHEMAS = "#/components/schemas/{name}"
_PROBLEM_RESPONSES = {
    "4XX": (
        "ClientProblem",
        "The request was refused; `detail` says why and `errors` names each field at fault.",
    ),
    "5XX": (
        "ServerProblem",
        "The request failed on our side (or a service we need is down); `request_id` "
        "identifies it in our logs.",
    ),
}


def declare_problem_responses(document: dict[str, Any]) -> dict[str, Any]:
    """Give every operation the shared 4XX and 5XX problem responses in place of the
    error responses Litestar derives on its own (a 400 with its internal validation shape,
    which this API never sends: validation errors are 422 problems)."""
    components = document.setdefault("components", {})
    _, definitions = msgspec.json.schema_components([Problem], ref_template=_SCHEMAS)
    components.setdefault("schemas", {}).update(definitions)
    shared = components.setdefault("responses", {})
    for name, description in _PROBLEM_RESPONSES.values():
        shared[name] = {
            "description": description,
            "content": {PROBLEM_JSON: {"schema": {"$ref": _SCHEMAS.format(name="Problem")}}},
        }
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status in [s for s in responses if s[:1] in ("4", "5")]:
                del responses[status]
            for status, (name, _) in _PROBLEM_RESPONSES.items():
                responses[status] = {"$ref": f"#/components/responses/{name}"}
    return document


class _ProblemDeclaringOpenAPI(OpenAPI):
    def to_schema(self) -> dict[str, Any]:
        return declare_problem_responses(super().to_schema())


class ApiDocumentConfig(OpenAPIConfig):
    """`OpenAPIConfig` whose document declares the shared problem responses; Litestar
    builds the document on first request and after any route is added, so the
    declaration rides on the document object rather than on a one-off edit."""

    def to_openapi_schema(self) -> OpenAPI:
        generated = super().to_openapi_schema()
        fields = {f.name: getattr(generated, f.name) for f in dataclasses.fields(generated)}
        return _ProblemDeclaringOpenAPI(**fields)


def api_reference() -> ScalarRenderPlugin:
    """Scalar's reference page with its script vendored under static/vendor/scalar (see the
    NOTICE there), our stylesheet and icon, and neither its web fonts nor its telemetry,
    which would reach Scalar's servers: nothing on the page comes from another host."""
    return ScalarRenderPlugin(
        js_url="/static/vendor/scalar/api-reference.standalone.js",
        css_url="/static/css/api-reference.css",
        favicon='<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">',
        options={"withDefaultFonts": False, "telemetry": False, "darkMode": True},
    )

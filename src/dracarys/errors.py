"""The one error hierarchy, and its rendering as RFC 9457 problem details.

Services raise `DomainError` subclasses; the handlers here turn them, Litestar's own
validation errors and anything unexpected into `application/problem+json` bodies that
name the offending field, so no error leaves the API in another shape."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://dracarys.dev/problems/"
log = structlog.get_logger("dracarys.errors")


class FieldError(msgspec.Struct, frozen=True):
    field: str
    message: str


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] = []
    extra: dict[str, Any] = {}


class DomainError(Exception):
    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        errors: list[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors or [])
        if field is not None:
            self.errors.insert(0, FieldError(field, detail))
        self.extra = extra or {}
        self.headers = headers or {}


class MalformedBody(DomainError):
    """A body that cannot be read as what its content type says (not JSON, not UTF-8,
    nested past the bound the edge sets)."""

    status = 400
    slug = "malformed-body"
    title = "Malformed request body"


class InvalidInput(DomainError):
    status = 422
    slug = "invalid-input"
    title = "Invalid input"


class Unauthorized(DomainError):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"


class Forbidden(DomainError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class NotFound(DomainError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class TooManyRequests(DomainError):
    status = 429
    slug = "too-many-requests"
    title = "Too many requests"


class ServiceUnavailable(DomainError):
    status = 503
    slug = "unavailable"
    title = "Service unavailable"


def problem_response(
    request: Request[Any, Any, Any], problem: Problem, headers: dict[str, str] | None = None
) -> Response[bytes]:
    problem.instance = request.url.path
    problem.request_id = request.scope.get("state", {}).get("request_id")
    return Response(
        content=msgspec.json.encode(problem),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def handle_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[bytes]:
    problem = Problem(
        type=PROBLEM_BASE + exc.slug,
        title=exc.title,
        status=exc.status,
        detail=exc.detail,
        errors=exc.errors,
        extra=exc.extra,
    )
    return problem_response(request, problem, exc.headers)


_MSGSPEC_PATH = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_UNKNOWN_FIELD = re.compile(r"Object contains unknown field `(?P<name>[^`]+)`")
_MISSING_FIELD = re.compile(r"Object missing required field `(?P<name>[^`]+)`")


def _field_errors(exc: ValidationException) -> list[FieldError]:
    """Litestar's validation errors arrive as msgspec messages ("Expected `int`, got `str` -
    at `$.age`") or as a list of {key, message}; turn both into field-named errors."""
    errors: list[FieldError] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", exc.detail))
        match = _MSGSPEC_PATH.match(message)
        reason = match.group("reason") if match else message
        path = (match.group("path") if match else None) or ""
        key = str(item.get("key") or "")
        # Litestar names the whole request body "data"; a path inside it comes from msgspec.
        field = path.lstrip(".") or ("" if key == "data" else key)
        if unknown := _UNKNOWN_FIELD.search(reason):
            name = unknown.group("name")
            field = f"{field}.{name}" if field else name
            reason = f"`{name}` is not accepted here (unknown or server-owned field)"
        elif missing := _MISSING_FIELD.search(reason):
            name = missing.group("name")
            field = f"{field}.{name}" if field else name
            reason = f"`{name}` is required"
        elif field:
            reason = f"`{field}`: {reason}"
        errors.append(FieldError(field or "body", reason))
    return errors


def handle_validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[bytes]:
    errors = _field_errors(exc)
    detail = "; ".join(e.message for e in errors) or str(exc.detail)
    problem = Problem(
        type=PROBLEM_BASE + InvalidInput.slug,
        title=InvalidInput.title,
        status=422,
        detail=detail,
        errors=errors,
    )
    return problem_response(request, problem)


_STATUS_TITLES = {
    400: (DomainError.slug, DomainError.title),
    401: (Unauthorized.slug, Unauthorized.title),
    403: (Forbidden.slug, Forbidden.title),
    404: (NotFound.slug, NotFound.title),
    405: ("method-not-allowed", "Method not allowed"),
    409: (Conflict.slug, Conflict.title),
    413: ("too-large", "Request too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: (TooManyRequests.slug, TooManyRequests.title),
}


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    slug, title = _STATUS_TITLES.get(exc.status_code, ("http-error", "Request failed"))
    problem = Problem(
        type=PROBLEM_BASE + slug, title=title, status=exc.status_code, detail=str(exc.detail)
    )
    return problem_response(request, problem, dict(exc.headers or {}))


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("unhandled_error", path=request.url.path, error=repr(exc))
    problem = Problem(
        type=PROBLEM_BASE + "internal",
        title="Internal error",
        status=HTTP_500_INTERNAL_SERVER_ERROR,
        detail="Something went wrong on our side; the request id identifies it in our logs.",
    )
    return problem_response(request, problem)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: handle_domain_error,
    ValidationException: handle_validation_error,
    NotAuthorizedException: handle_http_exception,
    PermissionDeniedException: handle_http_exception,
    NotFoundException: handle_http_exception,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}

"""The one error hierarchy, and its rendering as RFC 9457 problem details.

Services raise `DomainError` subclasses; the handlers here turn them, Litestar's own
validation errors and anything unexpected into `application/problem+json` bodies that
name the offending field, so no error leaves the API in another shape."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
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
_MISSING_PARAMETER = re.compile(r"Missing required (?P<kind>\w+) parameter '(?P<name>[^']+)'")

# ---- validator text → sentences -------------------------------------------------------
# msgspec's reasons ("Expected `float` > 0.0") are for programmers; a person reads
# "Quantity must be more than 0". Each family of reason has its sentence; the field keeps
# its machine name in `errors[].field`, only the message names it by a label.

# Words of field names that do not say what they mean on their own.
_LABEL_WORDS = {
    "qty": "quantity",
    "tif": "time in force",
    "bps": "(basis points)",
    "pct": "(%)",
    "id": "ID",
    "ids": "IDs",
    "url": "URL",
    "urls": "URLs",
    "kyc": "KYC",
    "totp": "authenticator",
    "otp": "one-time",
    "iban": "IBAN",
    "mpesa": "M-Pesa",
    "ics": "calendar",
    "utc": "UTC",
    "hhmm": "time",
    "min": "minimum",
    "max": "maximum",
}
_SEGMENT = re.compile(r"(?P<name>[^.\[\]]+)|\[(?P<index>\d+)\]")


def field_label(field: str) -> str:
    """A person's name for a machine field name: `qty` → "Quantity",
    `execution.initial_cash` → "Initial cash", `share_with[2]` → "Share with (item 3)",
    `legs[1].qty` → "Quantity (item 2)", `price_minor` → "Price" (the sentence says
    when a figure is in minor units)."""
    name = ""
    index: int | None = None
    for match in _SEGMENT.finditer(field):
        if match.group("name") is not None:
            name = match.group("name")
        else:
            index = int(match.group("index"))
    words = [w for w in name.split("_") if w]
    if len(words) > 1 and words[-1] == "minor":
        words.pop()
    label = " ".join(_LABEL_WORDS.get(w.lower(), w) for w in words) or "This value"
    label = label[:1].upper() + label[1:]
    return label if index is None else f"{label} (item {index + 1})"


_TYPE_WORDS = {
    "int": "a whole number",
    "float": "a number",
    "decimal": "a number",
    "str": "text",
    "bool": "true or false",
    "array": "a list",
    "object": "a set of named values",
    "uuid": "an ID",
    "datetime": "a date and time",
    "date": "a date",
    "time": "a time of day",
    "timedelta": "a duration",
    "bytes": "base64-encoded data",
}
_BOUND_WORDS = {">": "more than", ">=": "at least", "<": "less than", "<=": "at most"}
_GOT = re.compile(r"^Expected `(?P<types>[^`]+)`, got `(?P<got>[^`]+)`$")
_BOUND = re.compile(r"^Expected `(?P<type>[^`]+)` (?P<op>>=|<=|>|<) (?P<bound>\S+)$")
_LENGTH = re.compile(r"^Expected `(?P<type>[^`]+)` of length (?P<op>>=|<=) (?P<n>\d+)$")
_MULTIPLE = re.compile(r"^Expected `[^`]+` that's a multiple of (?P<n>\S+)$")
_PATTERN = re.compile(r"^Expected `str` matching regex ")
_TIMEZONE = re.compile(r"^Expected `(?P<type>[^`]+)` (?P<which>with|without) a timezone component$")
_ENUM = re.compile(r"^Invalid enum value (?P<value>.+)$")
_INVALID = {
    "Invalid UUID": "must be a valid ID",
    "Invalid RFC3339 encoded datetime": "must be a date and time such as 2025-01-31T09:30:00Z",
    "Invalid RFC3339 encoded date": "must be a date such as 2025-01-31",
    "Invalid RFC3339 encoded time": "must be a time of day such as 09:30",
    "Invalid ISO8601 duration": "must be a duration such as PT30M",
    "Invalid base64 encoded string": "must be base64-encoded data",
    "Invalid decimal string": "must be a number",
    "Invalid epoch timestamp": "must be a date and time",
}


def _number(text: str) -> str:
    """A bound as msgspec prints it (`0.0`, `1000000000000.0`) as a person writes it."""
    try:
        value = Decimal(text)
    except ArithmeticError:
        return text
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.normalize():,f}"


def _kind_of(types: str) -> str:
    """`int | null` → "a whole number"; `str | int` → "text or a whole number"."""
    kinds = [t.strip() for t in types.split("|") if t.strip() != "null"]
    words = dict.fromkeys(_TYPE_WORDS.get(t, "a valid value") for t in kinds)
    return " or ".join(words) or "a valid value"


def humane_reason(field: str, reason: str, allowed: Sequence[object] | None = None) -> str:
    """The sentence for one of msgspec's validation reasons about `field`, naming it by
    its label; `allowed` lists the accepted values of an enum-like field when known."""
    label = field_label(field)
    minor = field.rsplit(".", 1)[-1].endswith("_minor")
    if match := _GOT.match(reason):
        return f"{label} must be {_kind_of(match.group('types'))}"
    if match := _BOUND.match(reason):
        bound = _number(match.group("bound"))
        unit = " in the currency's smallest unit (such as cents)" if minor else ""
        return f"{label} must be {_BOUND_WORDS[match.group('op')]} {bound}{unit}"
    if match := _LENGTH.match(reason):
        count = int(match.group("n"))
        kind = match.group("type")
        if kind == "str":
            if match.group("op") == ">=":
                return (
                    f"{label} must not be empty"
                    if count == 1
                    else (f"{label} must be at least {count:,} characters long")
                )
            return f"{label} must be at most {count:,} characters long"
        things = "entry" if count == 1 else "entries"
        if kind == "array":
            things = "item" if count == 1 else "items"
        if match.group("op") == ">=":
            return f"{label} needs at least {count:,} {things}"
        return f"{label} may have at most {count:,} {things}"
    if match := _MULTIPLE.match(reason):
        return f"{label} must be a multiple of {_number(match.group('n'))}"
    if _PATTERN.match(reason):
        return f"{label} is not in the expected format"
    if match := _TIMEZONE.match(reason):
        if match.group("which") == "with":
            return f"{label} must include a time zone, such as Z or +03:00"
        return f"{label} must not include a time zone"
    if _ENUM.match(reason):
        if allowed:
            return f"{label} must be one of: {', '.join(str(v) for v in allowed)}"
        return f"{label} is not one of the accepted values"
    if sentence := _INVALID.get(reason):
        return f"{label} {sentence}"
    return f"{label} is not valid"


def _allowed_values(annotation: Any, path: Sequence[str | int]) -> list[object] | None:
    """The values an enum or literal field at `path` inside `annotation` accepts, when the
    path leads to one; None when it does not (or the type cannot be inspected)."""
    try:
        node: msgspec.inspect.Type = msgspec.inspect.type_info(annotation)
    except (TypeError, ValueError):
        return None
    steps = list(path)
    while True:
        if isinstance(node, msgspec.inspect.Metadata):
            node = node.type
        elif isinstance(node, msgspec.inspect.UnionType):
            options = [t for t in node.types if not isinstance(t, msgspec.inspect.NoneType)]
            if len(options) != 1:
                return None
            node = options[0]
        elif not steps:
            break
        elif isinstance(node, msgspec.inspect.StructType):
            step = steps.pop(0)
            fields = [f for f in node.fields if f.encode_name == step]
            if not fields:
                return None
            node = fields[0].type
        elif isinstance(node, msgspec.inspect.CollectionType) and isinstance(steps[0], int):
            steps.pop(0)
            node = node.item_type
        elif isinstance(node, msgspec.inspect.DictType):
            steps.pop(0)
            node = node.value_type
        else:
            return None
    if isinstance(node, msgspec.inspect.LiteralType):
        return list(node.values)
    if isinstance(node, msgspec.inspect.EnumType):
        return [member.value for member in node.cls]
    return None


def _steps(path: str) -> list[str | int]:
    return [
        int(m.group("index")) if m.group("index") is not None else m.group("name")
        for m in _SEGMENT.finditer(path)
    ]


def _parameter_types(request: Request[Any, Any, Any] | None) -> dict[str, Any]:
    """The handler's parameter annotations (`data` is the body), for enum values."""
    try:
        handler = request.route_handler if request is not None else None
        parameters = handler.parsed_fn_signature.parameters if handler is not None else {}
    except (AttributeError, KeyError):
        return {}
    return {name: field.annotation for name, field in parameters.items()}


def _field_errors(
    exc: ValidationException, request: Request[Any, Any, Any] | None = None
) -> list[FieldError]:
    """Litestar's validation errors arrive as msgspec messages ("Expected `int`, got `str` -
    at `$.age`"), as a list of {key, message, source}, or as a sentence naming a missing
    parameter (with the request's path in it); each becomes a field-named error whose
    message is a sentence (`humane_reason`), never the validator's text."""
    errors: list[FieldError] = []
    if missing_parameter := _MISSING_PARAMETER.search(str(exc.detail)):
        name = missing_parameter.group("name")
        return [FieldError(name, f"{field_label(name)} is required")]
    types = _parameter_types(request)
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
            errors.append(FieldError(field, f"{field_label(name)} is not accepted here"))
            continue
        if missing := _MISSING_FIELD.search(reason):
            name = missing.group("name")
            field = f"{field}.{name}" if field else name
            errors.append(FieldError(field, f"{field_label(name)} is required"))
            continue
        if item.get("source") == "body" or key == "data":
            allowed = _allowed_values(types.get("data"), _steps(field))
        else:
            allowed = _allowed_values(types.get(key), _steps(field)[1:])
        if field:
            errors.append(FieldError(field, humane_reason(field, reason, allowed)))
        else:
            errors.append(FieldError("body", _body_reason(reason)))
    return errors


def _body_reason(reason: str) -> str:
    if match := _GOT.match(reason):
        return f"The request body must be {_kind_of(match.group('types'))}"
    return "The request body is not valid"


def handle_validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[bytes]:
    errors = _field_errors(exc, request)
    # Litestar's own detail names the method and path: it is for logs, not for people.
    detail = "; ".join(e.message for e in errors) or "The request is not valid"
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

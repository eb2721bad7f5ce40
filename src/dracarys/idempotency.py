"""The idempotency key of a money-moving call, one way for every route: the
`Idempotency-Key` header (as Stripe's API and the IETF httpapi draft have it) or the
body's `idempotency_key`. A handler asks for the `idempotency_key` dependency and gets
the one key, or the caller gets a 422 naming the field; the services' own replay rules
(same key and body: the first result; same key, another body: 422) do the rest."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import msgspec
from litestar.di import Provide
from litestar.params import HeaderParameter, JSONBody

from dracarys.errors import FieldError, InvalidInput

IDEMPOTENCY_HEADER = "Idempotency-Key"
BODY_FIELD = "idempotency_key"
MIN_LENGTH, MAX_LENGTH = 8, 200

# The body field of every money-moving input: optional there, since the header may carry it.
IdempotencyKey = Annotated[str, msgspec.Meta(min_length=MIN_LENGTH, max_length=MAX_LENGTH)]

_HEADER_DESCRIPTION = (
    f"A key of {MIN_LENGTH}–{MAX_LENGTH} characters unique to this operation. A retry with "
    "the same key returns the first result and applies nothing twice; the same key with a "
    "different body is a 422. The body's `idempotency_key` may carry it instead; if both "
    "are given they must be equal."
)


def request_hash(kind: str, body: Any) -> str:
    """What "the same request" means when a key comes back: the kind of operation and its
    body, less the key itself (which may come in the body or in the header)."""
    fields = msgspec.to_builtins(body)
    if isinstance(fields, dict):
        fields.pop(BODY_FIELD, None)
    encoded = msgspec.json.encode({"kind": kind, "body": fields}, order="sorted")
    return hashlib.sha256(encoded).hexdigest()


def _checked_header(value: str) -> str:
    if not MIN_LENGTH <= len(value) <= MAX_LENGTH or not value.isprintable():
        raise InvalidInput(
            f"the {IDEMPOTENCY_HEADER} header must be {MIN_LENGTH} to {MAX_LENGTH} "
            "printable characters",
            field=IDEMPOTENCY_HEADER,
        )
    return value


def resolve_idempotency_key(header: str | None, body: Any) -> str:
    """The operation's key from the header or the (raw JSON) body's field."""
    body_key = body.get(BODY_FIELD) if isinstance(body, dict) else None
    if body_key is not None and not isinstance(body_key, str):
        raise InvalidInput(f"`{BODY_FIELD}` must be a string", field=BODY_FIELD)
    if header is None:
        if body_key is None:
            raise InvalidInput(
                f"`{BODY_FIELD}` is required: send it in the body or as the "
                f"{IDEMPOTENCY_HEADER} header",
                field=BODY_FIELD,
            )
        # Checked here as well as by the body's struct: a route whose body is optional
        # (`Struct | None`) would otherwise fail to decode it with a 500.
        if not MIN_LENGTH <= len(body_key) <= MAX_LENGTH or not body_key.isprintable():
            raise InvalidInput(
                f"`{BODY_FIELD}` must be {MIN_LENGTH} to {MAX_LENGTH} printable characters",
                field=BODY_FIELD,
            )
        return body_key
    key = _checked_header(header)
    if body_key is not None and body_key != key:
        detail = (
            f"the {IDEMPOTENCY_HEADER} header and the body's `{BODY_FIELD}` differ; "
            "send the key once, or the same key in both"
        )
        raise InvalidInput(
            detail, field=BODY_FIELD, errors=[FieldError(IDEMPOTENCY_HEADER, detail)]
        )
    return key


# The optional `Idempotency-Key` header as every keyed operation declares it (a handler
# whose body is not JSON, e.g. a file upload, takes it as a parameter of this type).
IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name=IDEMPOTENCY_HEADER,
        required=False,
        description=_HEADER_DESCRIPTION,
        # Documented here, checked by `_checked_header` so the 422 names the header.
        schema_extra={"min_length": MIN_LENGTH, "max_length": MAX_LENGTH},
    ),
]


async def provide_idempotency_key(
    idempotency_key_header: IdempotencyKeyHeader = None,
    data: JSONBody[Any] = None,
) -> str:
    return resolve_idempotency_key(idempotency_key_header, data)


IDEMPOTENCY_DEPENDENCY = Provide(provide_idempotency_key)

"""The shared bases of every API struct: one naming convention (snake_case) on the wire,
keyword-only construction, and inputs that refuse unknown fields, which is what keeps a
client from setting server-owned fields such as `role` or `user_id`; with them the bounds
every input shares and the one page-cursor format."""

from __future__ import annotations

import base64
import binascii

import msgspec

from dracarys.errors import InvalidInput

# What PostgreSQL's `bigint` holds: no integer from a request goes beyond it (see edge.py).
BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1


class Schema(msgspec.Struct, kw_only=True):
    """Base of every response body."""


class Input(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of every request body: unknown (including server-owned) fields are a 422."""


class Page(Schema):
    """Cursor pagination envelope fields shared by list endpoints."""

    next_cursor: str | None = None


def encode_cursor(position: int) -> str:
    """The opaque `next_cursor` for a position (an id or a sequence number) in a history
    read newest first."""
    return base64.urlsafe_b64encode(str(position).encode()).decode()


def decode_cursor(cursor: str) -> int:
    """The position a cursor from `encode_cursor` stands for; anything else, including a
    number no bigint column holds, is a 422 naming `cursor`."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
    except (UnicodeError, binascii.Error):
        text = ""
    if not (text.isascii() and text.isdigit() and 0 < int(text) <= BIGINT_MAX):
        raise InvalidInput("the cursor is not one this API issued", field="cursor")
    return int(text)

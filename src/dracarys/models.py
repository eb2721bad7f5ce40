"""The shared bases of every API struct: one naming convention (snake_case) on the wire,
keyword-only construction, and inputs that refuse unknown fields, which is what keeps a
client from setting server-owned fields such as `role` or `user_id`."""

from __future__ import annotations

import msgspec


class Schema(msgspec.Struct, kw_only=True):
    """Base of every response body."""


class Input(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of every request body: unknown (including server-owned) fields are a 422."""


class Page(Schema):
    """Cursor pagination envelope fields shared by list endpoints."""

    next_cursor: str | None = None

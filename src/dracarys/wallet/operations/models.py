"""A money-moving call's first result, kept under its (scope, idempotency key)."""

from __future__ import annotations

from typing import Any

import msgspec


class Operation(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    request_hash: str
    result: dict[str, Any]

"""Social HTTP API: every area's routes in one list the composition root mounts."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []

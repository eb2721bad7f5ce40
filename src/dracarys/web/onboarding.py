"""The onboarding pages' routes (see pages.py for how pages are served)."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []

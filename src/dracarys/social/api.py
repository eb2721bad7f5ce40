"""Social HTTP API: every area's routes in one list the composition root mounts."""

from __future__ import annotations

from typing import Any

from dracarys.social.affiliates.api import ROUTES as AFFILIATE_ROUTES
from dracarys.social.referrals.api import ROUTES as REFERRAL_ROUTES

ROUTES: list[Any] = [*REFERRAL_ROUTES, *AFFILIATE_ROUTES]

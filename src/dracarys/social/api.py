"""Social HTTP API: every area's routes in one list the composition root mounts."""

from __future__ import annotations

from typing import Any

from dracarys.social.affiliates.api import ROUTES as AFFILIATE_ROUTES
from dracarys.social.referrals.api import ROUTES as REFERRAL_ROUTES
from dracarys.social.sharing.api import ROUTES as SHARING_ROUTES
from dracarys.social.verification.api import ROUTES as VERIFICATION_ROUTES

ROUTES: list[Any] = [*VERIFICATION_ROUTES, *SHARING_ROUTES, *REFERRAL_ROUTES, *AFFILIATE_ROUTES]

"""Community HTTP API: every area's routes in one list the composition root mounts."""

from __future__ import annotations

from typing import Any

from dracarys.community.images.api import ROUTES as IMAGE_ROUTES
from dracarys.community.moderation.api import ROUTES as MODERATION_ROUTES
from dracarys.community.premium.api import ROUTES as PREMIUM_ROUTES
from dracarys.community.search.api import ROUTES as SEARCH_ROUTES
from dracarys.community.spaces.api import ROUTES as SPACE_ROUTES
from dracarys.community.topics.api import ROUTES as TOPIC_ROUTES
from dracarys.community.votes.api import ROUTES as VOTE_ROUTES

ROUTES: list[Any] = [
    *SPACE_ROUTES,
    *TOPIC_ROUTES,
    *VOTE_ROUTES,
    *SEARCH_ROUTES,
    *IMAGE_ROUTES,
    *MODERATION_ROUTES,
    *PREMIUM_ROUTES,
]

"""The community pages' routes (see pages.py for how pages are served): the spaces, a
space's topics, a topic with its posts, search, and the moderation queue. Each page's
script reads the API."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Response, get
from litestar.params import FromPath

from dracarys.web.render import render_page


@get("/community", operation_id="webCommunity", include_in_schema=False, sync_to_thread=False)
def spaces_page() -> Response[str]:
    """The topic channels and the groups the member may read; mentors start a group."""
    return render_page("community.html", page="community", title="Community")


@get(
    "/community/search",
    operation_id="webCommunitySearch",
    include_in_schema=False,
    sync_to_thread=False,
)
def search_page() -> Response[str]:
    return render_page(
        "community_search.html",
        page="community",
        title="Search the community",
        script="community_search",
    )


@get(
    "/community/moderation",
    operation_id="webCommunityModeration",
    include_in_schema=False,
    sync_to_thread=False,
)
def moderation_page() -> Response[str]:
    """The review queue (staff and members whose trust level moderates) and, for staff,
    the blocked link domains."""
    return render_page(
        "community_moderation.html",
        page="community_moderation",
        title="Community moderation",
        script="community_moderation",
    )


@get(
    "/community/t/{topic_id:uuid}",
    operation_id="webCommunityTopic",
    include_in_schema=False,
    sync_to_thread=False,
)
def topic_page(topic_id: FromPath[uuid.UUID]) -> Response[str]:
    """A topic or question with its posts, votes, reactions, quotes, the accepted answer,
    and the composer with its preview; new posts arrive live."""
    return render_page(
        "community_topic.html",
        page="community",
        title="Topic",
        script="community_topic",
        topic_id=str(topic_id),
    )


@get(
    "/community/{slug:str}",
    operation_id="webCommunitySpace",
    include_in_schema=False,
    sync_to_thread=False,
)
def space_page(slug: FromPath[str]) -> Response[str]:
    """A space's topics (active, new, by votes, unanswered), new ones arriving live, and
    the form to start one."""
    return render_page(
        "community_space.html",
        page="community",
        title="Community space",
        script="community_space",
        slug=slug,
    )


ROUTES: list[Any] = [spaces_page, search_page, moderation_page, topic_page, space_page]

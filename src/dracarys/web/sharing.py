"""The sharing pages' routes: a share link (`/s/{token}`), the one page that carries data
in its HTML, because social sites' crawlers read its Open Graph tags without running a
script (people are sent on by its script, which counts the visit first), and the list of
the member's own shares (see pages.py for how pages are served)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from dracarys.platform import Platform
from dracarys.social import share_page
from dracarys.web.render import render_page


@get("/s/{token:str}", operation_id="webShareLink", include_in_schema=False)
async def share_link_page(
    token: FromPath[str], platform: NamedDependency[Platform]
) -> Response[str]:
    """The shared thing's card for crawlers; for people, a moment's stop on the way to it."""
    shared = await share_page(platform, token)
    return render_page(
        "share_link.html", page="share_link", title=shared.title, script="share_link", share=shared
    )


@get("/shares", operation_id="webMyShares", include_in_schema=False, sync_to_thread=False)
def my_shares_page() -> Response[str]:
    """The member's shares: each link, its visitors and whether it earned."""
    return render_page("shares.html", page="shares", title="My shares")


ROUTES: list[Any] = [share_link_page, my_shares_page]

"""The social pages' routes: following our accounts and verifying it (with the page the
platforms send the browser back to), and the reviewers' queue of manual proofs (see
pages.py for how pages are served)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.params import FromPath

from dracarys.web.render import render_page


@get("/social", operation_id="webSocial", include_in_schema=False, sync_to_thread=False)
def social_page() -> Response[str]:
    """Per platform: our account, where the member's follow stands, and what to do next
    (connect through the platform, check again, or send a screenshot for review)."""
    return render_page("social.html", page="social", title="Follow us")


@get(
    "/social/callback/{followed:str}",
    operation_id="webSocialCallback",
    include_in_schema=False,
    sync_to_thread=False,
)
def social_callback_page(followed: FromPath[str]) -> Response[str]:
    """Where YouTube or X sends the browser back: its script finishes the check."""
    return render_page(
        "social_callback.html",
        page="social",
        title="Checking your follow",
        script="social_callback",
        platform=followed,
    )


@get(
    "/staff/social-proofs",
    operation_id="webSocialProofQueue",
    include_in_schema=False,
    sync_to_thread=False,
)
def social_proofs_page() -> Response[str]:
    """Manual follow proofs waiting for a reviewer, each with its screenshot and link."""
    return render_page(
        "staff_social_proofs.html", page="social_proofs", title="Follow proofs to review"
    )


ROUTES: list[Any] = [social_page, social_callback_page, social_proofs_page]

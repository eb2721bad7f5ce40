"""Shares over HTTP: make one, list yours, count a visit of a link (signed in or not), and
the share cards (public PNGs, cached for ever: a card's name is the hash of what it says)."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dracarys.edge import source_ip
from dracarys.errors import NotFound
from dracarys.identity import CurrentUser, authenticated
from dracarys.platform import Platform
from dracarys.social.sharing import service
from dracarys.social.sharing.models import ShareInput, ShareView, Visit, VisitResult

_CARD_NAME = re.compile(r"^([0-9a-f]{64})\.png$")


@post(
    "/api/v1/social/shares",
    operation_id="createShare",
    guards=[authenticated],
    tags=["social"],
    status_code=HTTP_201_CREATED,
    summary="Share a closed signal, your certificate, your badge or a mentor's track record "
    "on a channel (the same thing on the same channel again answers 200 with the first link)",
)
async def create_share(
    data: JSONBody[ShareInput],
    request: Request[Any, Any, Any],
    platform: NamedDependency[Platform],
    current_user: NamedDependency[CurrentUser],
) -> Response[ShareView]:
    share, made = await service.create_share(platform, current_user, data, source_ip(request))
    return Response(share, status_code=HTTP_201_CREATED if made else HTTP_200_OK)


@get(
    "/api/v1/social/shares",
    operation_id="listMyShares",
    guards=[authenticated],
    tags=["social"],
    summary="Your shares, newest first, with their visitors and whether each qualified",
)
async def my_shares(
    platform: NamedDependency[Platform],
    current_user: NamedDependency[CurrentUser],
    limit: int = Parameter(default=100, ge=1, le=500),
) -> list[ShareView]:
    return await service.my_shares(platform, current_user, limit)


@post(
    "/api/v1/social/shares/{token:str}/visits",
    operation_id="recordShareVisit",
    tags=["social"],
    status_code=HTTP_200_OK,
    summary="Count a visit of a share link (signed in or not); answers where to go next",
)
async def record_visit(
    token: FromPath[str], request: Request[Any, Any, Any], platform: NamedDependency[Platform]
) -> VisitResult:
    user = request.scope.get("user")
    visitor = user.id if isinstance(user, CurrentUser) else None
    return await service.record_visit(
        platform, token, Visit(user_id=visitor, source_ip=source_ip(request))
    )


@get(
    "/api/v1/social/cards/{file_name:str}",
    operation_id="getShareCard",
    tags=["social"],
    summary="A share's card image (PNG, 1200×630), named by the hash of its content",
    media_type="image/png",
)
async def share_card(
    file_name: FromPath[str], platform: NamedDependency[Platform]
) -> Response[bytes]:
    named = _CARD_NAME.match(file_name)
    if named is None:
        raise NotFound("there is no share card with this name", field="file_name")
    png = await service.card_png(platform, named.group(1))
    return Response(
        png,
        media_type="image/png",
        headers={
            # Content-addressed: the same name never shows anything else.
            "Cache-Control": "public, max-age=31536000, immutable",
            "ETag": f'"{named.group(1)}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


ROUTES: list[Any] = [create_share, my_shares, record_visit, share_card]

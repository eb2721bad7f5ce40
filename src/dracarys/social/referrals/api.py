"""Referral routes: the public link `/r/{code}` (records the click, leaves the attribution
and device cookies, redirects to sign-up or a `next` path on this site), its QR code, who
the cookie would credit (for the sign-up page), and the member's own referrals."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import CacheControlHeader, Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.status_codes import HTTP_302_FOUND

from dracarys import csv_export
from dracarys.edge import source_ip
from dracarys.errors import NotFound
from dracarys.identity import CurrentUser, Role, authenticated, requires_role
from dracarys.platform import Platform
from dracarys.social.referrals import service
from dracarys.social.referrals.models import MyReferrals, RefusedReferralView
from dracarys.wire import Schema


class ReferredBy(Schema, kw_only=True):
    name: str | None  # None: no referral link followed in this browser, or too long ago


def _cookie(platform: Platform, key: str, value: str, max_age_s: int) -> Cookie:
    # First-party, script-proof; Lax so the cookie rides the top-level navigation back.
    return Cookie(
        key=key,
        value=value,
        max_age=max_age_s,
        path="/",
        httponly=True,
        secure=platform.settings.public_url.startswith("https://"),
        samesite="lax",
    )


def _device_cookie(
    platform: Platform, request: Request[Any, Any, Any]
) -> tuple[str, Cookie | None]:
    """The browser's device token, and the cookie to leave when it had none."""
    token = request.cookies.get(service.DEVICE_COOKIE)
    if token:
        return token, None
    token = service.new_device_token()
    return token, _cookie(platform, service.DEVICE_COOKIE, token, service.DEVICE_COOKIE_MAX_AGE_S)


@get(
    "/r/{code:str}",
    operation_id="followReferralLink",
    # A browser route (a redirect with cookies), not part of the JSON API.
    include_in_schema=False,
    summary="A referral link: record the visit and go on to sign-up",
    status_code=HTTP_302_FOUND,
)
async def follow_referral_link(
    code: FromPath[str], platform: NamedDependency[Platform], request: Request[Any, Any, Any]
) -> Redirect:
    """Query: `utm_source`, `utm_medium`, `utm_campaign`, `utm_term`, `utm_content` (kept
    as given, cut at 200 characters) and `next` (a path on this site). Read from the query
    string as is, not declared one by one: this is a campaign's hot path, and a link's tags
    are never refused."""
    query = request.query_params
    device_token, device_cookie = _device_cookie(platform, request)
    click_id = await service.record_click(
        platform,
        code=code,
        utm=service.utm_tags(
            query.get("utm_source"),
            query.get("utm_medium"),
            query.get("utm_campaign"),
            query.get("utm_term"),
            query.get("utm_content"),
        ),
        ip=source_ip(request),
        device_token=device_token,
    )
    cookies = [device_cookie] if device_cookie else []
    if click_id is not None:
        # Each visit replaces the last: the last click before sign-up wins.
        window_s = platform.settings.referral_attribution_days * 86_400
        cookies.append(_cookie(platform, service.ATTRIBUTION_COOKIE, str(click_id), window_s))
    return Redirect(
        service.same_origin_path(query.get("next")),
        status_code=HTTP_302_FOUND,
        cookies=cookies,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


@get(
    "/r/{code:str}/qr.svg",
    operation_id="referralLinkQrCode",
    include_in_schema=False,
    summary="A referral link as a QR code (SVG)",
    media_type="image/svg+xml",
    cache_control=CacheControlHeader(max_age=86_400),
)
async def referral_qr_code(code: FromPath[str], platform: NamedDependency[Platform]) -> bytes:
    if not await service.code_exists(platform, code):
        raise NotFound("no such referral code", field="code")
    return service.qr_svg(platform, code.strip().lower())


@get(
    "/api/v1/referrals/attribution",
    operation_id="referralAttribution",
    tags=["social"],
    summary="Who a sign-up in this browser would be credited to (the last referral link "
    "followed, within the attribution window)",
)
async def referral_attribution(
    platform: NamedDependency[Platform], request: Request[Any, Any, Any]
) -> ReferredBy:
    name = await service.referrer_of_click(
        platform, request.cookies.get(service.ATTRIBUTION_COOKIE)
    )
    return ReferredBy(name=name)


@get(
    "/api/v1/referrals/me",
    operation_id="myReferrals",
    tags=["social"],
    guards=[authenticated],
    summary="Your referral code, link and referees with their status, and who referred you",
)
async def my_referrals(
    platform: NamedDependency[Platform],
    current_user: NamedDependency[CurrentUser],
    request: Request[Any, Any, Any],
) -> Response[MyReferrals]:
    device_token, device_cookie = _device_cookie(platform, request)
    body = await service.my_referrals(
        platform, current_user.id, ip=source_ip(request), device_token=device_token
    )
    return Response(body, cookies=[device_cookie] if device_cookie else [])


@get(
    "/api/v1/referrals/refused",
    operation_id="listRefusedReferrals",
    tags=["social", "admin"],
    guards=[requires_role(Role.ADMIN)],
    summary="Referrals a fraud rule refused, newest first, with what the rule found",
)
async def refused_referrals(platform: NamedDependency[Platform]) -> list[RefusedReferralView]:
    return await service.refused_referrals(platform)


refused_referrals_csv = csv_export.download_route(
    refused_referrals, RefusedReferralView, "refused-referrals.csv"
)


ROUTES: list[Any] = [
    follow_referral_link,
    referral_qr_code,
    referral_attribution,
    my_referrals,
    refused_referrals,
    refused_referrals_csv,
]

"""Drip programs over HTTP: the admins' program API (list with counts, pause, resume,
edit a step), the links inside marketing e-mail (`/e/c/{token}` click, `/e/o/{token}`
open pixel, `/e/u/{token}` unsubscribe: a confirmation page, and RFC 8058 one-click
POST), and the mail provider's signed bounce and complaint webhook.

The e-mail links are the platform's own pages, not API operations, so they stay out of
the OpenAPI document. Who may earn from a click, and how scanners are told apart from a
person, is decided in the service and documented there."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from litestar import Request, Response, get, head, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, PathParameter
from litestar.status_codes import HTTP_200_OK, HTTP_302_FOUND

from dracarys import csv_export
from dracarys.edge import source_ip
from dracarys.errors import NotFound
from dracarys.identity import CurrentUser, Role, requires_role
from dracarys.notifications.programs import service
from dracarys.notifications.programs.models import (
    ProgramView,
    ProviderEventResult,
    StepInput,
)
from dracarys.platform import Platform
from dracarys.web.render import render_page

ADMIN = [requires_role(Role.ADMIN)]
_NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
# A transparent 1x1 GIF.
_PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


# ---- staff -----------------------------------------------------------------------------


@get(
    "/api/v1/staff/drips",
    operation_id="listDripPrograms",
    guards=ADMIN,
    tags=["notifications"],
    summary="Drip programs with their steps, enrolment counts and sent/opened/clicked per step",
)
async def list_programs(platform: NamedDependency[Platform]) -> list[ProgramView]:
    return await service.programs_overview(platform)


list_programs_csv = csv_export.download_route(list_programs, ProgramView, "drip-programs.csv")


@post(
    "/api/v1/staff/drips/{code:str}/pause",
    operation_id="pauseDripProgram",
    guards=ADMIN,
    tags=["notifications"],
    status_code=HTTP_200_OK,
    summary="Stop sending a program's steps (members are still enrolled)",
)
async def pause_program(
    code: FromPath[str],
    platform: NamedDependency[Platform],
    current_user: NamedDependency[CurrentUser],
    request: Request[Any, Any, Any],
) -> ProgramView:
    return await service.set_program_paused(
        platform, current_user, code, paused=True, source_ip=source_ip(request)
    )


@post(
    "/api/v1/staff/drips/{code:str}/resume",
    operation_id="resumeDripProgram",
    guards=ADMIN,
    tags=["notifications"],
    status_code=HTTP_200_OK,
    summary="Send a paused program's steps again (those due go out on the next tick)",
)
async def resume_program(
    code: FromPath[str],
    platform: NamedDependency[Platform],
    current_user: NamedDependency[CurrentUser],
    request: Request[Any, Any, Any],
) -> ProgramView:
    return await service.set_program_paused(
        platform, current_user, code, paused=False, source_ip=source_ip(request)
    )


@put(
    "/api/v1/staff/drips/{code:str}/steps/{position:int}",
    operation_id="editDripStep",
    guards=ADMIN,
    tags=["notifications"],
    summary="A step's delay (minutes after the previous step) and its English and Swahili texts",
)
async def edit_step(
    code: FromPath[str],
    position: Annotated[int, PathParameter(ge=1, le=1000)],
    data: JSONBody[StepInput],
    platform: NamedDependency[Platform],
    current_user: NamedDependency[CurrentUser],
    request: Request[Any, Any, Any],
) -> ProgramView:
    return await service.edit_step(platform, current_user, code, position, data, source_ip(request))


# ---- the mail provider -------------------------------------------------------------------


@post(
    "/api/v1/webhooks/mail",
    operation_id="mailProviderWebhook",
    tags=["webhooks"],
    status_code=HTTP_200_OK,
    summary="The mail provider's bounces and complaints (signed: X-Mail-Signature)",
)
async def provider_webhook(
    request: Request[Any, Any, Any], platform: NamedDependency[Platform]
) -> ProviderEventResult:
    body = await request.body()
    return await service.apply_provider_event(
        platform, request.headers.get(service.SIGNATURE_HEADER), body
    )


# ---- links in e-mail ---------------------------------------------------------------------


def _redirect(path: str) -> Response[None]:
    return Response(
        content=None, status_code=HTTP_302_FOUND, headers={"Location": path, **_NO_STORE}
    )


@head("/e/c/{token:str}", operation_id="probeEmailLink", include_in_schema=False)
async def probe_click(token: FromPath[str], platform: NamedDependency[Platform]) -> Response[None]:
    """Link checkers send HEAD: they learn where the link goes and nothing is counted."""
    target = await service.follow_click(platform, token, None, None, probe=True)
    return _redirect(target)


@get("/e/c/{token:str}", operation_id="followEmailLink", include_in_schema=False)
async def follow_click(
    token: FromPath[str], request: Request[Any, Any, Any], platform: NamedDependency[Platform]
) -> Response[Any]:
    """A known scanner is redirected and counts nothing. A person's click is counted and
    lands on a page that, in a signed-in browser, confirms the click for the member's
    points (or asks them to sign in first) and goes on to the e-mail's page."""
    user_agent = request.headers.get("user-agent")
    target = await service.follow_click(
        platform, token, user_agent, source_ip(request), probe=False
    )
    if service.is_scanner(user_agent):
        return _redirect(target)
    response = render_page(
        "email_click.html", page="email_click", title="Opening Dracarys", target=target, token=token
    )
    response.headers.update(_NO_STORE)
    return response


@head("/e/o/{token:str}", operation_id="probeEmailPixel", include_in_schema=False)
async def probe_pixel(token: FromPath[str]) -> Response[None]:
    return Response(content=None, media_type="image/gif", headers=_NO_STORE)


@get("/e/o/{token:str}", operation_id="emailOpenPixel", include_in_schema=False)
async def open_pixel(token: FromPath[str], platform: NamedDependency[Platform]) -> Response[bytes]:
    await service.record_open(platform, token)
    return Response(content=_PIXEL, media_type="image/gif", headers=_NO_STORE)


@get("/e/u/{token:str}", operation_id="unsubscribePage", include_in_schema=False)
async def unsubscribe_page(
    token: FromPath[str], platform: NamedDependency[Platform]
) -> Response[str]:
    """The unsubscribe link's confirmation page: a button, so that a scanner fetching the
    link unsubscribes nobody."""
    try:
        service.check_unsubscribe_token(platform.settings, token)
    except NotFound:
        return render_page(
            "unsubscribe.html",
            page="unsubscribe",
            title="Unsubscribe",
            state="invalid",
            token=token,
            status_code=404,
        )
    return render_page(
        "unsubscribe.html", page="unsubscribe", title="Unsubscribe", state="ask", token=token
    )


@post(
    "/e/u/{token:str}",
    operation_id="unsubscribeOneClick",
    include_in_schema=False,
    status_code=HTTP_200_OK,
)
async def unsubscribe(token: FromPath[str], platform: NamedDependency[Platform]) -> Response[str]:
    """RFC 8058 one-click (the mail client posts `List-Unsubscribe=One-Click`) and the
    confirmation page's button: both suppress the address; no sign-in needed."""
    try:
        await service.unsubscribe(platform, token)
    except NotFound:
        return render_page(
            "unsubscribe.html",
            page="unsubscribe",
            title="Unsubscribe",
            state="invalid",
            token=token,
            status_code=404,
        )
    return render_page(
        "unsubscribe.html", page="unsubscribe", title="Unsubscribed", state="done", token=token
    )


ROUTES: list[Any] = [
    list_programs,
    list_programs_csv,
    pause_program,
    resume_program,
    edit_step,
    provider_webhook,
    probe_click,
    follow_click,
    probe_pixel,
    open_pixel,
    unsubscribe_page,
    unsubscribe,
]

"""The browser dashboard: server-rendered page shells (Jinja2) and the static assets they
load, served by the same app as the API. No build step: the pages' scripts are small
hand-written ES modules and the one library they use (TradingView Lightweight Charts) is
vendored under `static/vendor/`.

A page carries no user data: the browser holds the access and refresh tokens and every
number on screen comes from an API response or a stream frame, so the HTML is the same for
every visitor and can be cached."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from litestar import Response, get
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from dracarys.identity import Specialty

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
    autoescape=jinja2.select_autoescape(default=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

# Scripts are same-origin modules; the stream is a same-origin WebSocket. Inline styles are
# allowed because the chart library sizes its canvases through `style` attributes.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)


@dataclass(frozen=True, slots=True)
class NavLink:
    path: str
    label: str
    page: str


NAV = (
    NavLink("/dashboard", "Paper trading", "dashboard"),
    NavLink("/signals", "Signal feed", "signals"),
    NavLink("/mentor", "Mentor console", "mentor"),
    NavLink("/backtests", "Backtests", "backtests"),
    NavLink("/points", "Points", "points"),
    NavLink("/mentors", "Mentors", "mentors"),
)


def render_page(
    template: str, *, page: str, title: str, script: str | None = None, **context: Any
) -> Response[str]:
    """`page` marks the current navigation entry; `script` (default: the page) names the
    module under static/js/pages/ that drives it."""
    html = _templates.get_template(template).render(
        page=page, title=title, nav=NAV, script=script or page, **context
    )
    return Response(
        content=html,
        media_type="text/html",
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
    )


@get("/", operation_id="webHome", include_in_schema=False, sync_to_thread=False)
def home() -> Redirect:
    return Redirect(path="/dashboard")


@get("/signin", operation_id="webSignIn", include_in_schema=False, sync_to_thread=False)
def sign_in_page() -> Response[str]:
    return render_page("signin.html", page="signin", title="Sign in")


@get("/signup", operation_id="webSignUp", include_in_schema=False, sync_to_thread=False)
def sign_up_page() -> Response[str]:
    return render_page("signup.html", page="signup", title="Create an account")


@get("/dashboard", operation_id="webDashboard", include_in_schema=False, sync_to_thread=False)
def dashboard_page() -> Response[str]:
    return render_page("dashboard.html", page="dashboard", title="Paper trading")


@get("/signals", operation_id="webSignalFeed", include_in_schema=False, sync_to_thread=False)
def signal_feed_page() -> Response[str]:
    return render_page("signals.html", page="signals", title="Signal feed")


@get("/mentor", operation_id="webMentorConsole", include_in_schema=False, sync_to_thread=False)
def mentor_console_page() -> Response[str]:
    return render_page("mentor.html", page="mentor", title="Mentor console")


@get("/backtests", operation_id="webBacktests", include_in_schema=False, sync_to_thread=False)
def backtests_page() -> Response[str]:
    return render_page("backtests.html", page="backtests", title="Backtests")


@get(
    "/backtests/{backtest_id:uuid}",
    operation_id="webBacktestReport",
    include_in_schema=False,
    sync_to_thread=False,
)
def backtest_report_page(backtest_id: FromPath[uuid.UUID]) -> Response[str]:
    return render_page(
        "backtest_report.html",
        page="backtests",
        title="Backtest report",
        script="backtest_report",
        backtest_id=str(backtest_id),
    )


@get("/points", operation_id="webPoints", include_in_schema=False, sync_to_thread=False)
def points_page() -> Response[str]:
    return render_page("points.html", page="points", title="Points")


@get("/mentors", operation_id="webMentors", include_in_schema=False, sync_to_thread=False)
def mentors_page() -> Response[str]:
    return render_page(
        "mentors.html", page="mentors", title="Mentors", specialties=[s.value for s in Specialty]
    )


static_files = create_static_files_router(
    path="/static",
    directories=[STATIC_DIR],
    name="web_static",
    # Short: assets are not fingerprinted, and a deploy must reach browsers quickly.
    cache_control=CacheControlHeader(max_age=300),
)

WEB_ROUTES: list[Any] = [
    home,
    sign_in_page,
    sign_up_page,
    dashboard_page,
    signal_feed_page,
    mentor_console_page,
    backtests_page,
    backtest_report_page,
    points_page,
    mentors_page,
    static_files,
]

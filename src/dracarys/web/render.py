"""How a page is rendered: the Jinja2 environment, the security headers every page carries,
the navigation (each link names the roles that may use it), and the HTML error pages that
browser routes answer with instead of problem JSON."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from litestar import Request, Response
from litestar.types import ExceptionHandlersMap

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
    "img-src 'self' data: blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

MEMBERS = ("mentee", "mentor")
STAFF = ("admin", "reviewer")
EVERYONE = (*MEMBERS, *STAFF, "observer")


@dataclass(frozen=True, slots=True)
class NavLink:
    path: str
    label: str
    page: str
    # Pages are the same HTML for every visitor (the browser holds the session), so the
    # links start hidden and the signed-in shell shows the ones the caller's role may use.
    roles: tuple[str, ...]
    # The menu the link sits in (None: a link of its own in the bar).
    group: str | None = None


@dataclass(frozen=True, slots=True)
class NavEntry:
    """One item of the bar: a link of its own, or a menu of links under `label`, shown to
    the roles any of its links is for."""

    label: str | None
    links: tuple[NavLink, ...]

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(role for link in self.links for role in link.roles))

    def holds(self, page: str) -> bool:
        return any(link.page == page for link in self.links)


# Grouped by what a person comes to do, so a mentor's bar is six items, not twenty links.
NAV = (
    NavLink("/staff", "Staff home", "staff", STAFF, "Staff"),
    NavLink("/staff/kyc", "KYC reviews", "staff_kyc", STAFF, "Staff"),
    NavLink("/staff/users", "Members", "staff_users", STAFF, "Staff"),
    NavLink("/staff/mentors", "Mentor vetting", "staff_mentors", STAFF, "Staff"),
    NavLink("/staff/social-proofs", "Follow proofs", "social_proofs", STAFF, "Staff"),
    NavLink("/staff/promo-codes", "Promo codes", "promo_codes", ("admin",), "Staff"),
    NavLink("/staff/affiliates", "Affiliates", "staff_affiliates", ("admin",), "Staff"),
    NavLink(
        "/staff/templates", "Notification texts", "notification_templates", ("admin",), "Staff"
    ),
    NavLink("/staff/analytics", "Analytics", "staff_analytics", ("admin",), "Staff"),
    NavLink("/staff/chat-reports", "Chat reports", "chat_reports", STAFF, "Staff"),
    NavLink("/staff/alerts", "Alerts", "staff_alerts", STAFF, "Staff"),
    NavLink("/staff/aml", "AML alerts and cases", "aml", STAFF, "Staff"),
    NavLink("/staff/aml/rules", "AML rules", "aml_rules", STAFF, "Staff"),
    NavLink("/staff/drips", "Drip e-mails", "staff_drips", ("admin",), "Staff"),
    NavLink("/community/moderation", "Community queue", "community_moderation", STAFF, "Staff"),
    NavLink("/staff/payouts", "Payouts", "staff_payouts", ("admin",), "Staff"),
    NavLink("/staff/disputes", "Disputes", "staff_disputes", ("admin",), "Staff"),
    NavLink("/staff/chargebacks", "Chargebacks", "staff_chargebacks", ("admin",), "Staff"),
    NavLink("/staff/points", "Points review", "staff_points", STAFF, "Staff"),
    NavLink("/staff/merch", "Merch orders", "staff_merch", ("admin",), "Staff"),
    NavLink("/onboarding", "Get started", "onboarding", MEMBERS, "Learn"),
    NavLink("/courses", "Courses", "courses", MEMBERS, "Learn"),
    NavLink("/mentors", "Mentors", "mentors", MEMBERS, "Learn"),
    NavLink("/sessions", "My sessions", "sessions", MEMBERS, "Learn"),
    NavLink("/community", "Community", "community", MEMBERS, "Learn"),
    NavLink("/dashboard", "Paper trading", "dashboard", (*MEMBERS, "observer"), "Trade"),
    NavLink("/signals", "Signal feed", "signals", MEMBERS, "Trade"),
    NavLink("/backtests", "Backtests", "backtests", (*MEMBERS, "observer"), "Trade"),
    NavLink("/market-data", "Market data", "market_data", (*MEMBERS, "observer"), "Trade"),
    NavLink("/broker", "Your broker", "broker", MEMBERS, "Trade"),
    NavLink("/mentor", "Mentor console", "mentor", ("mentor",), "Teach"),
    NavLink("/mentor/sessions", "Teaching sessions", "mentor_sessions", ("mentor",), "Teach"),
    NavLink("/mentor/alerts", "TradingView alerts", "mentor_alerts", ("mentor",), "Teach"),
    NavLink("/teach", "Course builder", "teach", ("mentor",), "Teach"),
    NavLink("/mentor/analytics", "Your numbers", "mentor_analytics", ("mentor",), "Teach"),
    NavLink("/points", "Points", "points", MEMBERS, "Rewards"),
    NavLink("/shares", "My shares", "shares", MEMBERS, "Rewards"),
    NavLink("/social", "Follow us", "social", MEMBERS, "Rewards"),
    NavLink("/referrals", "Invite friends", "referrals", MEMBERS, "Rewards"),
    NavLink("/affiliate", "Affiliate", "affiliate", MEMBERS, "Rewards"),
    NavLink("/chat", "Messages", "chat", MEMBERS),
    # A link of its own in the bar, for every role: the signed-in shell puts the unread
    # count on it (ui.js) and raises it live.
    NavLink("/notifications", "Inbox", "notifications", EVERYONE),
    NavLink("/wallet", "Wallet", "wallet", MEMBERS),
    NavLink("/account", "Account", "account", EVERYONE),
)


def nav_menu(links: tuple[NavLink, ...]) -> tuple[NavEntry, ...]:
    """The bar: each group once, where its first link stands, holding its links in order."""
    entries: list[NavEntry] = []
    for link in links:
        if link.group is None:
            entries.append(NavEntry(label=None, links=(link,)))
            continue
        at = next((i for i, e in enumerate(entries) if e.label == link.group), None)
        if at is None:
            entries.append(NavEntry(label=link.group, links=(link,)))
        else:
            entries[at] = NavEntry(label=link.group, links=(*entries[at].links, link))
    return tuple(entries)


NAV_MENU = nav_menu(NAV)


def render_page(
    template: str,
    *,
    page: str,
    title: str,
    script: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> Response[str]:
    """`page` marks the current navigation entry; `script` (default: the page) names the
    module under static/js/pages/ that drives it."""
    html = _templates.get_template(template).render(
        page=page, title=title, nav=NAV, nav_menu=NAV_MENU, script=script or page, **context
    )
    return Response(
        content=html, media_type="text/html", status_code=status_code, headers=SECURITY_HEADERS
    )


ERROR_PAGES = {
    403: ("Not allowed", "Your account may not open this page."),
    404: ("Page not found", "There is no page at this address."),
    500: (
        "Something went wrong",
        "Something went wrong on our side. Try again in a moment; if it keeps happening, "
        "tell us the request id below.",
    ),
}


def render_error_page(status_code: int, request_id: str | None = None) -> Response[str]:
    """The page a browser gets when a browser route fails (API routes keep problem JSON)."""
    shown = status_code if status_code in ERROR_PAGES else (500 if status_code >= 500 else 404)
    title, explanation = ERROR_PAGES[shown]
    return render_page(
        "error.html",
        page="error",
        title=title,
        script="error",
        status_code=status_code,
        explanation=explanation,
        request_id=request_id or "",
        shown_status=shown,
    )


# Paths a program calls: they keep RFC 9457 problem JSON whatever the failure.
MACHINE_PREFIXES = ("/api/", "/webhooks/", "/schema", "/metrics", "/health", "/ready", "/static/")


def wants_page(request: Request[Any, Any, Any]) -> bool:
    """A browser navigating to a page (it asks for HTML), not a program calling a path."""
    return (
        request.method in ("GET", "HEAD")
        and not request.url.path.startswith(MACHINE_PREFIXES)
        and "text/html" in request.headers.get("accept", "")
    )


def with_error_pages(handlers: ExceptionHandlersMap) -> ExceptionHandlersMap:
    """Each handler as before, except that a browser asking for a page gets an HTML error
    page with the same status instead of problem JSON (API paths always get JSON)."""

    def wrap(handler: Any) -> Any:
        def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
            response: Response[Any] = handler(request, exc)
            if wants_page(request):
                request_id = request.scope.get("state", {}).get("request_id")
                return render_error_page(response.status_code or 500, request_id)
            return response

        return handle

    return {kind: wrap(handler) for kind, handler in handlers.items()}

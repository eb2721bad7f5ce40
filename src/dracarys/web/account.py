"""The account pages' routes (see pages.py for how pages are served): the account and its
settings (profile, e-mail and phone, two-factor, signed-in devices), the page a mailed
verification link opens, forgotten and reset passwords, and the page a sign-in provider
sends the browser back to. Choice lists (time zones, countries, profile options) are the
same for everyone, so they are rendered into the page; the values come from the API."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any

import pycountry
from litestar import Response, get
from litestar.params import FromPath

from dracarys.identity import ExperienceLevel, SocialPlatform, Specialty, TradingStyle
from dracarys.web.render import render_page

# The areas of the IANA zones people live in; the legacy aliases (US/…, Etc/…) are left
# out of the list (the API still accepts them, and the page shows one already set).
_ZONE_AREAS = (
    "Africa",
    "America",
    "Antarctica",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)
_SOCIAL_NAMES = {SocialPlatform.X: "X (Twitter)", SocialPlatform.YOUTUBE: "YouTube"}


@cache
def time_zones_by_area() -> list[tuple[str, list[str]]]:
    zones = zoneinfo.available_timezones()
    return [(area, sorted(z for z in zones if z.startswith(f"{area}/"))) for area in _ZONE_AREAS]


@cache
def countries() -> list[tuple[str, str]]:
    """(ISO 3166-1 alpha-2 code, name), by name."""
    return sorted(
        ((c.alpha_2, getattr(c, "common_name", c.name)) for c in pycountry.countries),
        key=lambda country: country[1],
    )


def _label(value: str) -> str:
    return value.replace("_", " ").capitalize()


@get("/account", operation_id="webAccount", include_in_schema=False, sync_to_thread=False)
def account_page() -> Response[str]:
    return render_page(
        "account.html",
        page="account",
        title="Account",
        time_zones=time_zones_by_area(),
        countries=countries(),
        specialties=[(s.value, _label(s.value)) for s in Specialty],
        experience_levels=[(e.value, _label(e.value)) for e in ExperienceLevel],
        trading_styles=[(t.value, _label(t.value)) for t in TradingStyle],
        social_platforms=[(p.value, _SOCIAL_NAMES.get(p, _label(p.value))) for p in SocialPlatform],
    )


@get("/verify-email", operation_id="webVerifyEmail", include_in_schema=False, sync_to_thread=False)
def verify_email_page() -> Response[str]:
    return render_page(
        "verify_email.html", page="verify-email", title="Confirm your e-mail", script="verify_email"
    )


@get(
    "/forgot-password",
    operation_id="webForgotPassword",
    include_in_schema=False,
    sync_to_thread=False,
)
def forgot_password_page() -> Response[str]:
    return render_page(
        "forgot_password.html",
        page="forgot-password",
        title="Forgot your password?",
        script="forgot_password",
    )


@get(
    "/reset-password",
    operation_id="webResetPassword",
    include_in_schema=False,
    sync_to_thread=False,
)
def reset_password_page() -> Response[str]:
    return render_page(
        "reset_password.html",
        page="reset-password",
        title="Choose a new password",
        script="reset_password",
    )


@get(
    "/auth/callback/{provider:str}",
    operation_id="webOidcCallback",
    include_in_schema=False,
    sync_to_thread=False,
)
def oidc_callback_page(provider: FromPath[str]) -> Response[str]:
    """Where Google or Apple send the browser back (the redirect URI identity registers);
    the script finishes the sign-in through the API."""
    return render_page(
        "account_oidc_callback.html",
        page="oidc-callback",
        title="Signing you in",
        script="account_oidc_callback",
        provider=provider,
    )


ROUTES: list[Any] = [
    account_page,
    verify_email_page,
    forgot_password_page,
    reset_password_page,
    oidc_callback_page,
]

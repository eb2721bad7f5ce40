"""The onboarding pages' routes (see pages.py for how pages are served): the preference
quiz, the programs and mentors it suggests with their reasons, and the onboarding cohort
offer. The page carries only the quiz's choices; answers and results come from the API."""

from __future__ import annotations

from typing import Any

import pycountry
from litestar import Response, get

from dracarys.identity import Specialty
from dracarys.mentorship import QUIZ_MARKETS, QUIZ_STYLES
from dracarys.web.render import render_page

# Languages offered as checkboxes (ISO 639-1), those most spoken among our members first.
QUIZ_LANGUAGES = (
    "en",
    "sw",
    "fr",
    "ar",
    "pt",
    "es",
    "am",
    "so",
    "ha",
    "yo",
    "zu",
    "de",
    "hi",
    "zh",
)
# Currencies a budget can be given in; each is an ISO 4217 code the server knows.
QUIZ_CURRENCIES = ("KES", "USD", "EUR", "GBP", "NGN", "ZAR", "UGX", "TZS", "GHS", "INR")
WEEKLY_HOURS = (1, 2, 3, 5, 8, 10, 15, 20)


def _label(value: str) -> str:
    return value.replace("_", " ").capitalize()


def _language_name(code: str) -> str:
    language = pycountry.languages.get(alpha_2=code)
    # "Swahili (macrolanguage)" reads as "Swahili".
    return str(language.name).split(" (")[0] if language is not None else code


@get("/onboarding", operation_id="webOnboarding", include_in_schema=False, sync_to_thread=False)
def onboarding_page() -> Response[str]:
    markets = [(m, _label(m)) for m in QUIZ_MARKETS]
    goals = [(s.value, _label(s.value)) for s in Specialty if s.value not in QUIZ_MARKETS]
    styles = [(s, "Not sure yet" if s == "undecided" else _label(s)) for s in QUIZ_STYLES]
    return render_page(
        "onboarding.html",
        page="onboarding",
        title="Get started",
        markets=markets,
        goals=goals,
        styles=styles,
        languages=[(code, _language_name(code)) for code in QUIZ_LANGUAGES],
        currencies=QUIZ_CURRENCIES,
        weekly_hours=WEEKLY_HOURS,
    )


ROUTES: list[Any] = [onboarding_page]

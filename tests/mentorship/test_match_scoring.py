"""Auto-match scoring, a pure function of a mentor's card and the mentee's quiz: no
database. Money in the reasons is written in the currency's own units."""

from __future__ import annotations

import uuid

import pytest

from dracarys.mentorship.discovery.models import MentorCard, QuizInput
from dracarys.mentorship.discovery.service import BUDGET_WEIGHT, score_mentor


def _card(rate_minor: int, currency: str) -> MentorCard:
    return MentorCard(
        id=uuid.uuid4(),
        name="Mentor",
        headline="",
        specialties=["options"],
        trading_style=None,
        hourly_rate_minor=rate_minor,
        currency=currency,
        rating_average=None,
        rating_count=0,
        total_sessions=0,
        reputation_score=0,
        languages=[],
        timezone=None,
    )


def _quiz(budget_minor: int, currency: str) -> QuizInput:
    return QuizInput(
        style="swing",
        experience="advanced",
        goals=[],
        budget_minor=budget_minor,
        timezone="UTC",
        currency=currency,
    )


@pytest.mark.parametrize(
    ("rate_minor", "currency", "shown"),
    [
        (300_000, "KES", "KES 3,000"),  # cents: 300,000 of them are 3,000 shillings
        (5_000, "JPY", "JPY 5,000"),  # the yen has no minor unit: 5,000 is 5,000 yen
        (12_600, "BHD", "BHD 13"),  # fils: a thousand to the dinar, rounded to whole dinars
    ],
)
def test_the_budget_reason_shows_the_rate_in_whole_units_of_its_currency(
    rate_minor: int, currency: str, shown: str
) -> None:
    _, reasons = score_mentor(_card(rate_minor, currency), _quiz(rate_minor, currency), 0)

    assert f"within your budget ({shown}/h)" in reasons


def test_a_rate_in_another_currency_earns_no_budget_points_or_reason() -> None:
    within, reasons_within = score_mentor(_card(5_000, "JPY"), _quiz(5_000, "JPY"), 0)
    elsewhere, reasons_elsewhere = score_mentor(_card(5_000, "JPY"), _quiz(5_000, "KES"), 0)

    assert within - elsewhere == BUDGET_WEIGHT
    assert not any("budget" in reason for reason in reasons_elsewhere)
    assert any("budget" in reason for reason in reasons_within)

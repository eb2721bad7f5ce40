"""The booking cancellation policy, without a database: what a cancelled or missed
session gives back to the mentee, with the settings' two numbers (the defaults: everything
back 24 hours or more ahead, half later)."""

from __future__ import annotations

import pytest

from dracarys.mentorship.policy import BPS, cancellation_refund_bps
from dracarys.settings import Settings

DEFAULTS = Settings()
FULL_HOURS = DEFAULTS.mentorship_full_refund_hours
LATE_BPS = DEFAULTS.mentorship_late_refund_bps


def refund_bps(reason: str, hours_before: float | None, **overrides: int) -> int:
    terms = {"full_refund_hours": FULL_HOURS, "late_refund_bps": LATE_BPS, **overrides}
    return cancellation_refund_bps(reason, hours_before, **terms)


@pytest.mark.parametrize(
    ("reason", "hours_before", "expected_bps"),
    [
        ("mentor_cancelled", 1, BPS),
        ("mentor_no_show", None, BPS),
        ("mentee_cancelled", 30, BPS),
        ("mentee_cancelled", FULL_HOURS, BPS),
        ("mentee_cancelled", FULL_HOURS - 0.01, BPS // 2),
        ("mentee_cancelled", 5, BPS // 2),
        ("mentee_cancelled", None, BPS // 2),
        ("mentee_no_show", None, 0),
    ],
)
def test_mentor_faults_refund_fully_mentees_early_fully_late_half_no_show_nothing(
    reason: str, hours_before: float | None, expected_bps: int
) -> None:
    assert refund_bps(reason, hours_before) == expected_bps


def test_the_settings_numbers_are_the_policy() -> None:
    assert refund_bps("mentee_cancelled", 47, full_refund_hours=48, late_refund_bps=2_500) == 2_500
    assert refund_bps("mentee_cancelled", 48, full_refund_hours=48, late_refund_bps=2_500) == BPS


def test_an_unknown_cancellation_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown cancellation reason"):
        refund_bps("changed_my_mind", None)

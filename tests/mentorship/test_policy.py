"""The booking cancellation policy, without a database: what a cancelled or missed
session gives back to the mentee."""

from __future__ import annotations

import pytest

from dracarys.mentorship.policy import (
    BPS,
    LATE_CANCELLATION_HOURS,
    cancellation_refund_bps,
)


@pytest.mark.parametrize(
    ("reason", "hours_before", "refund_bps"),
    [
        ("mentor_cancelled", 1, BPS),
        ("mentor_no_show", None, BPS),
        ("mentee_cancelled", 30, BPS),
        ("mentee_cancelled", LATE_CANCELLATION_HOURS, BPS),
        ("mentee_cancelled", LATE_CANCELLATION_HOURS - 0.01, BPS // 2),
        ("mentee_cancelled", 5, BPS // 2),
        ("mentee_cancelled", None, BPS // 2),
        ("mentee_no_show", None, 0),
    ],
)
def test_mentor_faults_refund_fully_mentees_early_fully_late_half_no_show_nothing(
    reason: str, hours_before: float | None, refund_bps: int
) -> None:
    assert cancellation_refund_bps(reason, hours_before) == refund_bps


def test_an_unknown_cancellation_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown cancellation reason"):
        cancellation_refund_bps("changed_my_mind")

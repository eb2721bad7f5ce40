"""The booking cancellation policy, pure (no database): how much of what a booking paid
into escrow goes back to the mentee when a session is cancelled or missed. The wallet
refunds what this says (`refund_escrow(fraction_bps=...)`)."""

from __future__ import annotations

BPS = 10_000

# The share of the escrowed amount refunded to the payer, by what happened.
CANCELLATION_REFUND_BPS = {
    "mentor_cancelled": BPS,
    "mentor_no_show": BPS,
    "mentee_cancelled_early": BPS,  # 24 hours or more before the start
    "mentee_cancelled_late": BPS // 2,
    "mentee_no_show": 0,
}
LATE_CANCELLATION_HOURS = 24


def cancellation_refund_bps(reason: str, hours_before_start: float | None = None) -> int:
    """`mentee_cancelled` is early or late by `hours_before_start`; an unknown reason is a
    `ValueError`."""
    if reason == "mentee_cancelled":
        early = hours_before_start is not None and hours_before_start >= LATE_CANCELLATION_HOURS
        reason = "mentee_cancelled_early" if early else "mentee_cancelled_late"
    if reason not in CANCELLATION_REFUND_BPS:
        raise ValueError(f"unknown cancellation reason {reason!r}")
    return CANCELLATION_REFUND_BPS[reason]

"""The booking cancellation policy, pure (no database): how much of what a booking paid
into escrow goes back to the mentee when a session is cancelled or missed. Its two numbers
are settings (`mentorship_full_refund_hours`, `mentorship_late_refund_bps`); the bookings
service quotes and refunds what this says, and the wallet refunds that
(`refund_escrow(fraction_bps=...)`)."""

from __future__ import annotations

BPS = 10_000

# What happened, for the parts of the policy that do not depend on timing.
FULL_REFUND_REASONS = frozenset({"mentor_cancelled", "mentor_no_show"})
NO_REFUND_REASONS = frozenset({"mentee_no_show"})


def cancellation_refund_bps(
    reason: str,
    hours_before_start: float | None,
    *,
    full_refund_hours: int,
    late_refund_bps: int,
) -> int:
    """The share refunded: everything when the mentor cancels or does not show, nothing
    when the mentee does not show; a mentee who cancels `full_refund_hours` or more ahead
    gets everything, later (or with no start known) `late_refund_bps`. An unknown reason
    is a `ValueError`."""
    if reason in FULL_REFUND_REASONS:
        return BPS
    if reason in NO_REFUND_REASONS:
        return 0
    if reason == "mentee_cancelled":
        early = hours_before_start is not None and hours_before_start >= full_refund_hours
        return BPS if early else late_refund_bps
    raise ValueError(f"unknown cancellation reason {reason!r}")

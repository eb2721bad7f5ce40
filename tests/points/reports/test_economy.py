"""The economy metrics of the daily report, from ledger flows and balances alone (no
database): issued, redeemed, expired and clawed back per day, and points per user."""

from __future__ import annotations

from datetime import date

from dracarys.points.reports.economy import economy_metrics


def test_flows_are_summed_per_day_by_what_they_did() -> None:
    flows = [
        {"day": date(2026, 1, 5), "category": "learning", "credited": 300, "debited": None},
        {"day": date(2026, 1, 5), "category": "social", "credited": 150, "debited": None},
        {"day": date(2026, 1, 5), "category": "redemption", "credited": None, "debited": 100},
        {"day": date(2026, 1, 4), "category": "expiry", "credited": None, "debited": 40},
        {"day": date(2026, 1, 4), "category": "clawback", "credited": None, "debited": 25},
        {"day": date(2026, 1, 4), "category": "adjustment", "credited": 10, "debited": 5},
    ]
    metrics = economy_metrics([{**f, "users": 1} for f in flows], [])
    assert metrics["per_day"] == [
        {"day": "2026-01-04", "issued": 10, "redeemed": 0, "expired": 40, "clawed_back": 25},
        {"day": "2026-01-05", "issued": 450, "redeemed": 100, "expired": 0, "clawed_back": 0},
    ]


def test_points_per_user_are_summarised_and_an_empty_economy_is_zero_users() -> None:
    balances = [{"balance": b, "pending": p} for b, p in ((0, 0), (100, 50), (200, 0), (500, 25))]
    stats = economy_metrics([], balances)["points_per_user"]
    assert stats == {
        "users_with_points": 4,
        "total": 800,
        "mean": 200.0,
        "median": 150.0,
        "p99": 500.0,
        "pending_total": 75,
    }
    assert economy_metrics([], []) == {"per_day": [], "points_per_user": {"users_with_points": 0}}

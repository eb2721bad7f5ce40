"""A mentor's own numbers, as their analytics page shows them."""

from __future__ import annotations

from datetime import date

from dracarys.analytics.kpis.models import ResponseTime
from dracarys.wire import Schema


class Earning(Schema):
    """What the mentor earned (their share of released escrow) in one currency."""

    currency: str
    amount_minor: int
    amount: str


class WeeklyEarning(Schema):
    week: date
    currency: str
    amount_minor: int


class MentorNumbers(Schema):
    sessions_paid: int
    sessions_completed: int
    earnings: list[Earning]
    weekly_earnings: list[WeeklyEarning]
    subscribers_active: int
    subscribers_ever: int
    ratings: int
    average_rating: float | None
    # How full the mentor's opened slots got (seats booked over seats offered), and how
    # fast they answer each kind of request.
    seats_offered: int
    seats_booked: int
    fill_rate: float | None
    response_times: list[ResponseTime]

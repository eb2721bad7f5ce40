"""The KPI report of blueprint §10 as the staff analytics page and API show it."""

from __future__ import annotations

from datetime import date, datetime

from dracarys.wire import Schema


class Activation(Schema):
    """Members who signed up, and how many of them paid for a session since."""

    signed_up: int
    activated: int
    rate: float | None


class CourseCompletion(Schema):
    """Enrolments in a program (a member and a program, once however many cohorts), and
    how many of them earned the program's certificate."""

    enrolments: int
    completions: int
    rate: float | None


class RetentionCohort(Schema):
    """Members who signed up in the week starting `week`; `d7_retained` of the
    `d7_eligible` (those whose seventh day has come) came back on day 7 or later, and the
    same for day 30."""

    week: date
    signed_up: int
    d7_eligible: int
    d7_retained: int
    d7_rate: float | None
    d30_eligible: int
    d30_retained: int
    d30_rate: float | None


class CohortRevenue(Schema):
    """Lifetime value of a weekly sign-up cohort in one currency: what its members paid
    (captured payments, major units as text) over the cohort's size."""

    week: date
    currency: str
    members: int
    paid_minor: int
    ltv_minor: int
    ltv: str


class CohortCost(Schema):
    """What a weekly sign-up cohort paid and cost to acquire in one currency: affiliate
    commissions accrued on its members' payments and promotion codes' discounts (minor
    units); LTV and CAC per member, and how many times its value covers its cost."""

    week: date
    currency: str
    members: int
    paid_minor: int
    ltv_minor: int
    commission_minor: int
    promo_minor: int
    cac_minor: int
    ltv_to_cac: float | None


class ResponseTime(Schema):
    """How fast mentors answer one kind of request (`message_request`: a stranger's first
    message accepted or declined; `message`: a mentee's messages answered), in seconds."""

    kind: str
    answers: int
    median_seconds: float
    p95_seconds: int


class SessionFill(Schema):
    """Slots opened on mentors' calendars and how full they got: `fill_rate` is seats
    booked over seats offered, `utilisation` booked minutes over offered seat minutes."""

    slots_offered: int
    seats_offered: int
    seats_booked: int
    fill_rate: float | None
    minutes_offered: int
    minutes_booked: int
    utilisation: float | None


class PointsEconomy(Schema):
    issued: int
    voided: int
    redeemed: int
    members_awarded: int
    average_per_member: float | None
    void_rate: float | None
    # Points taken back (negative awards other than expiry, clawbacks) or refused by a
    # freeze of the account's earning; the fraud rate is them over points issued.
    reversed: int = 0
    fraud_rate: float | None = None


class Payouts(Schema):
    """Payouts that reached their end: paid, failed, or stopped for review; and how long
    a paid one took from the withdrawal request (seconds)."""

    completed: int
    failed: int
    needs_review: int
    accuracy: float | None
    timed: int = 0
    latency_median_seconds: float | None = None
    latency_p95_seconds: int | None = None


class Satisfaction(Schema):
    """Post-session ratings (1–5), and the NPS question asked with them: promoters answered
    9 or 10, detractors 0 to 6; `nps` is the percent of promoters less that of detractors
    (-100 to 100)."""

    ratings: int
    average_rating: float | None
    nps_answers: int
    promoters: int
    detractors: int
    nps: float | None


class KpiReport(Schema):
    as_of: datetime
    activation: Activation
    course_completion: CourseCompletion
    retention: list[RetentionCohort]
    ltv: list[CohortRevenue]
    acquisition: list[CohortCost]
    sessions: SessionFill
    response_times: list[ResponseTime]
    points: PointsEconomy
    payouts: Payouts
    satisfaction: Satisfaction

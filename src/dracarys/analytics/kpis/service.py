"""The KPI report: the stream loaded once as a polars frame, every figure computed over it
(see `compute` for the definitions)."""

from __future__ import annotations

import asyncio
from datetime import datetime

import polars as pl

from dracarys.analytics.events.service import current_fact_frame
from dracarys.analytics.kpis import compute
from dracarys.analytics.kpis.models import (
    Activation,
    CohortCost,
    CohortRevenue,
    CourseCompletion,
    KpiReport,
    Payouts,
    PointsEconomy,
    ResponseTime,
    RetentionCohort,
    Satisfaction,
    SessionFill,
)
from dracarys.money import format_money
from dracarys.platform import Platform


async def kpi_report(platform: Platform) -> KpiReport:
    as_of = platform.clock.now()
    facts = await current_fact_frame(platform, as_of)
    return await asyncio.to_thread(report_of, facts, as_of)


def report_of(facts: pl.DataFrame, as_of: datetime) -> KpiReport:
    """Every KPI over a fact frame (see `fact_frame`; in any order), as of `as_of`."""
    signed_up, activated = compute.activation(facts)
    enrolments, completions = compute.course_completion(facts)
    points = compute.points_economy(facts)
    payouts = compute.topic_counts(
        facts, [compute.PAYOUT_COMPLETED, compute.PAYOUT_FAILED, compute.PAYOUT_NEEDS_REVIEW]
    )
    settled = sum(payouts.values())
    rated, average_rating = compute.ratings(facts)
    fill = compute.session_fill(facts)
    issued, reversed_ = compute.points_fraud(facts)
    timed, latency_median, latency_p95 = compute.payout_latency(facts)
    answers, promoters, detractors = compute.nps(facts)
    return KpiReport(
        as_of=as_of,
        activation=Activation(
            signed_up=signed_up, activated=activated, rate=compute.ratio(activated, signed_up)
        ),
        course_completion=CourseCompletion(
            enrolments=enrolments,
            completions=completions,
            rate=compute.ratio(completions, enrolments),
        ),
        retention=[
            RetentionCohort(
                **row,
                d7_rate=compute.ratio(row["d7_retained"], row["d7_eligible"]),
                d30_rate=compute.ratio(row["d30_retained"], row["d30_eligible"]),
            )
            for row in compute.retention(facts, as_of).iter_rows(named=True)
        ],
        ltv=[
            CohortRevenue(**row, ltv=format_money(row["ltv_minor"], row["currency"]))
            for row in compute.cohort_revenue(facts).iter_rows(named=True)
        ],
        acquisition=[
            CohortCost(
                **row,
                ltv_to_cac=row["ltv_minor"] / row["cac_minor"] if row["cac_minor"] else None,
            )
            for row in compute.cohort_costs(facts).iter_rows(named=True)
        ],
        sessions=SessionFill(
            **fill,
            fill_rate=compute.ratio(fill["seats_booked"], fill["seats_offered"]),
            utilisation=compute.ratio(fill["minutes_booked"], fill["minutes_offered"]),
        ),
        response_times=[
            ResponseTime(**row) for row in compute.response_times(facts).iter_rows(named=True)
        ],
        points=PointsEconomy(
            **points,
            reversed=reversed_,
            fraud_rate=compute.ratio(reversed_, issued),
            average_per_member=(
                points["issued"] / points["members_awarded"] if points["members_awarded"] else None
            ),
            void_rate=compute.ratio(points["voided"], points["issued"]),
        ),
        payouts=Payouts(
            completed=payouts[compute.PAYOUT_COMPLETED],
            failed=payouts[compute.PAYOUT_FAILED],
            needs_review=payouts[compute.PAYOUT_NEEDS_REVIEW],
            accuracy=compute.ratio(payouts[compute.PAYOUT_COMPLETED], settled),
            timed=timed,
            latency_median_seconds=latency_median,
            latency_p95_seconds=latency_p95,
        ),
        satisfaction=Satisfaction(
            ratings=rated,
            average_rating=average_rating,
            nps_answers=answers,
            promoters=promoters,
            detractors=detractors,
            nps=100 * (promoters - detractors) / answers if answers else None,
        ),
    )

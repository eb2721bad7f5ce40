"""The seeded population generator: the same seed makes the same events, and what it
writes with COPY is a stream the KPIs read (every producer's topic present, numbers
inside their bounds)."""

from __future__ import annotations

from datetime import timedelta

from dracarys.analytics.events.population import Population, population_frame, write_population
from dracarys.analytics.events.service import ANALYTICS_TOPICS
from dracarys.analytics.kpis.service import kpi_report
from dracarys.clock import ManualClock
from dracarys.platform import Platform

SMALL = Population(users=400, mentors=10, events=20_000, weeks=8, seed=7)


def test_the_same_seed_makes_the_same_population_and_another_seed_other_ids() -> None:
    first, again = population_frame(SMALL), population_frame(SMALL)
    other = population_frame(Population(users=400, mentors=10, events=20_000, weeks=8, seed=8))

    assert first.equals(again)
    assert first["event_id"].n_unique() == first.height
    assert set(first["event_id"]).isdisjoint(set(other["event_id"]))
    assert set(first["topic"]) <= ANALYTICS_TOPICS
    # Every member signs up once, before anything else of theirs.
    signups = first.filter(first["topic"] == "user.signed_up")
    assert signups.height == SMALL.users == signups["user_id"].n_unique()


async def test_a_written_population_gives_every_kpi(platform: Platform, clock: ManualClock) -> None:
    async with platform.pool.acquire() as conn:
        written = await write_population(conn, SMALL, chunk_rows=7_000)
    clock.set(SMALL.end + timedelta(days=1))

    report = await kpi_report(platform)

    assert await platform.pool.fetchval("SELECT count(*) FROM analytics_events") == written
    assert report.activation.signed_up == SMALL.users
    assert 0 < report.activation.activated < SMALL.users
    assert len(report.retention) in (SMALL.weeks, SMALL.weeks + 1)
    assert sum(r.commission_minor + r.promo_minor for r in report.acquisition) > 0
    assert report.sessions.seats_booked > 0
    assert report.sessions.minutes_booked > 0
    assert report.points.fraud_rate is not None
    assert 0 < report.points.fraud_rate < 0.1
    assert report.payouts.timed == report.payouts.completed > report.payouts.failed > 0
    assert {r.kind for r in report.response_times} == {"message", "message_request"}
    assert report.satisfaction.nps is not None

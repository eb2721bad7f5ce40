"""The KPIs of blueprint §10 as polars expressions over the analytics event stream (one
frame of `EventFact` columns: user_id, topic, occurred_at, amount, currency, subject,
rating). Pure: no I/O, so each definition is checked on a hand-made frame.

Definitions, where the blueprint names a KPI without defining it:
- activation: of the members who signed up, those with a paid session (`session.paid` as
  mentee) at or after their sign-up;
- course completion: distinct (member, program) enrolments (`cohort.joined`) with a
  `certificate.granted` for the same member and program;
- D7/D30 retention by weekly sign-up cohort (weeks start on Monday, UTC): a member is
  retained on day N if any event of theirs other than the sign-up happened N days or more
  after signing up; only members whose day N has come (`as_of`) are counted;
- LTV by cohort: captured payments (`payment.captured`) of the cohort's members per
  currency, over the cohort's size, in whole minor units rounded down;
- points: awards with a positive delta are issued, negative ones voided, redemptions are
  `points.redeemed`; void rate = voided / issued;
- CAC by cohort: affiliate commissions accrued on the cohort's members' payments
  (`affiliate.commission_accrued`, counted for the member brought) plus what promotion
  codes the platform gave away took off their purchases (`promo.redeemed` funded by
  `promo`; codes bought with points are not a cost), per currency, over the cohort's size;
- session fill rate: of the seats offered (`slot.offered`, a slot being a session opened
  on a mentor's calendar), those booked (`session.booked` naming the slot); utilisation:
  booked minutes over offered seat minutes (a slot's seats times its minutes);
- points fraud rate: points reversed over points issued; reversed are awards with a
  negative delta other than expiry, points clawed back (`points.clawed_back`) and the
  awards a freeze of the account's earning refused (`points.frozen`);
- mentor response time per kind of request (`mentor.responded`: a message request
  accepted or declined, a mentee's messages answered), median and 95th percentile
  seconds as for payouts;
- payout accuracy: completed / (completed + failed + stopped for review); latency: from
  the withdrawal request to the payout's completion, median and 95th percentile (the
  smallest latency at or above the 95 % position, in whole seconds);
- NPS: of the ratings that answered "how likely are you to recommend Dracarys" (0–10),
  the percent of promoters (9–10) less the percent of detractors (0–6)."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

SIGNED_UP = "user.signed_up"
SESSION_PAID = "session.paid"
COHORT_JOINED = "cohort.joined"
CERTIFICATE_GRANTED = "certificate.granted"
PAYMENT_CAPTURED = "payment.captured"
POINTS_AWARDED = "points.awarded"
POINTS_REDEEMED = "points.redeemed"
POINTS_CLAWED_BACK = "points.clawed_back"
POINTS_FROZEN = "points.frozen"
PAYOUT_COMPLETED = "payout.completed"
PAYOUT_FAILED = "payout.failed"
PAYOUT_NEEDS_REVIEW = "payout.needs_review"
SESSION_RATED = "session.rated"
SLOT_OFFERED = "slot.offered"
SESSION_BOOKED = "session.booked"
COMMISSION_ACCRUED = "affiliate.commission_accrued"
PROMO_REDEEMED = "promo.redeemed"
WITHDRAWAL_REQUESTED = "withdrawal.requested"
MENTOR_RESPONDED = "mentor.responded"
# Negative points awards that take back nothing anyone did wrong.
NOT_FRAUD_REASONS = ("expired",)


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def signups(facts: pl.DataFrame) -> pl.DataFrame:
    """user_id, signed_up_at and the Monday of its week (`week`), one row per member."""
    return (
        facts.filter(pl.col("topic") == SIGNED_UP, pl.col("user_id").is_not_null())
        .group_by("user_id")
        .agg(pl.col("occurred_at").min().alias("signed_up_at"))
        .with_columns(pl.col("signed_up_at").dt.truncate("1w").dt.date().alias("week"))
    )


def activation(facts: pl.DataFrame) -> tuple[int, int]:
    """(signed up, activated)."""
    first_paid = (
        facts.filter(pl.col("topic") == SESSION_PAID)
        .group_by("user_id")
        .agg(pl.col("occurred_at").min().alias("paid_at"))
    )
    joined = signups(facts).join(first_paid, on="user_id", how="left")
    activated = joined.filter(pl.col("paid_at") >= pl.col("signed_up_at")).height
    return joined.height, activated


def course_completion(facts: pl.DataFrame) -> tuple[int, int]:
    """(enrolments, completions), an enrolment being a distinct member and program."""

    def pairs(topic: str) -> pl.DataFrame:
        return (
            facts.filter(pl.col("topic") == topic, pl.col("subject").is_not_null())
            .select("user_id", "subject")
            .unique()
        )

    enrolled = pairs(COHORT_JOINED)
    completed = enrolled.join(pairs(CERTIFICATE_GRANTED), on=["user_id", "subject"])
    return enrolled.height, completed.height


def retention(facts: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """One row per weekly cohort, oldest first: week, signed_up, d7_eligible, d7_retained,
    d30_eligible, d30_retained."""
    # Lazily: nearly every event passes the filter, and an eager filter would copy all of
    # the frame's columns for them instead of the two the max needs (10x slower).
    last_seen = (
        facts.lazy()
        .filter(pl.col("topic") != SIGNED_UP, pl.col("user_id").is_not_null())
        .group_by("user_id")
        .agg(pl.col("occurred_at").max().alias("last_seen"))
        .collect()
    )
    members = signups(facts).join(last_seen, on="user_id", how="left")
    columns = []
    for day in (7, 30):
        due = pl.col("signed_up_at") + timedelta(days=day)
        columns += [
            (due <= as_of).sum().alias(f"d{day}_eligible"),
            ((due <= as_of) & (pl.col("last_seen") >= due))
            .fill_null(False)
            .sum()
            .alias(f"d{day}_retained"),
        ]
    return members.group_by("week").agg(pl.len().alias("signed_up"), *columns).sort("week")


def cohort_revenue(facts: pl.DataFrame) -> pl.DataFrame:
    """One row per weekly cohort and currency with payments: week, currency, members,
    paid_minor, ltv_minor."""
    members = signups(facts)
    sizes = members.group_by("week").agg(pl.len().alias("members"))
    paid = (
        facts.filter(pl.col("topic") == PAYMENT_CAPTURED, pl.col("currency").is_not_null())
        .join(members.select("user_id", "week"), on="user_id")
        .group_by("week", "currency")
        .agg(pl.col("amount").sum().alias("paid_minor"))
    )
    return (
        paid.join(sizes, on="week")
        .with_columns((pl.col("paid_minor") // pl.col("members")).alias("ltv_minor"))
        .sort("week", "currency")
    )


def points_economy(facts: pl.DataFrame) -> dict[str, int]:
    awards = facts.filter(pl.col("topic") == POINTS_AWARDED)
    issued = awards.filter(pl.col("amount") > 0)
    return {
        "issued": int(issued["amount"].sum()),
        "voided": int(-awards.filter(pl.col("amount") < 0)["amount"].sum()),
        "redeemed": int(facts.filter(pl.col("topic") == POINTS_REDEEMED)["amount"].sum()),
        "members_awarded": issued["user_id"].n_unique(),
    }


def topic_counts(facts: pl.DataFrame, topics: list[str]) -> dict[str, int]:
    counted = facts.filter(pl.col("topic").is_in(topics)).group_by("topic").len()
    found = dict(zip(counted["topic"].to_list(), counted["len"].to_list(), strict=True))
    return {topic: int(found.get(topic, 0)) for topic in topics}


def ratings(facts: pl.DataFrame) -> tuple[int, float | None]:
    rated = facts.filter(pl.col("topic") == SESSION_RATED, pl.col("rating").is_not_null())
    mean = rated["rating"].mean()
    return rated.height, float(mean) if isinstance(mean, int | float) else None


def nps(facts: pl.DataFrame) -> tuple[int, int, int]:
    """(answers, promoters, detractors) of the NPS question."""
    answers = facts.filter(pl.col("topic") == SESSION_RATED, pl.col("recommend").is_not_null())
    return (
        answers.height,
        answers.filter(pl.col("recommend") >= 9).height,
        answers.filter(pl.col("recommend") <= 6).height,
    )


def cohort_costs(facts: pl.DataFrame) -> pl.DataFrame:
    """One row per weekly cohort and currency with payments or acquisition costs: week,
    currency, members, paid_minor, ltv_minor, commission_minor, promo_minor, cac_minor."""
    members = signups(facts).select("user_id", "week")
    sizes = members.group_by("week").agg(pl.len().alias("members"))

    def per_cohort(frame: pl.DataFrame, column: str) -> pl.DataFrame:
        return (
            frame.filter(pl.col("currency").is_not_null())
            .join(members, on="user_id")
            .group_by("week", "currency")
            .agg(pl.col("amount").sum().alias(column))
        )

    paid = per_cohort(facts.filter(pl.col("topic") == PAYMENT_CAPTURED), "paid_minor")
    commission = per_cohort(facts.filter(pl.col("topic") == COMMISSION_ACCRUED), "commission_minor")
    promo = per_cohort(
        facts.filter(pl.col("topic") == PROMO_REDEEMED, pl.col("kind") == "promo"),
        "promo_minor",
    )
    keys = ["week", "currency"]
    joined = paid.join(commission, on=keys, how="full", coalesce=True).join(
        promo, on=keys, how="full", coalesce=True
    )
    return (
        joined.join(sizes, on="week")
        .with_columns(pl.col("paid_minor", "commission_minor", "promo_minor").fill_null(0))
        .with_columns(
            (pl.col("paid_minor") // pl.col("members")).alias("ltv_minor"),
            ((pl.col("commission_minor") + pl.col("promo_minor")) // pl.col("members")).alias(
                "cac_minor"
            ),
        )
        .select(
            "week",
            "currency",
            "members",
            "paid_minor",
            "ltv_minor",
            "commission_minor",
            "promo_minor",
            "cac_minor",
        )
        .sort(keys)
    )


def session_fill(facts: pl.DataFrame) -> dict[str, int]:
    """Slots offered, their seats and seat minutes, and the seats and minutes booked of
    them (bookings of slots the stream never saw offered are left out)."""
    slots = (
        facts.filter(pl.col("topic") == SLOT_OFFERED, pl.col("ref").is_not_null())
        .group_by("ref")
        # The first offer's, whatever order the frame is in (the cached one is unsorted).
        .agg(pl.col("seats", "minutes").sort_by("occurred_at").first())
    )
    bookings = facts.filter(pl.col("topic") == SESSION_BOOKED, pl.col("ref").is_not_null()).join(
        slots.select("ref"), on="ref"
    )
    return {
        "slots_offered": slots.height,
        "seats_offered": int(slots["seats"].sum()),
        "minutes_offered": int((slots["seats"] * slots["minutes"]).sum()),
        "seats_booked": bookings.height,
        "minutes_booked": int(bookings["minutes"].sum()),
    }


def points_fraud(facts: pl.DataFrame) -> tuple[int, int]:
    """(points issued, points reversed: taken back by a negative award or a clawback, or
    refused by a freeze; the events of the last two carry the points as positive)."""
    awards = facts.filter(pl.col("topic") == POINTS_AWARDED)
    reversed_ = awards.filter(
        pl.col("amount") < 0, ~pl.col("kind").is_in(NOT_FRAUD_REASONS).fill_null(False)
    )
    stopped = facts.filter(pl.col("topic").is_in((POINTS_CLAWED_BACK, POINTS_FROZEN)))
    issued = int(awards.filter(pl.col("amount") > 0)["amount"].sum())
    return issued, int(-reversed_["amount"].sum()) + int(stopped["amount"].sum())


def payout_latency(facts: pl.DataFrame) -> tuple[int, float | None, int | None]:
    """(payouts timed, median seconds, 95th percentile seconds) from each withdrawal
    request to its payout's completion."""
    requested = (
        facts.filter(pl.col("topic") == WITHDRAWAL_REQUESTED, pl.col("ref").is_not_null())
        .group_by("ref")
        .agg(pl.col("occurred_at").min().alias("requested_at"))
    )
    completed = (
        facts.filter(pl.col("topic") == PAYOUT_COMPLETED, pl.col("ref").is_not_null())
        .group_by("ref")
        .agg(pl.col("occurred_at").min().alias("completed_at"))
    )
    seconds = requested.join(completed, on="ref").select(
        (pl.col("completed_at") - pl.col("requested_at")).dt.total_seconds().alias("s")
    )["s"]
    if seconds.is_empty():
        return 0, None, None
    median = seconds.median()
    p95 = seconds.quantile(0.95, interpolation="higher")
    return (
        seconds.len(),
        float(median) if isinstance(median, int | float) else None,
        int(p95) if p95 is not None else None,
    )


def response_times(facts: pl.DataFrame) -> pl.DataFrame:
    """One row per kind of request a mentor answered: kind, answers, median_seconds,
    p95_seconds."""
    return (
        facts.filter(pl.col("topic") == MENTOR_RESPONDED, pl.col("kind").is_not_null())
        .group_by("kind")
        .agg(
            pl.len().alias("answers"),
            pl.col("amount").median().alias("median_seconds"),
            pl.col("amount").quantile(0.95, interpolation="higher").alias("p95_seconds"),
        )
        .with_columns(pl.col("p95_seconds").cast(pl.Int64))
        .sort("kind")
    )

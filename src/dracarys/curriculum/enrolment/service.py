"""Enrolment: joining a cohort before it ends while it has room (a paid program's price,
less a discount code if one is spent, held in escrow for its mentor), leaving before it
starts (refunded in full), and who counts as a cohort's member or a program's learner.
`cohort_offer` says what joining would cost, and under which refund policy, before it."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta

from dracarys.curriculum import events
from dracarys.curriculum.courses.models import Cohort
from dracarys.curriculum.courses.service import cohort_of, lesson_of, program_of
from dracarys.curriculum.enrolment import store
from dracarys.curriculum.enrolment.models import (
    Enrolment,
    EnrolmentView,
    MyEnrolmentView,
    UnlockTerms,
)
from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound
from dracarys.identity import CurrentUser, Role
from dracarys.offers import Offer, RefundPolicy
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.wallet import PurchaseKind, hold_escrow, redeem_discount_code, refund_escrow

# Paid enrolments sit in escrow until a day after the cohort starts (refundable until then).
ENROLMENT_RELEASE_AFTER_START = timedelta(days=1)
FULL_REFUND_BPS = 10_000


def _enrolment_view(enrolment: Enrolment) -> EnrolmentView:
    return EnrolmentView(
        cohort_id=enrolment.cohort_id,
        program_id=enrolment.program_id,
        user_id=enrolment.user_id,
        amount_minor=enrolment.amount_minor,
        currency=enrolment.currency,
        escrow_id=enrolment.escrow_id,
        enrolled_at=enrolment.enrolled_at,
    )


def enrolment_refund_policy() -> RefundPolicy:
    """The rules `leave_cohort` applies and the escrow timing `join_cohort` sets, in words."""
    release_days = ENROLMENT_RELEASE_AFTER_START.days
    return RefundPolicy(
        summary="Leave before the cohort starts for a full refund; no refund after the start.",
        terms=[
            "Leave the cohort before it starts and everything you paid comes back to your wallet.",
            "Once the cohort has started, leaving refunds nothing.",
            "Your payment is held in escrow and released to the mentor "
            f"{release_days} day{'s' if release_days != 1 else ''} after the cohort starts.",
            "A discount code is spent by the enrolment: a refund returns what you paid from "
            "your wallet, not the code.",
        ],
    )


def _ensure_joinable(cohort: Cohort, actor: CurrentUser, now: datetime, *, field: str) -> None:
    """Refuse a join the cohort cannot take, naming the request's cohort field."""
    if cohort.owner_id == actor.id:
        raise Conflict("mentors do not join their own cohorts")
    if now >= cohort.ends_at:
        raise Conflict("this cohort has ended", field=field)
    if cohort.enrolled >= cohort.capacity:
        raise Conflict("this cohort is full", field=field)


async def cohort_offer(
    conn: Connection, buyer: CurrentUser, cohort_id: uuid.UUID, now: datetime
) -> Offer:
    """What joining the cohort would cost and under which policy; refused as joining
    would be. Reads only: no seat is held."""
    cohort = await cohort_of(conn, cohort_id)
    if cohort is None:
        raise NotFound("no such cohort", field="id")
    if await store.program_enrolment(conn, cohort.program_id, buyer.id) is not None:
        raise Conflict("you are already in a cohort of this program", field="id")
    _ensure_joinable(cohort, buyer, now, field="id")
    unlocked = await store.unlocked(conn, cohort.program_id, buyer.id)
    dates = f"{cohort.title}, {cohort.starts_at:%d %b %Y} to {cohort.ends_at:%d %b %Y}"
    return Offer(
        kind="cohort",
        item_id=cohort.id,
        title=cohort.program_title,
        detail=f"{dates} · unlocked with your points" if unlocked else dates,
        seller_id=cohort.owner_id,
        price_minor=0 if unlocked else cohort.price_minor,
        currency=cohort.currency,
        refund_policy=enrolment_refund_policy(),
    )


async def join_cohort(
    platform: Platform,
    actor: CurrentUser,
    cohort_id: uuid.UUID,
    idempotency_key: str,
    *,
    discount_code: str | None = None,
) -> EnrolmentView:
    """Join a cohort before it ends while it has room; a paid program's price, less what
    the discount code takes off, goes into escrow for its mentor, the code spent in the
    same transaction. Joining again returns the enrolment."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        cohort = await cohort_of(conn, cohort_id, lock=True)
        if cohort is None:
            raise NotFound("no such cohort", field="cohort_id")
        existing = await store.enrolment(conn, cohort_id, actor.id)
        if existing is None:
            other = await store.program_enrolment(conn, cohort.program_id, actor.id)
            if other is not None:
                raise Conflict("you are already in another cohort of this program")
            _ensure_joinable(cohort, actor, now, field="cohort_id")
            unlocked = await store.unlocked(conn, cohort.program_id, actor.id)
            amount_minor = 0 if unlocked else cohort.price_minor
            if unlocked and discount_code is not None:
                raise InvalidInput(
                    "you unlocked this course with points: there is nothing to pay",
                    field="discount_code",
                )
            if discount_code is not None:
                discount = await redeem_discount_code(
                    conn,
                    code=discount_code,
                    user_id=actor.id,
                    price_minor=cohort.price_minor,
                    currency=cohort.currency,
                    purchase=PurchaseKind.COHORT,
                    used_for=f"enrolment:{cohort_id}:{actor.id}",
                    now=now,
                )
                amount_minor -= discount.applied_minor
            escrow_id = None
            if amount_minor > 0:
                escrow = await hold_escrow(
                    conn,
                    settings=platform.settings,
                    now=now,
                    payer_id=actor.id,
                    mentor_id=cohort.owner_id,
                    amount_minor=amount_minor,
                    currency=cohort.currency,
                    reference=f"cohort:{cohort_id}",
                    idempotency_key=f"enrol:{cohort_id}:{actor.id}:{idempotency_key}",
                    release_after=max(cohort.starts_at - now, timedelta())
                    + ENROLMENT_RELEASE_AFTER_START,
                )
                if escrow.status != "held":
                    # The key paid for an earlier enrolment that was left and refunded.
                    raise InvalidInput(
                        "this idempotency key belongs to an earlier enrolment; use a new one",
                        field="idempotency_key",
                    )
                escrow_id = escrow.id
            await store.insert_enrolment(
                conn,
                cohort_id=cohort_id,
                user_id=actor.id,
                program_id=cohort.program_id,
                amount_minor=amount_minor,
                currency=cohort.currency,
                escrow_id=escrow_id,
                now=now,
            )
            await emit_event(
                conn,
                events.CohortJoined(
                    user_id=actor.id,
                    cohort_id=cohort_id,
                    program_id=cohort.program_id,
                    amount_minor=amount_minor,
                    currency=cohort.currency,
                ),
            )
            if cohort.onboarding:
                await emit_event(
                    conn, events.OnboardingCohortJoined(user_id=actor.id, cohort_id=cohort_id)
                )
            existing = await store.enrolment(conn, cohort_id, actor.id)
        assert existing is not None
    return _enrolment_view(existing)


async def leave_cohort(platform: Platform, actor: CurrentUser, cohort_id: uuid.UUID) -> int:
    """Leave before the cohort starts: the seat is freed and a paid enrolment refunded in
    full from escrow. Returns the amount refunded."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        cohort = await cohort_of(conn, cohort_id, lock=True)
        enrolment = await store.enrolment(conn, cohort_id, actor.id) if cohort else None
        if cohort is None or enrolment is None:
            raise NotFound("you are not in this cohort", field="cohort_id")
        if now >= cohort.starts_at:
            raise Conflict("a cohort can be left until it starts", field="cohort_id")
        refunded = 0
        if enrolment.escrow_id is not None:
            escrow = await refund_escrow(
                conn,
                enrolment.escrow_id,
                settings=platform.settings,
                now=now,
                fraction_bps=FULL_REFUND_BPS,
            )
            refunded = escrow.refunded_minor
        await store.delete_enrolment(conn, cohort_id, actor.id)
        await emit_event(
            conn,
            events.CohortLeft(
                user_id=actor.id,
                cohort_id=cohort_id,
                program_id=cohort.program_id,
                refunded_minor=refunded,
                currency=enrolment.currency,
            ),
        )
    return refunded


# ---- membership -----------------------------------------------------------------------


async def is_learner(conn: Connection, program_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return await store.program_enrolment(conn, program_id, user_id) is not None


async def ensure_learner(
    conn: Connection, actor: CurrentUser, program_id: uuid.UUID, owner_id: uuid.UUID
) -> bool:
    """True for an enrolled learner; the owner and staff may read but are not learners."""
    if await is_learner(conn, program_id, actor.id):
        return True
    if actor.id == owner_id or actor.is_staff or actor.role is Role.OBSERVER:
        return False
    raise Forbidden("join a cohort of this program first")


async def is_cohort_member(conn: Connection, cohort_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return await store.enrolment(conn, cohort_id, user_id) is not None


async def cohort_pairs(conn: Connection, user_id: uuid.UUID) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """(program owner, member) pairs a cohort enrolment links, `user_id` on either side
    (chat lets such a pair talk)."""
    return await store.cohort_pairs(conn, user_id)


async def lesson_link(
    conn: Connection, lesson_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[str, uuid.UUID] | None:
    """The lesson's title and program when `user_id` may open it (its program's owner or
    an enrolled learner), else None."""
    lesson = await lesson_of(conn, lesson_id)
    if lesson is None:
        return None
    if lesson.owner_id == user_id or await is_learner(conn, lesson.program_id, user_id):
        return lesson.title, lesson.program_id
    return None


async def cohort_members(
    conn: Connection, cohort_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Each cohort's members, earliest enrolment first (a cohort without any: [])."""
    return await store.members_of(conn, set(cohort_ids))


# ---- courses unlocked with points ------------------------------------------------------


async def course_unlock_terms(
    conn: Connection, user_id: uuid.UUID, program_id: uuid.UUID
) -> UnlockTerms:
    """The price a points redemption would unlock, refused (naming `target_ref`) for a
    course that is not published, is free, or is already the member's."""
    program = await program_of(conn, program_id)
    if program is None or not program.published or program.onboarding:
        raise InvalidInput("no published course has this id", field="target_ref")
    if program.price_minor == 0:
        raise Conflict("this course is free: join it without points", field="target_ref")
    if await store.unlocked(conn, program_id, user_id):
        raise Conflict("you have unlocked this course already", field="target_ref")
    if await store.program_enrolment(conn, program_id, user_id) is not None:
        raise Conflict("you are enrolled in this course already", field="target_ref")
    return UnlockTerms(
        program_id=program.id,
        title=program.title,
        price_minor=program.price_minor,
        currency=program.currency,
    )


async def grant_course_unlock(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    program_id: uuid.UUID,
    redemption_id: uuid.UUID,
    now: datetime,
) -> None:
    """In the redemption's transaction: the member joins this program's cohorts without
    paying. A second unlock of one course is refused, so no points are spent twice."""
    if not await store.insert_unlock(
        conn, user_id=user_id, program_id=program_id, redemption_id=redemption_id, at=now
    ):
        raise Conflict("you have unlocked this course already", field="target_ref")


async def my_enrolments(platform: Platform, actor: CurrentUser) -> list[MyEnrolmentView]:
    """The programs the caller has joined, the latest cohort start first."""
    async with platform.pool.acquire() as conn:
        joined = await store.enrolments_of_user(conn, actor.id)
    return [
        MyEnrolmentView(
            program_id=e.program_id,
            program_title=e.program_title,
            cohort_id=e.cohort_id,
            cohort_title=e.cohort_title,
            starts_at=e.starts_at,
            ends_at=e.ends_at,
            amount_minor=e.amount_minor,
            currency=e.currency,
            enrolled_at=e.enrolled_at,
        )
        for e in joined
    ]

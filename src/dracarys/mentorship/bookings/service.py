"""Booking a session: hold the slot, spend the discount code if one is given, take the
rest of the price into escrow, confirm — in one transaction, so a failed payment leaves
the slot free, the code unspent and nothing half-done. Before it, `session_offer` says
what a booking would cost and under which refund policy (for the checkout's quote). Then
cancellation under the refund policy (by the mentee, or the whole session by its
mentor) and moving a 1:1 session to another free slot.

Double booking is refused by the database: every live session holds its mentor's time in
an exclusion constraint, so of any number of concurrent bookings for one slot exactly one
inserts and the rest get a 409. Bookings are seats of a session, so their rows are read
and written through the sessions store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec

from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import Conflict, InvalidInput, NotFound
from dracarys.identity import CurrentUser, display_names
from dracarys.mentorship import events
from dracarys.mentorship.bookings.models import BookingInput, BookingView, CancellationQuote
from dracarys.mentorship.packages.service import (
    TakenCredit,
    give_back_credit,
    package_booking,
    package_is_open,
    spend_credit,
    take_credit,
)
from dracarys.mentorship.policy import BPS, cancellation_refund_bps
from dracarys.mentorship.schedules.models import SessionKind, SessionType
from dracarys.mentorship.schedules.service import (
    ensure_offered_start,
    open_slots,
    session_type_of,
)
from dracarys.mentorship.sessions import store
from dracarys.mentorship.sessions.models import MentorSession, SessionBooking, SessionView
from dracarys.mentorship.sessions.service import new_room_name, session_view
from dracarys.money import format_money
from dracarys.offers import Offer, RefundPolicy
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.wallet import (
    PurchaseKind,
    hold_escrow,
    move_escrow_release,
    redeem_discount_code,
    refund_escrow,
)

# Escrow releases on its own this long after the session ends unless disputed first.
ESCROW_RELEASE_GRACE = timedelta(hours=48)


async def _booking_view(
    platform: Platform, conn: Connection, booking: SessionBooking
) -> BookingView:
    session = await store.session(conn, booking.session_id)
    assert session is not None
    rated = await store.ratings_given(conn, booking.mentee_id, [session.id])
    names = await display_names(conn, platform.settings, [session.mentor_id])
    taken = await package_booking(conn, booking.id)
    return BookingView(
        id=booking.id,
        session=session_view(platform, session, show_room=booking.status == "confirmed"),
        mentee_id=booking.mentee_id,
        status=booking.status,
        amount_minor=booking.amount_minor,
        currency=booking.currency,
        escrow_id=booking.escrow_id,
        refunded_minor=booking.refunded_minor,
        my_rating=rated.get((session.id, session.mentor_id)),
        mentor_name=names.get(session.mentor_id, ""),
        package_purchase_id=taken.purchase_id if taken else None,
    )


# ---- what a booking would cost ---------------------------------------------------------


def booking_refund_policy(settings: Settings) -> RefundPolicy:
    """The cancellation rules `refund_bps` and `reschedule_booking` apply, and the escrow
    timing `book_session` sets, in words."""
    hours = settings.mentorship_full_refund_hours
    late_pct = f"{settings.mentorship_late_refund_bps / 100:g}%"
    grace_hours = int(ESCROW_RELEASE_GRACE.total_seconds() // 3600)
    return RefundPolicy(
        summary=f"Free cancellation until {hours} h before the start; {late_pct} back after.",
        terms=[
            f"Cancel at least {hours} hours before the start and everything you paid comes "
            "back to your wallet.",
            f"Cancel later than that and {late_pct} of what you paid comes back.",
            "If the mentor cancels, everything you paid comes back.",
            f"A 1:1 session can be moved to another free slot until {hours} hours before "
            "it starts.",
            "Your payment is held in escrow and released to the mentor "
            f"{grace_hours} hours after the session ends; open a dispute before then if "
            "something went wrong.",
            "A discount code is spent by the booking: a refund returns what you paid from "
            "your wallet, not the code.",
        ],
    )


async def session_offer(
    conn: Connection,
    platform: Platform,
    buyer: CurrentUser,
    session_type_id: uuid.UUID,
    starts_at: datetime | None,
    now: datetime,
) -> Offer:
    """What booking `starts_at` of the session type would cost and under which policy;
    refused as the booking would be (unknown type, own session, a time not offered or
    already taken). Reads only: the slot is not held."""
    if starts_at is None:
        raise InvalidInput("choose a time for the session", field="starts_at")
    session_type = await session_type_of(conn, session_type_id)
    if session_type is None or not session_type.active:
        raise NotFound("no such session type", field="id")
    if session_type.mentor_id == buyer.id:
        raise InvalidInput("you cannot book your own session", field="id")
    starts_at = starts_at.astimezone(UTC) if starts_at.tzinfo else starts_at
    await ensure_offered_start(conn, session_type, starts_at, now)
    duration = timedelta(minutes=session_type.duration_minutes)
    slots = await open_slots(conn, session_type, start=starts_at, end=starts_at + duration, now=now)
    if not any(start == starts_at for start, _, _ in slots):
        raise Conflict("this slot was just taken; choose another time", field="starts_at")
    kind = {
        SessionKind.ONE_ON_ONE: "1:1",
        SessionKind.GROUP: "group",
        SessionKind.WORKSHOP: "workshop",
    }[session_type.kind]
    return Offer(
        kind="session",
        item_id=session_type.id,
        title=session_type.title,
        detail=f"{session_type.duration_minutes} min, {kind}",
        seller_id=session_type.mentor_id,
        price_minor=session_type.price_minor,
        currency=session_type.currency,
        refund_policy=booking_refund_policy(platform.settings),
    )


# ---- booking --------------------------------------------------------------------------


async def _take_session_seat(
    conn: Connection, platform: Platform, session_type: SessionType, starts_at: datetime
) -> MentorSession:
    """The session at `starts_at`: a new one on the mentor's calendar, or (group and
    workshop) the existing one with a free seat. Locked for the rest of the transaction."""
    ends_at = starts_at + timedelta(minutes=session_type.duration_minutes)
    shared = session_type.kind is not SessionKind.ONE_ON_ONE
    if shared:
        existing = await store.lock_open_session_of_type(conn, session_type.id, starts_at)
        if existing is not None:
            return await _with_free_seat(conn, existing)
    session_id = uuid.uuid4()
    try:
        async with conn.transaction():
            await store.insert_session(
                conn,
                session_id=session_id,
                mentor_id=session_type.mentor_id,
                session_type_id=session_type.id,
                kind=session_type.kind.value,
                title=session_type.title,
                starts_at=starts_at,
                ends_at=ends_at,
                capacity=session_type.capacity,
                price_minor=session_type.price_minor,
                currency=session_type.currency,
                room_name=new_room_name(),
                cohort_id=None,
                now=platform.clock.now(),
            )
            await emit_event(
                conn,
                events.SlotOffered(
                    slot_id=session_id,
                    mentor_id=session_type.mentor_id,
                    session_type_id=session_type.id,
                    starts_at=starts_at,
                    minutes=session_type.duration_minutes,
                    seats=session_type.capacity,
                ),
            )
    except asyncpg.ExclusionViolationError:
        if shared:
            # Another booker created this group session a moment ago: join it.
            existing = await store.lock_open_session_of_type(conn, session_type.id, starts_at)
            if existing is not None:
                return await _with_free_seat(conn, existing)
        raise Conflict("this slot was just taken; choose another time", field="starts_at") from None
    session = await store.lock_session(conn, session_id)
    assert session is not None
    return session


async def _with_free_seat(conn: Connection, session: MentorSession) -> MentorSession:
    if await store.live_booking_count(conn, session.id) >= session.capacity:
        raise Conflict("this session is full; choose another time", field="starts_at")
    return session


async def book_session(
    platform: Platform, actor: CurrentUser, data: BookingInput, idempotency_key: str
) -> BookingView:
    """Hold the slot, spend the discount code (if any), take the rest of the price into
    escrow, confirm — in one transaction, so a failed payment leaves the slot free, the
    code unspent and nothing half-done."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        await xact_lock(conn, "booking", actor.id, idempotency_key)
        previous = await store.booking_by_key(conn, actor.id, idempotency_key)
        if previous is not None:
            prior_session = await store.session(conn, previous.session_id)
            assert prior_session is not None
            if (
                prior_session.session_type_id != data.session_type_id
                or prior_session.starts_at != data.starts_at
            ):
                raise InvalidInput(
                    "this idempotency key was used for a different booking",
                    field="idempotency_key",
                )
            return await _booking_view(platform, conn, previous)
        session_type = await session_type_of(conn, data.session_type_id)
        if session_type is None or not session_type.active:
            raise NotFound("no such session type", field="session_type_id")
        if session_type.mentor_id == actor.id:
            raise InvalidInput("you cannot book your own session", field="session_type_id")
        starts_at = data.starts_at.astimezone(UTC)
        await ensure_offered_start(conn, session_type, starts_at, now)
        session = await _take_session_seat(conn, platform, session_type, starts_at)
        booking_id = uuid.uuid4()
        amount_minor = session_type.price_minor
        taken: TakenCredit | None = None
        if data.package_purchase_id is not None:
            if data.discount_code is not None:
                raise InvalidInput(
                    "a session from a package is already paid; leave the code for another purchase",
                    field="discount_code",
                )
            taken = await take_credit(
                conn,
                platform,
                purchase_id=data.package_purchase_id,
                mentee_id=actor.id,
                session_type_id=session_type.id,
                booking_id=booking_id,
                release_at=session.ends_at + ESCROW_RELEASE_GRACE,
                now=now,
            )
            amount_minor = taken.amount_minor
        elif data.discount_code is not None:
            discount = await redeem_discount_code(
                conn,
                code=data.discount_code,
                user_id=actor.id,
                price_minor=session_type.price_minor,
                currency=session_type.currency,
                purchase=PurchaseKind.SESSION,
                used_for=f"booking:{booking_id}",
                now=now,
            )
            amount_minor -= discount.applied_minor
        try:
            async with conn.transaction():
                await store.insert_booking(
                    conn,
                    booking_id=booking_id,
                    session_id=session.id,
                    mentee_id=actor.id,
                    status="held",
                    amount_minor=amount_minor,
                    currency=session_type.currency,
                    idempotency_key=idempotency_key,
                    now=now,
                )
        except asyncpg.UniqueViolationError:
            raise Conflict("you already have a seat in this session") from None
        escrow_id = taken.escrow_id if taken is not None else None
        if taken is None and amount_minor > 0:
            escrow = await hold_escrow(
                conn,
                settings=platform.settings,
                now=now,
                payer_id=actor.id,
                mentor_id=session_type.mentor_id,
                amount_minor=amount_minor,
                currency=session_type.currency,
                reference=f"session:{session.id}",
                idempotency_key=f"booking:{booking_id}",
                release_after=session.ends_at - now + ESCROW_RELEASE_GRACE,
            )
            escrow_id = escrow.id
        await store.confirm_booking(conn, booking_id, escrow_id)
        await emit_event(
            conn,
            events.SessionBooked(
                session_id=session.id,
                booking_id=booking_id,
                mentee_id=actor.id,
                mentor_id=session_type.mentor_id,
                starts_at=starts_at,
                slot_id=session.id,
                minutes=session_type.duration_minutes,
            ),
        )
        if escrow_id is not None:
            await emit_event(
                conn,
                events.SessionPaid(
                    session_id=session.id,
                    mentee_id=actor.id,
                    mentor_id=session_type.mentor_id,
                    amount_minor=amount_minor,
                    currency=session_type.currency,
                ),
            )
        confirmed = await store.booking(conn, booking_id)
        assert confirmed is not None
        return await _booking_view(platform, conn, confirmed)


async def get_booking(platform: Platform, actor: CurrentUser, booking_id: uuid.UUID) -> BookingView:
    async with platform.pool.acquire() as conn:
        booking = await store.booking(conn, booking_id)
        session = await store.session(conn, booking.session_id) if booking else None
        if (
            booking is None
            or session is None
            # Its two parties and staff; not observers: a booking says who meets whom, when.
            or not (actor.id in (booking.mentee_id, session.mentor_id) or actor.is_staff)
        ):
            raise NotFound("no such booking", field="booking_id")
        return await _booking_view(platform, conn, booking)


async def my_bookings(platform: Platform, actor: CurrentUser) -> list[BookingView]:
    async with platform.pool.acquire() as conn:
        return [
            await _booking_view(platform, conn, booking)
            for booking in await store.bookings_of_mentee(conn, actor.id)
        ]


# ---- cancellation and reschedule ------------------------------------------------------


class CancellationTerms(msgspec.Struct, frozen=True, kw_only=True):
    refund_bps: int
    refund_minor: int
    policy: str
    full_refund_until: datetime
    returns_to_package: bool = False


async def _terms(
    conn: Connection,
    platform: Platform,
    booking: SessionBooking,
    session: MentorSession,
    *,
    by_mentee: bool,
    now: datetime,
) -> tuple[CancellationTerms, TakenCredit | None]:
    """The cancellation terms of a booking as it was paid: alone, or from a package."""
    taken = await package_booking(conn, booking.id)
    open_ = await package_is_open(conn, taken.purchase_id, now) if taken else None
    terms = cancellation_terms(
        platform, booking, session, by_mentee=by_mentee, now=now, package_open=open_
    )
    return terms, taken


def cancellation_terms(
    platform: Platform,
    booking: SessionBooking,
    session: MentorSession,
    *,
    by_mentee: bool,
    now: datetime,
    package_open: bool | None = None,
) -> CancellationTerms:
    """What cancelling `booking` at `now` gives back, and the rule that says so: the one
    computation both the quote and the cancellation use. Mentor or staff cancels:
    everything back. Mentee cancels at least the configured hours ahead: everything back;
    later: the configured part. A seat booked from a package (`package_open` says whether
    the package still takes sessions back) returns to it instead of to the wallet when
    everything would come back."""
    settings = platform.settings
    hours = settings.mentorship_full_refund_hours
    full_refund_until = session.starts_at - timedelta(hours=hours)
    bps = cancellation_refund_bps(
        "mentee_cancelled" if by_mentee else "mentor_cancelled",
        (session.starts_at - now).total_seconds() / 3600,
        full_refund_hours=hours,
        late_refund_bps=settings.mentorship_late_refund_bps,
    )
    if not by_mentee:
        policy = "A cancellation by the mentor (or by staff) gives everything paid back."
    elif bps == BPS:
        policy = (
            f"You are cancelling {hours} hours or more before the start, so everything you "
            "paid comes back."
        )
    else:
        policy = (
            f"You are cancelling less than {hours} hours before the start, so "
            f"{bps / 100:g}% of what you paid comes back."
        )
    if package_open and bps == BPS:
        return CancellationTerms(
            refund_bps=bps,
            refund_minor=0,
            policy=(
                "The session goes back to your package: book it again at another time."
                if by_mentee
                else "A cancellation by the mentor (or by staff) puts the session back in "
                "the package it was booked from."
            ),
            full_refund_until=full_refund_until,
            returns_to_package=True,
        )
    if booking.escrow_id is None:
        return CancellationTerms(
            refund_bps=bps,
            refund_minor=0,
            policy="Nothing was paid for this seat, so nothing comes back.",
            full_refund_until=full_refund_until,
        )
    return CancellationTerms(
        refund_bps=bps,
        # The escrow holds what the booking paid; wallet refunds exactly this amount.
        refund_minor=booking.amount_minor * bps // BPS,
        policy=policy,
        full_refund_until=full_refund_until,
    )


def _ensure_cancellable(
    actor: CurrentUser, booking: SessionBooking, session: MentorSession, now: datetime
) -> bool:
    """Whether the mentee cancels (else the mentor or staff); refused as not found for
    anyone else, and as a conflict once the session has started or ended."""
    by_mentee = actor.id == booking.mentee_id
    if not (by_mentee or actor.id == session.mentor_id or actor.is_staff):
        raise NotFound("no such booking", field="booking_id")
    if booking.status != "cancelled" and (
        session.status != "scheduled" or now >= session.starts_at
    ):
        raise Conflict("a session that has started or ended cannot be cancelled")
    return by_mentee


async def _cancel_one(
    conn: Connection,
    platform: Platform,
    booking: SessionBooking,
    session: MentorSession,
    *,
    actor: CurrentUser,
    by_mentee: bool,
    now: datetime,
) -> int:
    refunded = 0
    # What the session's payment gives back: to the wallet, or to the package it came from.
    undone = 0
    terms, taken = await _terms(conn, platform, booking, session, by_mentee=by_mentee, now=now)
    if taken is not None:
        if terms.refund_bps == BPS:
            refunded = await give_back_credit(conn, platform, taken, now)
            undone = taken.amount_minor
        else:
            refunded = await spend_credit(conn, platform, taken, terms.refund_minor, now)
            undone = refunded
    elif booking.escrow_id is not None:
        escrow = await refund_escrow(
            conn,
            booking.escrow_id,
            settings=platform.settings,
            now=now,
            amount_minor=terms.refund_minor,
        )
        refunded = undone = escrow.refunded_minor
    await store.cancel_booking(
        conn, booking.id, cancelled_by=actor.id, refunded_minor=refunded, now=now
    )
    await emit_event(
        conn,
        events.SessionCancelled(
            session_id=session.id,
            booking_id=booking.id,
            mentee_id=booking.mentee_id,
            cancelled_by=actor.id,
        ),
    )
    if undone > 0:
        await emit_event(
            conn,
            events.SessionRefunded(
                session_id=session.id,
                mentee_id=booking.mentee_id,
                amount_minor=undone,
                currency=booking.currency,
            ),
        )
    return refunded


async def cancel_booking(
    platform: Platform,
    actor: CurrentUser,
    booking_id: uuid.UUID,
    expected_refund_minor: int | None = None,
) -> BookingView:
    """Cancel under the refund policy. With `expected_refund_minor` (what the caller was
    quoted), a refund that would differ — the full-refund deadline passed in between — is
    refused with a 409 naming the new amount, and nothing changes."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        found = await store.booking(conn, booking_id)
        if found is None:
            raise NotFound("no such booking", field="booking_id")
        # Lock order everywhere: session, then its bookings.
        session = await store.lock_session(conn, found.session_id)
        booking = await store.lock_booking(conn, booking_id)
        assert session is not None
        assert booking is not None
        by_mentee = _ensure_cancellable(actor, booking, session, now)
        if booking.status == "cancelled":
            return await _booking_view(platform, conn, booking)
        if expected_refund_minor is not None:
            terms, _ = await _terms(conn, platform, booking, session, by_mentee=by_mentee, now=now)
            if terms.refund_minor != expected_refund_minor:
                now_minor = format_money(terms.refund_minor, booking.currency)
                shown_minor = format_money(expected_refund_minor, booking.currency)
                raise Conflict(
                    f"the refund is now {now_minor}, not the {shown_minor} you were shown; "
                    "check the new amount and confirm again",
                    field="expected_refund_minor",
                )
        await _cancel_one(
            conn, platform, booking, session, actor=actor, by_mentee=by_mentee, now=now
        )
        if await store.live_booking_count(conn, session.id) == 0:
            # Nobody left: the mentor's time is free again.
            await store.set_session_status(conn, session.id, "cancelled", now)
        cancelled = await store.booking(conn, booking_id)
        assert cancelled is not None
        return await _booking_view(platform, conn, cancelled)


async def cancellation_quote(
    platform: Platform, actor: CurrentUser, booking_id: uuid.UUID
) -> CancellationQuote:
    """What `cancel_booking` would give back if the caller cancelled now; changes nothing."""
    now = platform.clock.now()
    async with platform.pool.acquire() as conn:
        booking = await store.booking(conn, booking_id)
        session = await store.session(conn, booking.session_id) if booking else None
        if booking is None or session is None:
            raise NotFound("no such booking", field="booking_id")
        by_mentee = _ensure_cancellable(actor, booking, session, now)
        if booking.status == "cancelled":
            raise Conflict("this booking is already cancelled")
        terms, _ = await _terms(conn, platform, booking, session, by_mentee=by_mentee, now=now)
    return CancellationQuote(
        booking_id=booking.id,
        paid_minor=booking.amount_minor,
        refund_minor=terms.refund_minor,
        currency=booking.currency,
        refund_bps=terms.refund_bps,
        policy=terms.policy,
        full_refund_until=terms.full_refund_until,
        returns_to_package=terms.returns_to_package,
    )


async def cancel_session(
    platform: Platform, actor: CurrentUser, session_id: uuid.UUID
) -> SessionView:
    """The mentor (or staff) calls a session off: every booking is refunded in full."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        session = await store.lock_session(conn, session_id)
        if session is None or not (actor.id == session.mentor_id or actor.is_staff):
            raise NotFound("no such session", field="session_id")
        if session.status != "scheduled" or now >= session.starts_at:
            raise Conflict("a session that has started or ended cannot be cancelled")
        for booking in await store.live_bookings_of_session(conn, session_id):
            await _cancel_one(
                conn, platform, booking, session, actor=actor, by_mentee=False, now=now
            )
        await store.set_session_status(conn, session_id, "cancelled", now)
        cancelled = await store.session(conn, session_id)
        assert cancelled is not None
        return session_view(platform, cancelled, show_room=False)


async def reschedule_booking(
    platform: Platform, actor: CurrentUser, booking_id: uuid.UUID, new_start: datetime
) -> BookingView:
    """Move a 1:1 session to another free slot; allowed while a cancellation would still be
    refunded in full (later, cancel under the refund policy instead)."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        booking = await store.booking(conn, booking_id)
        if booking is None:
            raise NotFound("no such booking", field="booking_id")
        session = await store.lock_session(conn, booking.session_id)
        assert session is not None
        if actor.id not in (booking.mentee_id, session.mentor_id):
            raise NotFound("no such booking", field="booking_id")
        if booking.status != "confirmed" or session.status != "scheduled":
            raise Conflict("only a confirmed, scheduled booking can be rescheduled")
        if session.kind is not SessionKind.ONE_ON_ONE:
            raise Conflict("group sessions and workshops keep their time; cancel instead")
        window = timedelta(hours=platform.settings.mentorship_full_refund_hours)
        if session.starts_at - now < window:
            raise Conflict(
                f"sessions can be moved until {platform.settings.mentorship_full_refund_hours} h "
                "before they start; cancel under the refund policy instead"
            )
        assert session.session_type_id is not None  # 1:1 sessions are booked from a type
        session_type = await session_type_of(conn, session.session_type_id)
        assert session_type is not None
        new_start = new_start.astimezone(UTC)
        await ensure_offered_start(conn, session_type, new_start, now)
        new_end = new_start + (session.ends_at - session.starts_at)
        try:
            async with conn.transaction():
                await store.move_session(conn, session.id, new_start, new_end)
        except asyncpg.ExclusionViolationError:
            raise Conflict("that time was just taken; choose another", field="starts_at") from None
        if booking.escrow_id is not None:
            # The payment is released after the session: after its new time now.
            await move_escrow_release(
                conn, booking.escrow_id, release_at=new_end + ESCROW_RELEASE_GRACE
            )
        await emit_event(
            conn,
            events.SessionRescheduled(
                session_id=session.id,
                starts_at=new_start,
                ends_at=new_end,
                mentee_id=booking.mentee_id,
                mentor_id=session.mentor_id,
                moved_by=actor.id,
            ),
        )
        moved = await store.booking(conn, booking_id)
        assert moved is not None
        return await _booking_view(platform, conn, moved)


async def booking_pairs(conn: Connection, user_id: uuid.UUID) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """(mentor, mentee) pairs a held or confirmed booking links, `user_id` on either side
    (chat lets such a pair talk)."""
    return await store.booking_pairs(conn, user_id)

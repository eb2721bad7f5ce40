"""Mentorship packages (blueprint 2.5): a mentor offers N sessions of one session type at
one price; a mentee pays once, and each session's share of what they paid is held in its
own escrow. Booking from the package takes a credit and its escrow, which is released when
that session is held, like any booking's; a credit never booked is refunded in full when
the mentee closes the package or it expires. Cancelling a booked session follows the
session refund policy: in time, the session goes back to the package; late, the policy's
part of its share comes back and the rest goes to the mentor.

Every change to a purchase's credits locks the purchase row first, so two bookings racing
for the last session, or a booking racing the expiry, take it exactly once."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import msgspec

from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound
from dracarys.identity import CurrentUser, Role, display_names
from dracarys.mentorship import events
from dracarys.mentorship.packages import store
from dracarys.mentorship.packages.models import (
    CreditStatus,
    CreditView,
    PackageCredit,
    PackageInput,
    PackagePurchase,
    PackageView,
    PurchaseInput,
    PurchaseView,
    SessionPackage,
)
from dracarys.mentorship.schedules.service import session_type_of, session_types_by_id
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

# An unbooked session's escrow is refunded when the package closes or expires (the hourly
# job); its own release date is only a far backstop, never meant to be reached.
UNBOOKED_RELEASE_BACKSTOP = timedelta(days=365)


def split_price(paid_minor: int, sessions: int) -> list[int]:
    """Each session's share of what was paid: equal, the first ones taking the remainder's
    minor units, so the shares add up to the amount exactly."""
    share, extra = divmod(paid_minor, sessions)
    return [share + (1 if position < extra else 0) for position in range(sessions)]


def package_refund_policy(settings: Settings, valid_days: int) -> RefundPolicy:
    """The rules `close_purchase`, `expire_packages` and the bookings' cancellation apply
    to a package, in words."""
    hours = settings.mentorship_full_refund_hours
    late_pct = f"{settings.mentorship_late_refund_bps / 100:g}%"
    return RefundPolicy(
        summary=(
            "Sessions you have not booked come back in full; a booked session follows the "
            "session policy."
        ),
        terms=[
            "You pay once. Each session's share is held in escrow and released to the mentor "
            "only after that session is held.",
            f"Book your sessions within {valid_days} days; any not booked by then are "
            "refunded to your wallet automatically.",
            "Close the package at any time: every session you have not booked comes back "
            "to your wallet in full.",
            f"Cancel a booked session at least {hours} hours before it starts and it goes "
            f"back to your package; later, {late_pct} of its share comes back to your wallet.",
            "If the mentor cancels a session, it goes back to your package.",
        ],
    )


def _package_view(offer: SessionPackage, title: str, duration: int, single: int) -> PackageView:
    return PackageView(
        id=offer.id,
        mentor_id=offer.mentor_id,
        session_type_id=offer.session_type_id,
        session_title=title,
        duration_minutes=duration,
        title=offer.title,
        sessions=offer.sessions,
        price_minor=offer.price_minor,
        currency=offer.currency,
        valid_days=offer.valid_days,
        active=offer.active,
        single_price_minor=single * offer.sessions,
    )


async def _package_views(conn: Connection, offers: list[SessionPackage]) -> list[PackageView]:
    types = await session_types_by_id(conn, [o.session_type_id for o in offers])
    views = []
    for offer in offers:
        session_type = types[offer.session_type_id]
        views.append(
            _package_view(
                offer, session_type.title, session_type.duration_minutes, session_type.price_minor
            )
        )
    return views


def _purchase_view(
    purchase: PackagePurchase, credits: list[PackageCredit], mentor_name: str
) -> PurchaseView:
    available = [c for c in credits if c.status is CreditStatus.AVAILABLE]
    return PurchaseView(
        id=purchase.id,
        package_id=purchase.package_id,
        mentee_id=purchase.mentee_id,
        mentor_id=purchase.mentor_id,
        mentor_name=mentor_name,
        session_type_id=purchase.session_type_id,
        title=purchase.title,
        sessions=purchase.sessions,
        price_minor=purchase.price_minor,
        paid_minor=purchase.paid_minor,
        currency=purchase.currency,
        status=purchase.status,
        expires_at=purchase.expires_at,
        remaining=len(available) if purchase.status == "active" else 0,
        unused_minor=sum(c.amount_minor for c in available),
        refunded_minor=sum(c.refunded_minor for c in credits),
        credits=[
            CreditView(
                position=c.position,
                amount_minor=c.amount_minor,
                status=c.status,
                booking_id=c.booking_id,
                refunded_minor=c.refunded_minor,
            )
            for c in credits
        ],
        created_at=purchase.created_at,
    )


async def _purchase_views(
    conn: Connection, settings: Settings, purchases: list[PackagePurchase]
) -> list[PurchaseView]:
    credits = await store.credits_of(conn, [p.id for p in purchases])
    names = await display_names(conn, settings, {p.mentor_id for p in purchases})
    return [_purchase_view(p, credits[p.id], names.get(p.mentor_id, "")) for p in purchases]


# ---- the mentor's offers --------------------------------------------------------------


async def create_package(platform: Platform, actor: CurrentUser, data: PackageInput) -> PackageView:
    if actor.role is not Role.MENTOR:
        raise Forbidden("only mentors offer packages")
    package_id = uuid.uuid4()
    async with transaction(platform.pool) as conn:
        session_type = await session_type_of(conn, data.session_type_id)
        if session_type is None or session_type.mentor_id != actor.id or not session_type.active:
            raise NotFound("no such session type of yours", field="session_type_id")
        await store.insert_package(
            conn,
            package_id=package_id,
            mentor_id=actor.id,
            session_type_id=session_type.id,
            title=data.title,
            sessions=data.sessions,
            price_minor=data.price_minor,
            currency=session_type.currency,
            valid_days=data.valid_days,
            now=platform.clock.now(),
        )
        offer = await store.package(conn, package_id)
        assert offer is not None
        return (await _package_views(conn, [offer]))[0]


async def set_package_active(
    platform: Platform, actor: CurrentUser, package_id: uuid.UUID, *, active: bool
) -> PackageView:
    """Stop (or resume) selling a package; purchases already made keep their sessions."""
    async with transaction(platform.pool) as conn:
        offer = await store.package(conn, package_id)
        if offer is None or offer.mentor_id != actor.id:
            raise NotFound("no such package of yours", field="package_id")
        await store.set_package_active(conn, package_id, active)
        changed = await store.package(conn, package_id)
        assert changed is not None
        return (await _package_views(conn, [changed]))[0]


async def mentor_packages(
    platform: Platform, mentor_id: uuid.UUID, viewer: CurrentUser | None
) -> list[PackageView]:
    """The packages a mentor sells; the mentor sees the withdrawn ones too."""
    async with platform.pool.acquire() as conn:
        own = viewer is not None and viewer.id == mentor_id
        offers = await store.packages_of(conn, mentor_id, active_only=not own)
        return await _package_views(conn, offers)


# ---- buying ---------------------------------------------------------------------------


async def _sellable(conn: Connection, buyer: CurrentUser, package_id: uuid.UUID) -> SessionPackage:
    offer = await store.package(conn, package_id)
    if offer is None or not offer.active:
        raise NotFound("no such package", field="id")
    if offer.mentor_id == buyer.id:
        raise InvalidInput("you cannot buy your own package", field="id")
    return offer


async def package_offer(
    conn: Connection, platform: Platform, buyer: CurrentUser, package_id: uuid.UUID
) -> Offer:
    """What buying the package would cost and under which policy (for the checkout's
    quote); refused as the purchase would be. Reads only."""
    offer = await _sellable(conn, buyer, package_id)
    session_type = await session_type_of(conn, offer.session_type_id)
    assert session_type is not None
    return Offer(
        kind="package",
        item_id=offer.id,
        title=offer.title,
        detail=(
            f"{offer.sessions} × {session_type.duration_minutes} min {session_type.title}, "
            f"book within {offer.valid_days} days"
        ),
        seller_id=offer.mentor_id,
        price_minor=offer.price_minor,
        currency=offer.currency,
        refund_policy=package_refund_policy(platform.settings, offer.valid_days),
    )


async def buy_package(
    platform: Platform,
    actor: CurrentUser,
    package_id: uuid.UUID,
    data: PurchaseInput,
    idempotency_key: str,
) -> PurchaseView:
    """Spend the discount code (if any) and hold each session's share of the rest in its
    own escrow, in one transaction: a failed payment leaves nothing bought and the code
    unspent. The same key returns the first purchase."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        await xact_lock(conn, "package", actor.id, idempotency_key)
        previous = await store.purchase_by_key(conn, actor.id, idempotency_key)
        if previous is not None:
            if previous.package_id != package_id:
                raise InvalidInput(
                    "this idempotency key was used for a different purchase",
                    field="idempotency_key",
                )
            return (await _purchase_views(conn, platform.settings, [previous]))[0]
        offer = await _sellable(conn, actor, package_id)
        purchase_id = uuid.uuid4()
        paid_minor = offer.price_minor
        if data.discount_code is not None:
            discount = await redeem_discount_code(
                conn,
                code=data.discount_code,
                user_id=actor.id,
                price_minor=offer.price_minor,
                currency=offer.currency,
                purchase=PurchaseKind.PACKAGE,
                used_for=f"package:{purchase_id}",
                now=now,
            )
            paid_minor -= discount.applied_minor
        expires_at = now + timedelta(days=offer.valid_days)
        await store.insert_purchase(
            conn,
            purchase_id=purchase_id,
            offer=offer,
            mentee_id=actor.id,
            paid_minor=paid_minor,
            expires_at=expires_at,
            idempotency_key=idempotency_key,
            now=now,
        )
        for position, share in enumerate(split_price(paid_minor, offer.sessions), start=1):
            escrow_id = None
            if share > 0:
                escrow = await hold_escrow(
                    conn,
                    settings=platform.settings,
                    now=now,
                    payer_id=actor.id,
                    mentor_id=offer.mentor_id,
                    amount_minor=share,
                    currency=offer.currency,
                    reference=f"package:{purchase_id}",
                    idempotency_key=f"package:{purchase_id}:{position}",
                    release_after=expires_at - now + UNBOOKED_RELEASE_BACKSTOP,
                )
                escrow_id = escrow.id
            await store.insert_credit(
                conn,
                purchase_id=purchase_id,
                position=position,
                amount_minor=share,
                escrow_id=escrow_id,
            )
        await emit_event(
            conn,
            events.PackagePurchased(
                purchase_id=purchase_id,
                package_id=offer.id,
                mentee_id=actor.id,
                mentor_id=offer.mentor_id,
                sessions=offer.sessions,
                amount_minor=paid_minor,
                currency=offer.currency,
            ),
        )
        bought = await store.purchase(conn, purchase_id)
        assert bought is not None
        return (await _purchase_views(conn, platform.settings, [bought]))[0]


async def my_purchases(platform: Platform, actor: CurrentUser) -> list[PurchaseView]:
    async with platform.pool.acquire() as conn:
        purchases = await store.purchases_of_mentee(conn, actor.id)
        return await _purchase_views(conn, platform.settings, purchases)


async def get_purchase(
    platform: Platform, actor: CurrentUser, purchase_id: uuid.UUID
) -> PurchaseView:
    async with platform.pool.acquire() as conn:
        purchase = await store.purchase(conn, purchase_id)
        if purchase is None or not (
            actor.id in (purchase.mentee_id, purchase.mentor_id) or actor.is_staff
        ):
            raise NotFound("no such package purchase", field="purchase_id")
        return (await _purchase_views(conn, platform.settings, [purchase]))[0]


# ---- closing --------------------------------------------------------------------------


async def _refund_unused(
    conn: Connection, platform: Platform, purchase: PackagePurchase, reason: str, now: datetime
) -> None:
    """Refund every unbooked session in full, close the purchase and say so."""
    refunded = unused = 0
    for credit in (await store.credits_of(conn, [purchase.id]))[purchase.id]:
        if credit.status is not CreditStatus.AVAILABLE:
            continue
        unused += 1
        if credit.escrow_id is not None:
            escrow = await refund_escrow(
                conn,
                credit.escrow_id,
                settings=platform.settings,
                now=now,
                amount_minor=credit.amount_minor,
            )
            refunded += escrow.refunded_minor
        await store.set_credit(
            conn,
            purchase.id,
            credit.position,
            status=CreditStatus.REFUNDED,
            booking_id=None,
            refunded_minor=credit.amount_minor if credit.escrow_id else 0,
        )
    await store.close_purchase(conn, purchase.id, now)
    await emit_event(
        conn,
        events.PackageClosed(
            purchase_id=purchase.id,
            mentee_id=purchase.mentee_id,
            mentor_id=purchase.mentor_id,
            reason=reason,
            unused=unused,
            refunded_minor=refunded,
            currency=purchase.currency,
        ),
    )


async def close_purchase(
    platform: Platform,
    actor: CurrentUser,
    purchase_id: uuid.UUID,
    expected_refund_minor: int | None = None,
) -> PurchaseView:
    """The mentee (or staff) ends the package: unbooked sessions are refunded in full;
    booked ones keep their booking. With `expected_refund_minor` (what the page showed), a
    different amount — a session booked in between — is refused with a 409."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        purchase = await store.lock_purchase(conn, purchase_id)
        if purchase is None or not (actor.id == purchase.mentee_id or actor.is_staff):
            raise NotFound("no such package purchase", field="purchase_id")
        if purchase.status == "active":
            credits = (await store.credits_of(conn, [purchase_id]))[purchase_id]
            unused_minor = sum(
                c.amount_minor for c in credits if c.status is CreditStatus.AVAILABLE
            )
            if expected_refund_minor is not None and unused_minor != expected_refund_minor:
                raise Conflict(
                    f"closing now refunds {format_money(unused_minor, purchase.currency)}, not "
                    f"the {format_money(expected_refund_minor, purchase.currency)} you were "
                    "shown; check the new amount and confirm again",
                    field="expected_refund_minor",
                )
            await _refund_unused(conn, platform, purchase, "closed", now)
        closed = await store.purchase(conn, purchase_id)
        assert closed is not None
        return (await _purchase_views(conn, platform.settings, [closed]))[0]


async def expire_packages(platform: Platform) -> int:
    """Refund the unbooked sessions of every package past its booking window (the hourly
    job); one purchase per transaction, so one failure holds up no other."""
    now = platform.clock.now()
    expired = 0
    async with platform.pool.acquire() as conn:
        due = await store.due_purchase_ids(conn, now)
    for purchase_id in due:
        async with transaction(platform.pool) as conn:
            purchase = await store.lock_purchase(conn, purchase_id)
            if purchase is None or purchase.status != "active" or purchase.expires_at > now:
                continue
            await _refund_unused(conn, platform, purchase, "expired", now)
            expired += 1
    return expired


# ---- the credits bookings take and give back -----------------------------------------


class TakenCredit(msgspec.Struct, frozen=True, kw_only=True):
    """What a booking from a package pays with: the credit's share and its escrow."""

    purchase_id: uuid.UUID
    position: int
    booking_id: uuid.UUID
    amount_minor: int
    currency: str
    escrow_id: uuid.UUID | None


async def take_credit(
    conn: Connection,
    platform: Platform,
    *,
    purchase_id: uuid.UUID,
    mentee_id: uuid.UUID,
    session_type_id: uuid.UUID,
    booking_id: uuid.UUID,
    release_at: datetime,
    now: datetime,
) -> TakenCredit:
    """Give the booking the purchase's first unbooked session, inside the booking's
    transaction; its escrow is then released `release_at` (after the session) as a single
    booking's is."""
    purchase = await store.lock_purchase(conn, purchase_id)
    if purchase is None or purchase.mentee_id != mentee_id:
        raise NotFound("no such package of yours", field="package_purchase_id")
    if purchase.session_type_id != session_type_id:
        raise InvalidInput(
            f"this package is for {purchase.title}; book that session type with it",
            field="package_purchase_id",
        )
    if purchase.status != "active" or purchase.expires_at <= now:
        raise Conflict(
            "this package has ended; its unused sessions were refunded",
            field="package_purchase_id",
        )
    credits = (await store.credits_of(conn, [purchase_id]))[purchase_id]
    credit = next((c for c in credits if c.status is CreditStatus.AVAILABLE), None)
    if credit is None:
        raise Conflict(
            "every session of this package is booked or used", field="package_purchase_id"
        )
    await store.set_credit(
        conn, purchase_id, credit.position, status=CreditStatus.BOOKED, booking_id=booking_id
    )
    if credit.escrow_id is not None:
        await move_escrow_release(conn, credit.escrow_id, release_at=release_at)
    return TakenCredit(
        purchase_id=purchase_id,
        position=credit.position,
        booking_id=booking_id,
        amount_minor=credit.amount_minor,
        currency=purchase.currency,
        escrow_id=credit.escrow_id,
    )


async def package_booking(conn: Connection, booking_id: uuid.UUID) -> TakenCredit | None:
    """The package credit a booking paid with, if it paid with one."""
    credit = await store.credit_of_booking(conn, booking_id)
    if credit is None:
        return None
    purchase = await store.purchase(conn, credit.purchase_id)
    assert purchase is not None
    return TakenCredit(
        purchase_id=credit.purchase_id,
        position=credit.position,
        booking_id=booking_id,
        amount_minor=credit.amount_minor,
        currency=purchase.currency,
        escrow_id=credit.escrow_id,
    )


async def package_is_open(conn: Connection, purchase_id: uuid.UUID, now: datetime) -> bool:
    """Whether the purchase still takes a cancelled session back (active, not expired)."""
    purchase = await store.purchase(conn, purchase_id)
    return purchase is not None and purchase.status == "active" and purchase.expires_at > now


async def give_back_credit(
    conn: Connection, platform: Platform, taken: TakenCredit, now: datetime
) -> int:
    """A booked session was cancelled in time (or by the mentor): its credit goes back to
    the package — or, if the package ended meanwhile, is refunded at once. Returns what
    went back to the wallet now."""
    purchase = await store.lock_purchase(conn, taken.purchase_id)
    assert purchase is not None
    if await package_is_open(conn, taken.purchase_id, now):
        await store.set_credit(
            conn, taken.purchase_id, taken.position, status=CreditStatus.AVAILABLE, booking_id=None
        )
        if taken.escrow_id is not None:
            await move_escrow_release(
                conn, taken.escrow_id, release_at=purchase.expires_at + UNBOOKED_RELEASE_BACKSTOP
            )
        return 0
    refunded = 0
    if taken.escrow_id is not None:
        escrow = await refund_escrow(
            conn,
            taken.escrow_id,
            settings=platform.settings,
            now=now,
            amount_minor=taken.amount_minor,
        )
        refunded = escrow.refunded_minor
    await store.set_credit(
        conn,
        taken.purchase_id,
        taken.position,
        status=CreditStatus.REFUNDED,
        booking_id=None,
        refunded_minor=refunded,
    )
    return refunded


async def spend_credit(
    conn: Connection, platform: Platform, taken: TakenCredit, refund_minor: int, now: datetime
) -> int:
    """A booked session was cancelled late: `refund_minor` of its share (the policy's part)
    comes back, the rest goes to the mentor, and the session is used up."""
    await store.lock_purchase(conn, taken.purchase_id)
    refunded = 0
    if taken.escrow_id is not None:
        escrow = await refund_escrow(
            conn, taken.escrow_id, settings=platform.settings, now=now, amount_minor=refund_minor
        )
        refunded = escrow.refunded_minor
    await store.set_credit(
        conn,
        taken.purchase_id,
        taken.position,
        status=CreditStatus.SPENT,
        booking_id=taken.booking_id,
        refunded_minor=refunded,
    )
    return refunded

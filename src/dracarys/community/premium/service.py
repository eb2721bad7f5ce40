"""Premium spaces as a product: a mentor prices their group by the month; what joining
would cost now (`premium_space_offer`, for the checkout); joining, which pays a 30-day
period from the wallet into escrow, released to the mentor when the period ends (the
wallet's `hold_escrow`, as a paid signal feed's periods are), less a discount code if one
is spent, idempotent per key; buying again before the period ends adds the next 30 days
after it. Access is membership of the group with paid time running: it ends the instant
the paid time does (community.spaces asks the platform clock), on the space's pages, API
and `community:{space}` channel alike; the scheduled `renew_premium_memberships` then
pays the next period from the wallet, or, when the member stopped renewing or the wallet
cannot pay, takes the membership out."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from dracarys.community.premium import store
from dracarys.community.premium.models import (
    JoinPaidInput,
    MembershipView,
    Period,
    PremiumInput,
    PremiumView,
)
from dracarys.community.spaces import service as spaces
from dracarys.community.spaces.models import Space, SpaceKind, Visibility
from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import Forbidden, InvalidInput, NotFound
from dracarys.identity import CurrentUser
from dracarys.offers import Offer, RefundPolicy
from dracarys.platform import Platform
from dracarys.wallet import InsufficientFunds, PurchaseKind, hold_escrow, redeem_discount_code

PERIOD = timedelta(days=30)
# Period ids derive from (member, idempotency key), so a retry finds its own.
_PERIOD_KEYS = uuid.UUID("5b0e2c71-8f3d-4a6e-9d14-2c7a9e3f6b80")


def premium_refund_policy() -> RefundPolicy:
    days = PERIOD.days
    return RefundPolicy(
        summary=f"You pay for {days} days at a time; the group stays open until they end. "
        "A period already paid is not refunded.",
        terms=[
            f"Each payment opens the group for {days} days; paying again before they end adds "
            f"the next {days} days after them.",
            f"Each period renews from your wallet for the next {days} days unless you stop "
            "renewing; if you stop, or your wallet cannot pay, the group closes when the days "
            "paid for end, until you pay again.",
            "Each period's payment is held in escrow and released to the mentor when the "
            "period ends; open a dispute before then if something went wrong.",
        ],
    )


async def _premium_group(conn: Connection, buyer: CurrentUser, space_id: uuid.UUID) -> Space:
    """The premium group the buyer may buy a period of, refused as buying would be."""
    space = await spaces.space_by_id(conn, space_id)
    if not space.premium or space.visibility is not Visibility.PUBLIC:
        raise NotFound("There is no premium group to join here.", field="id")
    if space.mentor_id == buyer.id:
        raise InvalidInput("You host this group: it is yours already.", field="id")
    return space


async def premium_space_offer(
    conn: Connection, platform: Platform, buyer: CurrentUser, space_id: uuid.UUID
) -> Offer:
    """What joining the premium group would charge now (the checkout's quote)."""
    space = await _premium_group(conn, buyer, space_id)
    assert space.mentor_id is not None  # a group has its mentor (the table's check)
    until = await store.paid_until(conn, space.id, buyer.id)
    now = platform.clock.now()
    detail = f"{PERIOD.days} days of the group, paid a month at a time"
    if until is not None and until > now:
        detail = f"your access runs until {until:%d %b %Y}: this adds {PERIOD.days} days after it"
    return Offer(
        kind="community_space",
        item_id=space.id,
        title=f"{space.title} (premium group)",
        detail=detail,
        seller_id=space.mentor_id,
        price_minor=space.monthly_price_minor,
        currency=space.currency.strip(),
        refund_policy=premium_refund_policy(),
    )


async def set_premium(
    platform: Platform, mentor: CurrentUser, space_id: uuid.UUID, data: PremiumInput
) -> PremiumView:
    """The group's monthly price (0: free). Members who joined before it turned premium
    have no paid time: they join through the checkout."""
    async with transaction(platform.pool) as conn:
        space = await spaces.space_by_id(conn, space_id)
        if space.kind is not SpaceKind.GROUP:
            raise NotFound("There is no such group.", field="space_id")
        if space.mentor_id != mentor.id:
            raise Forbidden("Only the group's mentor prices it.", field="space_id")
        if space.cohort_id is not None and data.monthly_price_minor > 0:
            raise InvalidInput(
                "This group follows a cohort, whose seats are paid already; only a group of "
                "your own can be premium.",
                field="monthly_price_minor",
            )
        await store.set_price(conn, space.id, data.monthly_price_minor, data.currency)
        return PremiumView(
            space_id=space.id,
            monthly_price_minor=data.monthly_price_minor,
            currency=data.currency,
        )


async def join_paid(
    platform: Platform,
    user: CurrentUser,
    space_id: uuid.UUID,
    data: JoinPaidInput,
    idempotency_key: str,
) -> MembershipView:
    """Buy a period of the premium group (the checkout's purchase). A retry with the same
    key returns the period it bought; the same key for another group is a 422."""
    now = platform.clock.now()
    period_id = uuid.uuid5(_PERIOD_KEYS, f"{user.id}:{idempotency_key}")
    async with transaction(platform.pool) as conn:
        await xact_lock(conn, "community.premium_period", period_id)
        earlier = await store.period(conn, period_id)
        if earlier is not None:
            if earlier.space_id != space_id:
                raise InvalidInput(
                    "This idempotency key was used to join another group.",
                    field="idempotency_key",
                )
            return _membership(earlier)
        space = await _premium_group(conn, user, space_id)
        assert space.mentor_id is not None
        # One buyer's periods of one group are bought one at a time: each starts where the
        # last ends.
        await xact_lock(conn, "community.premium_member", space.id, user.id)
        until = await store.paid_until(conn, space.id, user.id)
        paid_from = until if until is not None and until > now else now
        price = space.monthly_price_minor
        currency = space.currency.strip()
        if data.discount_code is not None:
            discount = await redeem_discount_code(
                conn,
                code=data.discount_code,
                user_id=user.id,
                price_minor=price,
                currency=currency,
                purchase=PurchaseKind.COMMUNITY_SPACE,
                used_for=f"community-space-period:{period_id}",
                now=now,
            )
            price -= discount.applied_minor
        period = await _pay_period(
            conn,
            platform,
            period_id=period_id,
            space_id=space.id,
            slug=space.slug,
            mentor_id=space.mentor_id,
            user_id=user.id,
            price_minor=price,
            currency=currency,
            paid_from=paid_from,
            now=now,
        )
        await store.add_member(conn, space.id, user.id, now)
        await store.set_auto_renew(conn, space.id, user.id, True)
        return _membership(period)


def _membership(period: Period) -> MembershipView:
    return MembershipView(
        space_id=period.space_id,
        period_id=period.id,
        amount_minor=period.amount_minor,
        currency=period.currency.strip(),
        paid_until=period.paid_until,
    )


async def _pay_period(
    conn: Connection,
    platform: Platform,
    *,
    period_id: uuid.UUID,
    space_id: uuid.UUID,
    slug: str,
    mentor_id: uuid.UUID,
    user_id: uuid.UUID,
    price_minor: int,
    currency: str,
    paid_from: datetime,
    now: datetime,
) -> Period:
    """One period: its price (after any discount) from the wallet into escrow, released to
    the mentor when it ends. Raises `InsufficientFunds` (409) when the wallet cannot."""
    escrow_id = None
    if price_minor > 0:
        escrow = await hold_escrow(
            conn,
            settings=platform.settings,
            now=now,
            payer_id=user_id,
            mentor_id=mentor_id,
            amount_minor=price_minor,
            currency=currency,
            reference=f"premium community group {slug} period {period_id}",
            idempotency_key=f"community-space-period:{period_id}",
            release_after=paid_from + PERIOD - now,
        )
        escrow_id = escrow.id
    period = Period(
        id=period_id,
        space_id=space_id,
        user_id=user_id,
        amount_minor=price_minor,
        currency=currency,
        escrow_id=escrow_id,
        paid_from=paid_from,
        paid_until=paid_from + PERIOD,
        created_at=now,
    )
    await store.insert_period(conn, period)
    return period


async def set_renewal(
    platform: Platform, user: CurrentUser, space_id: uuid.UUID, *, on: bool
) -> None:
    """Stop (or resume) renewing: the group stays open until the paid time ends."""
    async with transaction(platform.pool) as conn:
        space = await spaces.space_by_id(conn, space_id)
        if not space.premium or not await store.set_auto_renew(conn, space.id, user.id, on):
            raise NotFound("You have no premium membership of this group.", field="space_id")


# Renewing this long before the paid time ends: the job runs every five minutes, so a
# few missed runs (a restart, a deploy) still leave no gap.
RENEWAL_LEAD = timedelta(hours=1)


async def renew_premium_memberships(platform: Platform) -> int:
    """The scheduled job, in the last `RENEWAL_LEAD` of each member's paid time: renew it
    from the wallet for the next 30 days, starting where the paid time ends, so a member
    who renews never finds the group closed (access ends the instant paid time does, not
    when this job runs). A member who stopped renewing, or whose wallet still cannot pay
    once the time is up, is taken out of the group (its pages, API and stream channel
    close with it; paying through the checkout again reopens it); a refused payment
    before then is tried again at the next run. A period that lapsed while the job did
    not run starts now: nobody pays for time they could not use. Each member in their
    own transaction; a re-run pays nothing twice (the period's id and escrow key derive
    from the period that ends). Returns how many periods were paid."""
    now = platform.clock.now()
    async with platform.pool.acquire() as conn:
        due = await store.due_members(conn, now + RENEWAL_LEAD)
    renewed = 0
    for member in due:
        async with transaction(platform.pool) as conn:
            if not await store.lock_member(conn, member.space_id, member.user_id):
                continue
            if member.auto_renew and member.paid_until is not None:
                period_id = uuid.uuid5(
                    _PERIOD_KEYS,
                    f"renewal:{member.space_id}:{member.user_id}:{member.paid_until.isoformat()}",
                )
                try:
                    async with conn.transaction():  # a refused payment leaves nothing behind
                        await _pay_period(
                            conn,
                            platform,
                            period_id=period_id,
                            space_id=member.space_id,
                            slug=member.slug,
                            mentor_id=member.mentor_id,
                            user_id=member.user_id,
                            price_minor=member.monthly_price_minor,
                            currency=member.currency.strip(),
                            paid_from=max(member.paid_until, now),
                            now=now,
                        )
                    renewed += 1
                    continue
                except InsufficientFunds:
                    pass
            if member.paid_until is None or member.paid_until <= now:
                await store.remove_member(conn, member.space_id, member.user_id)
    return renewed

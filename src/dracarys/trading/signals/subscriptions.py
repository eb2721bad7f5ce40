"""Signal feeds as a product: a mentor's monthly plan, what subscribing would cost and
under which refund policy (`feed_offer`, for the checkout), subscriptions (the first
period paid from the wallet into escrow, less a discount code if one is spent, idempotent
per key), renewals every 30 days, who may watch a feed, and cancelling. The functions
taking a platform own their transaction.

A paid feed is paid for 30 days at a time (the plan's price is monthly); a renewal the
wallet cannot pay is retried for a week, then the subscription ends (a top-up months
later must not restart a feed the subscriber forgot about)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound
from dracarys.identity import (
    CurrentUser,
    Role,
    account_of,
    contacts_of,
    display_names,
    language_of,
)
from dracarys.messaging import EmailTemplate, queue_email
from dracarys.money import format_money
from dracarys.offers import Offer, RefundPolicy
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.trading import service
from dracarys.trading.signals import store as signal_store
from dracarys.trading.signals.events import (
    SubscriptionBilled,
    SubscriptionLapsed,
    SubscriptionPastDue,
    SubscriptionRenewed,
    SubscriptionStarted,
)
from dracarys.trading.signals.models import (
    BilledSubscription,
    FeedPlan,
    FeedPlanInput,
    Mirror,
    Scaling,
    SubscribeInput,
    Subscriber,
    Subscription,
)
from dracarys.wallet import InsufficientFunds, PurchaseKind, hold_escrow, redeem_discount_code

# Subscription ids derive from (subscriber, idempotency key), so a retry finds its own.
_SUBSCRIPTION_KEYS = uuid.UUID("3a4c9f0e-6b1d-4e8a-9c2f-7d5e1b0a4c63")

SUBSCRIPTION_PERIOD = timedelta(days=30)
PAST_DUE_GRACE = timedelta(days=7)
PAST_DUE_TEMPLATE = EmailTemplate(
    name="trading.subscription_past_due",
    subject="Your subscription to $mentor's signals is paused",
    text="Your wallet could not pay the next 30 days of $mentor's signal feed "
    "($amount).\nTop up your wallet within 7 days: the subscription resumes "
    "at the next renewal attempt (every 15 minutes); after that it ends.",
)
# The same notice for subscribers who read Swahili (issue 20 item 8): same name and
# placeholders.
PAST_DUE_TEMPLATE_SW = EmailTemplate(
    name="trading.subscription_past_due",
    subject="Usajili wako wa ishara za $mentor umesitishwa",
    text="Pochi yako haikuweza kulipia siku 30 zijazo za ishara za $mentor ($amount).\n"
    "Ongeza pesa kwenye pochi yako ndani ya siku 7: usajili utaendelea katika jaribio "
    "lijalo la kuulipia (kila dakika 15); baada ya hapo utaisha.",
)
PAST_DUE_TEMPLATES = {"en": PAST_DUE_TEMPLATE, "sw": PAST_DUE_TEMPLATE_SW}
EMAIL_TEMPLATES = {PAST_DUE_TEMPLATE.name: PAST_DUE_TEMPLATE}


async def _is_mentor(conn: Connection, user_id: uuid.UUID) -> bool:
    account = await account_of(conn, user_id)
    return account is not None and account.role is Role.MENTOR


# --- who may watch a feed -------------------------------------------------------------


async def may_watch_signals(
    conn: Connection, user_ids: Sequence[uuid.UUID], mentor_id: uuid.UUID
) -> set[uuid.UUID]:
    """Those of `user_ids` who may read the mentor's signals (the `signals:` channel
    policy's check): a free feed is open to every signed-in user; a paid one to active
    subscribers and those whose cancelled period has not run out."""
    plan = await signal_store.get_plan(conn, mentor_id)
    if plan is None or plan.monthly_price_minor == 0:
        return set(user_ids)
    return await signal_store.active_subscribers(conn, user_ids, mentor_id)


# --- plans ----------------------------------------------------------------------------


async def set_plan(platform: Platform, mentor: CurrentUser, body: FeedPlanInput) -> FeedPlan:
    async with transaction(platform.pool) as conn:
        return await set_plan_in(conn, mentor.id, body, platform.clock.now())


async def set_plan_in(
    conn: Connection, mentor_id: uuid.UUID, body: FeedPlanInput, now: datetime
) -> FeedPlan:
    return await signal_store.upsert_plan(
        conn, mentor_id, body.monthly_price_minor, body.currency, now
    )


async def feed_plan(platform: Platform, mentor_id: uuid.UUID) -> FeedPlan:
    """The mentor's plan; a mentor who set none has a free feed."""
    async with platform.pool.acquire() as conn:
        if not await _is_mentor(conn, mentor_id):
            raise NotFound("no such mentor")
        plan = await signal_store.get_plan(conn, mentor_id)
    return plan or FeedPlan(mentor_id=mentor_id, monthly_price_minor=0, currency="USD")


# --- what subscribing would cost -------------------------------------------------------


def subscription_refund_policy() -> RefundPolicy:
    """The billing and cancellation rules of a paid feed (`renew_due_subscriptions`,
    `unsubscribe`, `_pay_period`), in words."""
    days = SUBSCRIPTION_PERIOD.days
    grace = PAST_DUE_GRACE.days
    return RefundPolicy(
        summary=f"Cancel any time; the feed stays open until the {days} days paid for end. "
        "A period already paid is not refunded.",
        terms=[
            f"You pay for {days} days at a time: each renewal charges the full monthly price "
            "from your wallet (a discount code pays part of the first period only).",
            f"Cancel any time: the feed stays readable until the end of the {days} days paid "
            "for; a period already paid is not refunded.",
            "If your wallet cannot pay a renewal, the feed pauses and the payment is retried "
            f"for {grace} days; after that the subscription ends.",
            "Each period's payment is held in escrow and released to the mentor when the "
            "period ends; open a dispute before then if something went wrong.",
        ],
    )


async def feed_offer(
    conn: Connection, platform: Platform, buyer: CurrentUser, mentor_id: uuid.UUID
) -> Offer:
    """What subscribing to the mentor's signals would charge now, refused as subscribing
    would be (own feed, no such mentor, risk disclaimer not yet accepted, already
    subscribed). Back before a cancelled period ran out, nothing is charged now."""
    if mentor_id == buyer.id:
        raise InvalidInput("you cannot subscribe to your own signals", field="id")
    if not await _is_mentor(conn, mentor_id):
        raise NotFound("no such mentor", field="id")
    await service.ensure_acknowledged(conn, buyer.id, "your first signal subscription")
    if await signal_store.active_subscription(conn, buyer.id, mentor_id) is not None:
        raise Conflict("you already subscribe to this mentor's signals", field="id")
    plan = await signal_store.get_plan(conn, mentor_id)
    price = plan.monthly_price_minor if plan is not None else 0
    currency = plan.currency.strip() if plan is not None else "USD"
    names = await display_names(conn, platform.settings, {mentor_id})
    detail = f"billed every {SUBSCRIPTION_PERIOD.days} days" if price else "free feed"
    if price:
        left = await signal_store.paid_time_left(conn, buyer.id, mentor_id, lock=False)
        if left is not None:
            detail = f"your paid period runs until {left.paid_until:%d %b %Y}: nothing to pay now"
            price = 0
    return Offer(
        kind="signal_feed",
        item_id=mentor_id,
        title=f"{names[mentor_id]}'s signal feed",
        detail=detail,
        seller_id=mentor_id,
        price_minor=price,
        currency=currency,
        refund_policy=subscription_refund_policy(),
    )


# --- subscriptions --------------------------------------------------------------------


async def list_subscribers(platform: Platform, mentor_id: uuid.UUID) -> list[Subscriber]:
    """Newest first; names come from identity for the ids listed (sealed at rest)."""
    async with platform.pool.acquire() as conn:
        active = await signal_store.active_subscriptions_of(conn, mentor_id)
        names = await display_names(conn, platform.settings, {a.subscriber_id for a in active})
    return [
        Subscriber(
            subscription_id=a.id,
            subscriber_id=a.subscriber_id,
            name=names[a.subscriber_id],
            started_at=a.started_at,
            monthly_price_minor=a.monthly_price_minor,
            currency=a.currency.strip(),
            billing_status=a.billing_status,
            mirroring=a.mirroring,
        )
        for a in active
    ]


async def subscribe(
    platform: Platform,
    user: CurrentUser,
    mentor_id: uuid.UUID,
    body: SubscribeInput,
    idempotency_key: str,
) -> Subscription:
    """Start a subscription (paying a paid feed's first period from the wallet). A retry
    with the same key returns the subscription it started; another request is a 422."""
    async with transaction(platform.pool) as conn:
        return await start_subscription(conn, platform, user, mentor_id, body, idempotency_key)


async def start_subscription(
    conn: Connection,
    platform: Platform,
    user: CurrentUser,
    mentor_id: uuid.UUID,
    body: SubscribeInput,
    idempotency_key: str,
) -> Subscription:
    """`subscribe` inside the caller's transaction (the demo seeds this way)."""
    now = platform.clock.now()
    subscription_id = uuid.uuid5(_SUBSCRIPTION_KEYS, f"{user.id}:{idempotency_key}")
    # Calls carrying one key take turns: the second finds what the first started.
    await xact_lock(conn, "trading.subscription", subscription_id)
    earlier = await signal_store.get_subscription(conn, subscription_id)
    if earlier is not None:
        mirror = body.mirror
        asked = (
            mentor_id,
            mirror.portfolio_id if mirror else None,
            mirror.scaling.value if mirror else None,
            mirror.scaling_value if mirror else None,
        )
        started = (
            earlier.mentor_id,
            earlier.mirror_portfolio_id,
            earlier.scaling,
            earlier.scaling_value,
        )
        if asked != started:
            raise InvalidInput(
                "this idempotency key was used for a different subscription",
                field="idempotency_key",
            )
        return earlier
    if mentor_id == user.id:
        raise InvalidInput("you cannot subscribe to your own signals", field="mentor_id")
    if not await _is_mentor(conn, mentor_id):
        raise NotFound("no such mentor")
    await service.ensure_acknowledged(conn, user.id, "your first signal subscription")
    if body.mirror is not None:
        portfolio = await service.owned_portfolio(conn, user, body.mirror.portfolio_id)
        if portfolio.kind != "personal":
            raise InvalidInput(
                "mirror into one of your own paper portfolios", field="mirror.portfolio_id"
            )
        needs_value = body.mirror.scaling is not Scaling.SIZE_HINT
        if needs_value and body.mirror.scaling_value is None:
            raise InvalidInput(
                f"scaling_value is required for {body.mirror.scaling.value}",
                field="mirror.scaling_value",
            )
        if (
            body.mirror.scaling in (Scaling.FIXED_FRACTION, Scaling.MAX_RISK)
            and (body.mirror.scaling_value or 0) > 1
        ):
            raise InvalidInput("a fraction of equity is at most 1", field="mirror.scaling_value")
    plan = await signal_store.get_plan(conn, mentor_id)
    price = plan.monthly_price_minor if plan is not None else 0
    currency = plan.currency if plan is not None else "USD"
    billing: dict[str, Any] = {"billing_status": "free"}
    charged = 0
    if price > 0:
        if await signal_store.active_subscription(conn, user.id, mentor_id) is not None:
            raise Conflict("you already subscribe to this mentor's signals")
        left = await signal_store.paid_time_left(conn, user.id, mentor_id)
        if left is not None:
            if body.discount_code is not None:
                raise InvalidInput(
                    "your paid period still runs, so nothing is charged now: keep the code "
                    "for another purchase",
                    field="discount_code",
                )
            # Back before a cancelled period ran out: carry it over, charge nothing now.
            await signal_store.set_billing(conn, left.id, "expired")
            billing = {
                "billing_status": "paid",
                "paid_until": left.paid_until,
                "periods_paid": left.periods_paid,
                "escrow_id": left.escrow_id,
            }
        else:
            charged = price
            if body.discount_code is not None:
                discount = await redeem_discount_code(
                    conn,
                    code=body.discount_code,
                    user_id=user.id,
                    price_minor=price,
                    currency=currency,
                    purchase=PurchaseKind.SIGNAL_FEED,
                    used_for=f"signal-subscription:{subscription_id}",
                    now=now,
                )
                charged -= discount.applied_minor
            escrow = (
                await _pay_period(
                    conn, platform, subscription_id, user.id, mentor_id, charged, currency, 1, now
                )
                if charged > 0
                else None
            )
            billing = {
                "billing_status": "paid",
                "paid_until": now + SUBSCRIPTION_PERIOD,
                "periods_paid": 1,
                "escrow_id": escrow,
            }
    elif body.discount_code is not None:
        raise InvalidInput("this feed is free: there is nothing to discount", field="discount_code")
    subscription = await signal_store.insert_subscription(
        conn,
        id=subscription_id,
        subscriber_id=user.id,
        mentor_id=mentor_id,
        monthly_price_minor=price,
        currency=currency,
        status="active",
        mirror_portfolio_id=body.mirror.portfolio_id if body.mirror else None,
        scaling=body.mirror.scaling.value if body.mirror else None,
        scaling_value=body.mirror.scaling_value if body.mirror else None,
        started_at=now,
        **billing,
    )
    if subscription is None:
        raise Conflict("you already subscribe to this mentor's signals")
    event = SubscriptionStarted(
        subscription_id=str(subscription.id),
        subscriber_id=str(user.id),
        mentor_id=str(mentor_id),
        amount_minor=charged,
        currency=currency,
        billing_status=subscription.billing_status,
    )
    await emit_event(conn, event)
    return subscription


async def _pay_period(
    conn: Connection,
    platform: Platform,
    subscription_id: uuid.UUID,
    subscriber_id: uuid.UUID,
    mentor_id: uuid.UUID,
    price_minor: int,
    currency: str,
    period: int,
    now: datetime,
) -> uuid.UUID:
    """Pay one period of a paid feed from the subscriber's wallet into escrow, released
    to the mentor (their share, the platform's commission, VAT invoiced) when the period
    ends unless disputed first. Raises `InsufficientFunds` (409) when the wallet cannot."""
    escrow = await hold_escrow(
        conn,
        settings=platform.settings,
        now=now,
        payer_id=subscriber_id,
        mentor_id=mentor_id,
        amount_minor=price_minor,
        currency=currency,
        reference=f"signal feed subscription {subscription_id} period {period}",
        idempotency_key=f"signal-subscription:{subscription_id}:{period}",
        release_after=SUBSCRIPTION_PERIOD,
    )
    return escrow.id


async def renew_due_subscriptions(platform: Platform) -> int:
    """At the end of each paid period: expire a cancelled subscription; renew an active
    one from the wallet, or mark it past due (no access; retried on every run, so a
    top-up brings it back, for `PAST_DUE_GRACE`, after which it ends). Each subscription
    in its own transaction; running twice pays nothing twice. Returns how many periods
    were paid."""
    now = platform.clock.now()
    async with platform.pool.acquire() as conn:
        due = await signal_store.due_subscription_ids(conn, now)
    renewed = 0
    for subscription_id in due:
        async with transaction(platform.pool) as conn:
            sub = await signal_store.lock_subscription(conn, subscription_id)
            if (
                sub is None
                or sub.billing_status not in ("paid", "past_due")
                or sub.paid_until is None
                or sub.paid_until > now
            ):
                continue
            if sub.status == "cancelled":
                await signal_store.set_billing(conn, subscription_id, "expired")
                continue
            period = sub.periods_paid + 1
            if sub.billing_status == "past_due" and now - sub.paid_until >= PAST_DUE_GRACE:
                await signal_store.cancel_subscription(conn, subscription_id, now)
                await signal_store.set_billing(conn, subscription_id, "expired")
                await emit_event(conn, _billing_event(SubscriptionLapsed, sub, period))
                continue
            try:
                async with conn.transaction():  # a refused payment leaves nothing behind
                    escrow = await _pay_period(
                        conn,
                        platform,
                        subscription_id,
                        sub.subscriber_id,
                        sub.mentor_id,
                        sub.monthly_price_minor,
                        sub.currency,
                        period,
                        now,
                    )
            except InsufficientFunds:
                if sub.billing_status == "paid":
                    await signal_store.set_billing(conn, subscription_id, "past_due")
                    await emit_event(conn, _billing_event(SubscriptionPastDue, sub, period))
                    await _tell_past_due(conn, platform, sub, now)
                continue
            await signal_store.set_billing(
                conn,
                subscription_id,
                "paid",
                paid_until=now + SUBSCRIPTION_PERIOD,
                escrow_id=escrow,
                periods_paid=period,
            )
            await emit_event(conn, _billing_event(SubscriptionRenewed, sub, period))
            renewed += 1
    return renewed


async def _tell_past_due(
    conn: Connection, platform: Platform, sub: BilledSubscription, now: datetime
) -> None:
    contacts = await contacts_of(conn, platform.settings, [sub.subscriber_id, sub.mentor_id])
    contact = contacts.get(sub.subscriber_id)
    mentor = contacts.get(sub.mentor_id)
    if contact is None or mentor is None:
        return
    language = await language_of(conn, sub.subscriber_id)
    await queue_email(
        conn,
        platform.settings,
        to=contact.email,
        template=PAST_DUE_TEMPLATES.get(language, PAST_DUE_TEMPLATE),
        context={
            "mentor": mentor.name,
            "amount": format_money(sub.monthly_price_minor, sub.currency),
        },
        now=now,
        user_id=sub.subscriber_id,
    )


def _billing_event(
    kind: type[SubscriptionBilled], sub: BilledSubscription, period: int
) -> SubscriptionBilled:
    return kind(
        subscription_id=str(sub.id),
        subscriber_id=str(sub.subscriber_id),
        mentor_id=str(sub.mentor_id),
        amount_minor=sub.monthly_price_minor,
        currency=sub.currency,
        period=period,
    )


async def unsubscribe(
    platform: Platform, user: CurrentUser, subscription_id: uuid.UUID
) -> Subscription:
    """Cancel; a paid feed stays readable until its paid period ends."""
    async with transaction(platform.pool) as conn:
        subscription = await signal_store.get_subscription(conn, subscription_id)
        if subscription is None:
            raise NotFound("no such subscription")
        if subscription.subscriber_id != user.id:
            raise Forbidden("this subscription belongs to another user")
        cancelled = await signal_store.cancel_subscription(
            conn, subscription_id, platform.clock.now()
        )
        if cancelled is None:
            raise Conflict("the subscription is already cancelled")
        return cancelled


async def list_subscriptions(platform: Platform, user: CurrentUser) -> list[Subscription]:
    async with platform.pool.acquire() as conn:
        return await signal_store.list_subscriptions(conn, user.id)


async def list_mirrors(
    platform: Platform, user: CurrentUser, subscription_id: uuid.UUID
) -> list[Mirror]:
    """The subscription's mirrored copies and skipped ones (with reasons and latency)."""
    async with platform.pool.acquire() as conn:
        subscription = await signal_store.get_subscription(conn, subscription_id)
        if subscription is None:
            raise NotFound("no such subscription")
        if not user.may_read_as_owner(subscription.subscriber_id):
            raise Forbidden("this subscription belongs to another user")
        return await signal_store.list_mirrors(conn, subscription_id)


async def paid_feed_pairs(conn: Connection, user_id: uuid.UUID) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """(mentor, subscriber) pairs a paid, access-granting feed subscription links,
    `user_id` on either side (chat lets such a pair talk)."""
    return await signal_store.paid_feed_pairs(conn, user_id)

"""Quoting a purchase: the selling domain's offer, the discount code's value (and what
the buyer's points would be worth as one), and the wallet's VAT split and balance, read
together in one transaction. Nothing is written or
held: the slot, the seat, the money and the code stay free until the purchase itself."""

from __future__ import annotations

from dracarys.checkout.models import Quote, QuoteInput
from dracarys.community import premium_space_offer
from dracarys.curriculum import cohort_offer
from dracarys.db import Connection, transaction
from dracarys.identity import CurrentUser
from dracarys.mentorship import package_offer, session_offer
from dracarys.offers import Offer
from dracarys.platform import Platform
from dracarys.points import points_for_discount
from dracarys.trading import feed_offer
from dracarys.wallet import PurchaseKind, check_discount_code, quote_payment


async def _offer(
    conn: Connection, platform: Platform, buyer: CurrentUser, ask: QuoteInput
) -> Offer:
    now = platform.clock.now()
    if ask.kind == "session":
        return await session_offer(conn, platform, buyer, ask.id, ask.starts_at, now)
    if ask.kind == "cohort":
        return await cohort_offer(conn, buyer, ask.id, now)
    if ask.kind == "package":
        return await package_offer(conn, platform, buyer, ask.id)
    if ask.kind == "community_space":
        return await premium_space_offer(conn, platform, buyer, ask.id)
    return await feed_offer(conn, platform, buyer, ask.id)


async def quote(platform: Platform, buyer: CurrentUser, ask: QuoteInput) -> Quote:
    """What the purchase would charge the buyer now, refused as the purchase would be
    (a taken slot, a full cohort, a used or foreign discount code: each naming its field)."""
    async with transaction(platform.pool, isolation="repeatable_read") as conn:
        offer = await _offer(conn, platform, buyer, ask)
        discount = (
            await check_discount_code(
                conn,
                code=ask.discount_code,
                user_id=buyer.id,
                price_minor=offer.price_minor,
                currency=offer.currency,
                purchase=PurchaseKind(ask.kind),
                now=platform.clock.now(),
            )
            if ask.discount_code is not None
            else None
        )
        total = offer.price_minor - (discount.applied_minor if discount else 0)
        points = (
            await points_for_discount(conn, platform.settings, buyer.id, offer.currency)
            if total > 0
            else None
        )
        payment = await quote_payment(
            conn,
            settings=platform.settings,
            buyer_id=buyer.id,
            gross_minor=total,
            currency=offer.currency,
        )
    return Quote(
        kind=offer.kind,
        id=offer.item_id,
        starts_at=ask.starts_at,
        title=offer.title,
        detail=offer.detail,
        currency=offer.currency,
        price_minor=offer.price_minor,
        discount=discount,
        discount_minor=discount.applied_minor if discount else 0,
        total_minor=total,
        vat_country=payment.vat_country,
        vat_rate_bps=payment.vat_rate_bps,
        vat_minor=payment.vat_minor,
        net_minor=payment.net_minor,
        balance_minor=payment.available_minor,
        shortfall_minor=payment.shortfall_minor,
        refund_policy=offer.refund_policy,
        points=points,
        quoted_at=platform.clock.now(),
    )

"""Affiliates: a member applies; an admin approves with terms (a share of the platform's
fee on each payment of a member the affiliate referred, for a number of months after that
member signed up) or rejects, in the audit log. An affiliate's link is their referral
link, so attribution and the fraud rules are the referrals' (a refused referral earns no
commission).

Commissions, each in the wallet's double-entry ledger (the wallet owns money; social calls
its narrow commission functions inside its own transaction):

- accrued when a referred member pays — a course or subscription charge (`payment.captured`
  without escrow) or a session's escrow released (`escrow.released`) — as a pending
  transfer from platform revenue to the affiliate's wallet;
- payable when the refund window closes (`post_due_commissions`, every few minutes):
  posted, less what refunds took meanwhile (posting less releases the rest);
- paid in the weekly payout run through the wallet's payout path (M-Pesa or bank);
- reversed by a later refund of the payment (in proportion to what was refunded) or a
  chargeback of the member's card deposit (all of theirs): a pending commission is
  reduced or voided; a posted one is taken back from the affiliate's wallet, and what
  the wallet could not cover is recorded as unrecovered for the admins."""

from __future__ import annotations

import calendar
import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import structlog

from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, NotFound
from dracarys.identity import CurrentUser, display_names, record_audit
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.social import events
from dracarys.social.affiliates import store
from dracarys.social.affiliates.models import (
    Affiliate,
    AffiliateApplication,
    AffiliateDashboard,
    AffiliateDecision,
    AffiliateStatus,
    AffiliateView,
    Commission,
    CommissionsOwed,
    CommissionStatus,
    CommissionView,
    EarningsTotal,
    SeriesPoint,
)
from dracarys.social.referrals import service as referrals
from dracarys.wallet import (
    accrue_commission,
    claw_back_commission,
    platform_fee_of,
    settle_commission,
)

log = structlog.get_logger("dracarys.social.affiliates")

BPS = 10_000
_NAMESPACE = uuid.UUID("0b8f5a4e-3f57-4c7e-9d7a-6a1c2f3e9b10")
APPLICATIONS_SHOWN = 200
COMMISSIONS_SHOWN = 100
CHART_DAYS = 90
_DUE_BATCH = 500


def _months_after(start: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months later (the month's last day when
    it has fewer days)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return start.replace(
        year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1])
    )


# ---- applications and decisions -------------------------------------------------------


async def apply(platform: Platform, user: CurrentUser, body: AffiliateApplication) -> AffiliateView:
    """Apply (or apply again after a rejection)."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        existing = await store.affiliate(conn, user.id, lock=True)
        if existing is not None and existing.status is AffiliateStatus.APPLIED:
            raise Conflict("your application is waiting for a decision", field="website")
        if existing is not None and existing.status is AffiliateStatus.APPROVED:
            raise Conflict("you are an affiliate already", field="website")
        affiliate = await store.upsert_application(
            conn,
            user.id,
            website=body.website.strip(),
            audience=body.audience.strip(),
            promotion=body.promotion.strip(),
            at=now,
        )
        return (await _views(conn, platform, [affiliate]))[0]


async def applications(platform: Platform) -> list[AffiliateView]:
    """Open applications, oldest first (the staff's queue)."""
    async with platform.pool.acquire() as conn:
        waiting = await store.affiliates_with_status(
            conn, AffiliateStatus.APPLIED, APPLICATIONS_SHOWN
        )
        return await _views(conn, platform, waiting)


async def decide(
    platform: Platform,
    admin: CurrentUser,
    user_id: uuid.UUID,
    body: AffiliateDecision,
    *,
    source_ip: str | None,
) -> AffiliateView:
    """Approve with terms (the configured defaults where not given) or reject an open
    application; in the audit log."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        affiliate = await store.affiliate(conn, user_id, lock=True)
        if affiliate is None:
            raise NotFound("no such application", field="user_id")
        if affiliate.status is not AffiliateStatus.APPLIED:
            raise Conflict(f"this application was already {affiliate.status.value}")
        approve = body.decision == "approve"
        decided = await store.decide(
            conn,
            user_id,
            status=AffiliateStatus.APPROVED if approve else AffiliateStatus.REJECTED,
            share_bps=(body.share_bps or platform.settings.affiliate_share_bps)
            if approve
            else None,
            months=(body.months or platform.settings.affiliate_months) if approve else None,
            by=admin.id,
            note=body.note.strip(),
            at=now,
        )
        await record_audit(
            conn,
            admin.id,
            f"affiliate.{'approved' if approve else 'rejected'}",
            f"user:{user_id}",
            source_ip,
            {"share_bps": decided.share_bps or 0, "months": decided.months or 0},
            at=now,
        )
        return (await _views(conn, platform, [decided]))[0]


async def _views(
    conn: Connection, platform: Platform, affiliates: list[Affiliate]
) -> list[AffiliateView]:
    names = await display_names(conn, platform.settings, [a.user_id for a in affiliates])
    return [
        AffiliateView(
            user_id=a.user_id,
            name=names.get(a.user_id, "A member"),
            status=a.status,
            website=a.website,
            audience=a.audience,
            promotion=a.promotion,
            share_bps=a.share_bps,
            months=a.months,
            applied_at=a.applied_at,
            decided_at=a.decided_at,
            decision_note=a.decision_note,
        )
        for a in affiliates
    ]


# ---- accrual ---------------------------------------------------------------------------


async def accrue_for_payment(
    conn: Connection,
    platform: Platform,
    *,
    payer_id: uuid.UUID,
    payment_id: uuid.UUID,
    source: str,
    payment_minor: int,
    currency: str,
) -> Commission | None:
    """Consumer of a payment (inside its transaction): the payer's affiliate, within
    their terms, earns their share of what the platform kept of it, as a pending ledger
    transfer. Once per payment."""
    referral = await referrals.crediting_referral(conn, payer_id)
    if referral is None or payment_minor <= 0:
        return None
    affiliate = await store.affiliate(conn, referral.referrer_id)
    if affiliate is None or affiliate.status is not AffiliateStatus.APPROVED:
        return None
    assert affiliate.share_bps is not None
    assert affiliate.months is not None
    now = platform.clock.now()
    if now >= _months_after(referral.signed_up_at, affiliate.months):
        return None
    commission_id = uuid.uuid5(_NAMESPACE, f"{affiliate.user_id}:{payment_id}")
    if await store.commission_exists(conn, commission_id):
        return None
    fee = await platform_fee_of(conn, payment_id)
    amount = fee * affiliate.share_bps // BPS
    if amount <= 0:
        return None
    transfer_id = await accrue_commission(
        conn,
        commission_id=commission_id,
        affiliate_id=affiliate.user_id,
        amount_minor=amount,
        currency=currency,
        now=now,
    )
    commission = Commission(
        id=commission_id,
        affiliate_id=affiliate.user_id,
        referee_id=payer_id,
        payment_id=payment_id,
        source=source,
        payment_minor=payment_minor,
        fee_minor=fee,
        share_bps=affiliate.share_bps,
        amount_minor=amount,
        currency=currency,
        status=CommissionStatus.PENDING,
        transfer_id=transfer_id,
        payable_at=now + timedelta(days=platform.settings.affiliate_refund_window_days),
        reversed_minor=0,
        unrecovered_minor=0,
        payout_id=None,
        created_at=now,
    )
    await store.insert_commission(conn, commission, now)
    await emit_event(
        conn,
        events.AffiliateCommissionAccrued(
            commission_id=str(commission_id),
            affiliate_id=str(affiliate.user_id),
            referee_id=str(payer_id),
            payment_id=str(payment_id),
            amount_minor=amount,
            currency=currency,
        ),
    )
    log.info("affiliate_commission_accrued", commission_id=str(commission_id), amount=amount)
    return commission


# ---- reversal --------------------------------------------------------------------------


async def reverse_for_refund(
    conn: Connection,
    platform: Platform,
    *,
    refund_event_id: uuid.UUID,
    payment_id: uuid.UUID,
    refund_minor: int,
) -> int:
    """A refund of a charge reverses its commission in proportion to what was refunded.
    (A session's refund is settled with its escrow, before the fee the commission is
    worked out from, so it never reaches one.) What was reversed."""
    reversed_total = 0
    for commission in await store.lock_commissions_of_payment(conn, payment_id):
        if commission.source != "charge" or commission.status is CommissionStatus.REVERSED:
            continue
        share = commission.amount_minor * refund_minor // commission.payment_minor
        reversed_total += await _reverse(
            conn, platform, commission, min(share, commission.outstanding_minor), refund_event_id
        )
    return reversed_total


async def reverse_for_chargeback(
    conn: Connection, platform: Platform, *, chargeback_id: str, payer_id: uuid.UUID
) -> int:
    """A referred member disputing a card deposit with their bank: everything their
    payments earned their affiliate is reversed (the money may not be the platform's)."""
    reversed_total = 0
    for commission in await store.lock_commissions_of_referee(conn, payer_id):
        reversed_total += await _reverse(
            conn,
            platform,
            commission,
            commission.outstanding_minor,
            uuid.uuid5(_NAMESPACE, f"chargeback:{chargeback_id}"),
        )
    return reversed_total


async def _reverse(
    conn: Connection,
    platform: Platform,
    commission: Commission,
    amount_minor: int,
    reversal_id: uuid.UUID,
) -> int:
    if amount_minor <= 0:
        return 0
    now = platform.clock.now()
    reversed_minor = commission.reversed_minor + amount_minor
    unrecovered = commission.unrecovered_minor
    whole = reversed_minor >= commission.amount_minor
    if commission.status is CommissionStatus.PENDING:
        # Still pending: posting later takes only what is left; all of it voids now.
        if whole:
            await settle_commission(conn, commission.id, commission.transfer_id, pay=False, now=now)
    else:
        taken = await claw_back_commission(
            conn,
            commission_id=commission.id,
            reversal_id=str(reversal_id),
            affiliate_id=commission.affiliate_id,
            amount_minor=amount_minor,
            currency=commission.currency,
            now=now,
        )
        unrecovered += amount_minor - taken
    await store.set_state(
        conn,
        commission.id,
        status=CommissionStatus.REVERSED if whole else commission.status,
        reversed_minor=reversed_minor,
        unrecovered_minor=unrecovered,
        at=now,
    )
    log.info(
        "affiliate_commission_reversed",
        commission_id=str(commission.id),
        amount=amount_minor,
        unrecovered=unrecovered - commission.unrecovered_minor,
    )
    return amount_minor


# ---- payable, then paid ----------------------------------------------------------------


async def post_due_commissions(platform: Platform) -> int:
    """Scheduled: commissions whose refund window closed are posted to the affiliate's
    wallet (less what refunds took), payable in the next weekly run. How many."""
    posted = 0
    while True:
        async with transaction(platform.pool) as conn:
            now = platform.clock.now()
            due = await store.lock_due(conn, now, _DUE_BATCH)
            for commission in due:
                await settle_commission(
                    conn,
                    commission.id,
                    commission.transfer_id,
                    pay=True,
                    now=now,
                    amount_minor=commission.outstanding_minor,
                )
                await store.set_state(
                    conn,
                    commission.id,
                    status=CommissionStatus.PAYABLE,
                    reversed_minor=commission.reversed_minor,
                    unrecovered_minor=commission.unrecovered_minor,
                    at=now,
                )
            posted += len(due)
        if len(due) < _DUE_BATCH:
            return posted


async def commissions_owed(platform: Platform) -> list[CommissionsOwed]:
    """What the weekly run owes each affiliate, per currency: their payable commissions."""
    owed: dict[tuple[uuid.UUID, str], list[Commission]] = defaultdict(list)
    async with platform.pool.acquire() as conn:
        for commission in await store.payable(conn):
            owed[commission.affiliate_id, commission.currency].append(commission)
    return [
        CommissionsOwed(
            affiliate_id=affiliate_id,
            currency=currency,
            amount_minor=sum(c.outstanding_minor for c in commissions),
            commission_ids=[c.id for c in commissions],
        )
        for (affiliate_id, currency), commissions in owed.items()
    ]


async def record_commission_payouts(
    platform: Platform,
    owed: list[CommissionsOwed],
    paid: Mapping[tuple[uuid.UUID, str], uuid.UUID],
) -> int:
    """The weekly run paid these: their commissions are paid, by that payout."""
    marked = 0
    async with transaction(platform.pool) as conn:
        for line in owed:
            payout_id = paid.get((line.affiliate_id, line.currency))
            if payout_id is not None:
                marked += await store.mark_paid(
                    conn, line.commission_ids, payout_id, platform.clock.now()
                )
    return marked


# ---- the dashboard ---------------------------------------------------------------------


def _midnight_s(day: object) -> int:
    return int(datetime.fromisoformat(f"{day}T00:00:00+00:00").timestamp())


async def dashboard(platform: Platform, user_id: uuid.UUID) -> AffiliateDashboard:
    """The affiliate's application or terms, link, funnel (visits, sign-ups, conversions)
    and earnings (pending, payable, paid, reversed) with their daily series."""
    since = platform.clock.now().astimezone(UTC) - timedelta(days=CHART_DAYS)
    async with platform.pool.acquire() as conn:
        affiliate = await store.affiliate(conn, user_id)
        view = None if affiliate is None else (await _views(conn, platform, [affiliate]))[0]
        approved = affiliate is not None and affiliate.status is AffiliateStatus.APPROVED
        code = await referrals.ensure_code(conn, user_id, platform.clock.now())
        clicks, signups, conversions = await referrals.funnel(conn, user_id)
        days = await referrals.daily_funnel(conn, user_id, since)
        totals = await store.totals(conn, user_id)
        reversed_by_currency = await store.reversed_totals(conn, user_id)
        daily = await store.daily_earnings(conn, user_id, since)
        commissions = await store.commissions_of(conn, user_id, COMMISSIONS_SHOWN)
        names = await display_names(conn, platform.settings, {c.referee_id for c in commissions})
    earnings: dict[str, dict[CommissionStatus, int]] = defaultdict(dict)
    for total in totals:
        earnings[total.currency][total.status] = total.amount_minor
    series: dict[str, list[SeriesPoint]] = defaultdict(list)
    for day in daily:
        series[day.currency].append(SeriesPoint(time=_midnight_s(day.day), value=day.amount_minor))
    return AffiliateDashboard(
        affiliate=view,
        link=referrals.referral_link(platform, code) if approved else None,
        clicks=clicks,
        signups=signups,
        conversions=conversions,
        earnings=[
            EarningsTotal(
                currency=currency,
                pending_minor=by_status.get(CommissionStatus.PENDING, 0),
                payable_minor=by_status.get(CommissionStatus.PAYABLE, 0),
                paid_minor=by_status.get(CommissionStatus.PAID, 0),
                reversed_minor=reversed_by_currency.get(currency, 0),
            )
            for currency, by_status in sorted(earnings.items())
        ],
        clicks_series=[SeriesPoint(time=_midnight_s(d.day), value=d.clicks) for d in days],
        signups_series=[SeriesPoint(time=_midnight_s(d.day), value=d.signups) for d in days],
        conversions_series=[
            SeriesPoint(time=_midnight_s(d.day), value=d.conversions) for d in days
        ],
        earnings_series=dict(series),
        commissions=[
            CommissionView(
                id=c.id,
                referee=names.get(c.referee_id, "A member"),
                amount_minor=c.amount_minor,
                currency=c.currency,
                status=c.status,
                reversed_minor=c.reversed_minor,
                payable_at=c.payable_at,
                created_at=c.created_at,
            )
            for c in commissions
        ],
    )

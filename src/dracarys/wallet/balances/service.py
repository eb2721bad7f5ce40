"""A wallet's balances and history, for its owner (and staff who may read as owner), and
the live frame that tells the owner's open pages the wallet changed."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Sequence

import msgspec

from dracarys.db import Connection
from dracarys.errors import InvalidInput, NotFound
from dracarys.identity import CurrentUser
from dracarys.money import format_money
from dracarys.outbox import Event
from dracarys.platform import Platform
from dracarys.wallet.balances.models import (
    CurrencyBalance,
    Direction,
    HistoryItem,
    WalletBalances,
    WalletChangedFrame,
    WalletHistory,
)
from dracarys.wallet.escrow import service as escrow
from dracarys.wallet.events import (
    CHARGEBACK_CLOSED,
    CHARGEBACK_OPENED,
    DEPOSIT_COMPLETED,
    PAYMENT_CAPTURED,
    PAYOUT_COMPLETED,
    PAYOUT_FAILED,
    PAYOUT_NEEDS_REVIEW,
    POINTS_CREDIT_LANDED,
    REFUND_ISSUED,
    ChargebackClosed,
    ChargebackOpened,
    DepositCompleted,
    EscrowReleased,
    PaymentCaptured,
    PayoutCompleted,
    PayoutFailed,
    PayoutNeedsReview,
    PointsCreditLanded,
    RefundIssued,
)
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountEntry, TransferKind
from dracarys.wallet.models import SUPPORTED_CURRENCIES
from dracarys.wire import decode_cursor, encode_cursor
from streams import channels

# Transfer codes whose open pending transfers are money on its way out of the wallet.
_WITHDRAWING_CODES = frozenset({"withdrawal", "scheduled"})
_ESCROW_CODE = "escrow_hold"


def _readable(actor: CurrentUser, wallet_id: uuid.UUID) -> None:
    if not actor.may_read_as_owner(wallet_id):
        raise NotFound("no such wallet", field="wallet_id")


async def balances_of(conn: Connection, user_id: uuid.UUID) -> WalletBalances:
    """Every supported currency, zero where the user holds no wallet in it yet."""
    found = await ledger.wallet_balances_of(conn, user_id)
    accounts = await ledger.wallet_accounts_of(conn, user_id)
    in_escrow: dict[str, int] = defaultdict(int)
    withdrawing: dict[str, int] = defaultdict(int)
    for hold in await ledger.open_holds(conn, list(accounts.values())):
        if hold.code == _ESCROW_CODE:
            in_escrow[hold.currency] += hold.amount_minor
        elif hold.code in _WITHDRAWING_CODES:
            withdrawing[hold.currency] += hold.amount_minor
    held_back = await escrow.held_back_of(conn, user_id)
    rows = []
    for currency in SUPPORTED_CURRENCIES:
        balance = found.get(currency)
        rows.append(
            CurrencyBalance(
                currency=currency,
                available_minor=balance.available_minor if balance else 0,
                posted_minor=balance.posted_minor if balance else 0,
                pending_in_minor=balance.credits_pending if balance else 0,
                pending_out_minor=balance.debits_pending if balance else 0,
                in_escrow_minor=in_escrow[currency],
                withdrawing_minor=withdrawing[currency],
                held_back_minor=held_back.get(currency, 0),
            )
        )
    return WalletBalances(wallet_id=user_id, balances=rows)


async def wallet_balances(
    platform: Platform, actor: CurrentUser, wallet_id: uuid.UUID
) -> WalletBalances:
    _readable(actor, wallet_id)
    async with platform.pool.acquire() as conn:
        return await balances_of(conn, wallet_id)


# ---- history --------------------------------------------------------------------------

# What each transfer code means to the wallet's owner.
_LABELS = {
    "opening": "Opening balance",
    "demo_top_up": "Demo top-up",
    "deposit": "Top-up",
    "deposit_failed": "Top-up not completed",
    "withdrawal": "Withdrawal",
    "scheduled": "Scheduled payout",
    "payout": "Payout sent",
    "payout_failed": "Payout failed: money returned",
    "escrow_hold": "Session payment held in escrow",
    "escrow_post": "Session payment released from escrow",
    "escrow_refund": "Session payment refunded",
    "mentor_share": "Mentoring earnings",
    "holdback_release": "Held-back earnings released",
    "charge_sale": "Purchase",
    "charge_vat": "VAT on a purchase",
    "charge_refund": "Refund",
    "charge_refund_vat": "VAT refunded",
    "card_refund": "Refund to your card",
    "card_refund_failed": "Card refund failed: money returned",
    "chargeback_hold": "Card dispute: amount held",
    "chargeback": "Card dispute lost",
    "chargeback_released": "Card dispute won: hold released",
    "points_credit": "Points converted to credit",
    "mentor_bonus": "Mentor bonus",
    "affiliate_commission": "Affiliate commission",
    "affiliate_commission_clawback": "Affiliate commission reversed (refund or chargeback)",
    "expired": "Reservation expired: money returned",
}


def history_label(code: str, kind: TransferKind) -> str:
    if code == "deposit" and kind is TransferKind.PENDING:
        return "Top-up awaiting payment"
    if code == "affiliate_commission" and kind is TransferKind.PENDING:
        return "Affiliate commission (pending until the refund window closes)"
    return _LABELS.get(code, code.replace("_", " ").capitalize())


def _direction(entry: AccountEntry) -> tuple[Direction, int]:
    """Which way the entry moved money, and how much (always positive)."""
    posted = entry.credits_posted - entry.debits_posted
    if posted:
        return ("in" if posted > 0 else "out"), abs(posted)
    if entry.debits_pending:
        return ("hold" if entry.debits_pending > 0 else "release"), abs(entry.debits_pending)
    return ("incoming" if entry.credits_pending > 0 else "cancelled"), abs(entry.credits_pending)


def _history_item(entry: AccountEntry) -> HistoryItem:
    direction, amount = _direction(entry)
    return HistoryItem(
        entry_id=entry.id,
        transfer_id=entry.transfer_id,
        code=entry.code,
        label=history_label(entry.code, entry.kind),
        kind=entry.kind.value,
        currency=entry.currency,
        amount_minor=amount,
        direction=direction,
        balance_after_minor=entry.balance_after,
        available_after_minor=entry.available_after,
        reference=entry.reference,
        created_at=entry.created_at,
    )


async def wallet_history(
    platform: Platform,
    actor: CurrentUser,
    wallet_id: uuid.UUID,
    currency: str | None,
    *,
    cursor: str | None,
    limit: int,
) -> WalletHistory:
    """Newest first, in one currency or (without `currency`) all of them, each entry with
    its currency's posted and available balance right after it."""
    _readable(actor, wallet_id)
    if currency is not None and currency not in SUPPORTED_CURRENCIES:
        raise InvalidInput(
            f"choose one of {', '.join(SUPPORTED_CURRENCIES)}, or no currency for all",
            field="currency",
        )
    before = decode_cursor(cursor) if cursor is not None else None
    async with platform.pool.acquire() as conn:
        accounts = await ledger.wallet_accounts_of(conn, wallet_id)
        chosen = [a for c, a in accounts.items() if currency is None or c == currency]
        entries = (
            await ledger.account_entries(conn, chosen, before_id=before, limit=limit)
            if chosen
            else []
        )
    next_cursor = encode_cursor(entries[-1].id) if len(entries) == limit else None
    return WalletHistory(
        wallet_id=wallet_id,
        currency=currency,
        items=[_history_item(e) for e in entries],
        next_cursor=next_cursor,
    )


# ---- live: the wallet's events on the owner's notifications channel --------------------

LivePayload = (
    DepositCompleted
    | PaymentCaptured
    | RefundIssued
    | EscrowReleased
    | PayoutCompleted
    | PayoutFailed
    | PayoutNeedsReview
    | ChargebackOpened
    | ChargebackClosed
    | PointsCreditLanded
)
# The wallet events that move money in or out of a user's wallet, or change a payout,
# each read as its own payload type.
_LIVE_PAYLOADS: dict[str, type[LivePayload]] = {
    payload.topic: payload
    for payload in (
        DepositCompleted,
        PaymentCaptured,
        RefundIssued,
        EscrowReleased,
        PayoutCompleted,
        PayoutFailed,
        PayoutNeedsReview,
        ChargebackOpened,
        ChargebackClosed,
        PointsCreditLanded,
    )
}
LIVE_TOPICS = frozenset(_LIVE_PAYLOADS)

_SUMMARIES = {
    DEPOSIT_COMPLETED: "Your top-up of {amount} has landed.",
    PAYMENT_CAPTURED: "You paid {amount}.",
    REFUND_ISSUED: "{amount} was refunded to you.",
    PAYOUT_COMPLETED: "Your withdrawal of {amount} was paid out.",
    PAYOUT_FAILED: "Your withdrawal of {amount} failed; the money is back in your wallet.",
    PAYOUT_NEEDS_REVIEW: "Your withdrawal of {amount} is being checked by our team.",
    CHARGEBACK_OPENED: "A card payment of {amount} is disputed; part of it is held.",
    CHARGEBACK_CLOSED: "The dispute over a card payment of {amount} is closed.",
    POINTS_CREDIT_LANDED: "Your points credit of {amount} has landed.",
}


def _related_id(change: LivePayload) -> str | None:
    for name in ("deposit_id", "payout_id", "charge_id", "escrow_id", "redemption_id"):
        if value := getattr(change, name, None):
            return str(value)
    related = getattr(change, "related_id", None)
    return None if related is None else str(related)


def wallet_frames(event: Event) -> list[tuple[uuid.UUID, WalletChangedFrame]]:
    """The frame for each user whose wallet the event changed (an escrow's release changes
    its payer's reservation and its mentor's balance)."""
    payload_type = _LIVE_PAYLOADS.get(event.topic)
    if payload_type is None:
        return []
    change = msgspec.convert(event.payload, payload_type)
    currency, amount = change.currency, change.amount_minor
    related = _related_id(change)

    def frame(summary: str, amount_minor: int) -> WalletChangedFrame:
        return WalletChangedFrame(
            topic=event.topic,
            currency=currency,
            amount_minor=amount_minor,
            summary=summary,
            related_id=related,
            at=event.created_at,
        )

    if isinstance(change, EscrowReleased):
        money = format_money(amount, currency)
        return [
            (change.payer_id, frame(f"Your session payment of {money} left escrow.", amount)),
            (
                change.mentor_id,
                frame(
                    f"You earned {format_money(change.mentor_minor, currency)} from a session.",
                    change.mentor_minor,
                ),
            ),
        ]
    summary = _SUMMARIES[event.topic].format(amount=format_money(amount, currency))
    return [(change.user_id, frame(summary, amount))]


async def publish_wallet_changes(platform: Platform, batch: Sequence[Event]) -> None:
    """Consumer `wallet.live`: each committed wallet event, as a frame on its users'
    `notifications:{user_id}` channels, so an open wallet page (the M-Pesa callback's
    outcome included) updates without a reload. A redelivered event sends its frame
    again, which only makes the page read its balances once more."""
    frames: dict[uuid.UUID, list[WalletChangedFrame]] = defaultdict(list)
    for event in batch:
        for user_id, frame in wallet_frames(event):
            frames[user_id].append(frame)

    async def publish_in_order(user_id: uuid.UUID, messages: list[WalletChangedFrame]) -> None:
        for message in messages:
            await platform.streams.publish(channels.notifications(user_id), message)

    # One user's frames keep their order; different users' go out concurrently.
    await asyncio.gather(*(publish_in_order(u, m) for u, m in frames.items()))

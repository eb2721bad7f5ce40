"""The ledger's rules: what follows a credit (the rolling-window tier moves, the user hears
of the points), a manual credit or debit by staff, and the balance and history a user
reads. Every entry is posted through `store.post_entry` in the caller's transaction."""

from __future__ import annotations

import uuid

from dracarys.db import Connection
from dracarys.errors import Conflict
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.points import events
from dracarys.points.ledger import store
from dracarys.points.ledger.models import Balance, History, LedgerEntry, Posting
from dracarys.points.models import AwardOutcome, Tier
from dracarys.points.reasons import describe_reason
from dracarys.points.rules import next_tier, tier_for, tier_window_start
from dracarys.wire import decode_cursor, encode_cursor


def tier_changed(user_id: uuid.UUID, previous: str, tier: str) -> events.TierChanged:
    return events.TierChanged(user_id=str(user_id), previous=previous, tier=tier)


def awarded(
    platform: Platform,
    user_id: uuid.UUID,
    posting: Posting,
    reason_code: str,
    entity: str | None,
    context: dict[str, str],
) -> events.PointsAwarded:
    """The `points.awarded` of a posted credit."""
    return events.PointsAwarded(
        user_id=str(user_id),
        entry_id=str(posting.entry_id),
        delta=posting.posted,
        reason_code=reason_code,
        balance=posting.balance_after or 0,
        related_entity=entity,
        context={**context, "awarded_at": platform.clock.now().isoformat()},
    )


async def after_credit(
    conn: Connection,
    platform: Platform,
    user_id: uuid.UUID,
    posting: Posting,
    reason_code: str,
    entity: str | None,
    context: dict[str, str],
) -> None:
    """A credit landed: move the tier if the rolling window says so, and tell the user."""
    if posting.earned_in_window is not None and posting.tier is not None:
        tier = tier_for(posting.earned_in_window, platform.settings)
        if tier.value != posting.tier:
            await store.set_tier(conn, user_id, tier.value)
            await emit_event(conn, tier_changed(user_id, posting.tier, tier.value))
    await emit_event(conn, awarded(platform, user_id, posting, reason_code, entity, context))


async def adjust(
    conn: Connection,
    platform: Platform,
    *,
    user_id: uuid.UUID,
    change: int,
    reason_code: str,
    related_entity: str | None,
    key: str,
    source_ip: str | None,
) -> AwardOutcome:
    """A manual credit or debit by staff; a debit larger than the balance is refused."""
    now = platform.clock.now()
    posting = await store.post_entry(
        conn,
        user_id=user_id,
        delta=change,
        reason_code=reason_code,
        category="adjustment",
        related_entity=related_entity,
        rule_code=None,
        rule_version=None,
        key=key,
        source_ip=source_ip,
        at=now,
        respect_freeze=False,
        tier_since=tier_window_start(platform.settings, now) if change > 0 else None,
    )
    if posting.status == "insufficient":
        raise Conflict(
            f"the user has {posting.balance_after} points; cannot take {-change}", field="change"
        )
    if posting.status == "posted" and change > 0:
        await after_credit(conn, platform, user_id, posting, reason_code, related_entity, {})
    return AwardOutcome(
        status=posting.status,
        user_id=user_id,
        rule_code=None,
        points=posting.posted,
        entry_id=posting.entry_id,
        balance=posting.balance_after,
    )


async def balance(platform: Platform, user_id: uuid.UUID) -> Balance:
    async with platform.pool.acquire() as conn:
        row = await store.balance(conn, user_id)
        earned = await store.earned_since(
            conn, user_id, tier_window_start(platform.settings, platform.clock.now())
        )
    upcoming, needed, progress = next_tier(earned, platform.settings)
    return Balance(
        user_id=user_id,
        balance=row.balance if row else 0,
        pending=row.pending if row else 0,
        tier=Tier(row.tier) if row else Tier.BRONZE,
        earned_in_window=earned,
        next_tier=upcoming,
        points_to_next_tier=needed,
        progress_pct=progress,
        earning_frozen=bool(row and row.earning_frozen_at is not None),
    )


async def history(
    platform: Platform, user_id: uuid.UUID, cursor: str | None, limit: int
) -> History:
    """Ledger entries newest first, `limit` a page, each with its reason in words."""
    before = decode_cursor(cursor) if cursor else None
    async with platform.pool.acquire() as conn:
        rows = await store.history(conn, user_id, before, limit + 1)
    page = rows[:limit]
    items = [
        LedgerEntry(
            id=entry.id,
            delta=entry.delta,
            reason_code=entry.reason_code,
            reason=describe_reason(entry.reason_code),
            category=entry.category,
            related_entity=entry.related_entity,
            rule_code=entry.rule_code,
            rule_version=entry.rule_version,
            balance_after=entry.balance_after,
            created_at=entry.created_at,
        )
        for entry in page
    ]
    next_cursor = encode_cursor(page[-1].seq) if len(rows) > limit else None
    return History(items=items, next_cursor=next_cursor)

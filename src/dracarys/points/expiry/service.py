"""The expiry job (stale points of users who stay away) and the rolling-window tier
refresh; both are safe to run twice at once."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from dracarys.db import transaction
from dracarys.identity import last_sign_ins
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.points.expiry import store
from dracarys.points.ledger import service as ledger
from dracarys.points.ledger import store as ledger_store
from dracarys.points.rules import months_before, tier_thresholds, tier_window_start


def _seen_since(last_login: datetime | None, signed_in: datetime | None, since: datetime) -> bool:
    return any(moment is not None and moment >= since for moment in (last_login, signed_in))


async def expire_points(platform: Platform) -> int:
    """Expire points earned more than N months ago, oldest first, for users who have not
    logged in within the grace period. Safe to run twice at once: each user is decided
    under their balance-row lock, and the amount is recomputed there from the ledger.

    Oldest-first needs no per-lot bookkeeping: balances never go negative, so every debit
    (redemption, earlier expiry, clawback) consumed the oldest credits first, and what
    remains of the credits earned before the cutoff is max(0, old credits − all debits)."""
    settings = platform.settings
    now = platform.clock.now()
    cutoff = months_before(now, settings.points_expiry_months)
    login_since = now - timedelta(days=settings.points_expiry_login_grace_days)
    async with platform.pool.acquire() as conn:
        candidates = await store.expiry_candidates(conn, cutoff, login_since)
        signed_in = await last_sign_ins(conn, candidates) if candidates else {}
    expired = 0
    for user_id in candidates:
        if _seen_since(None, signed_in.get(user_id), login_since):
            continue
        expired += await _expire_for(platform, user_id, now, cutoff, login_since)
    return expired


async def _expire_for(
    platform: Platform,
    user_id: uuid.UUID,
    now: datetime,
    cutoff: datetime,
    login_since: datetime,
) -> int:
    """Decide one user under their balance-row lock; returns the points expired."""
    async with transaction(platform.pool) as conn:
        balance = await ledger_store.lock_balance(conn, user_id, now)
        signed_in = (await last_sign_ins(conn, [user_id])).get(user_id)
        if _seen_since(balance.last_login_at, signed_in, login_since):
            return 0
        held = await store.credits_and_debits(conn, user_id, cutoff)
        amount = held.old_credits - held.spent
        if amount <= 0:
            return 0
        posting = await ledger_store.post_entry(
            conn,
            user_id=user_id,
            delta=-amount,
            reason_code="expired",
            category="expiry",
            related_entity=cutoff.date().isoformat(),
            rule_code=None,
            rule_version=None,
            key=f"expire:{user_id}:{now.date().isoformat()}",
            source_ip=None,
            at=now,
            partial=True,
        )
        return -posting.posted if posting.status == "posted" else 0


async def refresh_tiers(platform: Platform) -> int:
    """Tiers follow a rolling window, so they can fall as old earnings leave it."""
    now = platform.clock.now()
    thresholds = [(t.value, floor) for t, floor in tier_thresholds(platform.settings)]
    changed = 0
    async with transaction(platform.pool) as conn:
        for move in await store.tiers_to_refresh(
            conn, tier_window_start(platform.settings, now), thresholds
        ):
            await ledger_store.set_tier(conn, move.user_id, move.tier)
            await emit_event(conn, ledger.tier_changed(move.user_id, move.previous, move.tier))
            changed += 1
    return changed

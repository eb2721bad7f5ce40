"""The points rules in motion: one award service for every source (events, the admin
API, appeals), pending money-tied awards, redemption, expiry, tiers, badges, streaks,
anti-abuse and the daily reconciliation. Every ledger write goes through
`store.post_entry`, in the caller's transaction."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import structlog

from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound
from dracarys.idempotency import request_hash
from dracarys.outbox import emit, emit_many
from dracarys.platform import Platform
from dracarys.points import events, store
from dracarys.points.models import (
    CASH_EQUIVALENT,
    Appeal,
    AppealDecisionInput,
    AppealInput,
    Award,
    AwardInput,
    AwardOutcome,
    Balance,
    ConvertPointsInput,
    EventInput,
    PointsEvent,
    Redemption,
    Rule,
    RuleVersionInput,
    Streak,
    Target,
    Tier,
)
from dracarys.points.notifications import describe_reason
from dracarys.points.rules import (
    RuleBook,
    award_points,
    caps_for,
    day_key,
    idempotency_key,
    months_before,
    next_tier,
    tier_for,
    tier_thresholds,
    tier_window_start,
)

log = structlog.get_logger("dracarys.points")

DENIALS = frozenset({"capped", "frozen", "frozen_velocity"})
BADGE_FIRST_LESSON = "first_lesson"
BADGE_FIRST_ASSESSMENT = "first_assessment_passed"
BADGE_STREAK_7 = "streak_7_days"
BADGE_PROFITABLE_MONTH = "first_profitable_paper_month"

# ---- the rule book (rules in force + limited-time events), cached briefly per database --

_RULEBOOKS: dict[str, RuleBook] = {}


def invalidate_rules(platform: Platform) -> None:
    _RULEBOOKS.pop(platform.database.dsn, None)


async def rulebook(conn: Connection, platform: Platform) -> RuleBook:
    key = platform.database.dsn
    cached = _RULEBOOKS.get(key)
    ttl = platform.settings.points_rules_cache_s
    if cached is not None and time.monotonic() - cached.loaded_at < ttl:
        return cached
    book = RuleBook(
        rules={r.code: r for r in await store.rules_in_force(conn)},
        events=await store.current_events(conn, platform.clock.now()),
    )
    _RULEBOOKS[key] = book
    return book


# ---- awarding -------------------------------------------------------------------------


async def award(conn: Connection, platform: Platform, request: Award) -> AwardOutcome:
    """Apply one rule to one user for one related entity, at most once ever."""
    now = platform.clock.now()
    book = await rulebook(conn, platform)
    rule = book.rule(request.rule_code)
    if rule is None:
        raise InvalidInput(f"there is no points rule {request.rule_code!r}", field="rule_code")
    entity = request.related_entity if rule.scope == "per_entity" else None
    if rule.scope == "per_entity" and not entity:
        raise InvalidInput(
            f"rule {rule.code!r} needs the related entity it is awarded for",
            field="related_entity_id",
        )
    key = idempotency_key(rule.code, request.user_id, entity)

    def outcome(status: str, points: int = 0, **extra: Any) -> AwardOutcome:
        return AwardOutcome(
            status=status, user_id=request.user_id, rule_code=rule.code, points=points, **extra
        )

    if not rule.active:
        return outcome("inactive_rule")
    points = award_points(
        book,
        rule,
        at=now,
        amount_minor=request.amount_minor,
        currency=request.currency,
        multiplier=request.multiplier,
    )
    if points <= 0:
        return outcome("zero")
    if rule.pending:
        return await _hold(conn, platform, rule, request, entity, key, points)
    if (
        rule.min_kyc_level
        and await store.user_kyc_level(conn, request.user_id) < rule.min_kyc_level
    ):
        await _deny(conn, request.user_id, rule, entity, points, "kyc_required", key, now)
        return outcome("kyc_required")
    settings = platform.settings
    row = await store.post_entry(
        conn,
        user_id=request.user_id,
        delta=points,
        reason_code=rule.code,
        category=rule.category,
        related_entity=entity,
        rule_code=rule.code,
        rule_version=rule.version,
        key=key,
        source_ip=request.source_ip,
        at=now,
        caps=caps_for(rule, settings, now),
        partial=True,
        velocity_limit=settings.points_velocity_limit,
        velocity_since=now - timedelta(minutes=settings.points_velocity_window_minutes),
        tier_since=tier_window_start(settings, now),
    )
    status = row["status"]
    if status in DENIALS:
        await _deny(conn, request.user_id, rule, entity, points, status, key, now)
        return outcome(status)
    if status == "posted":
        await _after_credit(
            conn, platform, request.user_id, row, rule.code, entity, request.context
        )
    return outcome(status, row["posted"], entry_id=row["entry_id"], balance=row["balance_after"])


async def award_many(conn: Connection, platform: Platform, requests: list[Award]) -> None:
    """Many awards in a few round trips: the plain credits go to the database in one
    batch; pending and KYC-gated awards take the single-award path."""
    if not requests:
        return
    now = platform.clock.now()
    settings = platform.settings
    book = await rulebook(conn, platform)
    items: list[dict[str, Any]] = []
    planned: list[tuple[Award, Rule, str | None]] = []
    for request in requests:
        rule = book.rule(request.rule_code)
        if rule is None or rule.pending or rule.min_kyc_level or not rule.active:
            await award(conn, platform, request)
            continue
        entity = request.related_entity if rule.scope == "per_entity" else None
        points = award_points(
            book,
            rule,
            at=now,
            amount_minor=request.amount_minor,
            currency=request.currency,
            multiplier=request.multiplier,
        )
        if points <= 0 or (rule.scope == "per_entity" and not entity):
            continue
        items.append(
            {
                "user_id": str(request.user_id),
                "delta": points,
                "reason": rule.code,
                "category": rule.category,
                "related": entity,
                "rule_code": rule.code,
                "rule_version": rule.version,
                "key": idempotency_key(rule.code, request.user_id, entity),
                "source_ip": request.source_ip,
                "caps": caps_for(rule, settings, now),
            }
        )
        planned.append((request, rule, entity))
    if not items:
        return
    rows = await store.post_entries(
        conn,
        items,
        at=now,
        velocity_limit=settings.points_velocity_limit,
        velocity_since=now - timedelta(minutes=settings.points_velocity_window_minutes),
        tier_since=tier_window_start(settings, now),
    )
    outgoing: list[tuple[str, dict[str, Any]]] = []
    # Per user: the tier stored before this batch, and the most earned within the window.
    tiers: dict[uuid.UUID, tuple[str, int]] = {}
    for row in rows:
        if row["status"] != "posted":
            continue
        request, rule, entity = planned[row["idx"]]
        stored, earned = tiers.get(request.user_id, (row["tier"], 0))
        tiers[request.user_id] = (stored, max(earned, int(row["earned_in_window"] or 0)))
        outgoing.append(
            (
                events.POINTS_AWARDED,
                _awarded_payload(
                    platform, request.user_id, row, rule.code, entity, request.context
                ),
            )
        )
    for user_id, (stored, earned) in tiers.items():
        tier = tier_for(earned, settings)
        if tier.value != stored:
            await store.set_tier(conn, user_id, tier.value)
            outgoing.append(
                (
                    events.TIER_CHANGED,
                    msgspec.to_builtins(
                        events.TierChanged(user_id=str(user_id), previous=stored, tier=tier.value)
                    ),
                )
            )
    await emit_many(conn, outgoing)


def _awarded_payload(
    platform: Platform,
    user_id: uuid.UUID,
    row: Any,
    reason_code: str,
    entity: str | None,
    context: dict[str, str],
) -> dict[str, Any]:
    payload = events.PointsAwarded(
        user_id=str(user_id),
        entry_id=str(row["entry_id"]),
        delta=int(row["posted"]),
        reason_code=reason_code,
        balance=int(row["balance_after"]),
        related_entity=entity,
        context={**context, "awarded_at": platform.clock.now().isoformat()},
    )
    result: dict[str, Any] = msgspec.to_builtins(payload)
    return result


async def _deny(
    conn: Connection,
    user_id: uuid.UUID,
    rule: Rule,
    entity: str | None,
    points: int,
    reason: str,
    key: str,
    at: datetime,
) -> None:
    await store.record_denial(
        conn,
        user_id=user_id,
        rule_code=rule.code,
        rule_version=rule.version,
        related_entity=entity,
        points=points,
        reason=reason,
        key=key,
        at=at,
    )


async def _hold(
    conn: Connection,
    platform: Platform,
    rule: Rule,
    request: Award,
    entity: str | None,
    key: str,
    points: int,
) -> AwardOutcome:
    """Money-tied awards wait as pending points until the refund window closes."""
    now = platform.clock.now()
    user_id = request.user_id

    def outcome(status: str, held: int = 0, pending_id: uuid.UUID | None = None) -> AwardOutcome:
        return AwardOutcome(
            status=status, user_id=user_id, rule_code=rule.code, points=held, pending_id=pending_id
        )

    if await store.denial_or_entry_exists(conn, key):
        return outcome("duplicate")
    balance = await store.lock_balance(conn, user_id, now)
    if balance["earning_frozen_at"] is not None:
        await _deny(conn, user_id, rule, entity, points, "frozen", key, now)
        return outcome("frozen")
    caps = caps_for(rule, platform.settings, now)
    cap_keys = [str(c["key"]) for c in caps]
    used = await store.usage(conn, user_id, cap_keys)
    allowed = min([points] + [int(str(c["limit"])) - used.get(str(c["key"]), 0) for c in caps])
    if allowed <= 0:
        await _deny(conn, user_id, rule, entity, points, "capped", key, now)
        return outcome("capped")
    pending_id = await store.insert_pending(
        conn,
        user_id=user_id,
        points=allowed,
        reason_code=rule.code,
        category=rule.category,
        related_entity=entity,
        money_ref=request.money_ref or entity or str(user_id),
        rule_code=rule.code,
        rule_version=rule.version,
        min_kyc_level=rule.min_kyc_level,
        source_ip=request.source_ip,
        key=key,
        context=request.context,
        at=now,
        available_at=now + timedelta(days=platform.settings.points_pending_window_days),
    )
    if pending_id is None:
        return outcome("duplicate")
    await store.add_usage(conn, user_id, cap_keys, allowed)
    await store.add_pending_total(conn, user_id, allowed)
    return outcome("pending", allowed, pending_id)


async def _after_credit(
    conn: Connection,
    platform: Platform,
    user_id: uuid.UUID,
    row: Any,
    reason_code: str,
    entity: str | None,
    context: dict[str, str],
) -> None:
    """A credit landed: move the tier if the rolling window says so, and tell the user."""
    if row["earned_in_window"] is not None:
        tier = tier_for(int(row["earned_in_window"]), platform.settings)
        if tier.value != row["tier"]:
            await store.set_tier(conn, user_id, tier.value)
            await emit(
                conn,
                events.TIER_CHANGED,
                msgspec.to_builtins(
                    events.TierChanged(user_id=str(user_id), previous=row["tier"], tier=tier.value)
                ),
            )
    await emit(
        conn,
        events.POINTS_AWARDED,
        _awarded_payload(platform, user_id, row, reason_code, entity, context),
    )


async def post_due_pending(platform: Platform, *, batch_size: int = 200) -> int:
    """Post pending awards whose refund window has closed (and whose KYC gate is met).
    Rows are claimed with SKIP LOCKED, so concurrent runs share the work."""
    posted = 0
    settings = platform.settings
    while True:
        async with transaction(platform.pool) as conn:
            now = platform.clock.now()
            rows = await store.due_pending(conn, now, batch_size)
            for pending in rows:
                row = await store.post_entry(
                    conn,
                    user_id=pending["user_id"],
                    delta=pending["points"],
                    reason_code=pending["reason_code"],
                    category=pending["category"],
                    related_entity=pending["related_entity"],
                    rule_code=pending["rule_code"],
                    rule_version=pending["rule_version"],
                    key=pending["idempotency_key"],
                    source_ip=pending["source_ip"],
                    at=now,
                    respect_freeze=False,
                    tier_since=tier_window_start(settings, now),
                )
                await store.resolve_pending(
                    conn, pending["id"], status="posted", at=now, entry_id=row["entry_id"]
                )
                await store.add_pending_total(conn, pending["user_id"], -pending["points"])
                if row["status"] == "posted":
                    await _after_credit(
                        conn,
                        platform,
                        pending["user_id"],
                        row,
                        pending["reason_code"],
                        pending["related_entity"],
                        dict(pending["context"]),
                    )
                    posted += 1
        if len(rows) < batch_size:
            return posted


async def void_for_refund(conn: Connection, platform: Platform, money_ref: str, reason: str) -> int:
    """A refund voids the pending awards tied to the money; awards already posted are
    clawed back (never below zero). Returns how many awards were touched."""
    now = platform.clock.now()
    touched = 0
    for pending in await store.pending_for_money_ref(conn, money_ref, None):
        if pending["status"] == "pending":
            await store.lock_balance(conn, pending["user_id"], now)
            await store.resolve_pending(
                conn, pending["id"], status="voided", at=now, void_reason=reason
            )
            await store.add_pending_total(conn, pending["user_id"], -pending["points"])
            created = pending["created_at"]
            code = pending["rule_code"]
            await store.release_usage(
                conn,
                pending["user_id"],
                [f"d:{day_key(created)}:r:{code}", f"m:{created:%Y-%m}:r:{code}"],
                pending["points"],
            )
            touched += 1
        elif pending["status"] == "posted":
            row = await store.post_entry(
                conn,
                user_id=pending["user_id"],
                delta=-pending["points"],
                reason_code="refund_clawback",
                category="clawback",
                related_entity=pending["related_entity"],
                rule_code=pending["rule_code"],
                rule_version=pending["rule_version"],
                key=f"clawback:{pending['id']}",
                source_ip=None,
                at=now,
                partial=True,
            )
            touched += row["status"] == "posted"
    return touched


# ---- admin / internal award API -------------------------------------------------------


async def award_via_api(
    platform: Platform,
    body: AwardInput,
    actor: uuid.UUID,
    source_ip: str | None,
    *,
    idempotency_key: str,
) -> AwardOutcome:
    if (body.rule_code is None) == (body.change is None):
        raise InvalidInput("send either `rule_code` or `change`", field="rule_code")
    if body.change is not None and body.reason_code is None:
        raise InvalidInput("a manual change needs a `reason_code`", field="reason_code")
    if body.change == 0:
        raise InvalidInput("`change` must not be zero", field="change")
    digest = request_hash("points_award", body)
    async with transaction(platform.pool) as conn:
        # Serialise requests carrying the same key so a retry waits for the first answer.
        await store.lock_key(conn, f"points_award:{idempotency_key}")
        earlier = await store.award_request(conn, idempotency_key)
        if earlier is not None:
            if earlier["request_hash"] != digest:
                raise InvalidInput(
                    "this idempotency key was used with a different request",
                    field="idempotency_key",
                )
            return msgspec.convert(earlier["response"], AwardOutcome)
        if not await store.user_exists(conn, body.user_id):
            raise NotFound("no such user", field="user_id")
        if body.rule_code is not None:
            result = await award(
                conn,
                platform,
                Award(
                    user_id=body.user_id,
                    rule_code=body.rule_code,
                    related_entity=body.related_entity_id,
                    amount_minor=body.amount_minor,
                    currency=body.currency,
                    money_ref=body.related_entity_id,
                    source_ip=source_ip,
                ),
            )
        else:
            result = await adjust(
                conn,
                platform,
                user_id=body.user_id,
                change=body.change or 0,
                reason_code=body.reason_code or "adjustment",
                related_entity=body.related_entity_id,
                key=f"api:{idempotency_key}",
                source_ip=source_ip,
            )
        await store.save_award_request(
            conn,
            idempotency_key,
            digest,
            msgspec.to_builtins(result),
            platform.clock.now(),
        )
    log.info("points_award_api", actor=str(actor), status=result.status, user=str(body.user_id))
    return result


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
    row = await store.post_entry(
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
    if row["status"] == "insufficient":
        raise Conflict(
            f"the user has {row['balance_after']} points; cannot take {-change}", field="change"
        )
    if row["status"] == "posted" and change > 0:
        await _after_credit(conn, platform, user_id, row, reason_code, related_entity, {})
    return AwardOutcome(
        status=row["status"],
        user_id=user_id,
        rule_code=None,
        points=int(row["posted"]),
        entry_id=row["entry_id"],
        balance=row["balance_after"],
    )


# ---- rules and events administration --------------------------------------------------


async def new_rule_version(
    platform: Platform, code: str, body: RuleVersionInput, actor: uuid.UUID
) -> Rule:
    async with transaction(platform.pool) as conn:
        await store.lock_rule_code(conn, code)
        versions = await store.rule_versions(conn, code)
        if not versions:
            raise NotFound(f"there is no points rule {code!r}")
        current = versions[-1]
        changes = {k: v for k, v in msgspec.structs.asdict(body).items() if v is not None}
        rule = msgspec.structs.replace(current, version=current.version + 1, **changes)
        await store.insert_rule_version(conn, rule, actor)
    invalidate_rules(platform)
    return rule


async def create_event(platform: Platform, body: EventInput, actor: uuid.UUID) -> PointsEvent:
    if body.ends_at <= body.starts_at:
        raise InvalidInput("an event must end after it starts", field="ends_at")
    async with transaction(platform.pool) as conn:
        known = {r.code for r in await store.rules_in_force(conn)}
        unknown = sorted(set(body.rule_codes) - known)
        if unknown:
            raise InvalidInput(f"unknown rules: {', '.join(unknown)}", field="rule_codes")
        event = PointsEvent(
            id=uuid.uuid4(),
            name=body.name,
            rule_codes=sorted(set(body.rule_codes)),
            multiplier_pct=body.multiplier_pct,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
        )
        await store.insert_event(conn, event, actor)
    invalidate_rules(platform)
    return event


# ---- transparency ---------------------------------------------------------------------


async def balance(platform: Platform, user_id: uuid.UUID) -> Balance:
    async with platform.pool.acquire() as conn:
        row = await store.balance_row(conn, user_id)
        earned = await store.earned_since(
            conn, user_id, tier_window_start(platform.settings, platform.clock.now())
        )
    upcoming, needed, progress = next_tier(earned, platform.settings)
    return Balance(
        user_id=user_id,
        balance=int(row["balance"]) if row else 0,
        pending=int(row["pending"]) if row else 0,
        tier=Tier(row["tier"]) if row else Tier.BRONZE,
        earned_in_window=earned,
        next_tier=upcoming,
        points_to_next_tier=needed,
        progress_pct=progress,
        earning_frozen=bool(row and row["earning_frozen_at"] is not None),
    )


# ---- badges and streaks ---------------------------------------------------------------


async def grant_badges(
    conn: Connection, platform: Platform, grants: list[tuple[uuid.UUID, str, str | None]]
) -> list[tuple[uuid.UUID, str]]:
    """Grant badges not held yet (each once per user) and announce the new ones."""
    unique = list(
        {(user, badge): (user, badge, related) for user, badge, related in grants}.values()
    )
    if not unique:
        return []
    granted = await store.grant_badges(conn, unique, platform.clock.now())
    if granted:
        await emit_many(
            conn,
            [
                (
                    events.BADGE_EARNED,
                    msgspec.to_builtins(events.BadgeEarned(user_id=str(user), badge=badge)),
                )
                for user, badge in granted
            ],
        )
    return granted


async def grant_badge(
    conn: Connection, platform: Platform, user_id: uuid.UUID, badge: str, related: str | None
) -> bool:
    return bool(await grant_badges(conn, platform, [(user_id, badge, related)]))


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def advance_streak(
    current: int, longest: int, last_day: date | None, today: date
) -> tuple[int, int, date]:
    """The same local day twice is one day; the next local day extends the streak; a gap
    restarts it; a late event for an earlier day changes nothing."""
    if last_day is None:
        return 1, max(longest, 1), today
    if today == last_day + timedelta(days=1):
        current, last_day = current + 1, today
    elif today > last_day + timedelta(days=1):
        current, last_day = 1, today
    return current, max(longest, current), last_day


class LearningVisit(msgspec.Struct, frozen=True):
    user_id: uuid.UUID
    at: datetime
    timezone: str | None = None


async def record_learning_days(
    conn: Connection, platform: Platform, visits: list[LearningVisit]
) -> dict[uuid.UUID, Streak]:
    """Count days of learning in each user's own timezone (profile, else the one given,
    else the one last used, else UTC). Local dates make DST shifts and midnight in any
    zone come out right. Seven days in a row earn a badge."""
    if not visits:
        return {}
    users = sorted({v.user_id for v in visits})
    existing = await store.lock_streaks(conn, users)
    profile_zones = await store.profile_timezones(conn, users)
    state: dict[uuid.UUID, tuple[int, int, date | None, str]] = {}
    for user in users:
        row = existing.get(user)
        if row is None:
            state[user] = (0, 0, None, "")
        else:
            state[user] = (
                row["current_days"],
                row["longest_days"],
                row["last_day"],
                row["timezone"],
            )
    for visit in visits:
        current, longest, last_day, last_zone = state[visit.user_id]
        candidates = [profile_zones.get(visit.user_id), visit.timezone, last_zone]
        zone_name: str = next((n for n in candidates if n and _zone(n) is not None), "UTC")
        today = visit.at.astimezone(ZoneInfo(zone_name)).date()
        current, longest, last_day = advance_streak(current, longest, last_day, today)
        state[visit.user_id] = (current, longest, last_day, zone_name)
    now = platform.clock.now()
    rows = [(u, c, lg, d, z, now) for u, (c, lg, d, z) in state.items() if d is not None]
    await store.save_streaks(conn, rows)
    await grant_badges(
        conn,
        platform,
        [(u, BADGE_STREAK_7, d.isoformat()) for u, c, _, d, _, _ in rows if c >= 7],
    )
    return {
        u: Streak(current_days=c, longest_days=lg, last_day=d.isoformat(), timezone=z)
        for u, c, lg, d, z, _ in rows
    }


async def record_learning_day(
    conn: Connection,
    platform: Platform,
    user_id: uuid.UUID,
    at: datetime,
    timezone: str | None = None,
) -> Streak:
    streaks = await record_learning_days(conn, platform, [LearningVisit(user_id, at, timezone)])
    return streaks[user_id]


async def streak(platform: Platform, user_id: uuid.UUID) -> Streak:
    async with platform.pool.acquire() as conn:
        row = await store.streak(conn, user_id)
    if row is None:
        return Streak(current_days=0, longest_days=0, last_day=None, timezone="UTC")
    # A streak whose last day is before yesterday (in the user's zone) is broken.
    today = platform.clock.now().astimezone(ZoneInfo(row["timezone"])).date()
    alive = row["last_day"] >= today - timedelta(days=1)
    return Streak(
        current_days=row["current_days"] if alive else 0,
        longest_days=row["longest_days"],
        last_day=row["last_day"].isoformat(),
        timezone=row["timezone"],
    )


# ---- redemption -----------------------------------------------------------------------


def _redemption(row: Any, balance_after: int) -> Redemption:
    return Redemption(
        id=row["id"],
        user_id=row["user_id"],
        points=row["points"],
        target=Target(row["target"]),
        target_ref=row["target_ref"],
        value_minor=row["value_minor"],
        currency=row["currency"],
        status=row["status"],
        discount_code=row["discount_code"],
        created_at=row["created_at"],
        release_at=row["release_at"],
        balance=balance_after,
    )


async def convert_points(
    platform: Platform,
    user_id: uuid.UUID,
    body: ConvertPointsInput,
    source_ip: str | None,
    *,
    idempotency_key: str,
) -> Redemption:
    """Spend points on a target. Discounts, course unlocks and merch are immediate; wallet
    and mentor credit need KYC level 2 and wait out a hold before the credit is released.
    The debit and the redemption record commit together or not at all."""
    if body.target in (Target.COURSE_UNLOCK, Target.MERCH) and body.target_ref is None:
        raise InvalidInput(
            f"`target_ref` (the {'course' if body.target is Target.COURSE_UNLOCK else 'item'} "
            "id) is required for this target",
            field="target_ref",
        )
    settings = platform.settings
    digest = request_hash("points_redeem", body)
    async with transaction(platform.pool) as conn:
        now = platform.clock.now()
        await store.lock_key(conn, f"points_redeem:{user_id}:{idempotency_key}")
        earlier = await store.redemption_by_key(conn, user_id, idempotency_key)
        if earlier is not None:
            if earlier["request_hash"] != digest:
                raise InvalidInput(
                    "this idempotency key was used with a different request",
                    field="idempotency_key",
                )
            current = await store.balance_row(conn, user_id)
            return _redemption(earlier, int(current["balance"]) if current else 0)
        cash_like = body.target in CASH_EQUIVALENT
        if cash_like and await store.user_kyc_level(conn, user_id) < 2:
            raise Forbidden(
                "converting points to credit needs identity verification (KYC level 2)",
                field="target",
            )
        redemption_id = uuid.uuid4()
        row = await store.insert_redemption(
            conn,
            id=redemption_id,
            user_id=user_id,
            points=body.points,
            target=body.target.value,
            target_ref=body.target_ref,
            value_minor=body.points * settings.points_minor_units_per_point,
            currency=settings.points_currency,
            status="held" if cash_like else "fulfilled",
            discount_code=(
                "PTS-" + secrets.token_hex(5).upper() if body.target is Target.DISCOUNT else None
            ),
            idempotency_key=idempotency_key,
            request_hash=digest,
            created_at=now,
            release_at=now + timedelta(days=settings.points_redemption_hold_days)
            if cash_like
            else None,
        )
        assert row is not None  # the advisory lock above rules out a concurrent twin
        debit = await store.post_entry(
            conn,
            user_id=user_id,
            delta=-body.points,
            reason_code="redemption",
            category="redemption",
            related_entity=str(redemption_id),
            rule_code=None,
            rule_version=None,
            key=f"redeem:{redemption_id}",
            source_ip=source_ip,
            at=now,
        )
        if debit["status"] != "posted":
            raise Conflict(
                f"not enough points: the balance is {debit['balance_after'] or 0}",
                field="points",
            )
        await store.set_redemption_entry(conn, redemption_id, debit["entry_id"])
        await emit(
            conn,
            events.POINTS_REDEEMED,
            msgspec.to_builtins(
                events.PointsRedeemed(
                    user_id=str(user_id),
                    redemption_id=str(redemption_id),
                    target=body.target.value,
                    target_ref=body.target_ref,
                    points=body.points,
                    value_minor=row["value_minor"],
                    currency=row["currency"],
                )
            ),
        )
        return _redemption(row, int(debit["balance_after"]))


async def release_held_redemptions(platform: Platform, *, batch_size: int = 200) -> int:
    """After the hold, record the credit owed and announce `points.redeemed_for_credit`;
    the wallet credits it (keyed by the redemption) and answers `points.credit_landed`."""
    released = 0
    while True:
        async with transaction(platform.pool) as conn:
            now = platform.clock.now()
            rows = await store.due_held_redemptions(conn, now, batch_size)
            for row in rows:
                purpose = "mentor_sessions" if row["target"] == Target.MENTOR_CREDIT else "wallet"
                await store.release_redemption(conn, row["id"], now)
                await store.insert_wallet_credit(
                    conn,
                    redemption_id=row["id"],
                    user_id=row["user_id"],
                    amount_minor=row["value_minor"],
                    currency=row["currency"],
                    purpose=purpose,
                    at=now,
                )
                await emit(
                    conn,
                    events.POINTS_REDEEMED_FOR_CREDIT,
                    msgspec.to_builtins(
                        events.PointsRedeemedForCredit(
                            user_id=str(row["user_id"]),
                            redemption_id=str(row["id"]),
                            amount_minor=row["value_minor"],
                            currency=row["currency"],
                            purpose=purpose,
                        )
                    ),
                )
                released += 1
        if len(rows) < batch_size:
            return released


# ---- expiry ---------------------------------------------------------------------------


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
    expired = 0
    for user_id in candidates:
        async with transaction(platform.pool) as conn:
            await store.lock_balance(conn, user_id, now)
            last = await store.last_login(conn, user_id)
            if last is not None and last >= login_since:
                continue
            old_credits, spent = await store.credits_and_debits(conn, user_id, cutoff)
            amount = old_credits - spent
            if amount <= 0:
                continue
            row = await store.post_entry(
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
            if row["status"] == "posted":
                expired += -int(row["posted"])
    return expired


# ---- tiers ----------------------------------------------------------------------------


async def refresh_tiers(platform: Platform) -> int:
    """Tiers follow a rolling window, so they can fall as old earnings leave it."""
    now = platform.clock.now()
    thresholds = [(t.value, floor) for t, floor in tier_thresholds(platform.settings)]
    changed = 0
    async with transaction(platform.pool) as conn:
        for row in await store.tiers_to_refresh(
            conn, tier_window_start(platform.settings, now), thresholds
        ):
            await store.set_tier(conn, row["user_id"], row["tier"])
            await emit(
                conn,
                events.TIER_CHANGED,
                msgspec.to_builtins(
                    events.TierChanged(
                        user_id=str(row["user_id"]), previous=row["previous"], tier=row["tier"]
                    )
                ),
            )
            changed += 1
    return changed


# ---- anti-abuse: email-click tokens, sightings, clusters, freezes, appeals -----------

# Mail scanners and link pre-fetchers that "click" every link in a message.
_AUTOMATED_AGENTS = re.compile(
    r"bot|crawl|spider|slurp|preview|prefetch|scanner|proofpoint|mimecast|barracuda|"
    r"googleimageproxy|yahoomailproxy|outlook-ios-linkpreview|microsoft office protocol|"
    r"ms-office|curl|wget|python-requests|python-httpx|httpclient|go-http-client|java/|"
    r"okhttp|headless|phantomjs|^$",
    re.IGNORECASE,
)


def is_automated_agent(user_agent: str | None) -> bool:
    return bool(_AUTOMATED_AGENTS.search((user_agent or "").strip()))


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def issue_email_token(
    conn: Connection, platform: Platform, user_id: uuid.UUID, email_id: str
) -> str | None:
    """A unique click token for one user and one marketing email (messaging puts it in
    the links); None if this user already has a token for this email."""
    token = secrets.token_urlsafe(24)
    inserted = await store.insert_email_token(
        conn, _token_hash(token), user_id, email_id, platform.clock.now()
    )
    return token if inserted else None


async def record_email_click(
    platform: Platform, token: str, user_agent: str | None, ip: str | None
) -> str:
    """The link in the email was followed. Scanners are ignored; a human click waits for
    the signed-in confirmation before it can earn anything."""
    if is_automated_agent(user_agent):
        return "ignored"
    async with transaction(platform.pool) as conn:
        row = await store.lock_email_token(conn, _token_hash(token))
        if row is None:
            raise NotFound("unknown or expired link")
        await store.record_email_click(
            conn, _token_hash(token), platform.clock.now(), user_agent or "", ip
        )
    return "recorded"


async def confirm_email_click(platform: Platform, user_id: uuid.UUID, token: str) -> str:
    """The click led to an authenticated session of the token's own user: emit
    `email.clicked`, which the award consumer turns into points."""
    async with transaction(platform.pool) as conn:
        row = await store.lock_email_token(conn, _token_hash(token))
        if row is None or row["user_id"] != user_id:
            raise NotFound("unknown link for this account")
        if row["clicked_at"] is None:
            raise Conflict("this link was not opened by a person yet", field="token")
        if row["confirmed_at"] is not None:
            return "already_confirmed"
        await store.confirm_email_click(conn, _token_hash(token), platform.clock.now())
        await emit(
            conn, events.EMAIL_CLICKED, {"user_id": str(user_id), "email_id": row["email_id"]}
        )
    return "confirmed"


async def record_login(
    conn: Connection,
    platform: Platform,
    user_id: uuid.UUID,
    source_ip: str | None,
    device: str | None,
    at: datetime,
) -> None:
    await store.set_last_login(conn, user_id, at)
    if source_ip:
        await store.record_sighting(conn, user_id, "ip", source_ip, at)
    if device:
        await store.record_sighting(conn, user_id, "device", device, at)


async def flag_shared_clusters(platform: Platform) -> int:
    """Flag for review every IP or device fingerprint shared by N or more accounts."""
    opened = 0
    async with transaction(platform.pool) as conn:
        now = platform.clock.now()
        for row in await store.shared_clusters(conn, platform.settings.points_cluster_min_accounts):
            kind = "shared_ip" if row["kind"] == "ip" else "shared_device"
            opened += await store.upsert_fraud_flag(
                conn, kind, row["value"], list(row["user_ids"]), now
            )
    return opened


async def unfreeze(platform: Platform, user_id: uuid.UUID) -> None:
    async with transaction(platform.pool) as conn:
        row = await store.balance_row(conn, user_id)
        if row is None or row["earning_frozen_at"] is None:
            raise Conflict("this account's earning is not frozen")
        await store.set_frozen(conn, user_id, None, None)


async def file_appeal(platform: Platform, user_id: uuid.UUID, body: AppealInput) -> Appeal:
    async with transaction(platform.pool) as conn:
        if body.denial_id is not None:
            row = await store.denial(conn, body.denial_id)
            if row is None or row["user_id"] != user_id:
                raise NotFound("no such decision on your account", field="denial_id")
        if (
            body.entry_id is not None
            and await store.ledger_entry_owner(conn, body.entry_id) != user_id
        ):
            raise NotFound("no such entry in your history", field="entry_id")
        return await store.insert_appeal(
            conn,
            user_id=user_id,
            denial_id=body.denial_id,
            entry_id=body.entry_id,
            message=body.message,
            at=platform.clock.now(),
        )


async def decide_appeal(
    platform: Platform, appeal_id: uuid.UUID, body: AppealDecisionInput, reviewer: uuid.UUID
) -> Appeal:
    """Grant (optionally with points, defaulting to the denied amount, and unfreezing) or
    reject an open appeal; the grant is a ledger entry keyed by the appeal."""
    async with transaction(platform.pool) as conn:
        row = await store.lock_appeal(conn, appeal_id)
        if row is None:
            raise NotFound("no such appeal")
        if row["status"] != "open":
            raise Conflict(f"this appeal was already {row['status']}")
        user_id = row["user_id"]
        if row["user_id"] == reviewer:
            raise Forbidden("you cannot decide your own appeal")
        granted: int | None = None
        if body.decision == "grant":
            points = body.points
            if points is None and row["denial_id"] is not None:
                denial = await store.denial(conn, row["denial_id"])
                points = int(denial["points"]) if denial else None
            if body.unfreeze:
                await store.lock_balance(conn, user_id, platform.clock.now())
                await store.set_frozen(conn, user_id, None, None)
            if points:
                outcome = await adjust(
                    conn,
                    platform,
                    user_id=user_id,
                    change=points,
                    reason_code="appeal_granted",
                    related_entity=str(appeal_id),
                    key=f"appeal:{appeal_id}",
                    source_ip=None,
                )
                granted = outcome.points
        return await store.resolve_appeal(
            conn,
            appeal_id,
            status="granted" if body.decision == "grant" else "rejected",
            granted_points=granted,
            note=body.note,
            reviewer_id=reviewer,
            at=platform.clock.now(),
        )


def reason_text(reason_code: str) -> str:
    return describe_reason(reason_code)

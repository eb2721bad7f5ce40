"""The one award service for every source (consumed events, batches of them, the staff
award endpoint): one rule, one user, one related entity, at most once ever. Money-tied
awards wait as pending points until the refund window closes; a refund voids them, or
claws back those already posted."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec

from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import InvalidInput, NotFound
from dracarys.idempotency import request_hash
from dracarys.identity import account_of, accounts_of, record_audit
from dracarys.money import is_currency
from dracarys.outbox import EventPayload, emit_event, emit_events
from dracarys.platform import Platform
from dracarys.points import events
from dracarys.points.awarding import store
from dracarys.points.awarding.models import AwardInput
from dracarys.points.ledger import service as ledger
from dracarys.points.ledger import store as ledger_store
from dracarys.points.ledger.models import Posting
from dracarys.points.models import Award, AwardOutcome, Rule
from dracarys.points.rulebook.service import rulebook
from dracarys.points.rules import (
    award_points,
    caps_for,
    day_key,
    idempotency_key,
    tier_for,
    tier_window_start,
)

# What the ledger answers when it decides against a credit: recorded as a denial.
DENIALS = frozenset({"capped", "frozen", "frozen_velocity"})
# The denial that freezes the account's earning (the others refuse one award).
FREEZES = "frozen_velocity"


def _frozen(user_id: uuid.UUID, rule_code: str, points: int) -> events.PointsFrozen:
    return events.PointsFrozen(
        user_id=str(user_id), reason="velocity", rule_code=rule_code, points=points
    )


def _clawed_back(
    user_id: uuid.UUID, posting: Posting, reason_code: str, related_entity: str | None
) -> events.PointsClawedBack:
    return events.PointsClawedBack(
        user_id=str(user_id),
        entry_id=str(posting.entry_id),
        points=-posting.posted,
        reason_code=reason_code,
        related_entity=related_entity,
    )


async def _kyc_level(conn: Connection, user_id: uuid.UUID) -> int:
    account = await account_of(conn, user_id)
    return account.kyc_level if account else 0


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
    if rule.min_kyc_level and await _kyc_level(conn, request.user_id) < rule.min_kyc_level:
        await _deny(conn, request.user_id, rule, entity, points, "kyc_required", key, now)
        return outcome("kyc_required")
    settings = platform.settings
    posting = await ledger_store.post_entry(
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
    if posting.status in DENIALS:
        await _deny(conn, request.user_id, rule, entity, points, posting.status, key, now)
        if posting.status == FREEZES:
            await emit_event(conn, _frozen(request.user_id, rule.code, points))
        return outcome(posting.status)
    if posting.status == "posted":
        await ledger.after_credit(
            conn, platform, request.user_id, posting, rule.code, entity, request.context
        )
    return outcome(
        posting.status, posting.posted, entry_id=posting.entry_id, balance=posting.balance_after
    )


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
                "caps": msgspec.to_builtins(caps_for(rule, settings, now)),
            }
        )
        planned.append((request, rule, entity))
    if not items:
        return
    postings = await ledger_store.post_entries(
        conn,
        items,
        at=now,
        velocity_limit=settings.points_velocity_limit,
        velocity_since=now - timedelta(minutes=settings.points_velocity_window_minutes),
        tier_since=tier_window_start(settings, now),
    )
    outgoing: list[EventPayload] = []
    # Per user: the tier stored before this batch, and the most earned within the window.
    tiers: dict[uuid.UUID, tuple[str, int]] = {}
    for posting in postings:
        if posting.status == FREEZES:
            request, rule, _ = planned[posting.idx]
            outgoing.append(_frozen(request.user_id, rule.code, items[posting.idx]["delta"]))
        if posting.status != "posted":
            continue
        request, rule, entity = planned[posting.idx]
        stored, earned = tiers.get(request.user_id, (posting.tier or "", 0))
        tiers[request.user_id] = (stored, max(earned, posting.earned_in_window or 0))
        outgoing.append(
            ledger.awarded(platform, request.user_id, posting, rule.code, entity, request.context)
        )
    for user_id, (stored, earned) in tiers.items():
        tier = tier_for(earned, settings)
        if tier.value != stored:
            await ledger_store.set_tier(conn, user_id, tier.value)
            outgoing.append(ledger.tier_changed(user_id, stored, tier.value))
    await emit_events(conn, outgoing)


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
    await ledger_store.record_denial(
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

    if await ledger_store.denial_or_entry_exists(conn, key):
        return outcome("duplicate")
    balance = await ledger_store.lock_balance(conn, user_id, now)
    if balance.earning_frozen_at is not None:
        await _deny(conn, user_id, rule, entity, points, "frozen", key, now)
        return outcome("frozen")
    caps = caps_for(rule, platform.settings, now)
    cap_keys = [cap.key for cap in caps]
    used = await ledger_store.usage(conn, user_id, cap_keys)
    allowed = min([points] + [cap.limit - used.get(cap.key, 0) for cap in caps])
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
    await ledger_store.add_usage(conn, user_id, cap_keys, allowed)
    await ledger_store.add_pending_total(conn, user_id, allowed)
    return outcome("pending", allowed, pending_id)


async def post_due_pending(platform: Platform, *, batch_size: int = 200) -> int:
    """Post pending awards whose refund window has closed and whose KYC gate is met (one
    that is not met stays pending until it is). Rows are claimed with SKIP LOCKED, so
    concurrent runs share the work; a run walks the due rows once, in order."""
    posted = 0
    settings = platform.settings
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        async with transaction(platform.pool) as conn:
            now = platform.clock.now()
            due = await store.due_pending(conn, now, batch_size, after=after)
            if due:
                after = (due[-1].available_at, due[-1].id)
            gated = {p.user_id for p in due if p.min_kyc_level}
            accounts = await accounts_of(conn, gated) if gated else {}
            for pending in due:
                if pending.min_kyc_level:
                    account = accounts.get(pending.user_id)
                    if account is None or account.kyc_level < pending.min_kyc_level:
                        continue
                posting = await ledger_store.post_entry(
                    conn,
                    user_id=pending.user_id,
                    delta=pending.points,
                    reason_code=pending.reason_code,
                    category=pending.category,
                    related_entity=pending.related_entity,
                    rule_code=pending.rule_code,
                    rule_version=pending.rule_version,
                    key=pending.idempotency_key,
                    source_ip=pending.source_ip,
                    at=now,
                    respect_freeze=False,
                    tier_since=tier_window_start(settings, now),
                )
                await store.resolve_pending(
                    conn, pending.id, status="posted", at=now, entry_id=posting.entry_id
                )
                await ledger_store.add_pending_total(conn, pending.user_id, -pending.points)
                if posting.status == "posted":
                    await ledger.after_credit(
                        conn,
                        platform,
                        pending.user_id,
                        posting,
                        pending.reason_code,
                        pending.related_entity,
                        dict(pending.context),
                    )
                    posted += 1
        if len(due) < batch_size:
            return posted


async def void_for_refund(conn: Connection, platform: Platform, money_ref: str, reason: str) -> int:
    """A refund voids the pending awards tied to the money; awards already posted are
    clawed back (never below zero). Returns how many awards were touched."""
    now = platform.clock.now()
    touched = 0
    for pending in await store.pending_for_money_ref(conn, money_ref):
        if pending.status == "pending":
            await ledger_store.lock_balance(conn, pending.user_id, now)
            await store.resolve_pending(
                conn, pending.id, status="voided", at=now, void_reason=reason
            )
            await ledger_store.add_pending_total(conn, pending.user_id, -pending.points)
            created, code = pending.created_at, pending.rule_code
            await ledger_store.release_usage(
                conn,
                pending.user_id,
                [f"d:{day_key(created)}:r:{code}", f"m:{created:%Y-%m}:r:{code}"],
                pending.points,
            )
            touched += 1
        elif pending.status == "posted":
            posting = await ledger_store.post_entry(
                conn,
                user_id=pending.user_id,
                delta=-pending.points,
                reason_code="refund_clawback",
                category="clawback",
                related_entity=pending.related_entity,
                rule_code=pending.rule_code,
                rule_version=pending.rule_version,
                key=f"clawback:{pending.id}",
                source_ip=None,
                at=now,
                partial=True,
            )
            if posting.status == "posted":
                touched += 1
                await emit_event(
                    conn,
                    _clawed_back(
                        pending.user_id, posting, "refund_clawback", pending.related_entity
                    ),
                )
    return touched


async def take_back_award(
    conn: Connection,
    platform: Platform,
    *,
    rule_code: str,
    user_id: uuid.UUID,
    related_entity: str | None,
    reason_code: str,
) -> int:
    """Reverse the award of `rule_code` to the user for `related_entity` with a new, negative
    ledger entry (the ledger stays append-only; the balance never goes below zero, so points
    already spent are not chased). Nothing was awarded (capped, denied, never earned):
    nothing to take. Keyed by the award's entry, so a redelivered request takes once.
    Returns the points taken."""
    award_entry = await ledger_store.entry_by_key(
        conn, idempotency_key(rule_code, user_id, related_entity)
    )
    if award_entry is None or award_entry.delta <= 0:
        return 0
    posting = await ledger_store.post_entry(
        conn,
        user_id=user_id,
        delta=-award_entry.delta,
        reason_code=reason_code,
        category="clawback",
        related_entity=related_entity,
        rule_code=award_entry.rule_code,
        rule_version=award_entry.rule_version,
        key=f"clawback:{award_entry.id}",
        source_ip=None,
        at=platform.clock.now(),
        partial=True,
    )
    if posting.status != "posted":
        return 0
    await emit_event(conn, _clawed_back(user_id, posting, reason_code, related_entity))
    return -posting.posted


async def award_via_api(
    platform: Platform,
    body: AwardInput,
    actor: uuid.UUID,
    source_ip: str | None,
    *,
    idempotency_key: str,
) -> AwardOutcome:
    """The staff award endpoint: a rule applied, or a manual adjustment; a retry under
    the same key answers what the first request did, another body under it is a 422."""
    if (body.rule_code is None) == (body.change is None):
        raise InvalidInput("send either `rule_code` or `change`", field="rule_code")
    if body.change is not None and body.reason_code is None:
        raise InvalidInput("a manual change needs a `reason_code`", field="reason_code")
    if body.change == 0:
        raise InvalidInput("`change` must not be zero", field="change")
    if body.currency is not None and not is_currency(body.currency):
        raise InvalidInput(f"{body.currency!r} is not an ISO 4217 currency", field="currency")
    digest = request_hash("points_award", body)
    async with transaction(platform.pool) as conn:
        # Serialise requests carrying the same key so a retry waits for the first answer.
        await xact_lock(conn, "points_award", idempotency_key)
        earlier = await store.award_request(conn, idempotency_key)
        if earlier is not None:
            if earlier.request_hash != digest:
                raise InvalidInput(
                    "this idempotency key was used with a different request",
                    field="idempotency_key",
                )
            return msgspec.convert(earlier.response, AwardOutcome)
        if await account_of(conn, body.user_id) is None:
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
            result = await ledger.adjust(
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
        await record_audit(
            conn,
            actor,
            "points.awarded" if body.rule_code is not None else "points.adjusted",
            f"user:{body.user_id}",
            source_ip,
            {
                "rule_code": body.rule_code,
                "change": body.change,
                "reason_code": body.reason_code,
                "status": result.status,
                "points": result.points,
                "idempotency_key": idempotency_key,
            },
        )
    return result

"""The rule book in force (rules plus limited-time events, cached briefly per database),
rule changes as new versions, new events, and the public rules page."""

from __future__ import annotations

import time
import uuid

import msgspec

from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import InvalidInput, NotFound
from dracarys.identity import record_audit
from dracarys.platform import Platform
from dracarys.points.models import PointsEvent, Rule
from dracarys.points.rulebook import store
from dracarys.points.rulebook.models import EventInput, RulesPage, RuleVersionInput
from dracarys.points.rules import RuleBook, tier_thresholds

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


async def rules_page(platform: Platform) -> RulesPage:
    """The active rules, the events not over yet, and the limits a user earns under."""
    settings = platform.settings
    async with platform.pool.acquire() as conn:
        rules = [r for r in await store.rules_in_force(conn) if r.active]
        events = await store.current_events(conn, platform.clock.now())
    return RulesPage(
        rules=rules,
        events=events,
        social_email_daily_cap=settings.points_social_email_daily_cap,
        pending_window_days=settings.points_pending_window_days,
        expiry_months=settings.points_expiry_months,
        expiry_login_grace_days=settings.points_expiry_login_grace_days,
        tier_thresholds={t.value: floor for t, floor in tier_thresholds(settings)},
        tier_window_days=settings.points_tier_window_days,
    )


async def rule_history(platform: Platform) -> list[Rule]:
    """Every version of every rule, inactive ones too, newest version of each rule first:
    the staff console's rules editor."""
    async with platform.pool.acquire() as conn:
        return await store.all_rule_versions(conn)


async def new_rule_version(
    platform: Platform, code: str, body: RuleVersionInput, actor: uuid.UUID, source_ip: str | None
) -> Rule:
    async with transaction(platform.pool) as conn:
        # Two admins changing one rule take turns, so each new version follows the last.
        await xact_lock(conn, "points_rule", code)
        versions = await store.rule_versions(conn, code)
        if not versions:
            raise NotFound(f"there is no points rule {code!r}")
        current = versions[-1]
        changes = {k: v for k, v in msgspec.structs.asdict(body).items() if v is not None}
        rule = msgspec.structs.replace(current, version=current.version + 1, **changes)
        await store.insert_rule_version(conn, rule, actor)
        await record_audit(
            conn,
            actor,
            "points.rule_changed",
            f"points_rule:{code}",
            source_ip,
            {"version": rule.version, "changes": msgspec.to_builtins(changes)},
        )
    invalidate_rules(platform)
    return rule


async def create_event(
    platform: Platform, body: EventInput, actor: uuid.UUID, source_ip: str | None
) -> PointsEvent:
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
        await record_audit(
            conn,
            actor,
            "points.event_created",
            f"points_event:{event.id}",
            source_ip,
            msgspec.to_builtins(event),
        )
    invalidate_rules(platform)
    return event

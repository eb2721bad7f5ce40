"""AML: the wallet's movements judged by the rules of the member's country as they arrive
(once per event), alerts and cases raised by hits, withdrawals held while a case that
asked for it is under review, and what reviewers do with cases, each step in the
hash-chained audit log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec

from dracarys import csv_export
from dracarys.admin.aml import rules as rulebook
from dracarys.admin.aml import store
from dracarys.admin.aml.events import AmlAlertRaised, AmlCaseDecided
from dracarys.admin.aml.models import (
    Alert,
    AlertSummary,
    Case,
    CaseDetail,
    CaseReport,
    CaseSummary,
    DecisionInput,
    Movement,
    Rule,
    RuleUpdate,
    RuleView,
)
from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import Conflict, InvalidInput, NotFound
from dracarys.identity import (
    CurrentUser,
    Role,
    account_of,
    display_names,
    record_audit,
    tax_country,
)
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.wallet import (
    place_withdrawal_hold,
    release_withdrawal_hold,
    withdrawal_holds,
)

# A case's report and page show the movements of the last 90 days before it opened.
_CASE_HISTORY = timedelta(days=90)


def hold_reference(case_id: uuid.UUID) -> str:
    """The reference the wallet keeps a case's hold under."""
    return f"aml-case:{case_id}"


def rule_view(rule: Rule) -> RuleView:
    return RuleView(
        id=rule.id,
        country=rule.country,
        kind=rule.kind,
        currency=rule.currency,
        parameters=rule.parameters,
        action=rule.action,
        enabled=rule.enabled,
        description=rulebook.describe(rule),
        updated_at=rule.updated_at,
        updated_by=rule.updated_by,
    )


# ---- evaluation (the outbox consumer's work, in its transaction) -------------------------


async def judge_movement(conn: Connection, platform: Platform, movement: Movement) -> list[Alert]:
    """Record the movement and judge it by the member's country's rules: the alerts it
    raised. A movement already recorded (its event redelivered) raises nothing."""
    # One judgement per member at a time: two deposits judged at once would each miss the
    # other's alert and case.
    await xact_lock(conn, "aml-member", movement.user_id)
    if not await store.insert_movement(conn, movement):
        return []
    if movement.kind == "spend":
        return []  # spending is context for the other rules, never a hit by itself
    country = await tax_country(conn, platform.settings, movement.user_id)
    rules = await store.enabled_rules_for(conn, country, movement.currency)
    if not rules:
        return []
    account = await account_of(conn, movement.user_id)
    kyc_level = account.kyc_level if account is not None else 0
    raised: list[Alert] = []
    now = platform.clock.now()
    latest = await store.latest_movement_at(conn, movement.user_id, movement.currency)
    for rule in rules:
        # Events can arrive out of order (retries, two workers): a movement judged after a
        # later one is judged in the window ending at the latest, if it falls inside it.
        window = rulebook.window_of(rule)
        until = max(movement.occurred_at, latest)
        if movement.occurred_at < until - window:
            until = movement.occurred_at
        since = until - window
        recent = await store.movements_since(conn, movement.user_id, rule.currency, since, until)
        hit = rulebook.evaluate(rule, movement, recent, kyc_level)
        if hit is None:
            continue
        # One alert per rule and member per window: the sixth deposit of a structuring
        # pattern already alerted on is the same pattern, not a new one.
        if await store.recent_alert_exists(conn, movement.user_id, rule.id, since):
            continue
        case: Case | None = None
        if rule.action == "alert_and_hold":
            case = await _case_for(conn, movement.user_id, now)
        alert = Alert(
            id=uuid.uuid4(),
            rule_id=rule.id,
            user_id=movement.user_id,
            event_id=movement.event_id,
            kind=rule.kind,
            country=rule.country,
            action=rule.action,
            summary=hit.summary,
            details=hit.details,
            case_id=case.id if case else None,
            raised_at=now,
            acknowledged_at=None,
            acknowledged_by=None,
        )
        if not await store.insert_alert(conn, alert):
            continue
        if case is not None:
            await store.add_entry(conn, case.id, "alert", None, f"{rule.kind}: {hit.summary}", now)
            placed = await place_withdrawal_hold(
                conn,
                movement.user_id,
                f"AML {rule.kind} alert under review",
                hold_reference(case.id),
                now=now,
            )
            if placed:
                await store.set_holds(conn, case.id)
                await store.add_entry(conn, case.id, "hold", None, "Withdrawals held.", now)
        await emit_event(
            conn,
            AmlAlertRaised(
                alert_id=alert.id,
                user_id=alert.user_id,
                kind=alert.kind,
                case_id=alert.case_id,
            ),
        )
        raised.append(alert)
    return raised


async def _case_for(conn: Connection, user_id: uuid.UUID, now: datetime) -> Case:
    """The member's case under review, or a new one: further hits join it."""
    case = await store.open_case_of(conn, user_id)
    if case is None:
        case = await store.insert_case(conn, uuid.uuid4(), user_id, False, now)
        await store.add_entry(conn, case.id, "opened", None, "Case opened by an alert.", now)
    return case


# ---- rules ---------------------------------------------------------------------------------


async def list_rules(platform: Platform) -> list[RuleView]:
    async with platform.pool.acquire() as conn:
        return [rule_view(r) for r in await store.all_rules(conn)]


async def update_rule(
    platform: Platform,
    actor: CurrentUser,
    rule_id: uuid.UUID,
    update: RuleUpdate,
    *,
    source_ip: str | None,
) -> RuleView:
    """Change a rule's parameters (checked against its kind: a 422 names the field),
    action or switch; the change, with what it was before, goes in the audit log."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        rule = await store.rule(conn, rule_id, lock=True)
        if rule is None:
            raise NotFound("There is no such rule.", field="rule_id")
        parameters = rule.parameters
        if update.parameters is not None:
            parameters = msgspec.to_builtins(
                rulebook.parse_parameters(rule.kind, update.parameters)
            )
        changed = await store.update_rule(
            conn,
            rule_id,
            parameters=parameters,
            action=update.action or rule.action,
            enabled=rule.enabled if update.enabled is None else update.enabled,
            actor_id=actor.id,
            now=now,
        )
        await record_audit(
            conn,
            actor.id,
            "aml.rule_updated",
            f"aml_rule:{rule_id}",
            source_ip,
            {
                "country": rule.country,
                "kind": rule.kind,
                "before": {
                    "parameters": rule.parameters,
                    "action": rule.action,
                    "enabled": rule.enabled,
                },
                "after": {
                    "parameters": changed.parameters,
                    "action": changed.action,
                    "enabled": changed.enabled,
                },
            },
            at=now,
        )
        return rule_view(changed)


# ---- alerts --------------------------------------------------------------------------------


async def list_alerts(
    platform: Platform, *, unacknowledged: bool, limit: int
) -> list[AlertSummary]:
    """Alerts newest first, each with the member's name."""
    async with platform.pool.acquire() as conn:
        alerts = await store.alerts(conn, unacknowledged=unacknowledged, limit=limit)
        names = await display_names(conn, platform.settings, {a.user_id for a in alerts})
    return [AlertSummary(alert=a, user_name=names.get(a.user_id, "unknown member")) for a in alerts]


async def acknowledge_alert(
    platform: Platform, actor: CurrentUser, alert_id: uuid.UUID, *, source_ip: str | None
) -> Alert:
    """A reviewer has seen the alert (acknowledging it again changes nothing)."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        alert = await store.acknowledge_alert(conn, alert_id, actor.id, now)
        if alert is None:
            raise NotFound("There is no such alert.", field="alert_id")
        if alert.acknowledged_at == now and alert.acknowledged_by == actor.id:
            await record_audit(
                conn,
                actor.id,
                "aml.alert_acknowledged",
                f"aml_alert:{alert_id}",
                source_ip,
                {"user_id": str(alert.user_id), "kind": alert.kind},
                at=now,
            )
        return alert


# ---- cases ---------------------------------------------------------------------------------


async def list_cases(platform: Platform, *, decided: bool, limit: int) -> list[CaseSummary]:
    statuses = ["cleared", "reported"] if decided else ["open", "escalated"]
    async with platform.pool.acquire() as conn:
        found = await store.cases(conn, statuses, limit)
        people = {c.user_id for c, _ in found} | {c.assignee_id for c, _ in found if c.assignee_id}
        names = await display_names(conn, platform.settings, people)
    return [
        CaseSummary(
            case=c,
            user_name=names.get(c.user_id, "unknown member"),
            assignee_name=names.get(c.assignee_id) if c.assignee_id else None,
            alert_count=count,
        )
        for c, count in found
    ]


CASES_REPORT_HEADER = [
    "month",
    "case_id",
    "user_id",
    "user_name",
    "status",
    "opened_at",
    "decided_at",
    "decided_by",
    "alert_count",
    "holds_withdrawals",
    "report_reference",
    "decision_note",
]


async def monthly_cases_csv(platform: Platform, year: int, month: int) -> bytes:
    """The month's AML cases for the compliance report: every case opened or decided in
    the (UTC) month, oldest first, with its decision and the authority's reference."""
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    async with platform.pool.acquire() as conn:
        found = await store.cases_of_month(conn, start, end)
        names = await display_names(conn, platform.settings, {c.user_id for c, _ in found})
    label = f"{year}-{month:02d}"
    return csv_export.lines(
        [
            CASES_REPORT_HEADER,
            *(
                [
                    label,
                    c.id,
                    c.user_id,
                    names.get(c.user_id, "unknown member"),
                    c.status,
                    c.opened_at,
                    c.decided_at,
                    c.decided_by,
                    count,
                    c.holds_withdrawals,
                    c.report_reference,
                    c.decision_note,
                ]
                for c, count in found
            ),
        ]
    )


CASE_REPORT_HEADER = [
    "record",
    "id",
    "at",
    "kind",
    "amount_minor",
    "currency",
    "reference",
    "detail",
]


def case_report_csv(report: CaseReport) -> bytes:
    """A case's report for the authority as one table: the case, its subject and who
    generated it, then a line per alert, wallet movement and timeline entry."""
    case = report.case
    return csv_export.lines(
        [
            CASE_REPORT_HEADER,
            [
                "case",
                case.id,
                case.opened_at,
                case.status,
                None,
                None,
                case.report_reference,
                case.decision_note,
            ],
            [
                "subject",
                report.subject_user_id,
                None,
                report.country,
                None,
                None,
                None,
                report.subject_name,
            ],
            ["generated", report.generated_by, report.generated_at, None, None, None, None, None],
            *(
                ["alert", a.id, a.raised_at, a.kind, None, None, a.event_id, a.summary]
                for a in report.alerts
            ),
            *(
                [
                    "movement",
                    m.event_id,
                    m.occurred_at,
                    m.kind,
                    m.amount_minor,
                    m.currency,
                    m.reference,
                    m.method,
                ]
                for m in report.movements
            ),
            *(
                ["timeline", e.id, e.at, e.kind, None, None, e.actor_id, e.body]
                for e in report.timeline
            ),
        ]
    )


async def _detail(conn: Connection, platform: Platform, case: Case) -> CaseDetail:
    people = {case.user_id} | ({case.assignee_id} if case.assignee_id else set())
    names = await display_names(conn, platform.settings, people)
    holds = await withdrawal_holds(conn, case.user_id)
    return CaseDetail(
        case=case,
        user_name=names.get(case.user_id, "unknown member"),
        assignee_name=names.get(case.assignee_id) if case.assignee_id else None,
        alerts=await store.alerts_of_case(conn, case.id),
        movements=await store.movements_of(conn, case.user_id, case.opened_at - _CASE_HISTORY),
        timeline=await store.entries(conn, case.id),
        withdrawals_held=any(h.reference == hold_reference(case.id) for h in holds),
    )


async def case_detail(platform: Platform, case_id: uuid.UUID) -> CaseDetail:
    async with platform.pool.acquire() as conn:
        case = await store.case(conn, case_id)
        if case is None:
            raise NotFound("There is no such case.", field="case_id")
        return await _detail(conn, platform, case)


async def _locked_case(conn: Connection, case_id: uuid.UUID) -> Case:
    case = await store.case(conn, case_id, lock=True)
    if case is None:
        raise NotFound("There is no such case.", field="case_id")
    return case


async def assign_case(
    platform: Platform,
    actor: CurrentUser,
    case_id: uuid.UUID,
    assignee_id: uuid.UUID,
    *,
    source_ip: str | None,
) -> CaseDetail:
    """Give the case to a reviewer or an admin."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        case = await _locked_case(conn, case_id)
        assignee = await account_of(conn, assignee_id)
        if (
            assignee is None
            or not assignee.is_active
            or assignee.role not in (Role.REVIEWER, Role.ADMIN)
        ):
            raise InvalidInput(
                "A case can only be given to an active reviewer or admin.", field="assignee_id"
            )
        await store.set_assignee(conn, case_id, assignee_id)
        name = (await display_names(conn, platform.settings, [assignee_id])).get(
            assignee_id, "a reviewer"
        )
        await store.add_entry(conn, case_id, "assigned", actor.id, f"Assigned to {name}.", now)
        await record_audit(
            conn,
            actor.id,
            "aml.case_assigned",
            f"aml_case:{case_id}",
            source_ip,
            {"assignee_id": str(assignee_id), "user_id": str(case.user_id)},
            at=now,
        )
        case = await _locked_case(conn, case_id)
        return await _detail(conn, platform, case)


async def add_note(
    platform: Platform, actor: CurrentUser, case_id: uuid.UUID, body: str, *, source_ip: str | None
) -> CaseDetail:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        case = await _locked_case(conn, case_id)
        await store.add_entry(conn, case_id, "note", actor.id, body, now)
        await record_audit(
            conn,
            actor.id,
            "aml.case_note_added",
            f"aml_case:{case_id}",
            source_ip,
            {"note": body, "user_id": str(case.user_id)},
            at=now,
        )
        return await _detail(conn, platform, case)


_DECIDED_STATUS = {"clear": "cleared", "escalate": "escalated", "report": "reported"}


async def decide_case(
    platform: Platform,
    actor: CurrentUser,
    case_id: uuid.UUID,
    decision: DecisionInput,
    *,
    source_ip: str | None,
) -> CaseDetail:
    """clear: nothing suspicious, the case's withdrawal hold is released; escalate: the
    case stays under review, held; report: a report was filed with the authority (its
    reference required), the hold stays until the authority says otherwise. A decided
    case (cleared or reported) takes no further decision."""
    if decision.decision == "report" and decision.report_reference is None:
        raise InvalidInput(
            "Give the reference of the report filed with the authority.",
            field="report_reference",
        )
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        case = await _locked_case(conn, case_id)
        if case.status in ("cleared", "reported"):
            raise Conflict(f"This case was already {case.status}.", field="case_id")
        if decision.decision == "escalate" and case.status == "escalated":
            raise Conflict("This case is already escalated.", field="decision")
        status = _DECIDED_STATUS[decision.decision]
        await store.decide_case(
            conn,
            case_id,
            status=status,
            actor_id=actor.id,
            note=decision.note,
            report_reference=decision.report_reference,
            now=now,
        )
        released = False
        if decision.decision == "clear":
            released = await release_withdrawal_hold(
                conn, case.user_id, hold_reference(case_id), now=now
            )
        body = decision.note
        if decision.report_reference:
            body = f"{body} (report {decision.report_reference})"
        if released:
            body = f"{body} Withdrawals released."
        await store.add_entry(conn, case_id, status, actor.id, body, now)
        await record_audit(
            conn,
            actor.id,
            f"aml.case_{status}",
            f"aml_case:{case_id}",
            source_ip,
            {
                "user_id": str(case.user_id),
                "previous_status": case.status,
                "note": decision.note,
                "report_reference": decision.report_reference,
                "hold_released": released,
            },
            at=now,
        )
        await emit_event(
            conn,
            AmlCaseDecided(case_id=case_id, user_id=case.user_id, decision=decision.decision),
        )
        return await _detail(conn, platform, await _locked_case(conn, case_id))


async def export_case(
    platform: Platform, actor: CurrentUser, case_id: uuid.UUID, *, source_ip: str | None
) -> CaseReport:
    """The case for the authority: alerts, the member's deposits and withdrawals, the
    timeline with every note. The export itself is audit-logged."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        case = await _locked_case(conn, case_id)
        detail = await _detail(conn, platform, case)
        country = await tax_country(conn, platform.settings, case.user_id)
        await store.add_entry(conn, case_id, "exported", actor.id, "Report exported.", now)
        await record_audit(
            conn,
            actor.id,
            "aml.case_exported",
            f"aml_case:{case_id}",
            source_ip,
            {"user_id": str(case.user_id)},
            at=now,
        )
        timeline = await store.entries(conn, case_id)
    return CaseReport(
        generated_at=now,
        generated_by=actor.id,
        case=case,
        subject_user_id=case.user_id,
        subject_name=detail.user_name,
        country=country,
        alerts=detail.alerts,
        movements=detail.movements,
        timeline=timeline,
    )

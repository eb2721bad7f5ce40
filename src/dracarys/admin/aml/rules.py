"""What each kind of rule says, pure (no database): parameters checked against the kind,
a rule described in a sentence, and whether a movement, with the user's recent movements,
is a hit.

A hit is judged when a movement arrives, over the movements of a window of the rule's
length that holds it (ending with it, or with a later movement that arrived first), in the
rule's currency only (amounts of different currencies are not added)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import msgspec

from dracarys.admin.aml.models import (
    PARAMETERS_OF,
    DepositThenWithdrawParameters,
    Movement,
    Rule,
    RuleParameters,
    StructuringParameters,
    ThresholdParameters,
    VelocityParameters,
)
from dracarys.errors import FieldError, InvalidInput, humane_reason
from dracarys.money import format_money


class Hit(msgspec.Struct, frozen=True, kw_only=True):
    summary: str
    details: dict[str, Any]


_AT_FIELD = re.compile(r"at `\$\.([A-Za-z_]+)`")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")


def parse_parameters(kind: str, raw: dict[str, Any]) -> RuleParameters:
    """The parameters of a rule of `kind`, or a 422 naming the offending field as
    `parameters.<name>`."""
    try:
        return msgspec.convert(raw, PARAMETERS_OF[kind])
    except msgspec.ValidationError as exc:
        message = str(exc)
        name = None
        for pattern in (_UNKNOWN_FIELD, _MISSING_FIELD, _AT_FIELD):
            if match := pattern.search(message):
                name = match.group(1)
                break
        field = f"parameters.{name}" if name else "parameters"
        reason = message.split(" - at ")[0]
        if _UNKNOWN_FIELD.search(message):
            sentence = f"A {kind} rule has no parameter called {name}."
        elif _MISSING_FIELD.search(message):
            sentence = f"A {kind} rule needs the parameter {name}."
        else:
            sentence = f"{humane_reason(field, reason)}."
        raise InvalidInput(sentence, errors=[FieldError(field, sentence)]) from exc


def describe(rule: Rule) -> str:
    """The rule in one sentence a reviewer reads."""
    p = parse_parameters(rule.kind, rule.parameters)
    money = rule.currency
    if isinstance(p, ThresholdParameters):
        return (
            f"Deposits totalling {format_money(p.amount_minor, money)} or more within "
            f"{p.window_hours} h need identity verification level {p.kyc_level}."
        )
    if isinstance(p, StructuringParameters):
        return (
            f"{p.count} or more deposits within {p.window_hours} h, each within "
            f"{p.below_pct}% under {format_money(p.threshold_minor, money)}."
        )
    if isinstance(p, VelocityParameters):
        return (
            f"More than {p.max_count} deposits and withdrawals, or more than "
            f"{format_money(p.max_amount_minor, money)} moved, within {p.window_hours} h."
        )
    return (
        f"A withdrawal of {p.min_share_pct}% or more of what was deposited within "
        f"{p.window_hours} h, with nothing spent in between."
    )


def window_of(rule: Rule) -> timedelta:
    hours = rule.parameters.get("window_hours", 24)
    return timedelta(hours=int(hours))


def evaluate(
    rule: Rule, current: Movement, recent: Sequence[Movement], kyc_level: int
) -> Hit | None:
    """Whether `current` (one of `recent`: the member's movements in a window of the
    rule's length that holds it, in the rule's currency, oldest first) hits `rule`."""
    if current.currency != rule.currency:
        return None
    p = parse_parameters(rule.kind, rule.parameters)
    deposits = [m for m in recent if m.kind == "deposit"]
    money = rule.currency
    if isinstance(p, ThresholdParameters):
        total = sum(m.amount_minor for m in deposits)
        if current.kind != "deposit" or total < p.amount_minor or kyc_level >= p.kyc_level:
            return None
        return Hit(
            summary=(
                f"Deposits of {format_money(total, money)} within {p.window_hours} h reach "
                f"{format_money(p.amount_minor, money)}; the member is at identity "
                f"verification level {kyc_level}, and level {p.kyc_level} is needed."
            ),
            details={"total_minor": total, "kyc_level": kyc_level, "deposits": len(deposits)},
        )
    if isinstance(p, StructuringParameters):
        floor = p.threshold_minor - p.threshold_minor * p.below_pct // 100
        near = [m for m in deposits if floor <= m.amount_minor < p.threshold_minor]
        if current.kind != "deposit" or current not in near or len(near) < p.count:
            return None
        return Hit(
            summary=(
                f"{len(near)} deposits within {p.window_hours} h, each just under "
                f"{format_money(p.threshold_minor, money)} (from {format_money(floor, money)})."
            ),
            details={
                "deposits": [str(m.event_id) for m in near],
                "total_minor": sum(m.amount_minor for m in near),
            },
        )
    if isinstance(p, VelocityParameters):
        moves = [m for m in recent if m.kind in ("deposit", "withdrawal")]
        moved = sum(m.amount_minor for m in moves)
        if current.kind == "spend" or (len(moves) <= p.max_count and moved <= p.max_amount_minor):
            return None
        return Hit(
            summary=(
                f"{len(moves)} deposits and withdrawals moving {format_money(moved, money)} "
                f"within {p.window_hours} h (limits: {p.max_count}, "
                f"{format_money(p.max_amount_minor, money)})."
            ),
            details={"count": len(moves), "moved_minor": moved},
        )
    assert isinstance(p, DepositThenWithdrawParameters)
    if current.kind != "withdrawal":
        return None
    # Only what happened before the withdrawal says where its money came from.
    recent = [m for m in recent if m.occurred_at <= current.occurred_at]
    last_spend = max((i for i, m in enumerate(recent) if m.kind == "spend"), default=-1)
    since = recent[last_spend + 1 :]
    deposited = sum(m.amount_minor for m in since if m.kind == "deposit")
    withdrawn = sum(m.amount_minor for m in since if m.kind == "withdrawal")
    if deposited == 0 or withdrawn * 100 < deposited * p.min_share_pct:
        return None
    return Hit(
        summary=(
            f"{format_money(withdrawn, money)} asked out of {format_money(deposited, money)} "
            f"deposited within {p.window_hours} h, with nothing spent in between."
        ),
        details={"deposited_minor": deposited, "withdrawn_minor": withdrawn},
    )

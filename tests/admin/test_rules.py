"""Each kind of AML rule, judged on movements (pure: no database): where a pattern starts
to be a hit and where it stops being one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from dracarys.admin.aml.models import Movement, Rule
from dracarys.admin.aml.rules import describe, evaluate, parse_parameters
from dracarys.errors import InvalidInput

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
MEMBER = uuid.uuid4()


def _rule(kind: str, action: str = "alert_and_hold", **parameters: int) -> Rule:
    return Rule(
        id=uuid.uuid4(),
        country="KE",
        kind=kind,  # type: ignore[arg-type]
        parameters=parameters,
        currency="KES",
        action=action,  # type: ignore[arg-type]
        enabled=True,
        updated_at=START,
        updated_by=None,
    )


def _moves(*spec: tuple[str, int]) -> list[Movement]:
    return [
        Movement(
            event_id=uuid.uuid4(),
            user_id=MEMBER,
            kind=kind,  # type: ignore[arg-type]
            reference=f"ref-{n}",
            amount_minor=amount,
            currency="KES",
            method="mpesa",
            occurred_at=START + timedelta(minutes=n),
        )
        for n, (kind, amount) in enumerate(spec)
    ]


STRUCTURING = _rule(
    "structuring", threshold_minor=10_000_000, below_pct=10, count=5, window_hours=24
)


def test_structuring_counts_only_deposits_just_under_the_threshold() -> None:
    just_under = [("deposit", 9_000_000), ("deposit", 9_999_999)] * 2 + [("deposit", 9_500_000)]
    moves = _moves(*just_under)
    hit = evaluate(STRUCTURING, moves[-1], moves, kyc_level=2)
    assert hit is not None
    assert len(hit.details["deposits"]) == 5
    # At the threshold, or further below it than 10%, a deposit is not "just under".
    for odd_one in (10_000_000, 8_999_999):
        moves = _moves(*just_under[:4], ("deposit", odd_one))
        assert evaluate(STRUCTURING, moves[-1], moves, kyc_level=2) is None
    usd = _moves(*just_under)
    usd[-1] = msgspec.structs.replace(usd[-1], currency="USD")
    assert evaluate(STRUCTURING, usd[-1], usd, kyc_level=2) is None


def test_threshold_needs_the_kyc_level_once_deposits_reach_the_amount() -> None:
    rule = _rule("threshold", amount_minor=100_000_000, window_hours=24, kyc_level=3)
    moves = _moves(("deposit", 60_000_000), ("deposit", 40_000_000))
    assert evaluate(rule, moves[-1], moves, kyc_level=2) is not None
    assert evaluate(rule, moves[-1], moves, kyc_level=3) is None
    assert evaluate(rule, moves[0], moves[:1], kyc_level=2) is None


def test_velocity_counts_deposits_and_withdrawals_and_what_they_move() -> None:
    rule = _rule("velocity", "alert", max_count=3, max_amount_minor=50_000_000, window_hours=24)
    moves = _moves(("deposit", 100), ("withdrawal", 100), ("deposit", 100), ("spend", 100))
    assert evaluate(rule, moves[2], moves[:3], kyc_level=2) is None
    more = _moves(("deposit", 100), ("withdrawal", 100), ("deposit", 100), ("deposit", 100))
    assert evaluate(rule, more[-1], more, kyc_level=2) is not None
    big = _moves(("deposit", 50_000_001))
    assert evaluate(rule, big[0], big, kyc_level=2) is not None


def test_deposit_then_withdraw_is_a_hit_only_with_nothing_spent_in_between() -> None:
    rule = _rule("deposit_then_withdraw", window_hours=72, min_share_pct=80)
    straight = _moves(("deposit", 1_000_000), ("withdrawal", 800_000))
    assert evaluate(rule, straight[-1], straight, kyc_level=2) is not None
    spent = _moves(("deposit", 1_000_000), ("spend", 10_000), ("withdrawal", 800_000))
    assert evaluate(rule, spent[-1], spent, kyc_level=2) is None
    small = _moves(("deposit", 1_000_000), ("withdrawal", 799_999))
    assert evaluate(rule, small[-1], small, kyc_level=2) is None
    assert evaluate(rule, straight[0], straight[:1], kyc_level=2) is None


def test_parameters_are_checked_per_kind_and_a_rule_reads_as_a_sentence() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_parameters("velocity", {"max_count": 0, "max_amount_minor": 1, "window_hours": 1})
    assert refused.value.errors[0].field == "parameters.max_count"
    with pytest.raises(InvalidInput) as refused:
        parse_parameters("threshold", {"amount_minor": 1, "window_hours": 721, "kyc_level": 3})
    assert refused.value.errors[0].field == "parameters.window_hours"
    assert describe(STRUCTURING) == (
        "5 or more deposits within 24 h, each within 10% under KES 100,000.00."
    )

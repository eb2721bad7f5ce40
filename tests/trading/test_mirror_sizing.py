"""How big a subscriber's copy of a signal is, per scaling rule, from the portfolio's
equity in major units of its currency (no database: the rule is pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from dracarys.trading.signals.models import Signal, Subscription
from dracarys.trading.signals.service import mirror_quantity

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def signal(stop_loss: float | None = 95.0, size_hint_pct: float = 10.0) -> Signal:
    return Signal(
        id=uuid.uuid4(), mentor_id=uuid.uuid4(), chain_seq=1, symbol="XYZ", side="buy",
        order_type="market", entry_price=None, stop_loss=stop_loss, take_profit=None,
        size_hint_pct=size_hint_pct, rationale="r", expires_at=None, corrects_id=None,
        created_at=NOW, prev_hash=None, hash="00",
    )  # fmt: skip


def subscription(scaling: str | None, value: float | None) -> Subscription:
    return Subscription(
        id=uuid.uuid4(), subscriber_id=uuid.uuid4(), mentor_id=uuid.uuid4(),
        monthly_price_minor=0, currency="JPY", status="active", billing_status="free",
        mirror_portfolio_id=uuid.uuid4(), scaling=scaling, scaling_value=value,
        started_at=NOW, cancelled_at=None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("scaling", "value", "units"),
    [
        (None, None, 100.0),  # no rule chosen: the mentor's hint, 10% of 100,000 at 100
        ("size_hint", None, 100.0),
        ("fixed_fraction", 0.25, 250.0),  # a quarter of equity as notional
        ("fixed_units", 7.0, 7.0),
        ("max_risk", 0.01, 200.0),  # 1,000 at risk over 5 a unit to the stop-loss
    ],
)
def test_each_scaling_rule_sizes_the_copy_from_equity_in_major_units(
    scaling: str | None, value: float | None, units: float
) -> None:
    size, reason = mirror_quantity(subscription(scaling, value), signal(), 100_000.0, 100.0)
    assert (size, reason) == (pytest.approx(units), None)


def test_max_risk_without_a_stop_loss_gives_no_size_and_says_why() -> None:
    size, reason = mirror_quantity(
        subscription("max_risk", 0.01), signal(stop_loss=None), 100_000.0, 100.0
    )
    assert size is None
    assert reason == "max_risk scaling needs a stop-loss and this signal has none"

"""The wallet's pure rules, without a database: VAT split from inclusive prices, VAT rates
by country, the mentor's split and holdback, the per-currency limits, and who may move a
wallet's money."""

from __future__ import annotations

import uuid

import msgspec
import pytest

from dracarys.errors import Forbidden
from dracarys.identity import CurrentUser, Role
from dracarys.settings import load_settings
from dracarys.wallet.policy import (
    daily_withdraw_limit_minor,
    mentor_split,
    payout_minimum_minor,
    require_wallet_owner,
    split_vat,
    step_up_threshold_minor,
    vat_rate_bps,
)

SETTINGS = load_settings({"DRACARYS_ENV": "test", "DRACARYS_SECRET_KEY": "k" * 48})


def test_vat_is_split_from_an_inclusive_price_to_the_cent() -> None:
    assert split_vat(11_600, 1_600) == (10_000, 1_600)
    assert split_vat(100, 1_600) == (86, 14)
    assert split_vat(999, 0) == (999, 0)


def test_vat_rounds_half_up_and_net_plus_vat_is_always_the_price() -> None:
    for gross in range(2_000):
        net, vat = split_vat(gross, 1_600)
        assert net + vat == gross
        assert abs(vat * 11_600 - gross * 1_600) <= 11_600 // 2


def test_vat_rate_is_the_configured_countrys_and_zero_where_not_registered() -> None:
    rates = msgspec.structs.replace(SETTINGS, wallet_vat_rates="KE:1600,UG:1800")
    assert vat_rate_bps(rates, "KE") == 1_600
    assert vat_rate_bps(rates, "UG") == 1_800
    assert vat_rate_bps(rates, "US") == 0


def test_the_mentor_keeps_the_contract_share_less_the_holdback_and_the_rest_is_commission() -> None:
    assert mentor_split(10_000, 7_000, 1_000) == (6_300, 700, 3_000)
    assert mentor_split(10_000, 8_000, 0) == (8_000, 0, 2_000)
    for net in (0, 1, 9_999, 123_457):
        now, held, platform = mentor_split(net, 7_000, 1_000)
        assert now + held + platform == net
        assert min(now, held, platform) >= 0


def test_withdrawal_limits_and_the_payout_minimum_are_per_currency() -> None:
    assert step_up_threshold_minor(SETTINGS, "KES") == SETTINGS.wallet_step_up_kes_minor
    assert step_up_threshold_minor(SETTINGS, "USD") == SETTINGS.wallet_step_up_usd_minor
    assert daily_withdraw_limit_minor(SETTINGS, "USD") == SETTINGS.wallet_daily_withdraw_usd_minor
    assert payout_minimum_minor(SETTINGS, "KES") == SETTINGS.wallet_payout_minimum_kes_minor


def test_only_the_owner_moves_a_wallets_money_not_even_an_admin() -> None:
    owner = CurrentUser(id=uuid.uuid4(), role=Role.MENTEE, session_id=uuid.uuid4())
    admin = CurrentUser(id=uuid.uuid4(), role=Role.ADMIN, session_id=uuid.uuid4())
    require_wallet_owner(owner, owner.id)
    with pytest.raises(Forbidden):
        require_wallet_owner(admin, owner.id)

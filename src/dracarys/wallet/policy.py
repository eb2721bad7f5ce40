"""The wallet's rules, pure (no database): who may move a wallet's money, and the money
rules that are configuration, read from settings: VAT per country, the step-up threshold
and daily limit for withdrawals, the payout minimum, and the commission split."""

from __future__ import annotations

import uuid

from dracarys.errors import Forbidden
from dracarys.identity import KYC_LEVEL_TO_WITHDRAW, CurrentUser
from dracarys.settings import Settings

BPS = 10_000
# Money leaves the platform only from a verified identity (blueprint §2.5, §9); identity
# owns the level.
WITHDRAWAL_KYC_LEVEL = KYC_LEVEL_TO_WITHDRAW
# M-Pesa moves Kenyan shillings only; a bank transfer pays any supported currency.
MPESA_CURRENCY = "KES"


def require_wallet_owner(actor: CurrentUser, wallet_id: uuid.UUID) -> None:
    """Only a wallet's owner moves its money (staff read it, never spend it)."""
    if actor.id != wallet_id:
        raise Forbidden("only the wallet's owner may move its money")


def vat_rate_bps(settings: Settings, country: str) -> int:
    """VAT in basis points for `country`; 0 where we are not registered for VAT."""
    for pair in settings.wallet_vat_rates.split(","):
        code, _, rate = pair.partition(":")
        if code == country and rate:
            return int(rate)
    return 0


def split_vat(gross_minor: int, rate_bps: int) -> tuple[int, int]:
    """(net, vat) of a VAT-inclusive price, VAT rounded half up to the minor unit."""
    divisor = BPS + rate_bps
    vat = (gross_minor * rate_bps + divisor // 2) // divisor
    return gross_minor - vat, vat


def _per_currency(settings: Settings, name: str, currency: str) -> int:
    value: int = getattr(settings, f"wallet_{name}_{currency.lower()}_minor")
    return value


def step_up_threshold_minor(settings: Settings, currency: str) -> int:
    return _per_currency(settings, "step_up", currency)


def daily_withdraw_limit_minor(settings: Settings, currency: str) -> int:
    return _per_currency(settings, "daily_withdraw", currency)


def payout_minimum_minor(settings: Settings, currency: str) -> int:
    return _per_currency(settings, "payout_minimum", currency)


def withdrawal_methods(currency: str) -> list[str]:
    return ["mpesa", "bank"] if currency == MPESA_CURRENCY else ["bank"]


def mentor_split(net_minor: int, share_bps: int, holdback_bps: int) -> tuple[int, int, int]:
    """(mentor now, mentor held back, platform) of a net amount."""
    mentor = net_minor * share_bps // BPS
    holdback = mentor * holdback_bps // BPS
    return mentor - holdback, holdback, net_minor - mentor

"""Money's one vocabulary: ISO 4217 minor-unit exponents, conversion between major and
minor units (exact, with `Decimal`), and how an amount is written for a person.

Amounts live as integers in minor units everywhere (`amount_minor`); a currency's
exponent says how many minor units make a major one — JPY 0 (¥1 is the smallest unit),
KES and USD 2, BHD 3. Never multiply by 100: ask this module."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import cache

import pycountry

# ISO 4217 minor units of the active codes whose exponent is not 2 (the standard's table,
# as published by SIX; pycountry carries the codes but not their minor units).
_EXPONENT_NOT_TWO: dict[str, int] = {
    **dict.fromkeys(
        (
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}


class UnknownCurrency(ValueError):
    """A code that is not an ISO 4217 currency."""

    def __init__(self, code: str) -> None:
        super().__init__(f"{code!r} is not an ISO 4217 currency code")
        self.code = code


def is_currency(code: str) -> bool:
    return len(code) == 3 and code.isupper() and pycountry.currencies.get(alpha_3=code) is not None


@cache
def exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (ISO 4217): JPY 0, KES 2, BHD 3."""
    if not is_currency(currency):
        raise UnknownCurrency(currency)
    return _EXPONENT_NOT_TWO.get(currency, 2)


@cache
def minor_per_major(currency: str) -> int:
    """How many minor units make one major unit: 1 for JPY, 100 for KES, 1,000 for BHD."""
    return int(10 ** exponent(currency))


def to_minor(amount: Decimal | int | float | str, currency: str) -> int:
    """A major-unit amount in minor units, rounded half-to-even to the nearest minor unit
    (a float is read through its shortest decimal form, so 19.99 is 1,999 cents)."""
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
        if not value.is_finite():
            raise ValueError(f"{amount!r} is not an amount of money")
        scaled = value.scaleb(exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    except InvalidOperation as exc:
        raise ValueError(f"{amount!r} is not an amount of money") from exc
    return int(scaled)


def is_whole_minor(amount: Decimal, currency: str) -> bool:
    """Whether a major-unit amount is an exact number of minor units (no rounding)."""
    scaled = amount.scaleb(exponent(currency))
    return scaled == scaled.to_integral_value()


def to_major(amount_minor: int, currency: str) -> Decimal:
    """Minor units as an exact major-unit `Decimal` (1999 USD → 19.99, 500 JPY → 500)."""
    return Decimal(amount_minor).scaleb(-exponent(currency))


def format_money(amount_minor: int, currency: str, *, whole: bool = False) -> str:
    """How a person reads an amount: `KES 1,234.50`, `JPY 500`, `-USD 3.00`; `whole`
    rounds to major units (`KES 1,235`) for cards and summaries."""
    places = exponent(currency)
    major = to_major(abs(amount_minor), currency)
    sign = "-" if amount_minor < 0 else ""
    if whole or places == 0:
        text = f"{major.quantize(Decimal(1), rounding=ROUND_HALF_EVEN):,}"
    else:
        text = f"{major:,.{places}f}"
    return f"{sign}{currency} {text}"


def bps_of(amount_minor: int, bps: int) -> int:
    """`bps` basis points (1/100 of a percent) of an amount, in whole minor units rounded
    half-to-even (as `to_minor` rounds): 15% of 1,999 is 299.85, so 300."""
    share = Decimal(amount_minor) * Decimal(bps) / Decimal(10_000)
    return int(share.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))

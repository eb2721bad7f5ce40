"""Money's vocabulary: ISO 4217 exponents, exact major↔minor conversion, formatting.
Pure functions, no database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dracarys.money import (
    UnknownCurrency,
    exponent,
    format_money,
    is_whole_minor,
    minor_per_major,
    to_major,
    to_minor,
)


@pytest.mark.parametrize(
    ("currency", "places"),
    [
        ("JPY", 0),
        ("KRW", 0),
        ("UGX", 0),
        ("KES", 2),
        ("USD", 2),
        ("EUR", 2),
        ("BHD", 3),
        ("KWD", 3),
    ],
)
def test_exponents_follow_iso_4217(currency: str, places: int) -> None:
    assert exponent(currency) == places
    assert minor_per_major(currency) == 10**places


@pytest.mark.parametrize("code", ["XYZ", "usd", "US", "", "DOLLARS"])
def test_a_code_that_is_not_a_currency_is_refused_by_name(code: str) -> None:
    with pytest.raises(UnknownCurrency, match="not an ISO 4217 currency"):
        exponent(code)


def test_a_yen_is_one_minor_unit_and_a_dinar_a_thousand() -> None:
    assert to_minor(Decimal("1500"), "JPY") == 1500
    assert to_minor("1.234", "BHD") == 1234
    assert to_minor(19.99, "USD") == 1999
    assert to_major(1500, "JPY") == Decimal("1500")
    assert to_major(1234, "BHD") == Decimal("1.234")


def test_rounding_is_half_to_even_at_the_minor_unit() -> None:
    assert to_minor("0.125", "USD") == 12
    assert to_minor("0.135", "USD") == 14
    assert to_minor("2.5", "JPY") == 2


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "twelve"])
def test_what_is_not_an_amount_is_refused(amount: str) -> None:
    with pytest.raises(ValueError, match="not an amount of money"):
        to_minor(amount, "USD")


def test_whole_minor_units_are_told_apart_from_fractions() -> None:
    assert is_whole_minor(Decimal("100.50"), "KES")
    assert not is_whole_minor(Decimal("100.505"), "KES")
    assert not is_whole_minor(Decimal("0.5"), "JPY")


@pytest.mark.parametrize(
    ("amount_minor", "currency", "whole", "text"),
    [
        (123450, "KES", False, "KES 1,234.50"),
        (123450, "KES", True, "KES 1,234"),
        (123451, "KES", True, "KES 1,235"),
        (500, "JPY", False, "JPY 500"),
        (-300, "USD", False, "-USD 3.00"),
        (1234, "BHD", False, "BHD 1.234"),
        (0, "USD", False, "USD 0.00"),
    ],
)
def test_amounts_are_written_for_a_person(
    amount_minor: int, currency: str, whole: bool, text: str
) -> None:
    assert format_money(amount_minor, currency, whole=whole) == text


@given(
    amount_minor=st.integers(min_value=-(10**15), max_value=10**15),
    currency=st.sampled_from(["JPY", "KES", "USD", "BHD", "CLF"]),
)
def test_minor_to_major_and_back_is_exact(amount_minor: int, currency: str) -> None:
    assert to_minor(to_major(amount_minor, currency), currency) == amount_minor

"""The VAT country of a purchase comes from facts about the buyer (their profile's
country, else their verified phone number's, else the platform's home country), never
from the request."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.settings import SettingsError, load_settings
from tests.support import AppClient, TestUser, fund_wallet

MakeUser = Callable[..., Awaitable[TestUser]]


async def _buyer(
    make_user: MakeUser,
    pool: asyncpg.Pool,
    clock: ManualClock,
    *,
    phone: str | None = None,
    phone_verified: bool = False,
) -> TestUser:
    buyer = await make_user(phone=phone)
    # Signing up through the API creates the profile row; the fixture user gets it here.
    await pool.execute("INSERT INTO user_profiles (user_id) VALUES ($1)", buyer.id)
    if phone_verified:
        await pool.execute("UPDATE users SET phone_verified_at = now() WHERE id = $1", buyer.id)
    await fund_wallet(pool, buyer.id, "KES", 100_000, clock.now())
    return buyer


async def _set_country(client: AppClient, user: TestUser, country: str) -> Any:
    return await client.patch(
        f"/api/v1/users/{user.id}/profile", json={"country": country}, headers=user.headers
    )


async def _buy(client: AppClient, buyer: TestUser, **extra: Any) -> Any:
    return await client.post(
        "/api/v1/payments/charge",
        json={
            "purpose": "course",
            "reference": "course-tax",
            "amount_minor": 11_600,
            "currency": "KES",
            "idempotency_key": f"tax-{uuid.uuid4()}",
            **extra,
        },
        headers=buyer.headers,
    )


async def _invoices(pool: asyncpg.Pool, buyer: TestUser) -> list[tuple[str, int, int]]:
    rows = await pool.fetch(
        "SELECT country, vat_rate_bps, vat_minor FROM invoices WHERE user_id = $1", buyer.id
    )
    return [(r["country"], r["vat_rate_bps"], r["vat_minor"]) for r in rows]


async def test_a_purchase_naming_country_zz_is_refused_and_never_invoiced_at_zero_percent(
    client: AppClient, make_user: MakeUser, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    buyer = await _buyer(make_user, pool, clock)
    for country in ("ZZ", "KE", "US"):
        response = await _buy(client, buyer, country=country)
        assert response.status_code == 422, country
        assert response.json()["errors"][0]["field"] == "country"
    assert await _invoices(pool, buyer) == []
    assert (await _buy(client, buyer)).status_code == 201
    assert await _invoices(pool, buyer) == [("KE", 1_600, 1_600)]


async def test_a_buyer_whose_profile_says_kenya_pays_sixteen_percent(
    client: AppClient, make_user: MakeUser, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    # A Ugandan phone, verified: the profile's country still comes first.
    buyer = await _buyer(make_user, pool, clock, phone="+256772123456", phone_verified=True)
    assert (await _set_country(client, buyer, "ke")).status_code == 200
    assert (await _buy(client, buyer)).status_code == 201
    assert await _invoices(pool, buyer) == [("KE", 1_600, 1_600)]


async def test_a_buyer_whose_profile_names_a_country_without_our_vat_pays_none_by_the_fact(
    client: AppClient, make_user: MakeUser, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    buyer = await _buyer(make_user, pool, clock)
    mentor = await make_user(role=Role.MENTOR)
    assert (await _set_country(client, buyer, "UG")).status_code == 200
    course = await _buy(client, buyer)
    assert course.status_code == 201
    session = await _buy(client, buyer, purpose="session", mentor_id=str(mentor.id))
    assert session.status_code == 201
    assert await _invoices(pool, buyer) == [("UG", 0, 0), ("UG", 0, 0)]
    escrow_rate = await pool.fetchval(
        "SELECT vat_rate_bps FROM escrows WHERE id = $1", uuid.UUID(session.json()["escrow_id"])
    )
    assert escrow_rate == 0
    charged = await pool.fetch("SELECT country FROM wallet_charges WHERE user_id = $1", buyer.id)
    assert {r["country"] for r in charged} == {"UG"}


async def test_without_a_profile_country_the_verified_phone_decides_and_then_the_home_country(
    client: AppClient, make_user: MakeUser, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    verified = await _buyer(make_user, pool, clock, phone="+256772123456", phone_verified=True)
    unverified = await _buyer(make_user, pool, clock, phone="+256772654321")
    nothing = await _buyer(make_user, pool, clock)
    for buyer in (verified, unverified, nothing):
        assert (await _buy(client, buyer)).status_code == 201
    assert await _invoices(pool, verified) == [("UG", 0, 0)]
    assert await _invoices(pool, unverified) == [("KE", 1_600, 1_600)]
    assert await _invoices(pool, nothing) == [("KE", 1_600, 1_600)]


async def test_a_profile_country_must_be_a_real_iso_code_and_is_shown_to_its_owner(
    client: AppClient, make_user: MakeUser, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    buyer = await _buyer(make_user, pool, clock)
    for bad in ("ZZ", "XX", "K", "KEN", "1A"):
        response = await _set_country(client, buyer, bad)
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["field"] == "country"
    assert (
        await pool.fetchval("SELECT country FROM user_profiles WHERE user_id = $1", buyer.id)
        is None
    )
    response = await _set_country(client, buyer, "tz")
    assert response.status_code == 200
    assert response.json()["country"] == "TZ"
    stranger = await make_user()
    public = await client.get(f"/api/v1/users/{buyer.id}", headers=stranger.headers)
    assert public.status_code == 200
    assert "country" not in public.json()


def test_the_home_country_setting_must_be_a_real_iso_code(tmp_path: Path) -> None:
    base = {"DRACARYS_DATA_DIR": str(tmp_path), "DRACARYS_SECRET_KEY": "k" * 40}
    with pytest.raises(SettingsError, match="DRACARYS_WALLET_HOME_COUNTRY"):
        load_settings({**base, "DRACARYS_WALLET_HOME_COUNTRY": "ZZ"})
    assert load_settings({**base, "DRACARYS_WALLET_HOME_COUNTRY": "UG"}).wallet_home_country == (
        "UG"
    )

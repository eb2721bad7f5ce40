"""Payment details at rest: a deposit's M-Pesa number, a payout's destination and the
providers' callbacks are sealed to their row and field under the payment-details key,
opened only where used (a payout sent to its number, a failure reason shown to its
owner, an early callback applied); an older database's plain values are sealed by the
upgrade step; payment logs print no number and no name."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
from cryptography.exceptions import InvalidTag

from dracarys.clock import ManualClock
from dracarys.crypto import payment_details_cipher
from dracarys.db import Database, transaction
from dracarys.db.pool import create_pool
from dracarys.identity import Role
from dracarys.identity.personal import personal_data_cipher
from dracarys.observability import configure_logging
from dracarys.payments.sandbox import DarajaSimulator, StripeSimulator
from dracarys.platform import Platform
from dracarys.upgrade import upgrade_database
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountCode, TransferKind, TransferSpec
from dracarys.wallet.payment_details import service as payment_details
from dracarys.wallet.payment_details.service import (
    CALLBACK_PAYLOAD,
    DEPOSIT_PHONE,
    PAYOUT_DESTINATION,
)
from dracarys.wallet.payouts import mpesa
from dracarys.wallet.payouts import service as payouts
from tests import support
from tests.conftest import FundWallet, database_migrated_without, make_settings
from tests.support import AppClient, TestUser, create_user, tables_holding
from tests.wallet.conftest import current_originator
from tests.wallet.simulators import provider_env

Client = AppClient
MakeUser = Callable[..., Awaitable[TestUser]]
SEALING_MIGRATION = 660


async def _post(client: Client, user: TestUser, path: str, body: dict[str, Any]) -> Any:
    response = await client.post(
        f"/api/v1/wallets/{user.id}/{path}", json=body, headers=user.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _deposit_and_two_payouts(
    client: Client,
    user: TestUser,
    daraja_sim: DarajaSimulator,
    *,
    deposit_phone: str,
    payout_phone: str,
    bank_account: str,
) -> tuple[Any, Any, Any]:
    """An M-Pesa top-up confirmed by its callback, then an M-Pesa payout paid (its result
    names the receiver) and a bank payout."""
    deposit = await _post(
        client,
        user,
        "deposits",
        {
            "method": "mpesa",
            "amount_minor": 500_000,
            "currency": "KES",
            "phone": deposit_phone,
            "idempotency_key": f"dep-{uuid.uuid4().hex[:12]}",
        },
    )
    path, callback = daraja_sim.stk_callback(deposit["provider_ref"])
    assert (await client.post(path, json=callback)).status_code == 200
    mpesa = await _post(
        client,
        user,
        "withdraw",
        {
            "amount_minor": 100_000,
            "currency": "KES",
            "method": "mpesa",
            "destination": payout_phone,
            "idempotency_key": f"wd-{uuid.uuid4().hex[:12]}",
        },
    )
    path, result = daraja_sim.b2c_result(
        await current_originator(client.app.state.platform.pool, mpesa["id"])
    )
    assert (await client.post(path, json=result)).status_code == 200
    bank = await _post(
        client,
        user,
        "withdraw",
        {
            "amount_minor": 100_000,
            "currency": "KES",
            "method": "bank",
            "destination": bank_account,
            "idempotency_key": f"wd-{uuid.uuid4().hex[:12]}",
        },
    )
    return deposit, mpesa, bank


async def test_deposit_numbers_payout_destinations_and_callbacks_are_sealed_to_their_row(
    client: Client,
    make_user: MakeUser,
    pool: asyncpg.Pool,
    daraja_sim: DarajaSimulator,
) -> None:
    settings = client.app.state.platform.settings
    user = await make_user(kyc_level=2)
    daraja_sim.registered_names["254722000222"] = "Amina Wanjiku Njeri"
    deposit, mpesa, bank = await _deposit_and_two_payouts(
        client,
        user,
        daraja_sim,
        deposit_phone="0712 345 678",
        payout_phone="0722 000 222",
        bank_account="KCB 0011223344 Amina Wanjiku Njeri",
    )
    assert [daraja_sim.b2c_requests[o]["PartyB"] for o in daraja_sim.b2c_sent_for(mpesa["id"])] == [
        "254722000222"
    ]
    # Nowhere in plain: not the numbers (in any spelling), the account, nor the name
    # M-Pesa reported for the receiver.
    plain = ["254712345678", "712345678", "254722000222", "0011223344", "Amina Wanjiku Njeri"]
    assert await tables_holding(pool, plain) == {}

    cipher = payment_details_cipher(settings)
    deposit_id, mpesa_id, bank_id = (uuid.UUID(x["id"]) for x in (deposit, mpesa, bank))
    phone_sealed = await pool.fetchval(
        "SELECT phone_sealed FROM wallet_deposits WHERE id = $1", deposit_id
    )
    assert cipher.open(deposit_id, DEPOSIT_PHONE, phone_sealed) == "254712345678"
    destinations = {
        r["id"]: bytes(r["destination_sealed"])
        for r in await pool.fetch("SELECT id, destination_sealed FROM payouts")
    }
    assert cipher.open(mpesa_id, PAYOUT_DESTINATION, destinations[mpesa_id]) == "254722000222"
    assert (
        cipher.open(bank_id, PAYOUT_DESTINATION, destinations[bank_id])
        == "KCB 0011223344 Amina Wanjiku Njeri"
    )
    callbacks = {
        r["kind"]: json.loads(cipher.open(r["id"], CALLBACK_PAYLOAD, r["payload_sealed"]))
        for r in await pool.fetch("SELECT id, kind, payload_sealed FROM provider_callbacks")
    }
    assert set(callbacks) == {"stk", "b2c_result"}
    metadata = {i["Name"]: i["Value"] for i in callbacks["stk"]["CallbackMetadata"]["Item"]}
    assert metadata["PhoneNumber"] == 254712345678
    parameters = callbacks["b2c_result"]["ResultParameters"]["ResultParameter"]
    assert {"Key": "ReceiverPartyPublicName", "Value": "254722000222 - Amina Wanjiku Njeri"} in (
        parameters
    )

    # Bound to its row and field, under a key of its own.
    for record, field in ((bank_id, PAYOUT_DESTINATION), (mpesa_id, DEPOSIT_PHONE)):
        with pytest.raises(InvalidTag):
            cipher.open(record, field, destinations[mpesa_id])
    with pytest.raises(InvalidTag):
        personal_data_cipher(settings).open(mpesa_id, PAYOUT_DESTINATION, destinations[mpesa_id])
    # The callbacks stay append-only: only an older version's plain payload may be sealed.
    for statement in (
        "UPDATE provider_callbacks SET kind = 'forged'",
        "UPDATE provider_callbacks SET payload_sealed = payload_sealed || '\\x00'::bytea",
        "DELETE FROM provider_callbacks",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await pool.execute(statement)


async def test_a_payout_whose_number_mpesa_cannot_pay_tells_its_owner_which_number(
    client: Client,
    make_user: MakeUser,
    pool: asyncpg.Pool,
    clock: ManualClock,
    fund_wallet: FundWallet,
) -> None:
    platform = client.app.state.platform
    mentor = await make_user(role=Role.MENTOR, kyc_level=2, phone="+14155550123")
    await fund_wallet(mentor.id, "KES", 200_000)
    [payout_id] = await payouts.run_weekly_payouts(platform)
    stored = await pool.fetchval("SELECT failure_reason FROM payouts WHERE id = $1", payout_id)
    assert stored.startswith("cannot pay {destination} through M-Pesa")
    shown = await client.get(f"/api/v1/payouts/{payout_id}", headers=mentor.headers)
    assert shown.json()["status"] == "failed"
    assert shown.json()["failure_reason"].startswith("cannot pay +14155550123 through M-Pesa")
    assert await tables_holding(pool, ["14155550123"]) == {}


# ---- an older database ----------------------------------------------------------------


async def _pending_transfer(
    conn: asyncpg.Connection, debit: int, credit: int, amount_minor: int, key: str
) -> uuid.UUID:
    transfer = await ledger.create_transfer(
        conn,
        TransferSpec(
            idempotency_key=key,
            code="older",
            kind=TransferKind.PENDING,
            debit_account_id=debit,
            credit_account_id=credit,
            amount_minor=amount_minor,
            currency="KES",
        ),
        now=ManualClock().now(),
    )
    return transfer.id


async def test_an_older_databases_payment_details_are_sealed_at_upgrade_and_still_used(
    tmp_path: Path,
    stripe_server: tuple[StripeSimulator, str],
    daraja_server: tuple[DarajaSimulator, str],
) -> None:
    daraja = daraja_server[0]
    daraja.reset()
    clock = ManualClock()
    deposit_phone, payout_phone = "254712000111", "254722000444"
    bank_account = "Equity 1234567890 Older Mentor"
    payout_id, bank_payout_id, deposit_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    stk_callback = {
        "CheckoutRequestID": "ws_CO_older_0001",
        "ResultCode": 0,
        "CallbackMetadata": {"Item": [{"Name": "PhoneNumber", "Value": int(deposit_phone)}]},
    }
    async with database_migrated_without({SEALING_MIGRATION}) as dsn:
        settings = make_settings(dsn, tmp_path, **provider_env(*stripe_server, *daraja_server))
        pool = await create_pool(dsn, min_size=2, max_size=4)
        try:
            user = await create_user(pool, settings, clock, kyc_level=2)
            await support.fund_wallet(pool, user.id, "KES", 1_000_000, clock.now())
            now = clock.now()
            # As the code before migration 0660 wrote them.
            async with transaction(pool) as conn:
                wallet = await ledger.wallet_account(conn, user.id, "KES", now)
                mpesa_clearing = await ledger.platform_account(
                    conn, AccountCode.MPESA_CLEARING, "KES", now
                )
                out = await ledger.platform_account(conn, AccountCode.PAYOUT_CLEARING, "KES", now)
                await conn.execute(
                    """INSERT INTO wallet_deposits (id, user_id, method, amount_minor, currency,
                           status, pending_transfer_id, provider_ref, phone, created_at,
                           updated_at)
                       VALUES ($1, $2, 'mpesa', 100000, 'KES', 'pending', $3, $4, $5, $6, $6)""",
                    deposit_id,
                    user.id,
                    await _pending_transfer(conn, mpesa_clearing, wallet, 100_000, "older-deposit"),
                    "ws_CO_older_0001",
                    deposit_phone,
                    now,
                )
                for p_id, method, destination, status in (
                    (payout_id, "mpesa", payout_phone, "queued"),
                    (bank_payout_id, "bank", bank_account, "awaiting_bank_transfer"),
                ):
                    await conn.execute(
                        """INSERT INTO payouts (id, user_id, kind, method, destination,
                               amount_minor, currency, status, next_attempt_at,
                               pending_transfer_id, created_at, updated_at)
                           VALUES ($1, $2, 'withdrawal', $3, $4, 100000, 'KES', $5, $6, $7,
                                   $6, $6)""",
                        p_id,
                        user.id,
                        method,
                        destination,
                        status,
                        now,
                        await _pending_transfer(conn, wallet, out, 100_000, f"older-{p_id}"),
                    )
                await conn.execute(
                    """INSERT INTO provider_callbacks (provider, kind, reference, payload,
                           received_at)
                       VALUES ('mpesa', 'stk', 'ws_CO_older_0001', $1, $2)""",
                    stk_callback,
                    now,
                )

            # Two processes start at once: each upgrades; one seals, the other finds none.
            async def upgrade() -> list[int]:
                async with pool.acquire() as conn:
                    return await upgrade_database(conn, settings)

            applied = await asyncio.gather(upgrade(), upgrade())
            assert sorted(applied) == [[], [SEALING_MIGRATION]]
            plain = [deposit_phone, payout_phone, "1234567890", "Older Mentor"]
            assert await tables_holding(pool, plain) == {}
            validated = await pool.fetch(
                "SELECT conname, convalidated FROM pg_constraint WHERE conname = ANY($1)",
                ["wallet_deposits_sealed", "payouts_sealed", "provider_callbacks_sealed"],
            )
            assert all(r["convalidated"] for r in validated)
            assert len(validated) == 3
            sealed_before = await pool.fetch("SELECT * FROM payouts ORDER BY id")
            async with pool.acquire() as conn:
                assert await payment_details.seal_plain_payment_details(conn, settings) == 0
            assert await pool.fetch("SELECT * FROM payouts ORDER BY id") == sealed_before

            cipher = payment_details_cipher(settings)
            phone_sealed = await pool.fetchval("SELECT phone_sealed FROM wallet_deposits")
            assert cipher.open(deposit_id, DEPOSIT_PHONE, phone_sealed) == deposit_phone
            async with pool.acquire() as conn:
                kept = await payment_details.earliest_callback(
                    conn, settings, provider="mpesa", kind="stk", reference="ws_CO_older_0001"
                )
            assert kept == stk_callback
            # The payout queued before the upgrade still goes to its number.
            platform = Platform(
                settings=settings, database=Database(pool=pool, dsn=dsn), clock=clock
            )
            assert await mpesa.dispatch_payout(platform, payout_id) == "sent"
            [sent] = daraja.b2c_sent_for(str(payout_id))
            assert daraja.b2c_requests[sent]["PartyB"] == payout_phone
        finally:
            await pool.close()


# ---- logs -----------------------------------------------------------------------------


async def test_payment_logs_print_no_phone_number_account_or_name(
    client: Client,
    make_user: MakeUser,
    pool: asyncpg.Pool,
    clock: ManualClock,
    daraja_sim: DarajaSimulator,
    capsys: pytest.CaptureFixture[str],
    fund_wallet: FundWallet,
) -> None:
    platform = client.app.state.platform
    configure_logging(msgspec.structs.replace(platform.settings, log_level="DEBUG"))
    capsys.readouterr()
    user = await make_user(kyc_level=2)
    daraja_sim.registered_names["254722000777"] = "Baraka Otieno Ouma"
    await _deposit_and_two_payouts(
        client,
        user,
        daraja_sim,
        deposit_phone="0712 000 777",
        payout_phone="0722 000 777",
        bank_account="Equity 9988776655 Baraka Otieno Ouma",
    )
    # A send whose answer is lost, and a weekly payout to a number M-Pesa cannot pay.
    daraja_sim.b2c_answers_to_lose = 1
    lost = await _post(
        client,
        user,
        "withdraw",
        {
            "amount_minor": 100_000,
            "currency": "KES",
            "method": "mpesa",
            "destination": "0722 000 777",
            "idempotency_key": f"wd-{uuid.uuid4().hex[:12]}",
        },
    )
    assert lost["status"] == "sending"
    mentor = await make_user(role=Role.MENTOR, kyc_level=2, phone="+14155550777")
    await fund_wallet(mentor.id, "KES", 200_000)
    await payouts.run_weekly_payouts(platform)
    output = capsys.readouterr().err
    assert '"event": "b2c_outcome_unknown"' in output  # the payment lines were captured
    for plain in ("712000777", "722000777", "9988776655", "Baraka", "14155550777"):
        assert plain not in output, plain

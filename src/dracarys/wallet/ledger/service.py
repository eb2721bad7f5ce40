"""The double-entry core, after TigerBeetle: accounts on one ledger per currency with
balance-bounding flags, and transfers that are single-phase or two-phase (pending, then
posted or voided exactly once; posting less than was pending releases the rest).

`create_transfers` applies a batch inside the caller's transaction: it locks the balance
rows of every account involved in ascending id order (so concurrent writers queue and
never deadlock), replays transfers whose idempotency key it already holds, refuses a
reused key with a different body, and writes transfers, entries and balances together.
A batch is all-or-nothing: any refusal raises and the caller's transaction rolls back.
Every function here works inside the caller's transaction: the workflows that move money
own it, with their own rows and events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, InvalidInput, NotFound
from dracarys.platform import Platform
from dracarys.wallet.ledger import store
from dracarys.wallet.ledger.models import (
    AccountCode,
    AccountEntry,
    AccountFlags,
    Balance,
    Entry,
    LedgerCheck,
    OpenHold,
    Transfer,
    TransferKind,
    TransferSpec,
)
from dracarys.wallet.models import SUPPORTED_CURRENCIES


class InsufficientFunds(Conflict):
    slug = "insufficient-funds"
    title = "Insufficient funds"


def _check_currency(currency: str) -> None:
    if currency not in SUPPORTED_CURRENCIES:
        raise InvalidInput(
            f"currency {currency!r} is not supported; use one of {', '.join(SUPPORTED_CURRENCIES)}",
            field="currency",
        )


async def ensure_account(
    conn: Connection,
    code: AccountCode,
    currency: str,
    *,
    now: datetime,
    owner_id: uuid.UUID | None = None,
) -> int:
    """The id of the account, created on first use. User wallets may never go below
    zero; the platform's accounts are unbounded (clearing accounts run negative while a
    processor owes us money)."""
    _check_currency(currency)
    found = await store.find_account(conn, code.value, owner_id, currency)
    if found is not None:
        return found
    flags = (
        AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
        if code is AccountCode.USER_WALLET
        else AccountFlags.NONE
    )
    return await store.create_account(conn, code.value, owner_id, currency, int(flags), now)


async def wallet_account(conn: Connection, user_id: uuid.UUID, currency: str, now: datetime) -> int:
    return await ensure_account(conn, AccountCode.USER_WALLET, currency, now=now, owner_id=user_id)


async def platform_account(
    conn: Connection, code: AccountCode, currency: str, now: datetime
) -> int:
    return await ensure_account(conn, code, currency, now=now)


def _same_body(existing: Transfer, spec: TransferSpec, pending: Transfer | None) -> bool:
    if existing.kind is not spec.kind or existing.code != spec.code:
        return False
    if existing.reference != spec.reference:
        return False
    if spec.kind in (TransferKind.POST_PENDING, TransferKind.VOID_PENDING):
        if existing.pending_id != spec.pending_id:
            return False
        if spec.kind is TransferKind.POST_PENDING and spec.amount_minor is not None:
            return existing.amount_minor == spec.amount_minor
        return pending is None or existing.amount_minor <= pending.amount_minor
    return (
        existing.debit_account_id == spec.debit_account_id
        and existing.credit_account_id == spec.credit_account_id
        and existing.amount_minor == spec.amount_minor
        and existing.currency == spec.currency
    )


def _validate_shape(spec: TransferSpec) -> None:
    if not spec.idempotency_key or len(spec.idempotency_key) > 200:
        raise InvalidInput("every transfer needs an idempotency key", field="idempotency_key")
    if spec.kind in (TransferKind.POST_PENDING, TransferKind.VOID_PENDING):
        if spec.pending_id is None:
            raise InvalidInput("posting or voiding needs the pending transfer", field="pending_id")
        if spec.amount_minor is not None and spec.amount_minor < 0:
            raise InvalidInput("amounts are never negative", field="amount_minor")
        return
    if spec.amount_minor is None or spec.amount_minor <= 0:
        raise InvalidInput("a transfer moves a positive amount", field="amount_minor")
    if spec.debit_account_id == spec.credit_account_id:
        raise InvalidInput("a transfer needs two different accounts", field="credit_account_id")
    if spec.timeout_s is not None and (
        spec.kind is not TransferKind.PENDING or spec.timeout_s <= 0
    ):
        raise InvalidInput("only a pending transfer has a positive timeout", field="timeout_s")
    _check_currency(spec.currency)


async def create_transfers(
    conn: Connection,
    specs: Sequence[TransferSpec],
    *,
    now: datetime,
    created: list[Transfer] | None = None,
) -> list[Transfer]:
    """Apply `specs` in order; returns one transfer per spec (the earlier one for a
    replayed idempotency key). `created`, when given, receives only the new ones."""
    if not specs:
        return []
    keys = [s.idempotency_key for s in specs]
    if len(set(keys)) != len(keys):
        raise InvalidInput("a batch repeats an idempotency key", field="idempotency_key")
    for spec in specs:
        _validate_shape(spec)

    pending_ids = [s.pending_id for s in specs if s.pending_id is not None]
    pendings = await store.transfers_by_ids(conn, pending_ids) if pending_ids else {}
    account_ids: set[int] = set()
    for spec in specs:
        if spec.pending_id is not None:
            pending = pendings.get(spec.pending_id)
            if pending is None or pending.kind is not TransferKind.PENDING:
                raise NotFound("no such pending transfer", field="pending_id")
            account_ids.update((pending.debit_account_id, pending.credit_account_id))
        else:
            account_ids.update((spec.debit_account_id, spec.credit_account_id))

    balances = await store.lock_balances(conn, sorted(account_ids))
    if len(balances) != len(account_ids):
        raise NotFound("a transfer names an account that does not exist", field="account_id")
    # Read after the locks: a concurrent writer of the same key or the same pending
    # transfer has committed by now, and this statement's snapshot sees it.
    existing = await store.transfers_by_keys(conn, keys)
    resolutions = await store.resolutions_of(conn, pending_ids) if pending_ids else {}

    results: list[Transfer] = []
    new_transfers: list[Transfer] = []
    entries: list[Entry] = []
    touched: dict[int, Balance] = {}
    for spec in specs:
        pending = pendings.get(spec.pending_id) if spec.pending_id is not None else None
        found = existing.get(spec.idempotency_key)
        if found is not None:
            if not _same_body(found, spec, pending):
                raise InvalidInput(
                    "this idempotency key was used for a different transfer",
                    field="idempotency_key",
                )
            results.append(found)
            continue
        transfer = _build(spec, pending, balances, resolutions, now)
        _apply(transfer, pending, balances, entries, touched, now)
        if pending is not None:
            resolutions[pending.id] = transfer
        new_transfers.append(transfer)
        results.append(transfer)

    if new_transfers:
        await store.write_batch(conn, new_transfers, entries, list(touched.values()))
        if created is not None:
            created.extend(new_transfers)
    return results


def _build(
    spec: TransferSpec,
    pending: Transfer | None,
    balances: dict[int, Balance],
    resolutions: dict[uuid.UUID, Transfer],
    now: datetime,
) -> Transfer:
    if pending is None:
        debit = balances[spec.debit_account_id]
        credit = balances[spec.credit_account_id]
        if debit.currency != spec.currency or credit.currency != spec.currency:
            raise InvalidInput(
                "both accounts of a transfer must be on the transfer's currency ledger",
                field="currency",
            )
        assert spec.amount_minor is not None
        timeout_at = now + timedelta(seconds=spec.timeout_s) if spec.timeout_s else None
        return Transfer(
            id=uuid.uuid4(),
            idempotency_key=spec.idempotency_key,
            debit_account_id=spec.debit_account_id,
            credit_account_id=spec.credit_account_id,
            amount_minor=spec.amount_minor,
            currency=spec.currency,
            kind=spec.kind,
            pending_id=None,
            timeout_at=timeout_at,
            code=spec.code,
            reference=spec.reference,
            created_at=now,
        )
    if pending.id in resolutions:
        already = resolutions[pending.id].kind.value.removesuffix("_pending")
        raise Conflict(f"this pending transfer was already {already}ed", field="pending_id")
    amount = pending.amount_minor
    if spec.kind is TransferKind.POST_PENDING:
        if pending.timeout_at is not None and pending.timeout_at <= now:
            raise Conflict("this pending transfer has timed out", field="pending_id")
        if spec.amount_minor is not None:
            if spec.amount_minor > pending.amount_minor:
                raise InvalidInput("a post may not exceed the pending amount", field="amount_minor")
            amount = spec.amount_minor
    return Transfer(
        id=uuid.uuid4(),
        idempotency_key=spec.idempotency_key,
        debit_account_id=pending.debit_account_id,
        credit_account_id=pending.credit_account_id,
        amount_minor=amount,
        currency=pending.currency,
        kind=spec.kind,
        pending_id=pending.id,
        timeout_at=None,
        code=spec.code,
        reference=spec.reference,
        created_at=now,
    )


def _apply(
    transfer: Transfer,
    pending: Transfer | None,
    balances: dict[int, Balance],
    entries: list[Entry],
    touched: dict[int, Balance],
    now: datetime,
) -> None:
    debit = balances[transfer.debit_account_id]
    credit = balances[transfer.credit_account_id]
    amount = transfer.amount_minor
    released = pending.amount_minor if pending is not None else 0
    # (pending delta, posted delta) on each side.
    if transfer.kind is TransferKind.SINGLE_PHASE:
        deltas = (0, amount)
    elif transfer.kind is TransferKind.PENDING:
        deltas = (amount, 0)
    elif transfer.kind is TransferKind.POST_PENDING:
        deltas = (-released, amount)
    else:
        deltas = (-released, 0)
    debit.debits_pending += deltas[0]
    debit.debits_posted += deltas[1]
    credit.credits_pending += deltas[0]
    credit.credits_posted += deltas[1]
    for side in (debit, credit):
        flags = AccountFlags(side.flags)
        if (
            AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS in flags
            and side.debits_posted + side.debits_pending > side.credits_posted
        ):
            raise InsufficientFunds(
                "the wallet does not hold enough available funds for this",
                field="amount_minor",
            )
        if (
            AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS in flags
            and side.credits_posted + side.credits_pending > side.debits_posted
        ):
            raise Conflict("the account may not hold more credits than debits")
    entries.append(
        Entry(
            transfer_id=transfer.id,
            account_id=debit.account_id,
            currency=transfer.currency,
            debits_pending=deltas[0],
            debits_posted=deltas[1],
            credits_pending=0,
            credits_posted=0,
            balance_after=debit.posted_minor,
            created_at=now,
        )
    )
    entries.append(
        Entry(
            transfer_id=transfer.id,
            account_id=credit.account_id,
            currency=transfer.currency,
            debits_pending=0,
            debits_posted=0,
            credits_pending=deltas[0],
            credits_posted=deltas[1],
            balance_after=credit.posted_minor,
            created_at=now,
        )
    )
    touched[debit.account_id] = debit
    touched[credit.account_id] = credit


async def create_transfer(conn: Connection, spec: TransferSpec, *, now: datetime) -> Transfer:
    return (await create_transfers(conn, [spec], now=now))[0]


async def open_pending(
    conn: Connection,
    *,
    idempotency_key: str,
    code: str,
    debit_account_id: int,
    credit_account_id: int,
    amount_minor: int,
    currency: str,
    reference: str | None,
    now: datetime,
    timeout_s: int | None = None,
) -> Transfer:
    """Reserve `amount_minor` from the debit account for the credit account: a pending
    transfer that `post_pending` later takes (all or part of it) or `void_pending` gives
    back. Deposits, card refunds, chargeback holds, payouts and escrow all open one."""
    return await create_transfer(
        conn,
        TransferSpec(
            idempotency_key=idempotency_key,
            code=code,
            kind=TransferKind.PENDING,
            debit_account_id=debit_account_id,
            credit_account_id=credit_account_id,
            amount_minor=amount_minor,
            currency=currency,
            timeout_s=timeout_s,
            reference=reference,
        ),
        now=now,
    )


async def post_pending(
    conn: Connection,
    pending_id: uuid.UUID,
    *,
    idempotency_key: str,
    code: str,
    now: datetime,
    amount_minor: int | None = None,
    reference: str | None = None,
) -> Transfer:
    return await create_transfer(
        conn,
        TransferSpec(
            idempotency_key=idempotency_key,
            code=code,
            kind=TransferKind.POST_PENDING,
            pending_id=pending_id,
            amount_minor=amount_minor,
            reference=reference,
        ),
        now=now,
    )


async def void_pending(
    conn: Connection,
    pending_id: uuid.UUID,
    *,
    idempotency_key: str,
    code: str,
    now: datetime,
    reference: str | None = None,
) -> Transfer:
    return await create_transfer(
        conn,
        TransferSpec(
            idempotency_key=idempotency_key,
            code=code,
            kind=TransferKind.VOID_PENDING,
            pending_id=pending_id,
            reference=reference,
        ),
        now=now,
    )


async def expire_pending_transfers(conn: Connection, *, now: datetime, limit: int = 500) -> int:
    """Void every pending transfer whose timeout has passed (TigerBeetle expires them the
    same way); returns how many were voided."""
    expired = await store.expired_pending(conn, now, limit)
    if expired:
        await create_transfers(
            conn,
            [
                TransferSpec(
                    idempotency_key=f"expire:{t.id}",
                    code="expired",
                    kind=TransferKind.VOID_PENDING,
                    pending_id=t.id,
                    reference=t.reference,
                )
                for t in expired
            ],
            now=now,
        )
    return len(expired)


async def balance_of(conn: Connection, account_id: int) -> Balance:
    found = await store.read_balances(conn, [account_id])
    if account_id not in found:
        raise NotFound("no such account", field="account_id")
    return found[account_id]


async def wallet_balances_of(conn: Connection, owner_id: uuid.UUID) -> dict[str, Balance]:
    """The owner's wallet balance in each currency they hold one in."""
    accounts = await store.accounts_of_owner(conn, AccountCode.USER_WALLET.value, owner_id)
    found = await store.read_balances(conn, [a.id for a in accounts])
    return {a.currency: found[a.id] for a in accounts if a.id in found}


async def find_wallet_account(conn: Connection, owner_id: uuid.UUID, currency: str) -> int | None:
    """The owner's wallet in `currency`, if they have one (never creates it)."""
    return await store.find_account(conn, AccountCode.USER_WALLET.value, owner_id, currency)


async def wallet_accounts_of(conn: Connection, owner_id: uuid.UUID) -> dict[str, int]:
    """The owner's wallet account in each currency they hold one in (never creates one)."""
    accounts = await store.accounts_of_owner(conn, AccountCode.USER_WALLET.value, owner_id)
    return {a.currency: a.id for a in accounts}


async def account_entries(
    conn: Connection, account_ids: Sequence[int], *, before_id: int | None, limit: int
) -> list[AccountEntry]:
    """The accounts' entries, newest first, from before the entry `before_id`, each with
    its account's posted and available balance right after it."""
    return await store.account_entries(conn, account_ids, before_id=before_id, limit=limit)


async def open_holds(conn: Connection, account_ids: Sequence[int]) -> list[OpenHold]:
    """Money reserved in the accounts by pending transfers still open, by currency and
    code."""
    return await store.open_holds(conn, account_ids)


async def funded_wallets(
    conn: Connection, currency: str, minimum_minor: int, owner_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """What each of `owner_ids` may spend of their `currency` wallet, for those holding at
    least `minimum_minor` (in owner id order)."""
    rows = await store.funded_wallets(conn, currency, minimum_minor, owner_ids)
    return {w.owner_id: w.available_minor for w in rows}


async def amount_moved(conn: Connection, reference: str, codes: Sequence[str]) -> int:
    """The total of the transfers for `reference` with one of `codes` (what a charge has
    had refunded so far, say)."""
    return await store.amount_moved(conn, reference, codes)


_PROBLEMS_SHOWN = 20


async def check_ledger(conn: Connection) -> LedgerCheck:
    """Recompute every invariant: per-currency sums are zero, every balance equals the
    sum of its entries, every transfer's entries sum to zero, no wallet below zero."""
    problems: list[str] = []
    totals: dict[str, int] = {}
    for total in await store.currency_totals(conn):
        totals[total.currency] = total.posted
        if total.posted != 0 or total.pending != 0:
            problems.append(
                f"{total.currency}: balances do not sum to zero "
                f"(posted {total.posted}, pending {total.pending})"
            )
    problems += [
        f"account {account_id}: balance differs from its entries"
        for account_id in await store.accounts_differing_from_entries(conn, _PROBLEMS_SHOWN)
    ]
    problems += [
        f"transfer {transfer_id}: entries do not sum to zero"
        for transfer_id in await store.unbalanced_transfers(conn, _PROBLEMS_SHOWN)
    ]
    problems += [
        f"account {account_id}: below zero"
        for account_id in await store.bounded_accounts_below_zero(conn, _PROBLEMS_SHOWN)
    ]
    return LedgerCheck(problems=problems, totals=totals)


async def expire_timed_out_transfers(platform: Platform) -> int:
    """The scheduled job: void pending transfers whose timeout has passed."""
    async with transaction(platform.pool) as conn:
        return await expire_pending_transfers(conn, now=platform.clock.now())

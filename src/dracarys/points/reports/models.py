"""Reconciliation records and the report the API serves."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import msgspec

from dracarys.wire import Schema


class BalanceMismatch(msgspec.Struct, frozen=True, kw_only=True):
    user_id: uuid.UUID
    balance: int | None
    ledger_sum: int | None


class LedgerChecks(msgspec.Struct, frozen=True, kw_only=True):
    """Balances that are not the sum of their entries (the first hundred), breaks in the
    balance_after chain, negative balances, and pending totals unlike their pending rows."""

    balance_mismatches: list[BalanceMismatch]
    chain_breaks: int
    negative_balances: int
    pending_mismatches: int

    @property
    def consistent(self) -> bool:
        return not self.balance_mismatches and not (
            self.chain_breaks or self.negative_balances or self.pending_mismatches
        )


class DailyFlow(msgspec.Struct, frozen=True, kw_only=True):
    """Points credited and debited in one ledger category on one UTC day."""

    day: date
    category: str
    credited: int | None
    debited: int | None
    users: int


class BalanceSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    balance: int
    pending: int


class Anomaly(msgspec.Struct, frozen=True, kw_only=True):
    """A user who earned more in the day than the velocity limit allows in its window."""

    user_id: uuid.UUID
    earned: int


class StoredReport(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    report: dict[str, Any]


class Report(Schema, kw_only=True):
    day: str
    report: dict[str, Any]


class EconomyHealth(Schema, kw_only=True):
    """The points economy over the last `days` days, live from the ledger: what was issued,
    redeemed (net of returned merch orders), expired and taken back otherwise, and what
    members hold now (posted, and pending on money-tied awards)."""

    days: int
    issued: int
    redeemed: int
    expired: int
    clawed_back: int
    outstanding: int
    pending: int
    holders: int

"""What must hold once the platform has drained after a round of kills: the ledger checks
out and agrees with the providers' books and with what every client was answered; every
idempotency key produced exactly one effect and every answer to it agrees; no payout is
stuck; every outbox event is complete and each consumer's effect is there once; every
paper order is filled once. Each comparison counts as one invariant checked."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
from redis.asyncio import Redis

from dracarys.payments.daraja import account_reference
from dracarys.points.rules import leaderboard_periods
from dracarys.wallet.ledger import service as ledger
from tests.chaos.traffic import Figures, Op, Providers
from workers.consumers import consumers_for


@dataclass
class Invariants:
    checked: int = 0
    broken: list[str] = field(default_factory=list)

    def expect(self, holds: bool, what: str) -> None:
        self.checked += 1
        if not holds:
            self.broken.append(what)

    def equal(self, actual: Any, expected: Any, what: str) -> None:
        self.expect(actual == expected, f"{what}: {actual!r}, expected {expected!r}")

    def report(self) -> str:
        shown = "\n  ".join(self.broken[:40])
        return f"{len(self.broken)} of {self.checked} invariants broken:\n  {shown}"


def _of(ops: Iterable[Op], *kinds: str) -> list[Op]:
    return [op for op in ops if op.kind in kinds and op.answers and op.answers[0][0] < 300]


async def _transfer_kinds(pool: asyncpg.Pool) -> dict[str, list[str]]:
    rows = await pool.fetch(
        """SELECT reference, array_agg(kind ORDER BY kind) AS kinds FROM ledger_transfers
           WHERE reference IS NOT NULL GROUP BY reference"""
    )
    return {r["reference"]: list(r["kinds"]) for r in rows}


def check_answers(inv: Invariants, ops: list[Op], figures: Figures) -> None:
    """Every answer to one key is the first one (or names the same resource)."""
    inv.equal(figures.server_errors, [], "5xx answers")
    inv.equal(figures.unexpected, [], "answers other than the operation's success")
    for op in ops:
        first = op.identity(op.first)
        for _, body in op.answers[1:]:
            inv.equal(op.identity(body), first, f"{op.kind} {op.key}: a retry's answer")


# The accounts that face the outside world: money enters and leaves the platform through
# them (test funding, card and M-Pesa clearing, M-Pesa payouts, points redeemed as credit).
_OUTSIDE = frozenset(
    {"opening_balance", "stripe_clearing", "mpesa_clearing", "payout_clearing", "points_funding"}
)


async def check_ledger(
    inv: Invariants,
    pool: asyncpg.Pool,
    ops: list[Op],
    providers: Providers,
    funding: dict[uuid.UUID, int],
) -> None:
    async with pool.acquire() as conn:
        inv.equal((await ledger.check_ledger(conn)).problems, [], "the ledger's own check")
    rows = await pool.fetch(
        """SELECT a.code, a.owner_id,
                  coalesce(sum(b.credits_posted - b.debits_posted), 0)::bigint AS posted,
                  coalesce(sum(b.credits_pending - b.debits_pending), 0)::bigint AS pending
           FROM ledger_accounts a JOIN ledger_balances b ON b.account_id = a.id
           WHERE a.currency = 'KES' GROUP BY a.code, a.owner_id"""
    )
    platform = {r["code"]: (r["posted"], r["pending"]) for r in rows if r["owner_id"] is None}
    wallets = {r["owner_id"]: (r["posted"], r["pending"]) for r in rows if r["owner_id"]}

    # The outside world's books: what customers paid in, what M-Pesa paid out.
    card_in = sum(providers.card_paid.values())
    by_phone = providers.paid_by_phone()
    mpesa_in = sum(by_phone.values())
    paid_out = providers.b2c_paid()
    conversions = _of(ops, "conversion")
    credited = sum(op.first["value_minor"] for op in conversions)
    holds = sum(op.body["amount_minor"] for op in _of(ops, "session_purchase"))
    inv.equal(platform["opening_balance"][0], -sum(funding.values()), "opening balances")
    inv.equal(platform.get("stripe_clearing", (0, 0)), (-card_in, 0), "Stripe clearing")
    inv.equal(platform.get("mpesa_clearing", (0, 0)), (-mpesa_in, 0), "M-Pesa clearing")
    inv.equal(
        platform.get("payout_clearing", (0, 0)), (sum(paid_out.values()), 0), "payout clearing"
    )
    inv.equal(platform.get("points_funding", (0, 0))[0], -credited, "points funding")
    inv.equal(platform.get("escrow", (0, 0)), (0, holds), "escrow holds")
    # Money is conserved: what came in less what went out is what the platform holds,
    # in wallets, escrow, revenue, VAT and every other account.
    inside = sum(posted for code, (posted, _) in platform.items() if code not in _OUTSIDE)
    inside += sum(posted for posted, _ in wallets.values())
    inv.equal(
        inside,
        sum(funding.values()) + card_in + mpesa_in + credited - sum(paid_out.values()),
        "money held = funding + deposits in + points credit - payouts out",
    )

    # Each wallet, from what its owner was answered and the providers did.
    expected: dict[uuid.UUID, list[int]] = {u: [amount, 0] for u, amount in funding.items()}
    for op in _of(ops, "card_deposit"):
        expected[op.user_id][0] += providers.card_paid[op.first["provider_ref"]]
    for op in _of(ops, "mpesa_deposit"):
        expected[op.user_id][0] += by_phone.get(op.first["id"], 0)
    for op in _of(ops, "course_purchase"):
        expected[op.user_id][0] -= op.body["amount_minor"]
    for op in _of(ops, "session_purchase"):
        expected[op.user_id][1] -= op.body["amount_minor"]
    for op in _of(ops, "withdrawal"):
        expected[op.user_id][0] -= paid_out.get(op.first["id"], 0)
    for op in conversions:
        expected[op.user_id][0] += op.first["value_minor"]
    for user_id, (posted, pending) in expected.items():
        inv.equal(wallets.get(user_id, (0, 0)), (posted, pending), f"wallet of {user_id}")


async def check_effects(
    inv: Invariants, pool: asyncpg.Pool, ops: list[Op], providers: Providers
) -> None:
    """One effect per key: one deposit, charge, payout, award, redemption or order, with
    exactly the ledger transfers it makes."""
    transfers = await _transfer_kinds(pool)
    by_phone = providers.paid_by_phone()

    deposit_ops = _of(ops, "card_deposit", "mpesa_deposit")
    deposits = {r["id"]: r for r in await pool.fetch("SELECT * FROM wallet_deposits")}
    inv.equal(len(deposits), len(deposit_ops), "deposits, one per key")
    for op in deposit_ops:
        row = deposits.get(uuid.UUID(op.first["id"]))
        if row is None:
            inv.expect(False, f"deposit {op.key} missing")
            continue
        if op.kind == "card_deposit":
            paid = providers.card_paid.get(op.first["provider_ref"], 0)
        else:
            paid = by_phone.get(op.first["id"], 0)
        inv.equal(
            (row["user_id"], row["amount_minor"]),
            (op.user_id, op.body["amount_minor"]),
            f"deposit {op.key}",
        )
        # What the customer paid for it is what it credited: all of it, once, or nothing.
        inv.expect(paid in (0, row["amount_minor"]), f"deposit {op.key} paid {paid}")
        settled = "post_pending" if paid else "void_pending"
        inv.equal(row["status"], "completed" if paid else "failed", f"deposit {op.key} status")
        inv.equal(transfers.get(str(row["id"])), sorted(["pending", settled]), f"deposit {op.key}")

    # One M-Pesa prompt per top-up at most, and the deposit knows which (the phone shows
    # the account reference; a second prompt could be paid twice, or unseen by us).
    prompts: dict[str, list[str]] = defaultdict(list)
    for checkout_id, push in providers.daraja.pushes.items():
        prompts[push["AccountReference"]].append(checkout_id)
    for op in _of(ops, "mpesa_deposit"):
        deposit_id = uuid.UUID(op.first["id"])
        row = deposits.get(deposit_id)
        found = prompts.get(account_reference(f"DRC{deposit_id.hex[:9]}"), [])
        inv.expect(len(found) <= 1, f"top-up {op.key}: {len(found)} prompts on the phone")
        if row is not None:
            recorded = [row["provider_ref"]] if row["provider_ref"] else []
            inv.equal(recorded, found, f"top-up {op.key}: the prompt it recorded")

    charge_ops = _of(ops, "course_purchase", "session_purchase")
    charges = {r["id"]: r for r in await pool.fetch("SELECT * FROM wallet_charges")}
    inv.equal(len(charges), len(charge_ops), "charges, one per key")
    inv.equal(await pool.fetchval("SELECT count(*) FROM invoices"), len(charges), "invoices")
    for op in charge_ops:
        row = charges.get(uuid.UUID(op.first["id"]))
        inv.expect(
            row is not None and row["amount_minor"] == op.body["amount_minor"], f"charge {op.key}"
        )
        if op.kind == "session_purchase":
            inv.equal(transfers.get(str(op.first["escrow_id"])), ["pending"], f"escrow {op.key}")
        else:
            inv.equal(transfers.get(op.first["id"]), ["single_phase"] * 2, f"sale {op.key}")

    payout_ops = _of(ops, "withdrawal")
    rows = await pool.fetch("SELECT id, user_id, amount_minor, status FROM payouts")
    payout_rows = {str(r["id"]): r for r in rows}
    inv.equal(len(payout_rows), len(payout_ops), "payouts, one per key")
    paid_times = providers.b2c_paid_count()
    paid_out = providers.b2c_paid()
    for op in payout_ops:
        payout_id = op.first["id"]
        row = payout_rows.get(payout_id)
        if row is None:
            inv.expect(False, f"payout {op.key} missing")
            continue
        times = paid_times.get(payout_id, 0)
        inv.expect(times <= 1, f"payout {payout_id} paid {times} times by M-Pesa")
        # No payout stuck: each reached an end, the one M-Pesa's books say.
        inv.equal(row["status"], "completed" if times else "failed", f"payout {payout_id}")
        inv.equal(
            paid_out.get(payout_id, 0),
            row["amount_minor"] if times else 0,
            f"payout {payout_id} amount paid",
        )
        settled = "post_pending" if times else "void_pending"
        inv.equal(transfers.get(payout_id), sorted(["pending", settled]), f"payout {payout_id}")

    award_ops = _of(ops, "lesson_award", "bonus_award")
    inv.equal(
        await pool.fetchval("SELECT count(*) FROM points_award_requests"),
        len(award_ops),
        "point awards, one per key",
    )
    entries = await pool.fetch(
        "SELECT related_entity, idempotency_key, reason_code, delta FROM points_ledger"
    )
    per_lesson = Counter(
        e["related_entity"] for e in entries if e["reason_code"] == "lesson_completed"
    )
    per_key = Counter(e["idempotency_key"] for e in entries)
    for op in award_ops:
        if op.kind == "lesson_award":
            entries_of_key = per_lesson[op.body["related_entity_id"]]
        else:
            entries_of_key = per_key[f"api:{op.key}"]
        inv.equal(entries_of_key, 1, f"points entries of {op.kind} {op.key}")

    conversion_ops = _of(ops, "conversion")
    redemptions = {
        r["idempotency_key"]: r for r in await pool.fetch("SELECT * FROM points_redemptions")
    }
    inv.equal(len(redemptions), len(conversion_ops), "redemptions, one per key")
    credit_keys = Counter(
        r["idempotency_key"]
        for r in await pool.fetch(
            "SELECT idempotency_key FROM ledger_transfers WHERE code = 'points_credit'"
        )
    )
    landed = {
        r["redemption_id"]
        for r in await pool.fetch(
            "SELECT redemption_id FROM points_wallet_credits WHERE landed_at IS NOT NULL"
        )
    }
    debits = Counter(e["related_entity"] for e in entries if e["reason_code"] == "redemption")
    for op in conversion_ops:
        row = redemptions.get(op.key)
        inv.expect(row is not None and str(row["id"]) == op.first["id"], f"redemption {op.key}")
        redemption = op.first["id"]
        inv.equal(debits[redemption], 1, f"points debits of redemption {redemption}")
        inv.equal(
            credit_keys[f"points-credit:redemption:{redemption}"],
            1,
            f"wallet credits of redemption {redemption}",
        )
        inv.expect(uuid.UUID(redemption) in landed, f"redemption {redemption} credit landed")

    order_ops = _of(ops, "paper_order")
    orders = {
        r["client_order_id"]: r
        for r in await pool.fetch("SELECT * FROM paper_orders WHERE client_order_id IS NOT NULL")
    }
    inv.equal(len(orders), len(order_ops), "paper orders, one per client order id")
    fills: dict[uuid.UUID, list[Decimal]] = defaultdict(list)
    for fill in await pool.fetch("SELECT order_id, qty FROM paper_fills"):
        fills[fill["order_id"]].append(fill["qty"])
    for op in order_ops:
        row = orders.get(op.key)
        if row is None:
            inv.expect(False, f"order {op.key} missing")
            continue
        inv.equal(str(row["id"]), op.first["order"]["id"], f"order {op.key}")
        inv.equal((row["status"], row["filled_qty"]), ("filled", row["qty"]), f"order {op.key}")
        inv.equal(fills[row["id"]], [row["qty"]], f"fills of order {op.key}")
    positions = await pool.fetch(
        """SELECT p.portfolio_id, p.qty, coalesce(sum(CASE f.side WHEN 'buy' THEN f.qty
                  ELSE -f.qty END), 0) AS filled
           FROM paper_positions p LEFT JOIN paper_fills f
             ON f.portfolio_id = p.portfolio_id AND f.symbol = p.symbol
           GROUP BY p.portfolio_id, p.symbol, p.qty"""
    )
    for position in positions:
        inv.equal(position["qty"], position["filled"], f"position of {position['portfolio_id']}")


async def undelivered(pool: asyncpg.Pool, *, published_only: bool = False) -> int:
    """(event, consumer) pairs of the outbox whose consumer has not committed (of events
    handed to the queue only, with `published_only`)."""
    events = await pool.fetch(
        "SELECT id, topic FROM outbox WHERE published_at IS NOT NULL OR NOT $1", published_only
    )
    done = {
        (r["consumer"], r["event_id"]) for r in await pool.fetch("SELECT * FROM processed_events")
    }
    return sum(
        (consumer.name, event["id"]) not in done
        for event in events
        for consumer in consumers_for(event["topic"])
    )


async def check_events(
    inv: Invariants, pool: asyncpg.Pool, redis: Redis, prefix: str, ops: list[Op]
) -> int:
    """Every event complete, each consumer's effect there once; → deliveries checked."""
    events = await pool.fetch("SELECT id, topic, payload, created_at, completed_at FROM outbox")
    inv.equal(sum(e["completed_at"] is None for e in events), 0, "incomplete outbox events")
    inv.equal(await undelivered(pool), 0, "(event, consumer) pairs not committed")
    by_topic: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        by_topic[event["topic"]].append(event["payload"])

    completed = await pool.fetch(
        "SELECT id, user_id FROM wallet_deposits WHERE status = 'completed'"
    )
    announced = [p["deposit_id"] for p in by_topic["deposit.completed"]]
    inv.equal(sorted(announced), sorted(str(r["id"]) for r in completed), "deposit.completed")
    first = Counter(p["user_id"] for p in by_topic["deposit.completed"] if p["first_deposit"])
    depositors = {str(r["user_id"]) for r in completed}
    inv.equal(dict(first), dict.fromkeys(depositors, 1), "one first deposit per depositor")
    pending = Counter(
        str(r["user_id"])
        for r in await pool.fetch(
            "SELECT user_id FROM points_pending WHERE reason_code = 'first_deposit'"
        )
    )
    inv.equal(dict(pending), dict.fromkeys(depositors, 1), "first-deposit points, once each")
    paid = await pool.fetch("SELECT id FROM payouts WHERE status = 'completed'")
    inv.equal(
        sorted(p["payout_id"] for p in by_topic["payout.completed"]),
        sorted(str(r["id"]) for r in paid),
        "payout.completed",
    )
    inv.equal(
        sorted(p["charge_id"] for p in by_topic["payment.captured"]),
        sorted(op.first["id"] for op in _of(ops, "course_purchase", "session_purchase")),
        "payment.captured",
    )

    # Points: balances are their ledgers' sums; each award counted once on the boards.
    inv.equal(
        await pool.fetchval(
            """SELECT count(*) FROM points_balances b
               WHERE balance <> (SELECT coalesce(sum(delta), 0) FROM points_ledger l
                                 WHERE l.user_id = b.user_id)"""
        ),
        0,
        "points balances that differ from their ledger",
    )
    awarded = by_topic["points.awarded"]
    inv.equal(len({p["entry_id"] for p in awarded}), len(awarded), "points.awarded per entry")
    boards: dict[str, Counter[str]] = defaultdict(Counter)
    for p in awarded:
        if p["delta"] > 0:
            at_text = p.get("context", {}).get("awarded_at")
            at = datetime.fromisoformat(at_text) if at_text else None
            assert at is not None, p  # awards say when they were made
            for period_key in leaderboard_periods(at).values():
                boards[period_key][p["user_id"]] += p["delta"]
    for period_key, scores in boards.items():
        raw: Any = await redis.zrange(f"{prefix}:points:lb:{period_key}", 0, -1, withscores=True)
        board = {bytes(member).decode(): int(score) for member, score in raw}
        inv.equal(board, dict(scores), f"leaderboard {period_key}")
    lessons = len(_of(ops, "lesson_award"))
    mails = await pool.fetch(
        "SELECT sent_at FROM outbound_messages WHERE template = 'points.lesson_completed'"
    )
    inv.equal(len(mails), lessons, "lesson e-mails, one per lesson award")
    inv.equal(sum(m["sent_at"] is None for m in mails), 0, "lesson e-mails not sent")
    return sum(len(consumers_for(e["topic"])) for e in events)

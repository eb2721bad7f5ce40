"""Positions and cash following fills, in each portfolio's currency: what a tick of the
paper loop writes for its fills, and what a fill coming back from a member's broker
writes for a routed order. A price is in the portfolio's currency (paper trading
converts nothing)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from dracarys.db import Connection
from dracarys.money import to_minor
from dracarys.trading.models import Fill
from dracarys.trading.paper_loop import store as loop_store


async def apply_fills(
    conn: Connection,
    fills: list[Fill],
    currencies: dict[uuid.UUID, str],
    now: datetime,
) -> None:
    """Move the filled portfolios' positions (average price, realised P&L) and cash by
    `fills`, locking the positions in a fixed order."""
    if not fills:
        return
    keys = sorted({(f.portfolio_id, f.symbol) for f in fills})
    held = await loop_store.lock_positions(conn, keys)
    state: dict[tuple[uuid.UUID, str], list[float | int]] = {}
    for key in keys:
        stored = held.get(key)
        state[key] = (
            [stored.qty, stored.avg_price, stored.realized_pnl_minor]
            if stored is not None
            else [0.0, 0.0, 0]
        )
    cash: dict[uuid.UUID, int] = defaultdict(int)
    for f in fills:
        q = f.qty if f.side == "buy" else -f.qty
        currency = currencies[f.portfolio_id]
        position = state[(f.portfolio_id, f.symbol)]
        held_qty, avg, realized = float(position[0]), float(position[1]), int(position[2])
        if held_qty == 0 or (held_qty > 0) == (q > 0):
            total = held_qty + q
            avg = (abs(held_qty) * avg + abs(q) * f.price) / abs(total)
            held_qty = total
        else:
            closing = min(abs(q), abs(held_qty))
            realized += to_minor(closing * (f.price - avg) * (1 if held_qty > 0 else -1), currency)
            total = held_qty + q
            if abs(total) < 1e-9:
                total, avg = 0.0, 0.0
            elif (total > 0) != (held_qty > 0):
                avg = f.price
            held_qty = total
        state[(f.portfolio_id, f.symbol)] = [held_qty, avg, realized]
        cash[f.portfolio_id] -= to_minor(q * f.price, currency)
    await loop_store.save_positions(
        conn, [(k[0], k[1], v[0], v[1], v[2], now) for k, v in state.items()]
    )
    await loop_store.add_cash(conn, dict(cash))

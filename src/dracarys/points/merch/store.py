"""SQL of merch: the catalogue and the orders."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record_or_none, records
from dracarys.points.merch.models import (
    MerchItem,
    MerchItemInput,
    MerchOrderRecord,
    OrderStatus,
)

_ITEM_COLUMNS = "code, name, description, points, stock, active"
_ORDER_COLUMNS = """o.redemption_id, o.user_id, o.item_code, i.name AS item_name, o.points,
                    o.status, o.tracking, o.created_at, o.updated_at"""


async def items(conn: Connection, *, active_only: bool) -> list[MerchItem]:
    rows = await conn.fetch(
        f"""SELECT {_ITEM_COLUMNS} FROM points_merch_items
            WHERE active OR NOT $1 ORDER BY points, name""",
        active_only,
    )
    return records(MerchItem, rows)


async def upsert_item(
    conn: Connection, code: str, item: MerchItemInput, now: datetime
) -> MerchItem:
    row = await conn.fetchrow(
        f"""INSERT INTO points_merch_items
                (code, name, description, points, stock, active, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (code) DO UPDATE SET name = $2, description = $3, points = $4,
                stock = $5, active = $6, updated_at = $7
            RETURNING {_ITEM_COLUMNS}""",
        code,
        item.name,
        item.description,
        item.points,
        item.stock,
        item.active,
        now,
    )
    found = record_or_none(MerchItem, row)
    assert found is not None
    return found


async def insert_missing_items(
    conn: Connection, items: dict[str, MerchItemInput], now: datetime
) -> None:
    await conn.executemany(
        """INSERT INTO points_merch_items
               (code, name, description, points, stock, active, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (code) DO NOTHING""",
        [
            (code, i.name, i.description, i.points, i.stock, i.active, now)
            for code, i in items.items()
        ],
    )


async def take_one(conn: Connection, code: str) -> MerchItem | None:
    """The active item, one taken from its stock when stock is counted; None when there
    is no such active item or none is left."""
    row = await conn.fetchrow(
        f"""UPDATE points_merch_items SET stock = stock - 1
            WHERE code = $1 AND active AND (stock IS NULL OR stock > 0)
            RETURNING {_ITEM_COLUMNS}""",
        code,
    )
    return record_or_none(MerchItem, row)


async def item(conn: Connection, code: str) -> MerchItem | None:
    row = await conn.fetchrow(
        f"SELECT {_ITEM_COLUMNS} FROM points_merch_items WHERE code = $1", code
    )
    return record_or_none(MerchItem, row)


async def put_back_one(conn: Connection, code: str) -> None:
    await conn.execute(
        "UPDATE points_merch_items SET stock = stock + 1 WHERE code = $1 AND stock IS NOT NULL",
        code,
    )


async def insert_order(
    conn: Connection,
    *,
    redemption_id: uuid.UUID,
    user_id: uuid.UUID,
    item_code: str,
    points: int,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO points_merch_orders
               (redemption_id, user_id, item_code, points, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $5)""",
        redemption_id,
        user_id,
        item_code,
        points,
        now,
    )


async def orders(
    conn: Connection,
    *,
    user_id: uuid.UUID | None,
    statuses: list[OrderStatus] | None,
    limit: int,
) -> list[MerchOrderRecord]:
    rows = await conn.fetch(
        f"""SELECT {_ORDER_COLUMNS}
            FROM points_merch_orders o JOIN points_merch_items i ON i.code = o.item_code
            WHERE ($1::uuid IS NULL OR o.user_id = $1)
              AND ($2::text[] IS NULL OR o.status = ANY($2::text[]))
            ORDER BY o.created_at DESC LIMIT $3""",
        user_id,
        None if statuses is None else [s.value for s in statuses],
        limit,
    )
    return records(MerchOrderRecord, rows)


async def order_for_update(conn: Connection, redemption_id: uuid.UUID) -> MerchOrderRecord | None:
    row = await conn.fetchrow(
        f"""SELECT {_ORDER_COLUMNS}
            FROM points_merch_orders o JOIN points_merch_items i ON i.code = o.item_code
            WHERE o.redemption_id = $1 FOR UPDATE OF o""",
        redemption_id,
    )
    return record_or_none(MerchOrderRecord, row)


async def set_status(
    conn: Connection,
    redemption_id: uuid.UUID,
    status: OrderStatus,
    tracking: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        """UPDATE points_merch_orders
           SET status = $2, tracking = coalesce($3, tracking), updated_at = $4
           WHERE redemption_id = $1""",
        redemption_id,
        status.value,
        tracking,
        now,
    )

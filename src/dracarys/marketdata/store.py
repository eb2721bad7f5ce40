"""Market data's SQL: datasets, as structs."""

from __future__ import annotations

import uuid

from dracarys.db import Connection, record_or_none, records
from dracarys.marketdata.models import StoredDataset


async def insert_dataset(conn: Connection, dataset: StoredDataset) -> None:
    await conn.execute(
        """INSERT INTO market_datasets (id, owner_id, name, symbol, timeframe, visibility,
               source_format, bar_count, first_bar_at, last_bar_at, size_bytes, path,
               created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
        dataset.id,
        dataset.owner_id,
        dataset.name,
        dataset.symbol,
        dataset.timeframe,
        dataset.visibility,
        dataset.source_format,
        dataset.bar_count,
        dataset.first_bar_at,
        dataset.last_bar_at,
        dataset.size_bytes,
        dataset.path,
        dataset.created_at,
    )


async def visible_dataset(
    conn: Connection, dataset_id: uuid.UUID, user_id: uuid.UUID
) -> StoredDataset | None:
    """The dataset if `user_id` owns it or it is shared."""
    row = await conn.fetchrow(
        """SELECT * FROM market_datasets
           WHERE id = $1 AND (owner_id = $2 OR visibility = 'shared')""",
        dataset_id,
        user_id,
    )
    return record_or_none(StoredDataset, row)


async def visible_datasets(
    conn: Connection, user_id: uuid.UUID, symbol: str | None, limit: int
) -> list[StoredDataset]:
    rows = await conn.fetch(
        """SELECT * FROM market_datasets
           WHERE (owner_id = $1 OR visibility = 'shared')
             AND ($2::text IS NULL OR symbol = $2)
           ORDER BY created_at DESC, id LIMIT $3""",
        user_id,
        symbol,
        limit,
    )
    return records(StoredDataset, rows)


async def dataset_path(conn: Connection, dataset_id: uuid.UUID) -> str | None:
    value: str | None = await conn.fetchval(
        "SELECT path FROM market_datasets WHERE id = $1", dataset_id
    )
    return value

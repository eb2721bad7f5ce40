"""A dataset as the API shows it, and the choices an upload makes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from dracarys.wire import Schema

Timeframe = Literal["1m", "5m", "15m", "30m", "1h", "4h", "1d"]
TIMEFRAME_SECONDS: dict[str, int] = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "4h": 14_400,
    "1d": 86_400,
}
Visibility = Literal["private", "shared"]
SourceFormat = Literal["csv", "parquet"]


class Dataset(Schema):
    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    symbol: str
    timeframe: Timeframe
    visibility: Visibility
    source_format: SourceFormat
    bar_count: int
    first_bar_at: datetime
    last_bar_at: datetime
    size_bytes: int  # of the stored Parquet file
    created_at: datetime


class StoredDataset(Dataset):
    """With where its Parquet file lies, relative to the data dir (never sent out)."""

    path: str

"""A withdrawal hold as stored."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.wire import Schema


class WithdrawalHold(Schema):
    id: uuid.UUID
    user_id: uuid.UUID
    reason: str
    reference: str
    placed_at: datetime
    released_at: datetime | None

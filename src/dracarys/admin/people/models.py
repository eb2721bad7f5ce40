"""What the people area of the staff console answers: members found by a search, and
mentors waiting to be vetted."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from dracarys.wire import Schema

MatchedBy = Literal["id", "email", "handle"]


class MemberFound(Schema):
    id: uuid.UUID
    name: str
    role: str
    status: str
    kyc_level: int
    created_at: datetime
    # What of the query found them: the full id, the full e-mail address or the start of
    # their community @handle (then given in `handle`).
    matched_by: MatchedBy
    handle: str | None = None


class MentorToVet(Schema):
    id: uuid.UUID
    name: str
    status: str
    verified: bool
    on_probation: bool
    specialties: list[str]
    total_sessions: int
    created_at: datetime

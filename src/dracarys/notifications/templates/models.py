"""Template versions as stored, and the admin API's bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from dracarys.errors import FieldError
from dracarys.wire import Input, Schema


class TemplateVersion(msgspec.Struct, frozen=True, kw_only=True):
    """One saved version; `follows_code` means the code's text (version 0) is used."""

    kind: str
    channel: str
    language: str
    version: int
    subject: str | None
    body: str | None
    follows_code: bool
    reverted_from: int | None
    author_id: uuid.UUID
    created_at: datetime


class TemplateInput(Input):
    body: Annotated[str, msgspec.Meta(max_length=5000)]
    # The in-app title or e-mail subject; none for an SMS.
    subject: Annotated[str, msgspec.Meta(max_length=300)] | None = None


class RevertInput(Input):
    # 0 goes back to the text in the code.
    version: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]


class TemplateSummary(Schema):
    kind: str
    channel: str
    language: str
    # 0: the code's text.
    version: int
    subject: str | None
    body: str


class VersionView(Schema):
    version: int
    subject: str | None
    body: str
    follows_code: bool
    reverted_from: int | None
    author: str
    created_at: datetime | None
    active: bool


class TemplateDetail(Schema):
    kind: str
    channel: str
    language: str
    version: int
    subject: str | None
    body: str
    variables: list[str]
    required: list[str]
    sample: dict[str, str]
    # Newest first, ending with version 0 (the code's text).
    versions: list[VersionView]


class Preview(Schema):
    """A text filled with the kind's sample values; `problems` say what saving it would
    refuse (the preview still shows what it can)."""

    subject: str | None
    body: str
    problems: list[FieldError]

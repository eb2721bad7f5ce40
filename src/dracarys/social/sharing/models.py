"""Shares as stored, their visits, the card each shows, and the API's bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from dracarys.wire import Input, Schema


class ShareKind(StrEnum):
    """What a share is of; `subject_id` names the one thing of that kind."""

    SIGNAL = "signal"  # a signal id, once its book closed it
    CERTIFICATE = "certificate"  # a certificate's public (signed) id, held by the sharer
    BADGE = "badge"  # a badge code the sharer earned
    TRACK_RECORD = "track_record"  # a mentor's user id


class Channel(StrEnum):
    """Where the share goes (`utm_source`); `copy` is a link the member pastes anywhere."""

    X = "x"
    FACEBOOK = "facebook"
    LINKEDIN = "linkedin"
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"
    COPY = "copy"


class Card(msgspec.Struct, frozen=True, kw_only=True):
    """What a share's image and its Open Graph tags say: a title, the one figure that
    matters (e.g. `+2.1R`, `62% wins`) with its caption, and a line under them."""

    kind: ShareKind
    title: str
    figure: str
    figure_caption: str
    subtitle: str


class Subject(msgspec.Struct, frozen=True, kw_only=True):
    """A thing the caller may share: its card and where the link sends people."""

    card: Card
    description: str
    target_path: str


class Share(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    token: str
    user_id: uuid.UUID
    kind: ShareKind
    subject_id: str
    channel: Channel
    title: str
    description: str
    target_path: str
    card_hash: str
    sharer_network_hash: bytes | None
    created_at: datetime
    signed_in_visitors: int
    qualifying_visitors: int
    anonymous_visitors: int
    qualified_at: datetime | None


class Visit(msgspec.Struct, frozen=True, kw_only=True):
    """One visit as the share link reports it: who (a signed-in user, or None) from which
    address."""

    user_id: uuid.UUID | None
    source_ip: str | None


# ---- API ------------------------------------------------------------------------------

SubjectId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class ShareInput(Input):
    kind: ShareKind
    subject_id: SubjectId
    channel: Channel


class ShareView(Schema, kw_only=True):
    """One of the caller's shares: its link, where to post it (`post_url`, none for
    `copy`), who followed it and whether it qualified for points."""

    id: uuid.UUID
    kind: ShareKind
    subject_id: str
    channel: Channel
    title: str
    link: str
    post_url: str | None
    image_url: str
    created_at: datetime
    signed_in_visitors: int
    qualifying_visitors: int
    anonymous_visitors: int
    visitors_needed: int
    # Enough qualifying visitors came: social.post_shared went out and points awards the
    # share under its own daily limits (the points history shows the award).
    qualified: bool
    qualified_at: datetime | None


class VisitResult(Schema, kw_only=True):
    """Where the visitor goes next (the shared thing, with UTM parameters) and whether
    this visit counted towards the share earning."""

    target_url: str
    counted: bool


class SharePage(msgspec.Struct, frozen=True, kw_only=True):
    """What the share link's page needs: its Open Graph tags and where it sends people."""

    token: str
    title: str
    description: str
    link: str
    image_url: str
    target_url: str

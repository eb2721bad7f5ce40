"""Pictures in posts: the stored picture and what an upload answers."""

from __future__ import annotations

import uuid

import msgspec

from dracarys.community.rendering import IMAGE_PATH
from dracarys.wire import Schema

__all__ = ["IMAGE_MAX_BYTES", "IMAGE_PATH", "IMAGE_TYPES", "Image", "ImageView"]

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
IMAGE_MAX_BYTES = 2_000_000


class Image(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    content_type: str
    content: bytes


class ImageView(Schema):
    id: uuid.UUID
    url: str
    # What to paste into a post to show it.
    markdown: str

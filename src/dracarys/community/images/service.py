"""Picture rules: only members whose trust level allows images upload one; the bytes say
what it is (PNG, JPEG, GIF or WebP, never what the name or the declared type claims), and
it is at most `IMAGE_MAX_BYTES`."""

from __future__ import annotations

import uuid

from dracarys.community.images import store
from dracarys.community.images.models import (
    IMAGE_MAX_BYTES,
    IMAGE_PATH,
    IMAGE_TYPES,
    Image,
    ImageView,
)
from dracarys.community.members import service as members
from dracarys.community.members.models import TRUST_RULES
from dracarys.db import transaction
from dracarys.errors import InvalidInput, NotFound
from dracarys.files import sniff_file_type
from dracarys.identity import CurrentUser
from dracarys.platform import Platform


async def upload(platform: Platform, user: CurrentUser, content: bytes) -> ImageView:
    if not content:
        raise InvalidInput("This file is empty. Choose a picture.", field="file")
    if len(content) > IMAGE_MAX_BYTES:
        raise InvalidInput(
            f"This picture is {len(content) / 1_000_000:.1f} MB, more than the "
            f"{IMAGE_MAX_BYTES / 1_000_000:.0f} MB limit. Choose a smaller one.",
            field="file",
        )
    sniffed = sniff_file_type(content)
    if sniffed is None or sniffed.content_type not in IMAGE_TYPES:
        raise InvalidInput(
            "This file is not a PNG, JPEG, GIF or WebP picture (we read the file itself, "
            "not its name). Choose one of those.",
            field="file",
        )
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        author = await members.ensure_profile(conn, user.id, now)
        if not TRUST_RULES[author.trust_level].images:
            raise InvalidInput("Pictures in posts open up at the member trust level.", field="file")
        image_id = await store.insert_image(conn, user.id, sniffed.content_type, content, now)
    url = f"{IMAGE_PATH}{image_id}"
    return ImageView(id=image_id, url=url, markdown=f"![picture]({url})")


async def image(platform: Platform, image_id: uuid.UUID) -> Image:
    async with platform.pool.acquire() as conn:
        found = await store.image(conn, image_id)
    if found is None:
        raise NotFound("There is no such picture.", field="image_id")
    return found

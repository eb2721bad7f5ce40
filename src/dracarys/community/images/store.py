"""SQL of pictures in posts."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.community.images.models import Image
from dracarys.db import Connection, record_or_none


async def insert_image(
    conn: Connection, uploader_id: uuid.UUID, content_type: str, content: bytes, now: datetime
) -> uuid.UUID:
    image_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO community_images (id, uploader_id, content_type, size_bytes, content, "
        "created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        image_id,
        uploader_id,
        content_type,
        len(content),
        content,
        now,
    )
    return image_id


async def image(conn: Connection, image_id: uuid.UUID) -> Image | None:
    row = await conn.fetchrow(
        "SELECT id, content_type, content FROM community_images WHERE id = $1", image_id
    )
    return record_or_none(Image, row)

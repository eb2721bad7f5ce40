"""Messages at rest (blueprint §9): the recipient and the rendered content (subject and
bodies, which carry names, codes and links) are AES-256-GCM ciphertexts bound to the
message id and field, under the outgoing-message key; they are opened only to deliver
a message or for messaging's readers. `seal_plain_messages` seals what older versions
stored in plain."""

from __future__ import annotations

import uuid

import msgspec

from dracarys.crypto import FieldCipher, outbound_message_cipher
from dracarys.db import Connection, session_lock
from dracarys.messaging import store
from dracarys.messaging.models import MessageContent, MessageRecord, OutboundMessage
from dracarys.settings import Settings

# Associated-data labels: a sealed recipient opens only as the recipient of its message.
RECIPIENT = b"recipient"
CONTENT = b"content"

SEAL_BATCH = 500


def seal_recipient(cipher: FieldCipher, message_id: uuid.UUID, recipient: str) -> bytes:
    return cipher.seal(message_id, RECIPIENT, recipient)


def seal_content(cipher: FieldCipher, message_id: uuid.UUID, content: MessageContent) -> bytes:
    return cipher.seal_bytes(message_id, CONTENT, msgspec.json.encode(content))


def open_message(cipher: FieldCipher, message: MessageRecord) -> OutboundMessage:
    sealed_content = message.content_sealed
    content = (
        None
        if sealed_content is None
        else msgspec.json.decode(
            cipher.open_bytes(message.id, CONTENT, sealed_content), type=MessageContent
        )
    )
    return OutboundMessage(
        id=message.id,
        channel=message.channel,
        user_id=message.user_id,
        recipient=cipher.open(message.id, RECIPIENT, message.recipient_sealed),
        template=message.template,
        content=content,
        created_at=message.created_at,
        sent_at=message.sent_at,
        provider_id=message.provider_id,
        requeue_count=message.requeue_count,
    )


async def seal_plain_messages(
    conn: Connection, settings: Settings, *, batch_size: int = SEAL_BATCH
) -> int:
    """Seal and clear every plain recipient and content left by versions before
    migration 0802, a batch per transaction (the content of a message already sent is
    dropped, as it is on sending now), then have PostgreSQL validate that none is left.
    Running it again, or twice at once, seals nothing twice."""
    cipher = outbound_message_cipher(settings)
    sealed = 0
    # One sealer at a time, so the validation never meets a batch yet to commit.
    async with session_lock(conn, store.SEALING_LOCK_KEY):
        while batch := await _seal_message_batch(conn, cipher, batch_size):
            sealed += batch
        await store.validate_sealed_constraint(conn)
    return sealed


async def _seal_message_batch(conn: Connection, cipher: FieldCipher, limit: int) -> int:
    async with conn.transaction():
        rows = await store.plain_messages(conn, limit)
        await store.store_sealed_messages(
            conn,
            [
                (
                    row.id,
                    seal_recipient(cipher, row.id, row.plain_recipient or ""),
                    None
                    if row.sent_at is not None
                    else seal_content(
                        cipher,
                        row.id,
                        MessageContent(
                            subject=row.plain_subject or "",
                            text=row.plain_body_text or "",
                            html=row.plain_body_html,
                        ),
                    ),
                )
                for row in rows
            ],
        )
    return len(rows)

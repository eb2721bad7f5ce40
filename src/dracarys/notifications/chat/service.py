"""Chat between a mentor and a mentee.

Who may talk: a pair a booking (mentorship), a paid signal feed (trading) or a cohort
(curriculum) links opens a conversation at once; anyone else writes a first-message
request to a mentor, who accepts (the conversation opens) or declines (no more messages).
Either side may block: while blocked nobody sends, and the blocker may unblock.

Sending: a message is numbered by its conversation's counter in the sending transaction
(the conversation's row is locked), stored with the sender's idempotency key (a retried
send returns the first message, never a second), and published on
`chat:{conversation_id}` after commit. That publish is the fast path only: the
`chat.message_sent` event written with the message is published again by the
`notifications.chat_live` consumer (`publish_sent_messages`), so a frame the API lost (it
died after its commit, or its Redis did not answer) still goes out, and a failed fast
publish never fails a send that is stored. Clients keep messages by `seq`, so the second
copy shows nothing twice; a client that missed frames (a dropped connection) reads
`messages?after_seq=` from the REST API: the database is the record, the stream only
makes it live. Typing is published only (never stored); read positions are stored and
published."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import msgspec
import structlog

from dracarys.curriculum import cohort_pairs, lesson_link
from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound
from dracarys.files import sniff_file_type
from dracarys.idempotency import request_hash
from dracarys.identity import CurrentUser, Role, account_of, display_names, record_audit
from dracarys.mentorship import booking_pairs
from dracarys.notifications.chat import store
from dracarys.notifications.chat.events import ChatMessageSent, MentorResponded
from dracarys.notifications.chat.models import (
    AttachmentFile,
    AttachmentView,
    ChatMessageFrame,
    ChatReadFrame,
    ChatStateFrame,
    ChatTypingFrame,
    Contact,
    Conversation,
    ConversationView,
    Kind,
    LessonLinkView,
    MessageRow,
    MessagesPage,
    MessageView,
    OpenedBy,
    ReportInput,
    ReportRow,
    ReportStatus,
    ReportView,
    ResolveInput,
    SearchHit,
    SendInput,
    StartInput,
    Status,
)
from dracarys.notifications.inbox import store as inbox_store
from dracarys.outbox import Event, emit_event
from dracarys.platform import Platform
from dracarys.ratelimit import Limit, reserve
from dracarys.trading import paid_feed_pairs
from streams import channels

ATTACHMENT_TYPES = frozenset(
    {"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"}
)
TYPING_SHOWN_S = 6
MAX_PAGE = 200

Pair = tuple[uuid.UUID, uuid.UUID]  # (mentor, mentee)

log = structlog.get_logger("dracarys.notifications.chat")
# The inbox notices a conversation's messages make (`consumers._chat_message`).
CHAT_NOTICE_KINDS = ("chat_message", "chat_request")


# ---- who may talk ------------------------------------------------------------------------


async def linked_pairs(conn: Connection, user_id: uuid.UUID) -> dict[Pair, OpenedBy]:
    """Every (mentor, mentee) pair `user_id` is in that a booking, a paid feed or a
    cohort links, with the first link found in that order."""
    linked: dict[Pair, OpenedBy] = {}
    for pairs, why in (
        (await booking_pairs(conn, user_id), OpenedBy.BOOKING),
        (await paid_feed_pairs(conn, user_id), OpenedBy.SIGNAL_FEED),
        (await cohort_pairs(conn, user_id), OpenedBy.COHORT),
    ):
        for pair in pairs:
            if pair[0] != pair[1]:
                linked.setdefault(pair, why)
    return linked


async def conversation_members(
    conn: Connection, user_ids: Sequence[uuid.UUID], conversation_id: uuid.UUID
) -> set[uuid.UUID]:
    """The `chat:` channel policy's check: those of `user_ids` in the conversation."""
    return await store.member_conversations(conn, list(user_ids), conversation_id)


def _why_not(conv: Conversation, user_id: uuid.UUID) -> str:
    """Why `user_id` may not send in the conversation now ("" when they may)."""
    if conv.blocked_by == user_id:
        return "You blocked this conversation. Unblock it to send messages."
    if conv.blocked_by is not None:
        return "You can't send messages in this conversation."
    if conv.status is Status.DECLINED:
        return "The mentor declined this conversation."
    if conv.status is Status.REQUESTED:
        if user_id == conv.mentor_id:
            return "Accept the request to reply."
        return "Your request is waiting for the mentor to accept it."
    return ""


async def _member(
    conn: Connection, conversation_id: uuid.UUID, user: CurrentUser, *, lock: bool = False
) -> Conversation:
    conv = await store.conversation(conn, conversation_id, lock=lock)
    if conv is None or not conv.has_member(user.id):
        raise NotFound("no such conversation", field="conversation_id")
    return conv


# ---- views -------------------------------------------------------------------------------


def message_view(row: MessageRow) -> MessageView:
    removed = row.removed_at is not None
    attachment = None
    if row.attachment_id is not None and not removed:
        attachment = AttachmentView(
            id=row.attachment_id,
            file_name=row.attachment_name or "attachment",
            content_type=row.attachment_type or "application/octet-stream",
            size_bytes=row.attachment_bytes or 0,
            url=f"/api/v1/chat/attachments/{row.attachment_id}",
        )
    lesson = None
    if row.lesson_id is not None and not removed:
        lesson = _lesson_view(row)
    return MessageView(
        id=row.id,
        conversation_id=row.conversation_id,
        seq=row.seq,
        sender_id=row.sender_id,
        kind=row.kind,
        body="" if removed else row.body,
        attachment=attachment,
        lesson=lesson,
        removed=removed,
        created_at=row.created_at,
    )


def _lesson_view(row: MessageRow) -> LessonLinkView:
    assert row.lesson_id is not None
    return LessonLinkView(
        lesson_id=row.lesson_id,
        title=row.lesson_title or "Lesson",
        url=f"/lessons/{row.lesson_id}",
    )


async def _views(
    conn: Connection, platform: Platform, user_id: uuid.UUID, convs: list[Conversation]
) -> list[ConversationView]:
    ids = [c.id for c in convs]
    names = await display_names(conn, platform.settings, {c.other(user_id) for c in convs})
    last = await store.last_messages(conn, ids)
    pinned: dict[uuid.UUID, list[LessonLinkView]] = {}
    for row in await store.lesson_messages(conn, ids):
        pinned.setdefault(row.conversation_id, []).append(_lesson_view(row))
    views = []
    for c in convs:
        other = c.other(user_id)
        mine = c.read_seq_of(user_id)
        why = _why_not(c, user_id)
        last_row = last.get(c.id)
        views.append(
            ConversationView(
                id=c.id,
                status=c.status,
                opened_by=c.opened_by,
                my_role="mentor" if user_id == c.mentor_id else "mentee",
                other_id=other,
                other_name=names.get(other, "Member"),
                last_seq=c.last_seq,
                my_read_seq=mine,
                other_read_seq=c.read_seq_of(other),
                unread=max(0, c.last_seq - mine),
                blocked_by_me=c.blocked_by == user_id,
                blocked_by_other=c.blocked_by is not None and c.blocked_by != user_id,
                can_send=not why,
                why_not=why,
                last_message=message_view(last_row) if last_row else None,
                pinned_lessons=pinned.get(c.id, []),
                last_message_at=c.last_message_at,
            )
        )
    return views


async def conversations(platform: Platform, user: CurrentUser) -> list[ConversationView]:
    async with platform.pool.acquire() as conn:
        return await _views(conn, platform, user.id, await store.conversations_of(conn, user.id))


async def conversation(
    platform: Platform, user: CurrentUser, conversation_id: uuid.UUID
) -> ConversationView:
    async with platform.pool.acquire() as conn:
        conv = await _member(conn, conversation_id, user)
        return (await _views(conn, platform, user.id, [conv]))[0]


async def contacts(platform: Platform, user: CurrentUser) -> list[Contact]:
    """The people a booking, a paid feed or a cohort links to the caller: they can be
    messaged at once (anyone else gets a first-message request)."""
    async with platform.pool.acquire() as conn:
        linked = await linked_pairs(conn, user.id)
        others = {
            (m if e == user.id else e): (pair, why)
            for pair, why in linked.items()
            for m, e in [pair]
        }
        names = await display_names(conn, platform.settings, set(others))
        existing = {c.other(user.id): c.id for c in await store.conversations_of(conn, user.id)}
    return sorted(
        (
            Contact(
                user_id=other,
                name=names.get(other, "Member"),
                their_role="mentor" if pair[0] == other else "mentee",
                linked_by=why,
                conversation_id=existing.get(other),
            )
            for other, (pair, why) in others.items()
        ),
        key=lambda c: c.name.lower(),
    )


async def messages(
    platform: Platform,
    user: CurrentUser,
    conversation_id: uuid.UUID,
    *,
    after_seq: int | None,
    before_seq: int | None,
    limit: int,
) -> MessagesPage:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if after_seq is not None and after_seq < 0:
        raise InvalidInput("after_seq must be 0 or more", field="after_seq")
    async with platform.pool.acquire() as conn:
        conv = await _member(conn, conversation_id, user)
        rows = await store.messages(
            conn, conversation_id, after_seq=after_seq, before_seq=before_seq, limit=limit
        )
    return MessagesPage(
        conversation_id=conv.id, last_seq=conv.last_seq, messages=[message_view(r) for r in rows]
    )


# ---- sending -----------------------------------------------------------------------------


async def _send_limit(platform: Platform, user_id: uuid.UUID) -> None:
    limit = Limit(f"chat:send:{user_id}", platform.settings.chat_messages_per_minute, 60)
    await reserve(platform.counters, [limit], "you are sending messages too fast")


async def _append(
    conn: Connection,
    platform: Platform,
    conv: Conversation,
    sender: uuid.UUID,
    *,
    kind: Kind,
    body: str,
    key: str,
    digest: str,
    attachment: tuple[str, str, bytes] | None = None,
    lesson: tuple[uuid.UUID, str] | None = None,
) -> MessageRow:
    """Store one message under the locked conversation, or return the one this key sent."""
    existing = await store.message_by_key(conn, conv.id, sender, key)
    if existing is not None:
        if existing.request_hash != digest:
            raise InvalidInput(
                "this idempotency key already sent a different message; use a new key",
                field="idempotency_key",
            )
        return existing
    why = _why_not(conv, sender)
    # The mentee's first message is the request itself.
    first_request = (
        conv.status is Status.REQUESTED and conv.last_seq == 0 and sender == conv.mentee_id
    )
    if why and not first_request:
        raise Forbidden(why, field="conversation_id")
    now = platform.clock.now()
    if sender == conv.mentor_id:
        await _timed_answer(conn, conv, now)
    attachment_id = None
    if attachment is not None:
        content_type, file_name, content = attachment
        attachment_id = await store.insert_attachment(
            conn,
            conversation_id=conv.id,
            uploader_id=sender,
            content_type=content_type,
            file_name=file_name,
            content=content,
            now=now,
        )
    seq = await store.next_seq(conn, conv.id, now)
    row = await store.insert_message(
        conn,
        conversation_id=conv.id,
        seq=seq,
        sender_id=sender,
        kind=kind.value,
        body=body,
        attachment_id=attachment_id,
        lesson_id=lesson[0] if lesson else None,
        lesson_title=lesson[1] if lesson else None,
        idempotency_key=key,
        request_hash=digest,
        now=now,
    )
    # The sender has read what they sent, and so what they answered.
    await store.mark_read(conn, conv.id, mentor=sender == conv.mentor_id, seq=seq)
    await _notices_read(conn, sender, conv.id, now)
    recipient = conv.other(sender)
    await emit_event(
        conn,
        ChatMessageSent(
            conversation_id=conv.id,
            message_id=row.id,
            seq=seq,
            sender_id=sender,
            recipient_id=recipient,
            recipient_read_seq=conv.read_seq_of(recipient),
            request=conv.status is Status.REQUESTED,
        ),
    )
    return row


async def _notices_read(
    conn: Connection, user_id: uuid.UUID, conversation_id: uuid.UUID, now: datetime
) -> None:
    """The inbox's notices of this conversation's messages (and its request) are read
    once the member has read, or answered, the conversation: the Inbox count follows."""
    await inbox_store.mark_link_read(
        conn, user_id, CHAT_NOTICE_KINDS, f"/chat?c={conversation_id}", now
    )


async def _timed_answer(conn: Connection, conv: Conversation, now: datetime) -> None:
    """A mentor's message answers the mentee's unanswered ones (analytics' response
    time); a message request's first message was answered by accepting it."""
    answered_seq = 1 if conv.opened_by is OpenedBy.REQUEST else 0
    asked_at = await store.oldest_unanswered(conn, conv.id, conv.mentor_id, answered_seq)
    if asked_at is not None:
        await _responded(conn, conv, "message", asked_at, now)


async def _responded(
    conn: Connection, conv: Conversation, kind: str, asked_at: datetime, now: datetime
) -> None:
    await emit_event(
        conn,
        MentorResponded(
            mentor_id=conv.mentor_id,
            mentee_id=conv.mentee_id,
            conversation_id=conv.id,
            kind=kind,
            requested_at=asked_at,
            seconds=int((now - asked_at).total_seconds()),
        ),
    )


def _message_frame(view: MessageView) -> ChatMessageFrame:
    return ChatMessageFrame(**{f: getattr(view, f) for f in view.__struct_fields__})


async def _publish_message(platform: Platform, row: MessageRow) -> MessageView:
    """The fast path of a stored message's frame; the outbox publishes it again
    (`publish_sent_messages`), so a publish that fails here is logged, not raised: the
    sender's message is stored, and an error would make them send it again."""
    view = message_view(row)
    try:
        await platform.streams.publish(channels.chat(row.conversation_id), _message_frame(view))
    except Exception:
        log.exception("chat_publish_failed", message_id=str(row.id))
    return view


async def publish_sent_messages(
    conn: Connection, platform: Platform, batch: Sequence[Event]
) -> None:
    """Consumer `notifications.chat_live`: each stored message's frame on its
    conversation's channel, as the record holds it now (a message removed since is
    published removed). Published inside the consumer's transaction, before its commit,
    on purpose: a batch that fails or dies is delivered again and publishes again, so
    every message is published at least once; a client keeps messages by `seq`, so a
    repeat changes nothing it shows (unlike an inbox frame, which counts, and so waits
    for the commit and goes once)."""
    frames = []
    for event in batch:
        sent = msgspec.convert(event.payload, ChatMessageSent)
        row = await store.message(conn, sent.message_id)
        if row is not None:
            frames.append((channels.chat(row.conversation_id), _message_frame(message_view(row))))
    if frames:
        await platform.streams.publish_many(frames)


async def start(platform: Platform, user: CurrentUser, data: StartInput, key: str) -> MessageView:
    """Message someone: a linked pair's conversation opens at once; otherwise the caller
    asks a mentor, and the first message waits for the mentor to accept."""
    if data.with_user_id == user.id:
        raise InvalidInput("you cannot message yourself", field="with_user_id")
    digest = request_hash("chat.start", data)
    async with platform.pool.acquire() as conn:
        other = await account_of(conn, data.with_user_id)
        if other is None or not other.is_active:
            raise NotFound("no such member", field="with_user_id")
        linked = await linked_pairs(conn, user.id)
    opened_by: OpenedBy | None = None
    pair: Pair
    for candidate in ((data.with_user_id, user.id), (user.id, data.with_user_id)):
        if candidate in linked:
            pair, opened_by = candidate, linked[candidate]
            break
    else:
        if other.role is not Role.MENTOR:
            raise Forbidden(
                "you can message a mentor, or a mentee a booking, a paid signal feed or a "
                "cohort links to you",
                field="with_user_id",
            )
        pair = (data.with_user_id, user.id)
    async with platform.pool.acquire() as conn:
        existing = await store.conversation_of_pair(conn, *pair)
    if existing is None and opened_by is None:
        limit = Limit(f"chat:request:{user.id}", platform.settings.chat_requests_per_day, 86_400)
        await reserve(platform.counters, [limit], "you have sent too many message requests today")
    await _send_limit(platform, user.id)
    async with transaction(platform.pool) as conn:
        conv = await store.insert_conversation(
            conn,
            mentor_id=pair[0],
            mentee_id=pair[1],
            status=(Status.OPEN if opened_by else Status.REQUESTED).value,
            opened_by=(opened_by or OpenedBy.REQUEST).value,
            now=platform.clock.now(),
        )
        if opened_by is not None and conv.status is not Status.OPEN:
            # A link made later (a booking after a declined request) opens it.
            await store.set_status(conn, conv.id, Status.OPEN.value, opened_by.value)
            conv = await _member(conn, conv.id, user, lock=True)
        row = await _append(
            conn,
            platform,
            conv,
            user.id,
            kind=Kind.TEXT,
            body=data.body.strip(),
            key=key,
            digest=digest,
        )
    return await _publish_message(platform, row)


async def send(
    platform: Platform, user: CurrentUser, conversation_id: uuid.UUID, data: SendInput, key: str
) -> MessageView:
    """A text message, or a pinned lesson link the mentee may open."""
    body = data.body.strip()
    if data.lesson_id is None and not body:
        raise InvalidInput("write a message", field="body")
    digest = request_hash("chat.send", data)
    await _send_limit(platform, user.id)
    async with transaction(platform.pool) as conn:
        conv = await _member(conn, conversation_id, user, lock=True)
        lesson = None
        if data.lesson_id is not None:
            link = await lesson_link(conn, data.lesson_id, conv.mentee_id)
            if link is None or await lesson_link(conn, data.lesson_id, user.id) is None:
                raise InvalidInput(
                    "pin a lesson both of you can open: one of a program the mentee has "
                    "joined (and you own or have joined too)",
                    field="lesson_id",
                )
            lesson = (data.lesson_id, link[0])
        row = await _append(
            conn,
            platform,
            conv,
            user.id,
            kind=Kind.LESSON if lesson else Kind.TEXT,
            body=body,
            key=key,
            digest=digest,
            lesson=lesson,
        )
    return await _publish_message(platform, row)


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


async def send_attachment(
    platform: Platform,
    user: CurrentUser,
    conversation_id: uuid.UUID,
    *,
    file_name: str,
    content: bytes,
    caption: str,
    key: str,
) -> MessageView:
    """A PDF or a picture, recognised by its bytes (never its name or declared type)."""
    limit = platform.settings.chat_attachment_max_bytes
    if not content:
        raise InvalidInput("This file is empty. Choose another.", field="file")
    if len(content) > limit:
        raise InvalidInput(
            f"This file is {_megabytes(len(content))}, more than the {_megabytes(limit)} "
            "limit. Send a smaller one.",
            field="file",
        )
    sniffed = sniff_file_type(content)
    if sniffed is None or sniffed.content_type not in ATTACHMENT_TYPES:
        raise InvalidInput(
            "This file is not a PDF or a PNG, JPEG, GIF or WebP picture (we read the file "
            "itself, not its name). Send one of those.",
            field="file",
        )
    # The stored name: the upload's base name in safe characters (it goes into a
    # Content-Disposition header), with the extension of what the bytes are.
    base = file_name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = re.sub(r"[^A-Za-z0-9 ._-]+", "_", stem).strip(" ._")[:100] or "attachment"
    name = f"{stem}.{sniffed.extension}"
    caption = caption.strip()[:4000]
    digest = request_hash(
        "chat.attachment", {"caption": caption, "sha256": hashlib.sha256(content).hexdigest()}
    )
    await _send_limit(platform, user.id)
    async with transaction(platform.pool) as conn:
        conv = await _member(conn, conversation_id, user, lock=True)
        row = await _append(
            conn,
            platform,
            conv,
            user.id,
            kind=Kind.ATTACHMENT,
            body=caption,
            key=key,
            digest=digest,
            attachment=(sniffed.content_type, name, content),
        )
    return await _publish_message(platform, row)


async def attachment(
    platform: Platform, user: CurrentUser, attachment_id: uuid.UUID
) -> AttachmentFile:
    async with platform.pool.acquire() as conn:
        found = await store.attachment(conn, attachment_id)
        if found is None:
            raise NotFound("no such attachment", field="attachment_id")
        conv = await store.conversation(conn, found.conversation_id)
    if conv is None or not (conv.has_member(user.id) or user.is_staff):
        raise NotFound("no such attachment", field="attachment_id")
    return found


# ---- state: accept, decline, block, read, typing -----------------------------------------


async def _publish_state(
    platform: Platform, conv_id: uuid.UUID, user: CurrentUser
) -> ConversationView:
    view = await conversation(platform, user, conv_id)
    async with platform.pool.acquire() as conn:
        conv = await store.conversation(conn, conv_id)
    assert conv is not None
    await platform.streams.publish(
        channels.chat(conv_id),
        ChatStateFrame(conversation_id=conv_id, status=conv.status, blocked_by=conv.blocked_by),
    )
    return view


async def answer_request(
    platform: Platform, user: CurrentUser, conversation_id: uuid.UUID, *, accept: bool
) -> ConversationView:
    async with transaction(platform.pool) as conn:
        conv = await _member(conn, conversation_id, user, lock=True)
        if user.id != conv.mentor_id:
            raise Forbidden("only the mentor answers a message request", field="conversation_id")
        wanted = Status.OPEN if accept else Status.DECLINED
        if conv.status is not wanted:
            if conv.status is not Status.REQUESTED:
                raise Conflict(
                    f"this conversation is already {conv.status.value}", field="conversation_id"
                )
            await store.set_status(conn, conv.id, wanted.value)
            await _responded(conn, conv, "message_request", conv.created_at, platform.clock.now())
    return await _publish_state(platform, conversation_id, user)


async def set_block(
    platform: Platform, user: CurrentUser, conversation_id: uuid.UUID, *, block: bool
) -> ConversationView:
    async with transaction(platform.pool) as conn:
        conv = await _member(conn, conversation_id, user, lock=True)
        if block:
            if conv.blocked_by is None:
                await store.set_blocked_by(conn, conv.id, user.id)
            elif conv.blocked_by != user.id:
                raise Conflict("this conversation is already blocked", field="conversation_id")
        else:
            if conv.blocked_by not in (None, user.id):
                raise Forbidden(
                    "only who blocked a conversation can unblock it", field="conversation_id"
                )
            await store.set_blocked_by(conn, conv.id, None)
    return await _publish_state(platform, conversation_id, user)


async def mark_read(
    platform: Platform, user: CurrentUser, conversation_id: uuid.UUID, seq: int
) -> ConversationView:
    async with transaction(platform.pool) as conn:
        conv = await _member(conn, conversation_id, user, lock=True)
        before = conv.read_seq_of(user.id)
        read = await store.mark_read(conn, conv.id, mentor=user.id == conv.mentor_id, seq=seq)
        if read != before:
            await _notices_read(conn, user.id, conv.id, platform.clock.now())
    if read != before:
        await platform.streams.publish(
            channels.chat(conversation_id),
            ChatReadFrame(conversation_id=conversation_id, user_id=user.id, seq=read),
        )
    return await conversation(platform, user, conversation_id)


async def typing(platform: Platform, user: CurrentUser, conversation_id: uuid.UUID) -> None:
    """Tell the other member the caller is typing (at most once every 2 seconds)."""
    async with platform.pool.acquire() as conn:
        conv = await _member(conn, conversation_id, user)
    if _why_not(conv, user.id):
        return
    limit = Limit(f"chat:typing:{user.id}:{conversation_id}", 1, 2)
    await reserve(platform.counters, [limit], "typing notices are sent at most every 2 seconds")
    until = platform.clock.now() + timedelta(seconds=TYPING_SHOWN_S)
    await platform.streams.publish(
        channels.chat(conversation_id),
        ChatTypingFrame(conversation_id=conversation_id, user_id=user.id, until=until),
    )


# ---- search ------------------------------------------------------------------------------


async def search(
    platform: Platform, user: CurrentUser, query: str, limit: int = 30
) -> list[SearchHit]:
    query = query.strip()
    if not 1 <= len(query) <= 200:
        raise InvalidInput("search for 1 to 200 characters", field="q")
    if not 1 <= limit <= 100:
        raise InvalidInput("limit must be between 1 and 100", field="limit")
    async with platform.pool.acquire() as conn:
        hits = await store.search(conn, user.id, query, limit)
        convs = {c.id: c for c in await store.conversations_of(conn, user.id)}
        names = await display_names(
            conn, platform.settings, {c.other(user.id) for c in convs.values()}
        )
    return [
        SearchHit(
            conversation_id=row.conversation_id,
            other_name=names.get(convs[row.conversation_id].other(user.id), "Member"),
            message=message_view(row),
            rank=rank,
        )
        for row, rank in hits
    ]


# ---- reports and moderation --------------------------------------------------------------


async def _report_views(
    conn: Connection, platform: Platform, rows: list[ReportRow]
) -> list[ReportView]:
    names = await display_names(
        conn, platform.settings, {r.sender_id for r in rows} | {r.reporter_id for r in rows}
    )
    return [
        ReportView(
            id=r.id,
            message_id=r.message_id,
            conversation_id=r.conversation_id,
            seq=r.seq,
            sender_id=r.sender_id,
            sender_name=names.get(r.sender_id, "Member"),
            reporter_id=r.reporter_id,
            reporter_name=names.get(r.reporter_id, "Member"),
            body=r.body,
            kind=r.kind,
            reason=r.reason,
            status=r.status,
            resolution_note=r.resolution_note,
            created_at=r.created_at,
            resolved_at=r.resolved_at,
        )
        for r in rows
    ]


async def report(
    platform: Platform, user: CurrentUser, message_id: uuid.UUID, data: ReportInput
) -> ReportView:
    """Send another member's message to the moderators (once per reporter and message)."""
    async with transaction(platform.pool) as conn:
        row = await store.message(conn, message_id)
        conv = await store.conversation(conn, row.conversation_id) if row else None
        if row is None or conv is None or not conv.has_member(user.id):
            raise NotFound("no such message", field="message_id")
        if row.sender_id == user.id:
            raise InvalidInput("you cannot report your own message", field="message_id")
        found = await store.insert_report(
            conn,
            message_id=message_id,
            reporter_id=user.id,
            reason=data.reason.strip(),
            now=platform.clock.now(),
        )
        return (await _report_views(conn, platform, [found]))[0]


async def reports(platform: Platform, *, open_only: bool) -> list[ReportView]:
    async with platform.pool.acquire() as conn:
        return await _report_views(
            conn, platform, await store.reports(conn, open_only=open_only, limit=200)
        )


async def resolve(
    platform: Platform,
    staff: CurrentUser,
    report_id: uuid.UUID,
    data: ResolveInput,
    source_ip: str | None,
) -> ReportView:
    """Dismiss a report, or remove the message (its text and file are no longer shown to
    anyone; its members see that a moderator removed it)."""
    if data.outcome is ReportStatus.OPEN:
        raise InvalidInput("resolve as dismissed or removed", field="outcome")
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        found = await store.report(conn, report_id, lock=True)
        if found is None:
            raise NotFound("no such report", field="report_id")
        if found.status is not ReportStatus.OPEN:
            if found.status is data.outcome:
                return (await _report_views(conn, platform, [found]))[0]
            raise Conflict(f"this report was already {found.status.value}", field="outcome")
        await store.resolve_report(
            conn,
            report_id,
            status=data.outcome.value,
            resolved_by=staff.id,
            note=data.note.strip(),
            now=now,
        )
        if data.outcome is ReportStatus.REMOVED:
            await store.remove_message(conn, found.message_id, now)
        await record_audit(
            conn,
            staff.id,
            "chat.report_resolved",
            f"chat_report:{report_id}",
            source_ip,
            {
                "outcome": data.outcome.value,
                "message_id": str(found.message_id),
                "note": data.note.strip(),
            },
            at=now,
        )
        updated = await store.report(conn, report_id)
        message = await store.message(conn, found.message_id)
        assert updated is not None
        assert message is not None
        view = (await _report_views(conn, platform, [updated]))[0]
    if data.outcome is ReportStatus.REMOVED:
        frame = _message_frame(message_view(message))
        await platform.streams.publish(channels.chat(message.conversation_id), frame)
    return view

"""Topic and post rules: who writes where, Markdown rendered and sanitised, mentions
resolved to members who may read the space, quotes from the same topic, edits kept as
history, reactions, read positions; each new post announced through the outbox (replies
and mentions notify) and, once committed, on the space's stream channel."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from datetime import datetime

from dracarys.community.events import PostCreated, PostMentioned, PostModerated
from dracarys.community.members import service as members
from dracarys.community.members.models import Profile
from dracarys.community.moderation import screening
from dracarys.community.rendering import mentioned_handles, render_post
from dracarys.community.spaces import service as spaces
from dracarys.community.spaces.models import Space
from dracarys.community.topics import store
from dracarys.community.topics.models import (
    EditInput,
    EditView,
    Post,
    PostFrame,
    PostInput,
    PostStatus,
    PostView,
    PreviewInput,
    PreviewView,
    QuoteView,
    Reaction,
    ReadInput,
    Topic,
    TopicInput,
    TopicKind,
    TopicSort,
    TopicSummary,
    TopicView,
)
from dracarys.db import Connection, after_commit, transaction
from dracarys.errors import Forbidden, InvalidInput, NotFound
from dracarys.identity import CurrentUser
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from streams import channels

QUOTE_EXCERPT_CHARS = 280
TOPICS_PER_PAGE = 50


def _may_see(user: CurrentUser, status: PostStatus, author_id: uuid.UUID) -> bool:
    """Held, hidden or removed topics and posts are their author's and staff's only."""
    return status is PostStatus.VISIBLE or author_id == user.id or user.is_staff


async def readable_topic(
    conn: Connection, user: CurrentUser, topic_id: uuid.UUID, now: datetime
) -> tuple[Topic, Space]:
    """The topic and its space, if the reader may see them."""
    topic = await store.topic(conn, topic_id)
    if topic is None or not _may_see(user, topic.status, topic.author_id):
        raise NotFound("There is no such topic.", field="topic_id")
    return topic, await spaces.readable_space(conn, user, topic.space_id, now)


async def _mentions(
    conn: Connection, space: Space, source: str, now: datetime
) -> dict[str, uuid.UUID]:
    """Handles the post mentions that belong to members who may read the space (a private
    group's post never notifies an outsider)."""
    found = await members.users_by_handle(conn, mentioned_handles(source))
    return {
        handle: user_id
        for handle, user_id in found.items()
        if user_id in await spaces.space_watchers(conn, [user_id], space.id, now)
    }


async def _write_post(
    conn: Connection,
    platform: Platform,
    *,
    author: Profile,
    topic: Topic,
    space: Space,
    seq: int,
    source: str,
    quote_post_id: uuid.UUID | None,
) -> Post:
    now = platform.clock.now()
    held = await screening.screen_post(
        conn, author=author, space_id=space.id, source=source, now=now
    )
    mentions = await _mentions(conn, space, source, now)
    post = await store.insert_post(
        conn,
        topic_id=topic.id,
        seq=seq,
        author_id=author.user_id,
        source=source,
        html=render_post(source, frozenset(mentions)),
        quote_post_id=quote_post_id,
        search_title=topic.title if seq == 1 else "",
        now=now,
    )
    await store.mark_read(conn, author.user_id, topic.id, seq)
    if held is not None:
        # Not announced, not published: it appears (and notifies) when a moderator
        # approves it. The author is told why it waits.
        await _hold(conn, post, topic, held, now)
        found = await store.post(conn, post.id)
        assert found is not None
        return found
    await announce_post(conn, platform, post, topic, space, author, mentions)
    return post


async def _hold(
    conn: Connection, post: Post, topic: Topic, reason: screening.HoldReason, now: datetime
) -> None:
    """Hold a post the screen stopped (new or edited) and tell its author why."""
    await screening.hold_post(conn, post.id, reason, now)
    await emit_event(
        conn,
        PostModerated(
            post_id=str(post.id),
            topic_id=str(topic.id),
            seq=post.seq,
            author_id=str(post.author_id),
            topic_title=topic.title,
            action="held",
            reason=reason.text,
            reason_sw=reason.text_sw,
        ),
    )


async def announce_post(
    conn: Connection,
    platform: Platform,
    post: Post,
    topic: Topic,
    space: Space,
    author: Profile,
    mentions: dict[str, uuid.UUID],
) -> None:
    """A post going live: `PostCreated` through the outbox (replies and mentions notify)
    and, once committed, its frame on the space's channel. At posting, or when a
    moderator approves a held post."""
    seq = post.seq
    await emit_event(
        conn,
        PostCreated(
            post_id=str(post.id),
            topic_id=str(topic.id),
            space_id=str(space.id),
            seq=seq,
            author_id=str(author.user_id),
            author_handle=author.handle,
            topic_author_id=str(topic.author_id),
            topic_title=topic.title,
            mentioned_ids=[str(u) for u in mentions.values() if u != author.user_id],
        ),
    )
    frame = PostFrame(
        space_id=space.id,
        topic_id=topic.id,
        post_id=post.id,
        seq=seq,
        title=topic.title,
        author_handle=author.handle,
    )

    async def publish() -> None:
        await platform.streams.publish(channels.community(space.id), frame)

    after_commit(conn, publish)


async def mentions_in(
    conn: Connection, space: Space, source: str, now: datetime
) -> dict[str, uuid.UUID]:
    return await _mentions(conn, space, source, now)


async def create_topic(platform: Platform, user: CurrentUser, data: TopicInput) -> TopicView:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        space = await spaces.writable_space(conn, user, data.space_id, now)
        await screening.ensure_not_suspended(conn, user.id, now)
        author = await members.ensure_profile(conn, user.id, now)
        await members.check_may_post(conn, author, data.body, now)
        topic = await store.insert_topic(conn, uuid.uuid4(), user.id, data, now)
        await _write_post(
            conn,
            platform,
            author=author,
            topic=topic,
            space=space,
            seq=1,
            source=data.body,
            quote_post_id=None,
        )
    return await topic_view(platform, user, topic.id)


async def reply(
    platform: Platform, user: CurrentUser, topic_id: uuid.UUID, data: PostInput
) -> PostView:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        topic, _ = await readable_topic(conn, user, topic_id, now)
        space = await spaces.writable_space(conn, user, topic.space_id, now)
        if topic.status is not PostStatus.VISIBLE:
            raise Forbidden(
                "This topic is closed to replies while it is reviewed.", field="topic_id"
            )
        if data.quote_post_id is not None:
            quoted = await store.post(conn, data.quote_post_id)
            if (
                quoted is None
                or quoted.topic_id != topic.id
                or quoted.status is not PostStatus.VISIBLE
            ):
                raise InvalidInput("Quote a post of this topic.", field="quote_post_id")
        await screening.ensure_not_suspended(conn, user.id, now)
        author = await members.ensure_profile(conn, user.id, now)
        await members.check_may_post(conn, author, data.body, now)
        seq = await store.take_seq(conn, topic.id, now)
        post = await _write_post(
            conn,
            platform,
            author=author,
            topic=topic,
            space=space,
            seq=seq,
            source=data.body,
            quote_post_id=data.quote_post_id,
        )
        return (await _post_views(conn, user, topic, [post]))[0]


def preview(data: PreviewInput) -> PreviewView:
    """The composer's preview: rendered and sanitised as the post would be (mentions are
    linked once posted)."""
    return PreviewView(html=render_post(data.body))


def _summary(topic: Topic, handle: str, score: int, unread: int) -> TopicSummary:
    return TopicSummary(
        id=topic.id,
        space_id=topic.space_id,
        kind=topic.kind,
        title=topic.title,
        tags=topic.tags,
        author_id=topic.author_id,
        author_handle=handle,
        replies=topic.last_seq - 1,
        score=score,
        solved=topic.accepted_post_id is not None,
        unread=unread,
        created_at=topic.created_at,
        last_posted_at=topic.last_posted_at,
    )


async def _handles(conn: Connection, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    known = await members.handles_of(conn, user_ids)
    return {u: known.get(u) or members.default_handle(u) for u in user_ids}


async def list_topics(
    platform: Platform,
    user: CurrentUser,
    space_id: uuid.UUID,
    sort: TopicSort,
    tag: str | None,
) -> list[TopicSummary]:
    async with platform.pool.acquire() as conn:
        await spaces.readable_space(conn, user, space_id, platform.clock.now())
        rows = await store.topics(conn, space_id, user.id, sort, tag, TOPICS_PER_PAGE)
        handles = await _handles(conn, {r.author_id for r in rows})
        return [_summary(r, handles[r.author_id], r.score, r.unread) for r in rows]


async def _post_views(
    conn: Connection, reader: CurrentUser, topic: Topic, posts: list[Post]
) -> list[PostView]:
    ids = [p.id for p in posts]
    quoted = await store.posts_by_id(conn, {p.quote_post_id for p in posts if p.quote_post_id})
    handles = await _handles(
        conn, {p.author_id for p in posts} | {q.author_id for q in quoted.values()}
    )
    votes = await store.my_votes(conn, reader.id, ids)
    edits = await store.edit_counts(conn, ids)
    counts: dict[uuid.UUID, Counter[str]] = defaultdict(Counter)
    mine: dict[uuid.UUID, list[str]] = defaultdict(list)
    for post_id, user_id, reaction in await store.reactions(conn, ids):
        counts[post_id][reaction] += 1
        if user_id == reader.id:
            mine[post_id].append(reaction)

    def quote(post: Post) -> QuoteView | None:
        q = quoted.get(post.quote_post_id) if post.quote_post_id else None
        if q is None:
            return None
        visible = q.status is PostStatus.VISIBLE
        text = q.source if visible else "(this post is not shown)"
        return QuoteView(
            post_id=q.id,
            seq=q.seq,
            author_handle=handles[q.author_id],
            excerpt=text[:QUOTE_EXCERPT_CHARS],
        )

    return [
        PostView(
            id=p.id,
            topic_id=p.topic_id,
            seq=p.seq,
            author_id=p.author_id,
            author_handle=handles[p.author_id],
            html=p.html,
            source=p.source if p.author_id == reader.id else "",
            quote=quote(p),
            score=p.score,
            my_vote=votes.get(p.id, 0),
            reactions=dict(counts[p.id]),
            my_reactions=mine[p.id],
            accepted=p.id == topic.accepted_post_id,
            edits=edits.get(p.id, 0),
            created_at=p.created_at,
            edited_at=p.edited_at,
            status=p.status,
            moderation_reason=p.moderation_reason if p.author_id == reader.id else None,
            may_appeal=p.author_id == reader.id
            and p.status is not PostStatus.VISIBLE
            and p.appealed_at is None,
        )
        for p in posts
    ]


async def topic_view(platform: Platform, user: CurrentUser, topic_id: uuid.UUID) -> TopicView:
    now = platform.clock.now()
    async with platform.pool.acquire() as conn:
        topic, space = await readable_topic(conn, user, topic_id, now)
        posts = await store.posts(conn, topic.id, user.id)
        views = await _post_views(conn, user, topic, posts)
        opening = next((p for p in views if p.seq == 1), None)
        last_read = await store.last_read(conn, user.id, topic.id)
        handle = (await _handles(conn, {topic.author_id}))[topic.author_id]
        return TopicView(
            topic=_summary(
                topic,
                handle,
                opening.score if opening else 0,
                max(topic.last_seq - last_read, 0),
            ),
            space_slug=space.slug,
            space_title=space.title,
            posts=views,
            last_read_seq=last_read,
            may_accept=topic.kind is TopicKind.QUESTION
            and user.id in (topic.author_id, space.mentor_id),
            may_post=await spaces.is_member(conn, space, user.id, now),
        )


async def mark_read(
    platform: Platform, user: CurrentUser, topic_id: uuid.UUID, data: ReadInput
) -> int:
    async with transaction(platform.pool) as conn:
        topic, _ = await readable_topic(conn, user, topic_id, platform.clock.now())
        return await store.mark_read(conn, user.id, topic.id, min(data.seq, topic.last_seq))


async def _readable_post(
    conn: Connection, user: CurrentUser, post_id: uuid.UUID, now: datetime
) -> tuple[Post, Topic]:
    """The post and its topic, if the reader may see them: the topic's rule (and its
    space's) applied to the post as well, so a held, hidden or removed reply is not
    reached by its id."""
    post = await store.post(conn, post_id)
    if post is None or not _may_see(user, post.status, post.author_id):
        raise NotFound("There is no such post.", field="post_id")
    topic, _ = await readable_topic(conn, user, post.topic_id, now)
    return post, topic


async def edit(
    platform: Platform, user: CurrentUser, post_id: uuid.UUID, data: EditInput
) -> PostView:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        await store.lock_post(conn, post_id)
        post, topic = await _readable_post(conn, user, post_id, now)
        if post.author_id != user.id:
            raise Forbidden("Only its author edits a post.", field="post_id")
        space = await spaces.readable_space(conn, user, topic.space_id, now)
        author = await members.ensure_profile(conn, user.id, now)
        await screening.ensure_not_suspended(conn, user.id, now)
        # An edit may not add what the author's trust level would refuse in a new post, and
        # passes the same screen: an approved post edited into a promise goes back to review,
        # its author told why as for a new post.
        members.check_content(author, data.body)
        held = await screening.screen_post(
            conn, author=author, space_id=space.id, source=data.body, now=now, new_post=False
        )
        mentions = await _mentions(conn, space, data.body, now)
        await store.record_edit(
            conn, post, user.id, data.body, render_post(data.body, frozenset(mentions)), now
        )
        if held is not None and post.status is PostStatus.VISIBLE:
            await _hold(conn, post, topic, held, now)
        elif held is None and post.status is PostStatus.VISIBLE:
            # Members the edit mentions anew are told, as a new post's would be (a held or
            # hidden post's mentions are told when a moderator publishes it).
            before = set((await _mentions(conn, space, post.source, now)).values())
            added = [u for u in mentions.values() if u not in before and u != user.id]
            if added:
                await emit_event(
                    conn,
                    PostMentioned(
                        post_id=str(post.id),
                        topic_id=str(topic.id),
                        space_id=str(space.id),
                        seq=post.seq,
                        author_id=str(user.id),
                        author_handle=author.handle,
                        topic_title=topic.title,
                        mentioned_ids=[str(u) for u in added],
                    ),
                )
        updated = await store.post(conn, post.id)
        assert updated is not None
        return (await _post_views(conn, user, topic, [updated]))[0]


async def edit_history(platform: Platform, user: CurrentUser, post_id: uuid.UUID) -> list[EditView]:
    async with platform.pool.acquire() as conn:
        post, _ = await _readable_post(conn, user, post_id, platform.clock.now())
        history = await store.edits(conn, post.id)
        handles = await _handles(conn, {e.editor_id for e in history})
        return [
            EditView(editor_handle=handles[e.editor_id], source=e.source, edited_at=e.edited_at)
            for e in history
        ]


async def react(
    platform: Platform, user: CurrentUser, post_id: uuid.UUID, reaction: Reaction, *, on: bool
) -> PostView:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        post, topic = await _readable_post(conn, user, post_id, now)
        if post.status is not PostStatus.VISIBLE:
            # Its author (or staff) reads it, but nobody reacts to a post out of view.
            raise Forbidden(
                "This post is out of view for review; it takes no reactions.", field="post_id"
            )
        if on:
            await store.add_reaction(conn, post.id, user.id, reaction.value, now)
        else:
            await store.remove_reaction(conn, post.id, user.id, reaction.value)
        return (await _post_views(conn, user, topic, [post]))[0]


async def topic_titled(platform: Platform, space_id: uuid.UUID, title: str) -> bool:
    async with platform.pool.acquire() as conn:
        return await store.topic_titled(conn, space_id, title)


async def post_of(conn: Connection, post_id: uuid.UUID) -> Post | None:
    return await store.post(conn, post_id)


async def readable_post(
    conn: Connection, user: CurrentUser, post_id: uuid.UUID, now: datetime
) -> Post:
    """The post, if the reader may see it (moderation flags through it)."""
    post, _ = await _readable_post(conn, user, post_id, now)
    return post


async def replace_text(
    conn: Connection, post_id: uuid.UUID, editor_id: uuid.UUID, source: str, now: datetime
) -> None:
    """A moderator's edit: the text replaced (the old one kept in the edit history),
    rendered as the author's would be."""
    post = await store.post(conn, post_id)
    topic = await store.topic(conn, post.topic_id) if post is not None else None
    if post is None or topic is None:
        raise NotFound("There is no such post.", field="post_id")
    space = await spaces.space_by_id(conn, topic.space_id)
    mentions = await _mentions(conn, space, source, now)
    await store.record_edit(
        conn, post, editor_id, source, render_post(source, frozenset(mentions)), now
    )


async def announce_approved(conn: Connection, platform: Platform, post_id: uuid.UUID) -> None:
    """A held post a moderator approved goes live as a new post would have."""
    post = await store.post(conn, post_id)
    topic = await store.topic(conn, post.topic_id) if post is not None else None
    if post is None or topic is None:
        raise NotFound("There is no such post.", field="post_id")
    space = await spaces.space_by_id(conn, topic.space_id)
    now = platform.clock.now()
    author = await members.ensure_profile(conn, post.author_id, now)
    mentions = await _mentions(conn, space, post.source, now)
    await announce_post(conn, platform, post, topic, space, author, mentions)

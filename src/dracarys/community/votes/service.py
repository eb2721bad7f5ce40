"""Voting and accepting: one vote per member and post, never on one's own, the post's
score changed in the same transaction; one accepted answer per question, chosen by the
asker or the space's mentor. Scores go out on the space's stream channel once committed."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.community.topics import service as topics
from dracarys.community.topics.models import Post, PostStatus, Topic, TopicKind
from dracarys.community.votes import store
from dracarys.community.votes.models import AcceptView, ScoreFrame, VoteInput, VoteView
from dracarys.db import Connection, after_commit, transaction
from dracarys.errors import Forbidden, InvalidInput, NotFound
from dracarys.identity import CurrentUser
from dracarys.platform import Platform
from streams import channels


async def _votable(
    conn: Connection, user: CurrentUser, post_id: uuid.UUID, now: datetime
) -> tuple[Post, Topic]:
    post = await topics.post_of(conn, post_id)
    if post is None or post.status is not PostStatus.VISIBLE:
        raise NotFound("There is no such post.", field="post_id")
    topic, _ = await topics.readable_topic(conn, user, post.topic_id, now)
    if post.author_id == user.id:
        raise Forbidden("You cannot vote on your own post.", field="post_id")
    return post, topic


async def _apply(
    platform: Platform, user: CurrentUser, post_id: uuid.UUID, value: int | None
) -> VoteView:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        post, topic = await _votable(conn, user, post_id, now)
        if value is None:
            delta = await store.retract(conn, post.id, user.id)
        else:
            delta = await store.cast(conn, post.id, user.id, value, now)
        if delta == 0:
            return VoteView(
                post_id=post.id, score=await store.score(conn, post.id), my_vote=value or 0
            )
        score = await store.add_to_score(conn, post.id, delta)
        frame = ScoreFrame(space_id=topic.space_id, topic_id=topic.id, post_id=post.id, score=score)

        async def publish() -> None:
            await platform.streams.publish(channels.community(topic.space_id), frame)

        after_commit(conn, publish)
        return VoteView(post_id=post.id, score=score, my_vote=value or 0)


async def vote(
    platform: Platform, user: CurrentUser, post_id: uuid.UUID, data: VoteInput
) -> VoteView:
    return await _apply(platform, user, post_id, data.value)


async def unvote(platform: Platform, user: CurrentUser, post_id: uuid.UUID) -> VoteView:
    return await _apply(platform, user, post_id, None)


async def accept(
    platform: Platform, user: CurrentUser, topic_id: uuid.UUID, post_id: uuid.UUID
) -> AcceptView:
    async with transaction(platform.pool) as conn:
        topic, space = await topics.readable_topic(conn, user, topic_id, platform.clock.now())
        if topic.kind is not TopicKind.QUESTION:
            raise InvalidInput("Only a question has an accepted answer.", field="topic_id")
        if user.id not in (topic.author_id, space.mentor_id):
            raise Forbidden(
                "Only the asker or the space's mentor accepts an answer.", field="topic_id"
            )
        post = await topics.post_of(conn, post_id)
        if (
            post is None
            or post.topic_id != topic.id
            or post.seq == 1
            or post.status is not PostStatus.VISIBLE
        ):
            raise InvalidInput("Accept one of this question's answers.", field="post_id")
        # Reputation reads the accepted answer from the topic, so moving it moves the 15.
        await store.accept(conn, topic.id, post.id)
        return AcceptView(topic_id=topic.id, accepted_post_id=post.id)

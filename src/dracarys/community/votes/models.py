"""Votes on posts and accepted answers: inputs, views, and the frame published on
`community:{space_id}` when a post's score changes."""

from __future__ import annotations

import uuid
from typing import Literal

from dracarys.wire import Input, Schema


class VoteInput(Input):
    value: Literal[1, -1]


class VoteView(Schema):
    post_id: uuid.UUID
    score: int
    my_vote: int


class AcceptView(Schema):
    topic_id: uuid.UUID
    accepted_post_id: uuid.UUID


class ScoreFrame(Schema, tag="community.vote", tag_field="type"):
    space_id: uuid.UUID
    topic_id: uuid.UUID
    post_id: uuid.UUID
    score: int

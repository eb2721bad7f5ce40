"""Vote routes: vote a post up or down (once, never your own), take a vote back, and
accept a question's answer."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, delete, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from dracarys.community.votes import service
from dracarys.community.votes.models import AcceptView, VoteInput, VoteView
from dracarys.identity import CurrentUser, authenticated
from dracarys.platform import Platform


class VotesController(Controller):
    path = "/api/v1/community"
    tags = ("community",)
    guards = [authenticated]  # noqa: RUF012 - Litestar's declared controller attribute

    @put("/posts/{post_id:uuid}/vote", operation_id="voteCommunityPost", summary="Vote +1 or -1")
    async def vote(
        self,
        post_id: FromPath[uuid.UUID],
        data: JSONBody[VoteInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> VoteView:
        return await service.vote(platform, current_user, post_id, data)

    @delete(
        "/posts/{post_id:uuid}/vote",
        operation_id="unvoteCommunityPost",
        summary="Take your vote back",
        status_code=HTTP_200_OK,
    )
    async def unvote(
        self,
        post_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> VoteView:
        return await service.unvote(platform, current_user, post_id)

    @post(
        "/topics/{topic_id:uuid}/accept/{post_id:uuid}",
        operation_id="acceptCommunityAnswer",
        summary="Accept an answer (the asker or the space's mentor)",
        status_code=HTTP_200_OK,
    )
    async def accept(
        self,
        topic_id: FromPath[uuid.UUID],
        post_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> AcceptView:
        return await service.accept(platform, current_user, topic_id, post_id)


ROUTES: list[Any] = [VotesController]

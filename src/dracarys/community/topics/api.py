"""Topic routes: topics of a space (sorted, by tag), a topic with its posts, posting,
replying with quotes, previews, edits and their history, reactions and read positions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dracarys.community.topics import service
from dracarys.community.topics.models import (
    EditInput,
    EditView,
    PostInput,
    PostView,
    PreviewInput,
    PreviewView,
    Reaction,
    ReadInput,
    TopicInput,
    TopicSort,
    TopicSummary,
    TopicView,
)
from dracarys.identity import CurrentUser, authenticated
from dracarys.platform import Platform


class TopicsController(Controller):
    path = "/api/v1/community"
    tags = ("community",)
    guards = [authenticated]  # noqa: RUF012 - Litestar's declared controller attribute

    @get(
        "/spaces/{space_id:uuid}/topics",
        operation_id="listCommunityTopics",
        summary="A space's topics: active, new, by votes, or unanswered questions",
    )
    async def list_topics(
        self,
        space_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        sort: FromQuery[TopicSort] = TopicSort.ACTIVE,
        tag: Annotated[str | None, QueryParameter(max_length=24)] = None,
    ) -> list[TopicSummary]:
        return await service.list_topics(platform, current_user, space_id, sort, tag)

    @post(
        "/topics",
        operation_id="createCommunityTopic",
        summary="Start a discussion or ask a question",
        status_code=HTTP_201_CREATED,
    )
    async def create_topic(
        self,
        data: JSONBody[TopicInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> TopicView:
        return await service.create_topic(platform, current_user, data)

    @get(
        "/topics/{topic_id:uuid}", operation_id="getCommunityTopic", summary="A topic and its posts"
    )
    async def get_topic(
        self,
        topic_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> TopicView:
        return await service.topic_view(platform, current_user, topic_id)

    @post(
        "/topics/{topic_id:uuid}/posts",
        operation_id="replyCommunityTopic",
        summary="Reply (an answer, for a question), optionally quoting a post",
        status_code=HTTP_201_CREATED,
    )
    async def reply(
        self,
        topic_id: FromPath[uuid.UUID],
        data: JSONBody[PostInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PostView:
        return await service.reply(platform, current_user, topic_id, data)

    @post(
        "/topics/{topic_id:uuid}/read",
        operation_id="markCommunityTopicRead",
        summary="Move your read position in the topic forward",
        status_code=HTTP_200_OK,
    )
    async def mark_read(
        self,
        topic_id: FromPath[uuid.UUID],
        data: JSONBody[ReadInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> dict[str, int]:
        return {"last_read_seq": await service.mark_read(platform, current_user, topic_id, data)}

    @post(
        "/preview",
        operation_id="previewCommunityPost",
        summary="Markdown rendered and sanitised as a post would be",
        status_code=HTTP_200_OK,
        sync_to_thread=False,
    )
    def preview(self, data: JSONBody[PreviewInput]) -> PreviewView:
        return service.preview(data)

    @put("/posts/{post_id:uuid}", operation_id="editCommunityPost", summary="Edit your post")
    async def edit(
        self,
        post_id: FromPath[uuid.UUID],
        data: JSONBody[EditInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PostView:
        return await service.edit(platform, current_user, post_id, data)

    @get(
        "/posts/{post_id:uuid}/edits",
        operation_id="listCommunityPostEdits",
        summary="What the post said before each edit, oldest first",
    )
    async def edits(
        self,
        post_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> list[EditView]:
        return await service.edit_history(platform, current_user, post_id)

    @put(
        "/posts/{post_id:uuid}/reactions/{reaction:str}",
        operation_id="addCommunityReaction",
        summary="React to a post",
    )
    async def react(
        self,
        post_id: FromPath[uuid.UUID],
        reaction: FromPath[Reaction],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PostView:
        return await service.react(platform, current_user, post_id, reaction, on=True)

    @delete(
        "/posts/{post_id:uuid}/reactions/{reaction:str}",
        operation_id="removeCommunityReaction",
        summary="Take back a reaction",
        status_code=HTTP_200_OK,
    )
    async def unreact(
        self,
        post_id: FromPath[uuid.UUID],
        reaction: FromPath[Reaction],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PostView:
        return await service.react(platform, current_user, post_id, reaction, on=False)


ROUTES: list[Any] = [TopicsController]

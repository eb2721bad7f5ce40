"""Space routes: the spaces a member may read, mentors' groups, their members, and each
member's community profile (handle, reputation, trust level)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from dracarys.community.members import service as members
from dracarys.community.members.models import HandleInput, ProfileView
from dracarys.community.spaces import service
from dracarys.community.spaces.models import AddMemberInput, GroupInput, MemberView, SpaceView
from dracarys.identity import CurrentUser, authenticated
from dracarys.platform import Platform


class SpacesController(Controller):
    path = "/api/v1/community"
    tags = ("community",)
    guards = [authenticated]  # noqa: RUF012 - Litestar's declared controller attribute

    @get("/spaces", operation_id="listCommunitySpaces", summary="Spaces you may read")
    async def list_spaces(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[SpaceView]:
        return await service.list_spaces(platform, current_user)

    @get("/spaces/{slug:str}", operation_id="getCommunitySpace", summary="One space")
    async def get_space(
        self,
        slug: FromPath[str],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> SpaceView:
        return await service.space_by_slug(platform, current_user, slug)

    @post(
        "/groups",
        operation_id="createCommunityGroup",
        summary="Host a group (mentors); with a cohort, its members are the group's",
        status_code=HTTP_201_CREATED,
    )
    async def create_group(
        self,
        data: JSONBody[GroupInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> SpaceView:
        return await service.create_group(platform, current_user, data)

    @post(
        "/groups/{space_id:uuid}/join",
        operation_id="joinCommunityGroup",
        summary="Join a public group",
        status_code=HTTP_200_OK,
    )
    async def join(
        self,
        space_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> SpaceView:
        return await service.join(platform, current_user, space_id)

    @post(
        "/groups/{space_id:uuid}/leave",
        operation_id="leaveCommunityGroup",
        summary="Leave a group you joined",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def leave(
        self,
        space_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> None:
        await service.leave(platform, current_user, space_id)

    @get(
        "/groups/{space_id:uuid}/members",
        operation_id="listCommunityGroupMembers",
        summary="A group's mentor and members",
    )
    async def list_members(
        self,
        space_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> list[MemberView]:
        return await service.members(platform, current_user, space_id)

    @post(
        "/groups/{space_id:uuid}/members",
        operation_id="addCommunityGroupMember",
        summary="Add a member by handle (the group's mentor)",
        status_code=HTTP_200_OK,
    )
    async def add_member(
        self,
        space_id: FromPath[uuid.UUID],
        data: JSONBody[AddMemberInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> list[MemberView]:
        return await service.add_member(platform, current_user, space_id, data)

    @delete(
        "/groups/{space_id:uuid}/members/{member_id:uuid}",
        operation_id="removeCommunityGroupMember",
        summary="Remove a member (the group's mentor)",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def remove_member(
        self,
        space_id: FromPath[uuid.UUID],
        member_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> None:
        await service.remove_member(platform, current_user, space_id, member_id)

    @get("/profile", operation_id="getCommunityProfile", summary="Your handle, reputation, trust")
    async def profile(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> ProfileView:
        return await members.my_profile(platform, current_user)

    @put("/profile", operation_id="setCommunityHandle", summary="Choose your @handle")
    async def set_handle(
        self,
        data: JSONBody[HandleInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ProfileView:
        return await members.set_handle(platform, current_user, data)


ROUTES: list[Any] = [SpacesController]

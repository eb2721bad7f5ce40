"""The people area's routes for staff (reviewers and admins, with two-factor): finding a
member and the mentors' vetting queue. Everyone else gets a 403."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from dracarys import csv_export
from dracarys.admin.people import service
from dracarys.admin.people.models import MemberFound, MentorToVet
from dracarys.identity import Role, requires_role
from dracarys.platform import Platform


class PeopleController(Controller):
    path = "/api/v1/admin"
    tags = ("admin-people",)
    guards = (requires_role(Role.REVIEWER, Role.ADMIN),)

    @get(
        "/users",
        operation_id="findMembers",
        summary="Find a member by e-mail address, id or the start of their @handle",
    )
    async def find_members(
        self,
        platform: NamedDependency[Platform],
        q: Annotated[str, QueryParameter(max_length=254)] = "",
    ) -> list[MemberFound]:
        return await service.find_members(platform, q)

    @get(
        "/users.csv",
        operation_id="findMembersCsv",
        summary="The members found, as CSV",
        media_type=csv_export.MEDIA_TYPE,
    )
    async def find_members_csv(
        self,
        platform: NamedDependency[Platform],
        q: Annotated[str, QueryParameter(max_length=254)] = "",
    ) -> Response[bytes]:
        found = await service.find_members(platform, q)
        return csv_export.response(csv_export.records(MemberFound, found), "members.csv")

    @get(
        "/mentors",
        operation_id="listMentorsToVet",
        summary="Mentors on probation or not yet verified, longest-standing first",
    )
    async def mentors_to_vet(self, platform: NamedDependency[Platform]) -> list[MentorToVet]:
        return await service.mentors_to_vet(platform)

    @get(
        "/mentors.csv",
        operation_id="listMentorsToVetCsv",
        summary="The mentors' vetting queue as CSV",
        media_type=csv_export.MEDIA_TYPE,
    )
    async def mentors_to_vet_csv(self, platform: NamedDependency[Platform]) -> Response[bytes]:
        mentors = await service.mentors_to_vet(platform)
        return csv_export.response(csv_export.records(MentorToVet, mentors), "mentor-vetting.csv")


ROUTES = [PeopleController]

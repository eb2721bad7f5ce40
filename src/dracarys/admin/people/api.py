"""The people area's routes for staff (reviewers and admins, with two-factor): finding a
member and the mentors' vetting queue. Everyone else gets a 403."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
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

    find_members_csv = csv_export.download_route(find_members, MemberFound, "members.csv")

    @get(
        "/mentors",
        operation_id="listMentorsToVet",
        summary="Mentors on probation or not yet verified, longest-standing first",
    )
    async def mentors_to_vet(self, platform: NamedDependency[Platform]) -> list[MentorToVet]:
        return await service.mentors_to_vet(platform)

    mentors_to_vet_csv = csv_export.download_route(
        mentors_to_vet, MentorToVet, "mentor-vetting.csv"
    )


ROUTES = [PeopleController]

"""Moderation routes: flagging a post and appealing a decision (members), the review
queue and its decisions (staff and moderating members: the service checks which), and
the blocklist of link domains (staff)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, PathParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from dracarys import csv_export
from dracarys.community.moderation import service
from dracarys.community.moderation.models import (
    AppealInput,
    AppealView,
    BlockedDomain,
    BlockedDomainInput,
    DecisionInput,
    DecisionView,
    FlagInput,
    FlagView,
    QueueItem,
)
from dracarys.edge import source_ip
from dracarys.identity import CurrentUser, Role, authenticated, requires_role
from dracarys.platform import Platform

DomainPath = Annotated[str, PathParameter(max_length=253)]


class ModerationController(Controller):
    path = "/api/v1/community"
    tags = ("community",)
    guards = [authenticated]  # noqa: RUF012 - Litestar's declared controller attribute

    @post(
        "/posts/{post_id:uuid}/flag",
        operation_id="flagCommunityPost",
        summary="Flag a post as breaking the guidelines (weighted by your trust level)",
        status_code=HTTP_200_OK,
    )
    async def flag(
        self,
        post_id: FromPath[uuid.UUID],
        data: JSONBody[FlagInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> FlagView:
        return await service.flag(platform, current_user, post_id, data)

    @post(
        "/posts/{post_id:uuid}/appeal",
        operation_id="appealCommunityModeration",
        summary="Appeal a held, hidden or deleted post of yours, once",
        status_code=HTTP_201_CREATED,
    )
    async def appeal(
        self,
        post_id: FromPath[uuid.UUID],
        data: JSONBody[AppealInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> AppealView:
        return await service.appeal(platform, current_user, post_id, data)

    @get(
        "/moderation/queue",
        operation_id="communityModerationQueue",
        summary="Held, hidden and appealed posts waiting for review",
    )
    async def queue(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[QueueItem]:
        return await service.review_queue(platform, current_user)

    queue_csv = csv_export.download_route(queue, QueueItem, "moderation-queue.csv")

    @post(
        "/moderation/posts/{post_id:uuid}/decision",
        operation_id="decideCommunityPost",
        summary="Approve, edit or delete a queued post, or warn or suspend its author",
        status_code=HTTP_200_OK,
    )
    async def decide(
        self,
        post_id: FromPath[uuid.UUID],
        data: JSONBody[DecisionInput],
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> DecisionView:
        return await service.decide(platform, current_user, post_id, data, source_ip(request))


STAFF = [requires_role(Role.ADMIN, Role.REVIEWER)]


class BlockedDomainsController(Controller):
    path = "/api/v1/community/moderation/blocked-domains"
    tags = ("community",)
    guards = STAFF

    @get(operation_id="listCommunityBlockedDomains", summary="Link domains held for review")
    async def list_domains(self, platform: NamedDependency[Platform]) -> list[BlockedDomain]:
        return await service.blocked_domains(platform)

    @put(
        "/{domain:str}",
        operation_id="blockCommunityDomain",
        summary="Hold every post linking to this domain (or under it) for review",
        status_code=HTTP_200_OK,
    )
    async def block(
        self,
        domain: DomainPath,
        data: JSONBody[BlockedDomainInput],
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> BlockedDomain:
        return await service.block_domain(platform, current_user, domain, data, source_ip(request))

    @delete(
        "/{domain:str}",
        operation_id="unblockCommunityDomain",
        summary="Take a domain off the blocklist",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def unblock(
        self,
        domain: DomainPath,
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> None:
        await service.unblock_domain(platform, current_user, domain, source_ip(request))


ROUTES: list[Any] = [ModerationController, BlockedDomainsController]

"""An escrow's parties read it and dispute it; admins decide disputes."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dracarys import csv_export
from dracarys.edge import source_ip
from dracarys.identity import CurrentUser, Role, authenticated, requires_role
from dracarys.platform import Platform
from dracarys.wallet.escrow import service
from dracarys.wallet.escrow.models import (
    DisputeRequest,
    DisputeResolution,
    DisputeResponse,
    DisputeView,
    EscrowView,
)


class EscrowController(Controller):
    path = "/api/v1/escrows"
    tags = ("payments",)
    guards = (authenticated,)

    @get("/{escrow_id:uuid}", operation_id="getEscrow", summary="An escrow")
    async def get_escrow(
        self,
        escrow_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> EscrowView:
        return await service.get_escrow(platform, current_user, escrow_id)

    @post(
        "/{escrow_id:uuid}/disputes",
        operation_id="disputeEscrow",
        status_code=HTTP_201_CREATED,
        summary="Dispute money held in escrow (or add evidence)",
    )
    async def dispute(
        self,
        escrow_id: FromPath[uuid.UUID],
        data: JSONBody[DisputeRequest],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> DisputeView:
        return await service.dispute_escrow(platform, current_user, escrow_id, data)

    @post(
        "/{escrow_id:uuid}/disputes/response",
        operation_id="answerEscrowDispute",
        status_code=HTTP_200_OK,
        summary="The other party's side of a dispute (the mentor's, when the mentee opened it)",
    )
    async def respond(
        self,
        escrow_id: FromPath[uuid.UUID],
        data: JSONBody[DisputeResponse],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> DisputeView:
        return await service.respond_to_dispute(platform, current_user, escrow_id, data)


class EscrowAdminController(Controller):
    path = "/api/v1/admin"
    tags = ("payments-admin",)
    guards = (requires_role(Role.ADMIN),)

    @get("/disputes", operation_id="listOpenDisputes", summary="The disputes queue")
    async def disputes(self, platform: NamedDependency[Platform]) -> list[DisputeView]:
        return await service.open_disputes(platform)

    disputes_csv = csv_export.download_route(disputes, DisputeView, "disputes.csv")

    @post(
        "/disputes/{dispute_id:uuid}/resolve",
        operation_id="resolveDispute",
        status_code=HTTP_200_OK,
        summary="Decide a dispute; the refund goes back, the rest is released",
    )
    async def resolve(
        self,
        dispute_id: FromPath[uuid.UUID],
        data: JSONBody[DisputeResolution],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> DisputeView:
        return await service.decide_dispute(
            platform, current_user, dispute_id, data, source_ip(request)
        )


ROUTES: list[Any] = [EscrowController, EscrowAdminController]

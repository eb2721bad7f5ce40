"""Premium routes: a mentor prices their group; a member joins it through the checkout
(the purchase the checkout's "Confirm and pay" calls, with the dialog's idempotency key),
and stops or resumes renewing."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, delete, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from dracarys.community.premium import service
from dracarys.community.premium.models import (
    JoinPaidInput,
    MembershipView,
    PremiumInput,
    PremiumView,
)
from dracarys.identity import CurrentUser, authenticated
from dracarys.platform import Platform


class PremiumController(Controller):
    path = "/api/v1/community"
    tags = ("community",)
    guards = [authenticated]  # noqa: RUF012 - Litestar's declared controller attribute

    @put(
        "/groups/{space_id:uuid}/premium",
        operation_id="setCommunityGroupPremium",
        summary="Price your group by the month (0 makes it free)",
        status_code=HTTP_200_OK,
    )
    async def set_premium(
        self,
        space_id: FromPath[uuid.UUID],
        data: JSONBody[PremiumInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PremiumView:
        return await service.set_premium(platform, current_user, space_id, data)

    @post(
        "/groups/{space_id:uuid}/periods",
        operation_id="joinPremiumCommunityGroup",
        summary="Pay 30 days of a premium group from the wallet (into escrow) and join it",
        status_code=HTTP_201_CREATED,
    )
    async def join_paid(
        self,
        space_id: FromPath[uuid.UUID],
        data: JSONBody[JoinPaidInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        idempotency_key: NamedDependency[str],
    ) -> MembershipView:
        return await service.join_paid(platform, current_user, space_id, data, idempotency_key)

    @delete(
        "/groups/{space_id:uuid}/renewal",
        operation_id="stopPremiumCommunityRenewal",
        summary="Stop renewing your premium membership (it stays open until the paid time ends)",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def stop_renewal(
        self,
        space_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> None:
        await service.set_renewal(platform, current_user, space_id, on=False)

    @put(
        "/groups/{space_id:uuid}/renewal",
        operation_id="resumePremiumCommunityRenewal",
        summary="Renew your premium membership each period again",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def resume_renewal(
        self,
        space_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> None:
        await service.set_renewal(platform, current_user, space_id, on=True)


ROUTES: list[Any] = [PremiumController]

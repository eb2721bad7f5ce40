"""KYC routes for the verification page: the tiers (what each level needs and unlocks,
public) and the caller's own progress through them. Uploads, downloads and the reviewers'
decisions are in `identity.api`."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.di import NamedDependency

from dracarys.identity.access import CurrentUser, authenticated
from dracarys.identity.kyc import service
from dracarys.identity.kyc.models import KycTiers, MyKyc
from dracarys.platform import Platform


class KycController(Controller):
    path = "/api/v1"
    tags = ("identity",)

    @get(
        "/kyc/tiers",
        operation_id="listKycTiers",
        summary="The KYC levels: what each needs and what it unlocks (public)",
        sync_to_thread=False,
    )
    def tiers(self, platform: NamedDependency[Platform]) -> KycTiers:
        return service.kyc_tiers(platform)

    @get(
        "/me/kyc",
        operation_id="getMyKyc",
        summary="My KYC level and, per tier, what is done and each document's state",
        guards=[authenticated],
    )
    async def mine(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> MyKyc:
        return await service.my_kyc(platform, current_user)


ROUTES: list[Any] = [KycController]

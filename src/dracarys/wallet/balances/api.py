"""A wallet's balances and history."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, Parameter

from dracarys.identity import CurrentUser, authenticated
from dracarys.platform import Platform
from dracarys.wallet.balances import service
from dracarys.wallet.balances.models import WalletBalances, WalletHistory


class BalancesController(Controller):
    path = "/api/v1/wallets"
    tags = ("wallet",)
    guards = (authenticated,)

    @get("/{wallet_id:uuid}/balances", operation_id="getWalletBalances", summary="Balances")
    async def balances(
        self,
        wallet_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> WalletBalances:
        return await service.wallet_balances(platform, current_user, wallet_id)

    @get(
        "/{wallet_id:uuid}/history",
        operation_id="getWalletHistory",
        summary="History, newest first, with the running balance (one currency, or all)",
    )
    async def history(
        self,
        wallet_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        currency: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> WalletHistory:
        return await service.wallet_history(
            platform, current_user, wallet_id, currency, cursor=cursor, limit=limit
        )


ROUTES: list[Any] = [BalancesController]

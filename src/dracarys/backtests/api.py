"""Backtests HTTP API under /api/v1/backtests: submit a run or a sweep, read its status,
metrics, equity curve and trades, list them, share them. Handlers call services only."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from dracarys.backtests import service
from dracarys.backtests.models import (
    Backtest,
    BacktestInput,
    BacktestSummary,
    ShareInput,
    TemplateInfo,
)
from dracarys.identity import CurrentUser, authenticated
from dracarys.platform import Platform


class BacktestsController(Controller):
    path = "/api/v1/backtests"
    tags = ("backtests",)
    guards = (authenticated,)

    @post(
        "/",
        operation_id="submitBacktest",
        status_code=HTTP_202_ACCEPTED,
        summary="Queue a backtest (or a parameter sweep) for a worker",
    )
    async def submit(
        self,
        data: JSONBody[BacktestInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Backtest:
        return await service.submit(platform, current_user, data)

    @get("/", operation_id="listBacktests", summary="My backtests and those shared with me")
    async def list_backtests(
        self,
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> list[BacktestSummary]:
        return await service.list_backtests(platform, current_user, limit)

    @get("/templates", operation_id="listBacktestTemplates", summary="Strategy templates")
    async def list_templates(self) -> list[TemplateInfo]:
        return service.templates()

    @get(
        "/{backtest_id:uuid}",
        operation_id="getBacktest",
        summary="Status, metrics, down-sampled equity curve and trades",
    )
    async def get_backtest(
        self,
        backtest_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Backtest:
        return await service.read(platform, current_user, backtest_id)

    @post(
        "/{backtest_id:uuid}/shares",
        operation_id="shareBacktest",
        status_code=HTTP_200_OK,
        summary="Let another user read this backtest",
    )
    async def share(
        self,
        backtest_id: FromPath[uuid.UUID],
        data: JSONBody[ShareInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Backtest:
        return await service.share(platform, current_user, backtest_id, data.user_id)


ROUTES: list[Any] = [BacktestsController]

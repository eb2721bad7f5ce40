"""External brokers' HTTP routes under /api/v1/trading/broker: the member's link (status,
link with keys, unlink), the opt-in, the orders routed and the positions held at the
broker. Handlers call services only."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK

from dracarys.identity import CurrentUser, Role, authenticated, requires_role
from dracarys.platform import Platform
from dracarys.trading.brokers import service
from dracarys.trading.brokers.models import (
    BrokerLinkInput,
    BrokerPosition,
    BrokerStatus,
    OptInInput,
    RoutedOrder,
)


class BrokerController(Controller):
    path = "/api/v1/trading/broker"
    tags = ["brokers"]  # noqa: RUF012 (Litestar declares it as an instance attribute)
    guards = [authenticated, requires_role(Role.MENTEE, Role.MENTOR)]  # noqa: RUF012

    @get(
        "/",
        operation_id="getBrokerLink",
        summary="Whether orders may go to a broker here, what it needs, and your link",
    )
    async def status(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> BrokerStatus:
        return await service.broker_status(platform, current_user)

    @put(
        "/link",
        operation_id="linkBroker",
        summary="Link your Alpaca account: the keys are checked with Alpaca, then sealed",
        description="Needs KYC level 2 and external brokers enabled on the platform. "
        "Linking (or new keys) leaves routing off until you opt in. **422** names "
        "`api_key_id` when Alpaca refuses the keys.",
    )
    async def link(
        self,
        data: JSONBody[BrokerLinkInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> BrokerStatus:
        return await service.link_broker(platform, current_user, data)

    @delete(
        "/link",
        operation_id="unlinkBroker",
        status_code=HTTP_200_OK,
        summary="Forget your broker keys; nothing more is routed",
    )
    async def unlink(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> BrokerStatus:
        return await service.unlink_broker(platform, current_user)

    @put(
        "/opt-in",
        operation_id="setBrokerOptIn",
        summary="Route your mirrored signals to your broker (true) or keep them on paper",
    )
    async def opt_in(
        self,
        data: JSONBody[OptInInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> BrokerStatus:
        return await service.set_opt_in(platform, current_user, data.opted_in)

    @get(
        "/orders",
        operation_id="listRoutedOrders",
        summary="Mirrored orders sent to your broker, newest first, with their fills",
    )
    async def orders(
        self,
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> list[RoutedOrder]:
        return await service.routed_orders(platform, current_user, limit)

    @post(
        "/orders/{order_id:uuid}/cancel",
        operation_id="cancelRoutedOrder",
        status_code=HTTP_200_OK,
        summary="Ask your broker to cancel a routed order that is still open",
    )
    async def cancel(
        self,
        order_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> RoutedOrder:
        return await service.cancel_routed_order(platform, current_user, order_id)

    @get(
        "/positions",
        operation_id="listBrokerPositions",
        summary="The positions held at your broker, asked for now",
    )
    async def positions(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[BrokerPosition]:
        return await service.broker_positions(platform, current_user)


ROUTES: list[Any] = [BrokerController]

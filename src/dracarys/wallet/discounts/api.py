"""A member's discount codes."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.di import NamedDependency

from dracarys.identity import CurrentUser, authenticated
from dracarys.platform import Platform
from dracarys.wallet.discounts import service
from dracarys.wallet.discounts.models import DiscountCodeView


@get(
    "/api/v1/wallet/discount-codes",
    operation_id="listMyDiscountCodes",
    guards=[authenticated],
    tags=["points", "wallet"],
    summary="Your discount codes (bought with points), usable, used or expired",
)
async def discount_codes(
    platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
) -> list[DiscountCodeView]:
    return await service.my_discount_codes(platform, current_user.id)


ROUTES: list[Any] = [discount_codes]

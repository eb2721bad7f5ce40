"""A member's discount codes, and the promo codes admins create, list and deactivate."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dracarys import csv_export
from dracarys.edge import source_ip
from dracarys.identity import CurrentUser, Role, authenticated, requires_role
from dracarys.platform import Platform
from dracarys.wallet.discounts import service
from dracarys.wallet.discounts.models import DiscountCodeView, PromoCodeInput, PromoCodeView


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


class PromoCodesAdminController(Controller):
    path = "/api/v1/admin"
    tags = ("payments-admin",)
    guards = (requires_role(Role.ADMIN),)

    @post(
        "/promo-codes",
        operation_id="createPromoCode",
        status_code=HTTP_201_CREATED,
        summary="Create a promo code (percent or fixed, window, limits, what it pays for)",
    )
    async def create(
        self,
        data: JSONBody[PromoCodeInput],
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PromoCodeView:
        return await service.create_promo_code(
            platform, current_user, data, source_ip=source_ip(request)
        )

    @get(
        "/promo-codes",
        operation_id="listPromoCodes",
        summary="Every promo code, newest first, with its uses and the uses remaining",
    )
    async def list_codes(self, platform: NamedDependency[Platform]) -> list[PromoCodeView]:
        return await service.promo_codes(platform)

    list_codes_csv = csv_export.download_route(list_codes, PromoCodeView, "promo-codes.csv")

    @post(
        "/promo-codes/{code:str}/deactivate",
        operation_id="deactivatePromoCode",
        status_code=HTTP_200_OK,
        summary="Stop a promo code now (uses already made stand)",
    )
    async def deactivate(
        self,
        code: FromPath[str],
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PromoCodeView:
        return await service.deactivate_promo_code(
            platform, current_user, code, source_ip=source_ip(request)
        )


ROUTES: list[Any] = [discount_codes, PromoCodesAdminController]

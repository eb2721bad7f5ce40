"""The checkout endpoint: a quote before any purchase."""

from __future__ import annotations

from typing import Any

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from dracarys.checkout import service
from dracarys.checkout.models import Quote, QuoteInput
from dracarys.identity import CurrentUser, authenticated
from dracarys.platform import Platform


class CheckoutController(Controller):
    path = "/api/v1/checkout"
    tags = ("checkout",)
    guards = (authenticated,)

    @post(
        "/quote",
        operation_id="quoteCheckout",
        status_code=HTTP_200_OK,
        summary="What a session, cohort seat or signal feed would charge now (nothing is held)",
    )
    async def quote(
        self,
        data: JSONBody[QuoteInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Quote:
        return await service.quote(platform, current_user, data)


ROUTES: list[Any] = [CheckoutController]

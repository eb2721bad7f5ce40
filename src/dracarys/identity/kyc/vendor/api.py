"""The verification vendor's callback. No bearer token here: Smile ID proves itself by
the signature over the callback's timestamp, checked before anything is read into the
database; a bad or stale signature is a 401 problem and changes nothing."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK

from dracarys.identity.kyc.vendor import service
from dracarys.identity.kyc.vendor.models import CallbackAck
from dracarys.platform import Platform

# Smile ID posts a callback of a few kilobytes (no images); bound what is read.
CALLBACK_MAX_BODY = 64 * 1024


class VendorCallbacksController(Controller):
    path = "/api/v1/webhooks"
    tags = ("webhooks",)

    @post(
        "/smile-id",
        operation_id="smileIdCallback",
        summary="Smile ID's signed result of a document verification job",
        status_code=HTTP_200_OK,
        request_max_body_size=CALLBACK_MAX_BODY,
    )
    async def smile_id(
        self, request: Request[Any, Any, Any], platform: NamedDependency[Platform]
    ) -> CallbackAck:
        """A repeated callback is answered 200 too (Smile ID retries until it gets one),
        but only the first one acts."""
        await service.receive_callback(platform, await request.body())
        return CallbackAck()


ROUTES: list[Any] = [VendorCallbacksController]

"""Push over HTTP: the VAPID public key browsers subscribe with, and your devices —
subscribe this browser, list them, remove one (by id, or by the browser's endpoint)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from dracarys.identity import CurrentUser, authenticated
from dracarys.notifications.push import service
from dracarys.notifications.push.models import (
    DeviceList,
    DeviceView,
    PushKey,
    SubscribeInput,
    UnsubscribeInput,
)
from dracarys.platform import Platform


@get(
    "/api/v1/notifications/push/key",
    operation_id="getPushKey",
    guards=[authenticated],
    tags=["notifications"],
    summary="The VAPID public key (base64url) to pass as the subscription's applicationServerKey",
)
async def push_key(platform: NamedDependency[Platform]) -> PushKey:
    return await service.push_key(platform)


@get(
    "/api/v1/notifications/push/devices",
    operation_id="listPushDevices",
    guards=[authenticated],
    tags=["notifications"],
    summary="The devices (browsers) your push notifications go to",
)
async def list_devices(
    platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
) -> DeviceList:
    return await service.devices(platform, current_user)


@post(
    "/api/v1/notifications/push/devices",
    operation_id="subscribePushDevice",
    guards=[authenticated],
    tags=["notifications"],
    summary="Store this browser's push subscription (PushSubscription.toJSON()) as your device",
    status_code=HTTP_201_CREATED,
)
async def subscribe(
    data: JSONBody[SubscribeInput],
    request: Request[Any, Any, Any],
    platform: NamedDependency[Platform],
    current_user: NamedDependency[CurrentUser],
) -> DeviceView:
    return await service.subscribe(platform, current_user, data, request.headers.get("user-agent"))


@delete(
    "/api/v1/notifications/push/devices/{device_id:uuid}",
    operation_id="removePushDevice",
    guards=[authenticated],
    tags=["notifications"],
    summary="Stop push notifications to one of your devices",
    status_code=HTTP_204_NO_CONTENT,
)
async def remove_device(
    device_id: FromPath[uuid.UUID],
    platform: NamedDependency[Platform],
    current_user: NamedDependency[CurrentUser],
) -> None:
    await service.remove_device(platform, current_user, device_id)


@post(
    "/api/v1/notifications/push/unsubscribe",
    operation_id="unsubscribePushDevice",
    guards=[authenticated],
    tags=["notifications"],
    summary="This browser unsubscribed: forget its endpoint (yours only; unknown is no error)",
    status_code=HTTP_204_NO_CONTENT,
)
async def unsubscribe(
    data: JSONBody[UnsubscribeInput],
    platform: NamedDependency[Platform],
    current_user: NamedDependency[CurrentUser],
) -> None:
    await service.unsubscribe(platform, current_user, data)


ROUTES: list[Any] = [push_key, list_devices, subscribe, remove_device, unsubscribe]

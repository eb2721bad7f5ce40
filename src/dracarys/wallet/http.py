"""What the wallet's handlers read of a request besides its typed body: a provider
callback's JSON object."""

from __future__ import annotations

from typing import Any

from litestar import Request

from dracarys.errors import InvalidInput


async def json_object(request: Request[Any, Any, Any]) -> dict[str, Any]:
    body = await request.json()
    if not isinstance(body, dict):
        raise InvalidInput("the body is not a JSON object", field="body")
    return body

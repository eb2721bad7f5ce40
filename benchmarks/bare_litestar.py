"""The peer: a bare Litestar app with the same `/health` handler and nothing else."""

from __future__ import annotations

import msgspec
from litestar import Litestar, get


class HealthStatus(msgspec.Struct):
    status: str


@get("/health")
async def health() -> HealthStatus:
    return HealthStatus(status="ok")


app = Litestar(route_handlers=[health])

"""Liveness and readiness probes (`ROUTES`): `/health` answers while the process runs,
`/ready` once PostgreSQL (and Redis, when configured) answer."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency

from dracarys.platform import Platform
from dracarys.system import service
from dracarys.system.models import HealthStatus, ReadinessStatus


@get("/health", operation_id="getHealth", tags=["system"], summary="Liveness probe")
async def health() -> HealthStatus:
    return HealthStatus(status="ok")


@get("/ready", operation_id="getReadiness", tags=["system"], summary="Readiness probe")
async def ready(platform: NamedDependency[Platform]) -> ReadinessStatus:
    return await service.readiness(platform)


ROUTES = [health, ready]

"""What the probes answer."""

from __future__ import annotations

from dracarys.wire import Schema


class HealthStatus(Schema):
    status: str


class ReadinessStatus(Schema):
    status: str
    postgres: str
    redis: str

"""Identity's scheduled job: KYC checks whose vendor result never came are asked about
(Smile ID's job-status query) and, past the deadline, handed to the reviewers. Thin: it
calls identity's service."""

from __future__ import annotations

from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask

from dracarys.identity import jobs
from workers.broker import PlatformJob, register_cron_jobs

RECONCILE_KYC_VENDOR_CHECKS = "identity.reconcile_kyc_vendor_checks"

_JOBS: dict[str, tuple[PlatformJob, str]] = {
    RECONCILE_KYC_VENDOR_CHECKS: (jobs.reconcile_vendor_checks, "*/5 * * * *"),
}


def register_identity_tasks(
    broker: AsyncBroker,
) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return register_cron_jobs(broker, _JOBS)

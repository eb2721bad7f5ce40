"""Identity's scheduled jobs, listed for the worker's scheduler (`workers.identity_tasks`)
and nothing else: kept off identity's public surface, whose importers would otherwise
reach the mail and outbox machinery a job needs."""

from __future__ import annotations

from dracarys.identity.kyc.vendor.service import reconcile_vendor_checks

__all__ = ["reconcile_vendor_checks"]

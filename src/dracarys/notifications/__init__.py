"""Notifications (issue 20): one workflow per kind of notification (`workflows`), the
in-app inbox (`inbox`), each person's channels and quiet hours (`preferences`), and
e-mail/SMS sent at once, after quiet hours or in the daily digest (`delivery`), through
messaging.

Other code uses notifications through what this module exports: the consumer the
workers list (`notify`, for `CONSUMED_TOPICS`) and the scheduled jobs
(`release_deferred`, `send_digests`)."""

from dracarys.notifications.consumers import CONSUMED_TOPICS, notify
from dracarys.notifications.delivery.service import release_deferred, send_digests

__all__ = ["CONSUMED_TOPICS", "notify", "release_deferred", "send_digests"]

"""Notifications (issue 20): one workflow per kind of notification (`workflows`), the
in-app inbox (`inbox`), each person's channels and quiet hours (`preferences`), e-mail/SMS
sent at once, after quiet hours or in the daily digest (`delivery`), through messaging;
and mentor–mentee messages (`chat`).

Other code uses notifications through what this module exports: the consumer the
workers list (`notify`, for `CONSUMED_TOPICS`), the scheduled jobs (`release_deferred`,
`send_digests`), and who may watch a conversation's stream channel
(`conversation_members`, the `chat:` channel policy's check)."""

from dracarys.notifications.chat.service import conversation_members
from dracarys.notifications.consumers import CONSUMED_TOPICS, notify
from dracarys.notifications.delivery.service import release_deferred, send_digests

__all__ = ["CONSUMED_TOPICS", "conversation_members", "notify", "release_deferred", "send_digests"]

"""Notifications (issue 20): one workflow per kind of notification (`workflows`), the
in-app inbox (`inbox`), each person's channels and quiet hours (`preferences`), e-mail/SMS
sent at once, after quiet hours or in the daily digest (`delivery`), through messaging;
Web Push to each person's subscribed browsers (`push`); the texts, in English and Swahili,
that admins edit as versions (`templates`); and mentor–mentee messages (`chat`).

Other code uses notifications through what this module exports: the consumer the
workers list (`notify`, for `CONSUMED_TOPICS`; `deliver_push`, for `PUSH_SEND`;
`publish_sent_messages`, for `CHAT_MESSAGE_SENT`: each chat message's live frame from the
outbox, whatever became of the API's own publish), the
scheduled jobs (`release_deferred`, `send_digests`, `requeue_unsent_pushes`, and the drip
programs' `advance_drips` and `enrol_inactive_members`), the drip programs' consumer
(`apply_program_events`, for `PROGRAM_TOPICS`), the VAPID key pair made at first start
(`ensure_vapid_keys`), and who may watch a conversation's stream channel
(`conversation_members`, the `chat:` channel policy's check)."""

from dracarys.notifications.chat.events import CHAT_MESSAGE_SENT
from dracarys.notifications.chat.service import conversation_members, publish_sent_messages
from dracarys.notifications.consumers import CONSUMED_TOPICS, notify
from dracarys.notifications.delivery.service import release_deferred, send_digests
from dracarys.notifications.programs.service import (
    PROGRAM_TOPICS,
    advance_drips,
    apply_program_events,
    enrol_inactive_members,
)
from dracarys.notifications.push.events import PUSH_SEND
from dracarys.notifications.push.service import (
    deliver_push,
    ensure_vapid_keys,
    requeue_unsent_pushes,
)

__all__ = [
    "CHAT_MESSAGE_SENT",
    "CONSUMED_TOPICS",
    "PROGRAM_TOPICS",
    "PUSH_SEND",
    "advance_drips",
    "apply_program_events",
    "conversation_members",
    "deliver_push",
    "enrol_inactive_members",
    "ensure_vapid_keys",
    "notify",
    "publish_sent_messages",
    "release_deferred",
    "requeue_unsent_pushes",
    "send_digests",
]

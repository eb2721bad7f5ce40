"""Messaging: transactional e-mail (SMTP) and SMS (HTTP gateway), queued through the
outbox and sent by the `messaging.deliver` consumer. Recipients and contents are sealed
at rest; other code reads messages through `list_messages`.

A domain defines the templates it sends (`EmailTemplate`, `SmsTemplate`) and queues a
message inside its own transaction::

    await queue_email(conn, settings, to=..., template=WELCOME, context={...}, now=now)
"""

from dracarys.messaging.adapters import outbound_directory
from dracarys.messaging.events import EMAIL_SEND, SMS_SEND
from dracarys.messaging.models import MessageContent, OutboundMessage
from dracarys.messaging.sealing import seal_plain_messages
from dracarys.messaging.service import (
    deliver_message,
    list_messages,
    queue_email,
    queue_sms,
    requeue_unsent,
)
from dracarys.messaging.templates import EmailTemplate, RenderedEmail, SmsTemplate, render_email

__all__ = [
    "EMAIL_SEND",
    "SMS_SEND",
    "EmailTemplate",
    "MessageContent",
    "OutboundMessage",
    "RenderedEmail",
    "SmsTemplate",
    "deliver_message",
    "list_messages",
    "outbound_directory",
    "queue_email",
    "queue_sms",
    "render_email",
    "requeue_unsent",
    "seal_plain_messages",
]

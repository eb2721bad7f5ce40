"""Topics messaging emits and consumes."""

from __future__ import annotations

EMAIL_SEND = "email.send"  # {message_id}
SMS_SEND = "sms.send"  # {message_id}
EMAIL_CLICKED = "email.clicked"  # {user_id, email_id}

"""Messaging: transactional e-mail (SMTP) and SMS (HTTP gateway), queued through the
outbox and sent by the `messaging.deliver` consumer. Recipients and contents are sealed
at rest; other code reads messages through `list_messages`."""

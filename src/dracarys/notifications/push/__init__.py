"""Web Push: the VAPID key pair, each person's browser subscriptions, and the pushes that
carry a notification's in-app title, body and link to them (RFC 8291 payloads, RFC 8292
VAPID), sent by the `notifications.push` consumer through `pywebpush`."""

"""The in-app inbox: notifications as people read them, unread counts, read and archive."""

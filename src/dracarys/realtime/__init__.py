"""Real-time streams inside the platform: the publisher's transport chosen from settings,
who may watch which channel, and the `/api/v1/stream` WebSocket route (the protocol
itself lives in the top-level `streams` package)."""

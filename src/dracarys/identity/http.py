"""What identity's handlers read of a request besides its typed body: the client's
address, for the audit log and the throttles."""

from __future__ import annotations

from typing import Any

from litestar import Request


def source_ip(request: Request[Any, Any, Any]) -> str | None:
    """The client's address; behind a trusted proxy, the one it forwarded (see app.py)."""
    return request.client.host if request.client else None

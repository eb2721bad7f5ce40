"""The chat pages' routes (see pages.py for how pages are served): members' messages, and
the moderators' queue of reported messages."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from dracarys.web.render import render_page


@get("/chat", operation_id="webChat", include_in_schema=False, sync_to_thread=False)
def chat_page() -> Response[str]:
    """Conversations and one thread: live over the stream, resumed by seq after a drop;
    read receipts, typing, attachments, pinned lessons, block, report, search."""
    return render_page("chat.html", page="chat", title="Messages")


@get(
    "/staff/chat-reports",
    operation_id="webChatReports",
    include_in_schema=False,
    sync_to_thread=False,
)
def chat_reports_page() -> Response[str]:
    """Reported messages for reviewers and admins: dismiss, or remove the message."""
    return render_page("staff_chat_reports.html", page="chat_reports", title="Chat reports")


ROUTES: list[Any] = [chat_page, chat_reports_page]

"""Chat routes: conversations, messages (sent over HTTP with an idempotency key, received
live on the `chat:{conversation_id}` stream channel), attachments, read positions,
typing, blocks, search, reports, and the moderators' queue."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import (
    FromPath,
    FromQuery,
    JSONBody,
    MultipartBody,
    QueryParameter,
)
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from dracarys import csv_export
from dracarys.edge import source_ip
from dracarys.idempotency import IdempotencyKeyHeader, resolve_idempotency_key
from dracarys.identity import CurrentUser, Role, authenticated, requires_role
from dracarys.notifications.chat import service
from dracarys.notifications.chat.models import (
    Contact,
    ConversationView,
    MessagesPage,
    MessageView,
    ReadInput,
    ReportInput,
    ReportView,
    ResolveInput,
    SearchHit,
    SendInput,
    StartInput,
)
from dracarys.platform import Platform

# Litestar refuses larger bodies before reading them; the service enforces the configured
# limit (DRACARYS_CHAT_ATTACHMENT_MAX_BYTES) below this.
ATTACHMENT_MAX_BODY = 26_000_000
MAX_SEQ = 2**62


@dataclass
class AttachmentForm:
    file: UploadFile
    caption: str = ""
    idempotency_key: str | None = None


class ChatController(Controller):
    path = "/api/v1/chat"
    tags = ("chat",)
    guards = [authenticated]  # noqa: RUF012 - Litestar's declared controller attribute

    @get(
        "/conversations",
        operation_id="listChatConversations",
        summary="Your conversations, latest first",
    )
    async def list_conversations(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[ConversationView]:
        return await service.conversations(platform, current_user)

    @get(
        "/contacts",
        operation_id="listChatContacts",
        summary="People a booking, a paid signal feed or a cohort links to you",
    )
    async def contacts(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[Contact]:
        return await service.contacts(platform, current_user)

    @post(
        "/conversations",
        operation_id="startChatConversation",
        summary="Message someone: opens a linked pair's conversation, or asks a mentor",
        status_code=HTTP_201_CREATED,
    )
    async def start(
        self,
        data: JSONBody[StartInput],
        idempotency_key: NamedDependency[str],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> MessageView:
        return await service.start(platform, current_user, data, idempotency_key)

    @get(
        "/conversations/{conversation_id:uuid}",
        operation_id="getChatConversation",
        summary="One conversation",
    )
    async def get_conversation(
        self,
        conversation_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ConversationView:
        return await service.conversation(platform, current_user, conversation_id)

    @get(
        "/conversations/{conversation_id:uuid}/messages",
        operation_id="listChatMessages",
        summary="Messages oldest first: after a seq (to resume), or the latest before one",
    )
    async def list_messages(
        self,
        conversation_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        after_seq: Annotated[
            int | None, QueryParameter(ge=0, le=MAX_SEQ, schema_extra={"minimum": 0})
        ] = None,
        before_seq: Annotated[int | None, QueryParameter(ge=1, le=MAX_SEQ)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> MessagesPage:
        return await service.messages(
            platform,
            current_user,
            conversation_id,
            after_seq=after_seq,
            before_seq=before_seq,
            limit=limit,
        )

    @post(
        "/conversations/{conversation_id:uuid}/messages",
        operation_id="sendChatMessage",
        summary="Send a message or pin a lesson; a retry with the same key sends nothing twice",
        status_code=HTTP_201_CREATED,
    )
    async def send(
        self,
        conversation_id: FromPath[uuid.UUID],
        data: JSONBody[SendInput],
        idempotency_key: NamedDependency[str],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> MessageView:
        return await service.send(platform, current_user, conversation_id, data, idempotency_key)

    @post(
        "/conversations/{conversation_id:uuid}/attachments",
        operation_id="sendChatAttachment",
        summary="Send a PDF or a picture (checked by its bytes, size-limited)",
        status_code=HTTP_201_CREATED,
        request_max_body_size=ATTACHMENT_MAX_BODY,
    )
    async def send_attachment(
        self,
        conversation_id: FromPath[uuid.UUID],
        data: MultipartBody[AttachmentForm],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> MessageView:
        key = resolve_idempotency_key(
            idempotency_key_header,
            {"idempotency_key": data.idempotency_key} if data.idempotency_key else {},
        )
        content = await data.file.read()
        return await service.send_attachment(
            platform,
            current_user,
            conversation_id,
            file_name=data.file.filename or "attachment",
            content=content,
            caption=data.caption,
            key=key,
        )

    @get(
        "/attachments/{attachment_id:uuid}",
        operation_id="getChatAttachment",
        summary="An attachment's file (the conversation's members and staff only)",
    )
    async def get_attachment(
        self,
        attachment_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Response[bytes]:
        found = await service.attachment(platform, current_user, attachment_id)
        disposition = "inline" if found.content_type.startswith("image/") else "attachment"
        return Response(
            content=found.content,
            media_type=found.content_type,
            headers={
                "Content-Disposition": f'{disposition}; filename="{found.file_name}"',
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, no-store",
            },
        )

    @post(
        "/conversations/{conversation_id:uuid}/read",
        operation_id="markChatRead",
        summary="You have read up to this seq (never moves back)",
        status_code=HTTP_200_OK,
    )
    async def read(
        self,
        conversation_id: FromPath[uuid.UUID],
        data: JSONBody[ReadInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ConversationView:
        return await service.mark_read(platform, current_user, conversation_id, data.seq)

    @post(
        "/conversations/{conversation_id:uuid}/typing",
        operation_id="sendChatTyping",
        summary="Show the other member you are typing (not stored; at most every 2 s)",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def typing(
        self,
        conversation_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> None:
        await service.typing(platform, current_user, conversation_id)

    @post(
        "/conversations/{conversation_id:uuid}/accept",
        operation_id="acceptChatRequest",
        summary="Accept a mentee's message request (mentor)",
        status_code=HTTP_200_OK,
    )
    async def accept(
        self,
        conversation_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ConversationView:
        return await service.answer_request(platform, current_user, conversation_id, accept=True)

    @post(
        "/conversations/{conversation_id:uuid}/decline",
        operation_id="declineChatRequest",
        summary="Decline a mentee's message request (mentor)",
        status_code=HTTP_200_OK,
    )
    async def decline(
        self,
        conversation_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ConversationView:
        return await service.answer_request(platform, current_user, conversation_id, accept=False)

    @post(
        "/conversations/{conversation_id:uuid}/block",
        operation_id="blockChatConversation",
        summary="Block: nobody sends in this conversation until you unblock it",
        status_code=HTTP_200_OK,
    )
    async def block(
        self,
        conversation_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ConversationView:
        return await service.set_block(platform, current_user, conversation_id, block=True)

    @post(
        "/conversations/{conversation_id:uuid}/unblock",
        operation_id="unblockChatConversation",
        summary="Unblock a conversation you blocked",
        status_code=HTTP_200_OK,
    )
    async def unblock(
        self,
        conversation_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ConversationView:
        return await service.set_block(platform, current_user, conversation_id, block=False)

    @get("/search", operation_id="searchChat", summary="Search your conversations' history")
    async def search(
        self,
        q: FromQuery[str],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 30,
    ) -> list[SearchHit]:
        return await service.search(platform, current_user, q, limit)

    @post(
        "/messages/{message_id:uuid}/report",
        operation_id="reportChatMessage",
        summary="Report another member's message to the moderators",
        status_code=HTTP_201_CREATED,
    )
    async def report(
        self,
        message_id: FromPath[uuid.UUID],
        data: JSONBody[ReportInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ReportView:
        return await service.report(platform, current_user, message_id, data)


class ChatReportsController(Controller):
    path = "/api/v1/chat"
    tags = ("chat",)
    guards = [requires_role(Role.REVIEWER, Role.ADMIN)]  # noqa: RUF012

    @get("/reports", operation_id="listChatReports", summary="Reported messages, oldest first")
    async def list_reports(
        self, platform: NamedDependency[Platform], status: FromQuery[str] = "open"
    ) -> list[ReportView]:
        return await service.reports(platform, open_only=status == "open")

    @post(
        "/reports/{report_id:uuid}/resolve",
        operation_id="resolveChatReport",
        summary="Dismiss a report, or remove the message",
        status_code=HTTP_200_OK,
    )
    async def resolve(
        self,
        report_id: FromPath[uuid.UUID],
        data: JSONBody[ResolveInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> ReportView:
        return await service.resolve(platform, current_user, report_id, data, source_ip(request))

    list_reports_csv = csv_export.download_route(list_reports, ReportView, "chat-reports.csv")


ROUTES: list[Any] = [ChatController, ChatReportsController]

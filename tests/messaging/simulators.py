"""Local stand-ins for the providers messaging talks to, speaking their wire formats:
an SMTP server (aiosmtpd) and an HTTP SMS gateway with the Africa's Talking messaging API
(form fields username/to/message/from, `apiKey` header, SMSMessageData JSON reply)."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import socket
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from litestar import Litestar, Request, Response, post


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        # Mailboxes the server says do not exist, as a real one does at RCPT TO.
        self.unknown_mailboxes: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address.lower() in self.unknown_mailboxes:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"


class SmtpSimulator:
    def __init__(self) -> None:
        self.inbox = _Inbox()
        self.port = free_port()
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.inbox.messages if address.lower() in m["X-Envelope-To"].lower()]

    async def wait_for(
        self, address: str, count: int = 1, timeout_s: float = 10
    ) -> list[EmailMessage]:
        for _ in range(int(timeout_s / 0.05)):
            found = self.to(address)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"no mail for {address} within {timeout_s}s")


@dataclass
class SmsSimulator:
    username: str = "dracarys-test"
    api_key: str = "at-test-key-" + uuid.uuid4().hex
    port: int = field(default_factory=free_port)
    sent: list[dict[str, str]] = field(default_factory=list)
    failing: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/version1/messaging"

    def app(self) -> Litestar:
        simulator = self

        @post("/version1/messaging", status_code=201)
        async def messaging(request: Request[Any, Any, Any]) -> Response[Any]:
            if request.headers.get("apiKey") != simulator.api_key:
                return Response("The supplied authentication is invalid", status_code=401)
            form = await request.form()
            if form.get("username") != simulator.username:
                return Response("Invalid username", status_code=401)
            number = str(form.get("to", ""))
            if simulator.failing:
                recipient = {
                    "statusCode": 403,
                    "number": number,
                    "status": "InvalidPhoneNumber",
                    "cost": "0",
                    "messageId": "None",
                }
            else:
                simulator.sent.append(
                    {
                        "to": number,
                        "message": str(form.get("message", "")),
                        "from": str(form.get("from", "")),
                    }
                )
                recipient = {
                    "statusCode": 101,
                    "number": number,
                    "status": "Success",
                    "cost": "KES 0.8000",
                    "messageId": f"ATXid_{uuid.uuid4().hex}",
                }
            return Response(
                {
                    "SMSMessageData": {
                        "Message": "Sent to 1/1 Total Cost: KES 0.8000",
                        "Recipients": [recipient],
                    }
                },
                status_code=201,
            )

        return Litestar([messaging])

    def to(self, number: str) -> list[dict[str, str]]:
        return [m for m in self.sent if m["to"] == number]

    async def wait_for(self, number: str, timeout_s: float = 10) -> dict[str, str]:
        for _ in range(int(timeout_s / 0.05)):
            if found := self.to(number):
                return found[-1]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no SMS to {number} within {timeout_s}s")


@asynccontextmanager
async def serve_http(app: Litestar, port: int) -> AsyncIterator[None]:
    """Serve `app` on 127.0.0.1:`port` from a thread with its own event loop, so the
    simulator answers even while the test's loop waits on the app under test."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    # Leave the test runner's signal handlers alone.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    thread = threading.Thread(target=server.run, name=f"simulator-{port}", daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 10)

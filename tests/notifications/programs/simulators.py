"""A mail provider's webhook sender, as a real provider posts it: a Postmark-shaped JSON
record (`RecordType` "Bounce" with `Type` "HardBounce" / "SoftBounce", or
"SpamComplaint") signed with the shared secret in `X-Mail-Signature: t=<unix seconds>,
v1=<hex HMAC-SHA256 of "<t>." + body>`. Written from that description, not from our
verifier, so the two must agree on the wire."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class MailProviderSimulator:
    secret: str = field(default_factory=lambda: "whsec_" + uuid.uuid4().hex)

    def body(self, record_type: str, email: str, kind: str = "") -> bytes:
        record: dict[str, Any] = {
            "RecordType": record_type,
            "Email": email,
            "MessageID": str(uuid.uuid4()),
            "Description": "The server was unable to deliver your message (ex: unknown user).",
            "BouncedAt": "2026-12-04T12:00:00Z",
        }
        if kind:
            record["Type"] = kind
        return json.dumps(record).encode()

    def signature(self, body: bytes, timestamp: int, secret: str | None = None) -> str:
        key = (secret or self.secret).encode()
        digest = hmac.new(key, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
        return f"t={timestamp},v1={digest}"

    async def post(
        self,
        client: httpx.AsyncClient,
        body: bytes,
        timestamp: int,
        *,
        signature: str | None = None,
    ) -> httpx.Response:
        return await client.post(
            "/api/v1/webhooks/mail",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Mail-Signature": signature or self.signature(body, timestamp),
            },
        )

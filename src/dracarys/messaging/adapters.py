"""The providers behind messaging: SMTP over aiosmtplib, and an SMS gateway speaking the
Africa's Talking messaging API (form POST with `apiKey` header, JSON reply listing
recipients with a status code per number). `OutboundFiles` stands in for both where no
provider is configured (the embedded mode): it writes each message to a file."""

from __future__ import annotations

import asyncio
import uuid
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import aiosmtplib
import httpx
import msgspec

from dracarys.errors import ServiceUnavailable
from dracarys.settings import Settings

# Africa's Talking per-recipient codes that mean "accepted by the gateway".
_SMS_ACCEPTED = frozenset({100, 101, 102})


def email_message(
    settings: Settings,
    *,
    message_id: uuid.UUID,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    domain = settings.mail_from.rpartition("@")[2].rstrip(">") or "dracarys.local"
    message["Message-ID"] = make_msgid(idstring=message_id.hex, domain=domain)
    message["X-Dracarys-Message"] = str(message_id)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def send(self, message: EmailMessage) -> str:
        settings = self._settings
        try:
            await aiosmtplib.send(
                message,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username or None,
                password=settings.smtp_password or None,
                use_tls=settings.smtp_security == "tls",
                start_tls=settings.smtp_security == "starttls",
                timeout=30,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise ServiceUnavailable(f"the mail server refused or is unreachable: {exc}") from exc
        return str(message["Message-ID"])


class OutboundFiles:
    """Messages written to `<data_dir>/outbound/` instead of sent: `<message id>.eml` (the
    e-mail as SMTP would carry it; any mail client opens it) and `<message id>.sms.txt`.
    A re-delivery overwrites the same file, so nothing appears twice."""

    def __init__(self, settings: Settings) -> None:
        self.directory = outbound_directory(settings)

    async def write_email(self, message_id: uuid.UUID, message: EmailMessage) -> str:
        path = self.directory / f"{message_id}.eml"
        await asyncio.to_thread(self._write, path, message.as_bytes())
        return f"file:{path.name}"

    async def write_sms(self, message_id: uuid.UUID, to: str, text: str) -> str:
        path = self.directory / f"{message_id}.sms.txt"
        await asyncio.to_thread(self._write, path, f"To: {to}\n\n{text}\n".encode())
        return f"file:{path.name}"

    @staticmethod
    def _write(path: Path, content: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(path.suffix + ".partial")
        partial.write_bytes(content)
        partial.replace(path)  # a reader never sees half a message


def outbound_directory(settings: Settings) -> Path:
    return settings.data_path / "outbound"


class _Recipient(msgspec.Struct):
    statusCode: int
    number: str
    status: str
    messageId: str = ""


class _SmsData(msgspec.Struct):
    Message: str
    Recipients: list[_Recipient]


class _SmsReply(msgspec.Struct):
    SMSMessageData: _SmsData


class SmsGateway:
    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self._settings = settings
        self._client = client

    @property
    def enabled(self) -> bool:
        return bool(self._settings.sms_api_url)

    async def send(self, *, to: str, text: str) -> str:
        settings = self._settings
        if not self.enabled:
            raise ServiceUnavailable("SMS is not configured (DRACARYS_SMS_API_URL is empty)")
        form = {"username": settings.sms_username, "to": to, "message": text}
        if settings.sms_sender_id:
            form["from"] = settings.sms_sender_id
        headers = {"apiKey": settings.sms_api_key, "Accept": "application/json"}
        try:
            if self._client is not None:
                response = await self._client.post(settings.sms_api_url, data=form, headers=headers)
            else:
                async with httpx.AsyncClient(timeout=30) as client:
                    response = await client.post(settings.sms_api_url, data=form, headers=headers)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"the SMS gateway is unreachable: {exc}") from exc
        if response.status_code >= 300:
            raise ServiceUnavailable(
                f"the SMS gateway answered {response.status_code}: {response.text[:200]}"
            )
        try:
            reply = msgspec.json.decode(response.content, type=_SmsReply)
        except msgspec.DecodeError as exc:
            raise ServiceUnavailable("the SMS gateway sent an unreadable reply") from exc
        recipients = reply.SMSMessageData.Recipients
        if not recipients or recipients[0].statusCode not in _SMS_ACCEPTED:
            status = recipients[0].status if recipients else reply.SMSMessageData.Message
            raise ServiceUnavailable(f"the SMS gateway did not accept the message: {status}")
        return recipients[0].messageId

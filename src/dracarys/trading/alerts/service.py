"""TradingView alerts in: each mentor's secret webhook and what an alert sent to it
becomes.

The webhook URL carries a random token shown to the mentor once and stored as its
SHA-256 only; it is found by an equality lookup on that digest (a unique index), so no
comparison ever runs over the token itself, and a rotated or revoked token is simply not
found (404, as for a token that never existed). An alert is read as JSON whatever its
content type (TradingView sends `text/plain` for a message that is not valid JSON when
the alert is saved, and for many that are), checked field by field, and then:

1. De-duplicated: its key is the SHA-256 of its `alert_id`, or of its canonical payload
   without one. An alert whose key a broadcast of the last `alert_dedupe_window_s` has
   is a duplicate: answered 200 with that broadcast's receipt, nothing published. Alerts
   with one key take turns under an advisory lock, so of any number sent at once one
   is broadcast.
2. Rate-limited per mentor (`alerts_per_minute`, counted in the platform's counters
   before the work; a duplicate found under the lock gives its count back): 429.
3. Broadcast through the signals service's own path (`append_signal` then
   `announce_signal`), so the chain, the signal book, live subscribers, mirrors and
   notifications treat it as they treat a signal typed in the mentor console.
4. Timed: from the alert's own time (`{{timenow}}`; its arrival when it has none or
   says it is later) to the broadcast's commit, recorded with the signal for the track
   record and on the alert.

Every alert a live webhook receives is listed for its mentor with its outcome; a refused
one is recorded after the refusal, in its own transaction, so nothing of it is applied."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import msgspec

from dracarys.crypto import token_hash
from dracarys.db import transaction, xact_lock
from dracarys.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    field_label,
    humane_reason,
)
from dracarys.identity import CurrentUser, Role
from dracarys.platform import Platform
from dracarys.ratelimit import Limit, too_many
from dracarys.trading.alerts import store
from dracarys.trading.alerts.models import (
    ALERT_MAX_BYTES,
    ALERT_TEMPLATE,
    AlertInput,
    AlertOutcome,
    AlertReceipt,
    AlertRecord,
    IssuedWebhook,
    ReceivedAlert,
    Webhook,
    WebhookStatus,
)
from dracarys.trading.signals import service as signal_service
from dracarys.trading.signals.models import AlertLatency, SignalInput

HOOK_PATH = "/hooks/tv"
TOKEN_HINT_CHARS = 4
# A sender's clock may run a little ahead of ours; further ahead is a wrong `time`.
FUTURE_SKEW = timedelta(seconds=60)

_AT_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<name>[^`]+)`")
_MISSING = re.compile(r"Object missing required field `(?P<name>[^`]+)`")


def _hook_url_prefix(platform: Platform) -> str:
    return platform.settings.public_url.rstrip("/") + HOOK_PATH + "/"


def _ensure_mentor(user: CurrentUser) -> None:
    if user.role is not Role.MENTOR:
        raise Forbidden("only mentors have an alert webhook")


# --- the mentor's webhook --------------------------------------------------------------


def _status(platform: Platform, webhook: Webhook | None) -> WebhookStatus:
    return WebhookStatus(
        active=webhook is not None,
        token_hint=None if webhook is None else webhook.token_hint,
        created_at=None if webhook is None else webhook.created_at,
        url_prefix=_hook_url_prefix(platform),
        template=ALERT_TEMPLATE,
        max_body_bytes=ALERT_MAX_BYTES,
    )


async def webhook_status(platform: Platform, mentor: CurrentUser) -> WebhookStatus:
    _ensure_mentor(mentor)
    async with platform.pool.acquire() as conn:
        return _status(platform, await store.live_webhook_of(conn, mentor.id))


async def issue_webhook(platform: Platform, mentor: CurrentUser) -> IssuedWebhook:
    """A new secret URL for the mentor's alerts; the one before it (if any) stops
    working in the same transaction."""
    _ensure_mentor(mentor)
    token = secrets.token_urlsafe(32)
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        await xact_lock(conn, "trading.alert_webhook", mentor.id)
        await store.revoke_webhooks(conn, mentor.id, now)
        webhook = await store.insert_webhook(
            conn,
            webhook_id=uuid.uuid4(),
            mentor_id=mentor.id,
            token_hash=token_hash(token),
            token_hint=token[-TOKEN_HINT_CHARS:],
            now=now,
        )
    status = _status(platform, webhook)
    return IssuedWebhook(
        **msgspec.structs.asdict(status), url=status.url_prefix + token, token=token
    )


async def revoke_webhook(platform: Platform, mentor: CurrentUser) -> WebhookStatus:
    _ensure_mentor(mentor)
    async with transaction(platform.pool) as conn:
        await xact_lock(conn, "trading.alert_webhook", mentor.id)
        if not await store.revoke_webhooks(conn, mentor.id, platform.clock.now()):
            raise NotFound("you have no alert webhook to revoke")
    return _status(platform, None)


def _received(alert: AlertRecord) -> ReceivedAlert:
    fields = msgspec.structs.asdict(alert)
    for private in ("mentor_id", "webhook_id", "dedupe_key"):
        del fields[private]
    return msgspec.convert(fields, ReceivedAlert)


async def recent_alerts(platform: Platform, mentor: CurrentUser, limit: int) -> list[ReceivedAlert]:
    _ensure_mentor(mentor)
    async with platform.pool.acquire() as conn:
        return [_received(a) for a in await store.recent_alerts(conn, mentor.id, limit)]


# --- reading an alert ----------------------------------------------------------------


def _refusal(exc: msgspec.ValidationError) -> InvalidInput:
    """msgspec's reason as a sentence naming the field (never the validator's text)."""
    message = str(exc)
    match = _AT_PATH.search(message)
    field = match.group("path") if match else ""
    reason = message[: match.start()] if match else message
    if unknown := _UNKNOWN.match(reason):
        name = unknown.group("name")
        return InvalidInput(
            f"{field_label(name)} is not a field of an alert; see the alert template", field=name
        )
    if missing := _MISSING.match(reason):
        name = missing.group("name")
        return InvalidInput(f"{field_label(name)} is required", field=name)
    if field == "side":
        return InvalidInput("Side must be buy or sell", field="side")
    if not field:
        return InvalidInput("The alert must be a JSON object; see the alert template", field="body")
    return InvalidInput(humane_reason(field, reason), field=field)


def parse_alert(raw: Any) -> AlertInput:
    """The alert in `raw` (decoded JSON), its side and symbol normalised, numbers given
    as text accepted (a template may quote `{{close}}`)."""
    if not isinstance(raw, dict):
        raise InvalidInput("The alert must be a JSON object; see the alert template", field="body")
    fields = dict(raw)
    for name, normalise in (("side", str.lower), ("symbol", str.upper)):
        if isinstance(fields.get(name), str):
            fields[name] = normalise(fields[name].strip())
    for name in ("alert_id", "comment"):
        if fields.get(name) == "":
            fields[name] = None  # an empty placeholder ({{strategy.order.comment}}) is absent
    try:
        return msgspec.convert(fields, AlertInput, strict=False)
    except msgspec.ValidationError as exc:
        raise _refusal(exc) from None


def _check_time(alert: AlertInput, received_at: datetime, max_age_s: int) -> None:
    if alert.time is None:
        return
    if alert.time.tzinfo is None:
        raise InvalidInput("Time must include a time zone, such as Z", field="time")
    if alert.time > received_at + FUTURE_SKEW:
        raise InvalidInput(
            "Time is in the future; TradingView's {{timenow}} is the time the alert fired",
            field="time",
        )
    if alert.time < received_at - timedelta(seconds=max_age_s):
        raise InvalidInput(
            f"This alert fired at {alert.time.isoformat()}, more than {max_age_s} seconds "
            "before it arrived; a stale alert is not broadcast",
            field="time",
        )


def dedupe_key(alert: AlertInput) -> bytes:
    """The SHA-256 of the alert's `alert_id`, or of the alert itself (sorted keys,
    normalised values) without one."""
    if alert.alert_id is not None:
        return hashlib.sha256(b"id\x00" + alert.alert_id.encode()).digest()
    payload = msgspec.json.encode(dict(sorted(msgspec.to_builtins(alert).items())))
    return hashlib.sha256(b"payload\x00" + payload).digest()


def _signal_input(alert: AlertInput) -> SignalInput:
    rationale = alert.comment or (
        f"TradingView alert: {alert.side.value} {alert.symbol} at {alert.price:g}"
    )
    return SignalInput(
        symbol=alert.symbol,
        side=alert.side,
        rationale=rationale,
        entry_price=alert.price,
        stop_loss=alert.stop_loss,
        take_profit=alert.take_profit,
        size_hint_pct=alert.size_hint_pct,
    )


# --- receiving an alert --------------------------------------------------------------


def _shown(raw: Any, name: str) -> Any:
    """A field of a refused alert worth listing (its symbol, side, price), if readable."""
    value = raw.get(name) if isinstance(raw, dict) else None
    if name == "price":
        return (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
    return value[:32] if isinstance(value, str) else None


async def _record_refusal(
    platform: Platform, webhook: Webhook, raw: Any, reason: str, received_at: datetime
) -> None:
    async with transaction(platform.pool) as conn:
        await store.insert_alert(
            conn,
            id=uuid.uuid4(),
            mentor_id=webhook.mentor_id,
            webhook_id=webhook.id,
            outcome=AlertOutcome.REFUSED.value,
            reason=reason,
            symbol=_shown(raw, "symbol"),
            side=_shown(raw, "side"),
            price=_shown(raw, "price"),
            received_at=received_at,
        )


def _receipt(alert: AlertRecord, *, duplicate: bool) -> AlertReceipt:
    assert alert.signal_id is not None
    return AlertReceipt(
        alert_id=alert.id,
        outcome=AlertOutcome.DUPLICATE if duplicate else AlertOutcome.BROADCAST,
        signal_id=alert.signal_id,
        duplicate=duplicate,
        latency_ms=alert.latency_ms,
    )


async def _record_duplicate(
    platform: Platform, webhook: Webhook, alert: AlertInput, first: AlertRecord, now: datetime
) -> AlertReceipt:
    async with transaction(platform.pool) as conn:
        await store.insert_alert(
            conn,
            id=uuid.uuid4(),
            mentor_id=webhook.mentor_id,
            webhook_id=webhook.id,
            outcome=AlertOutcome.DUPLICATE.value,
            symbol=alert.symbol,
            side=alert.side.value,
            price=alert.price,
            duplicate_of=first.id,
            fired_at=alert.time,
            received_at=now,
        )
    return _receipt(first, duplicate=True)


async def receive_alert(
    platform: Platform, token: str, read_body: Callable[[], Awaitable[Any]]
) -> AlertReceipt:
    """Turn an alert sent to the webhook `token` names into a signal broadcast (see the
    module's steps); `read_body` decodes the request's JSON, called once the token is
    known to be live, so an unknown token costs no body read."""
    received_at = platform.clock.now()
    async with platform.pool.acquire() as conn:
        webhook = await store.live_webhook_by_hash(conn, token_hash(token))
        if webhook is None or not await signal_service.is_mentor(conn, webhook.mentor_id):
            raise NotFound("no such alert webhook; it may have been rotated or revoked")
    settings = platform.settings
    raw: Any = None
    try:
        raw = await read_body()
        alert = parse_alert(raw)
        _check_time(alert, received_at, settings.alert_max_age_s)
    except DomainError as refusal:
        await _record_refusal(platform, webhook, raw, refusal.detail, received_at)
        raise
    key = dedupe_key(alert)
    window_start = received_at - timedelta(seconds=settings.alert_dedupe_window_s)
    async with platform.pool.acquire() as conn:
        first = await store.first_broadcast(conn, webhook.mentor_id, key, window_start)
    if first is not None:
        return await _record_duplicate(platform, webhook, alert, first, received_at)

    limit = Limit(f"trading.alerts:{webhook.mentor_id}", settings.alerts_per_minute, 60)
    reservation = await platform.counters.reserve([limit])
    if not reservation.granted:
        over_limit = too_many(
            f"more than {settings.alerts_per_minute} alerts a minute", reservation.wait_s([limit])
        )
        await _record_refusal(platform, webhook, raw, over_limit.detail, received_at)
        raise over_limit

    # The session the signal is published under is the webhook's: the signals service
    # needs only who the mentor is.
    mentor = CurrentUser(id=webhook.mentor_id, role=Role.MENTOR, session_id=webhook.id)
    try:
        async with transaction(platform.pool) as conn:
            await xact_lock(conn, "trading.alert", webhook.mentor_id, key.hex())
            first = await store.first_broadcast(conn, webhook.mentor_id, key, window_start)
            if first is None:
                signal, orders = await signal_service.append_signal(
                    conn, platform, mentor, _signal_input(alert)
                )
                broadcast = await store.insert_alert(
                    conn,
                    id=uuid.uuid4(),
                    mentor_id=webhook.mentor_id,
                    webhook_id=webhook.id,
                    dedupe_key=key,
                    outcome=AlertOutcome.BROADCAST.value,
                    symbol=alert.symbol,
                    side=alert.side.value,
                    price=alert.price,
                    signal_id=signal.id,
                    fired_at=alert.time,
                    received_at=received_at,
                )
    except DomainError as refusal:
        await _record_refusal(platform, webhook, raw, refusal.detail, received_at)
        raise
    if first is not None:
        # Sent again while the first was being broadcast: it spent no alert of the limit.
        await platform.counters.take_back(limit.key)
        return await _record_duplicate(platform, webhook, alert, first, received_at)

    committed_at = platform.clock.now()
    await signal_service.announce_signal(platform, signal, orders)
    started = received_at if alert.time is None else min(alert.time, received_at)
    latency_ms = max(0, round((committed_at - started).total_seconds() * 1000))
    async with transaction(platform.pool) as conn:
        await signal_service.record_alert_latency(
            conn,
            AlertLatency(
                signal_id=signal.id,
                mentor_id=webhook.mentor_id,
                fired_at=alert.time,
                received_at=received_at,
                broadcast_at=committed_at,
                latency_ms=latency_ms,
            ),
        )
        await store.set_latency(conn, broadcast.id, latency_ms)
    return _receipt(msgspec.structs.replace(broadcast, latency_ms=latency_ms), duplicate=False)

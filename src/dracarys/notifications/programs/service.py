"""Drip programs (issue 20 item 7): sequences of marketing e-mails defined as data, a
member enrolled by a domain event (sign-up, joining a course) or by the scheduler's
inactivity query, each step sent once when its delay has passed, and the enrolment ended
by an exit condition (the course completed, a first booking, active again, unsubscribed).

Each step e-mail carries the member's click token for that e-mail (points' `email_click`
rule: 2 points, once per e-mail, capped daily), a 1x1 open pixel (statistics only), and
RFC 8058 one-click unsubscribe headers. An unsubscribe, a hard bounce or a complaint puts
the address on the suppression list, which only marketing mail consults: security and
payment mail goes through messaging untouched.

Sending is idempotent: the tick locks due enrolments with SKIP LOCKED, writes the send
row (primary key: enrolment and step) and queues the e-mail in the same transaction, and
moves the enrolment past the step; a second or concurrent tick finds nothing due."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import uuid
from collections.abc import Sequence
from datetime import timedelta
from string import Template

import msgspec
import structlog

from dracarys import points
from dracarys.crypto import mail_address_index, mail_link_key, token_hash
from dracarys.curriculum import CertificateGranted, CohortJoined, CohortLeft
from dracarys.db import Connection, transaction
from dracarys.errors import InvalidInput, NotFound, Unauthorized
from dracarys.identity import (
    CurrentUser,
    UserLoggedIn,
    UserSignedUp,
    contacts_of,
    record_audit,
)
from dracarys.mentorship import SessionBooked
from dracarys.messaging import EmailTemplate, queue_email
from dracarys.notifications.preferences.service import people
from dracarys.notifications.programs import store
from dracarys.notifications.programs.models import (
    DueStep,
    EnrolmentCounts,
    ProgramView,
    ProviderEvent,
    ProviderEventResult,
    StepInput,
    StepView,
    UnsubscribeResult,
)
from dracarys.outbox import Event
from dracarys.platform import Platform
from dracarys.settings import Settings

log = structlog.get_logger("dracarys.notifications.programs")

# Due steps one tick sends per transaction, and per run.
TICK_BATCH = 200
TICK_MAX_BATCHES = 50
INACTIVE_BATCH = 1000
# The one placeholder a step's texts may use.
PLACEHOLDERS = frozenset({"name"})
# A provider webhook signed longer ago than this (or this far ahead) is refused: a
# captured post cannot be replayed later.
SIGNATURE_TOLERANCE = timedelta(minutes=5)
SIGNATURE_HEADER = "X-Mail-Signature"

_FOOTER = {
    "en": (
        "Open Dracarys: $click_url\n\n--\nYou receive this e-mail as a Dracarys member. "
        "Unsubscribe from these e-mails: $unsubscribe_url"
    ),
    "sw": (
        "Fungua Dracarys: $click_url\n\n--\nUnapokea barua pepe hii kama mwanachama wa "
        "Dracarys. Jiondoe kwenye barua pepe hizi: $unsubscribe_url"
    ),
}
_BUTTON = {"en": "Open Dracarys", "sw": "Fungua Dracarys"}
_UNSUBSCRIBE = {"en": "Unsubscribe", "sw": "Jiondoe"}

# ---- the staff page: programs, steps, counts, pause, edit ------------------------------


async def programs_overview(platform: Platform) -> list[ProgramView]:
    async with platform.pool.acquire() as conn:
        return await _overview(conn)


async def _overview(conn: Connection) -> list[ProgramView]:
    programs = await store.programs(conn)
    steps = await store.steps(conn)
    exits = await store.exit_conditions(conn)
    stats = {(s.program_code, s.position): s for s in await store.step_stats(conn)}
    counts = {c.program_code: c for c in await store.enrolment_stats(conn)}
    views: list[ProgramView] = []
    for program in programs:
        count = counts.get(program.code)
        views.append(
            ProgramView(
                code=program.code,
                name=program.name,
                description=program.description,
                trigger=program.trigger,
                inactive_after_days=program.inactive_after_days,
                paused=program.paused_at is not None,
                exit_conditions=exits.get(program.code, []),
                enrolments=EnrolmentCounts(
                    running=count.running if count else 0,
                    finished=count.finished if count else 0,
                    exited=count.exited if count else 0,
                ),
                steps=[
                    StepView(
                        position=step.position,
                        delay_minutes=step.delay_minutes,
                        subject_en=step.subject_en,
                        body_en=step.body_en,
                        subject_sw=step.subject_sw,
                        body_sw=step.body_sw,
                        cta_path=step.cta_path,
                        sent=stat.sent if (stat := stats.get((program.code, step.position))) else 0,
                        opened=stat.opened if stat else 0,
                        clicked=stat.clicked if stat else 0,
                    )
                    for step in steps
                    if step.program_code == program.code
                ],
            )
        )
    return views


async def _program(conn: Connection, code: str) -> ProgramView:
    for view in await _overview(conn):
        if view.code == code:
            return view
    raise NotFound("There is no drip program with this code.", field="code")


async def set_program_paused(
    platform: Platform, admin: CurrentUser, code: str, *, paused: bool, source_ip: str | None
) -> ProgramView:
    """A paused program sends nothing; members are still enrolled and its due steps go
    out once it is resumed."""
    async with transaction(platform.pool) as conn:
        now = platform.clock.now()
        if await store.set_paused(conn, code, now if paused else None, now) is None:
            raise NotFound("There is no drip program with this code.", field="code")
        await record_audit(
            conn,
            admin.id,
            "drip_program.paused" if paused else "drip_program.resumed",
            f"drip_program:{code}",
            source_ip,
            {},
            at=now,
        )
        return await _program(conn, code)


def _check_text(text: str, field: str) -> None:
    template = Template(text)
    if not template.is_valid():
        raise InvalidInput(
            "A dollar sign starts a placeholder: write $name for the member's name, or $$ "
            "for a dollar sign.",
            field=field,
        )
    unknown = set(template.get_identifiers()) - PLACEHOLDERS
    if unknown:
        raise InvalidInput(
            f"Only $name can be filled in; ${sorted(unknown)[0]} cannot.", field=field
        )
    if not text.strip():
        raise InvalidInput("Write some text; it cannot be only spaces.", field=field)


async def edit_step(
    platform: Platform,
    admin: CurrentUser,
    code: str,
    position: int,
    step: StepInput,
    source_ip: str | None,
) -> ProgramView:
    """A step's new delay (in minutes after the previous step) and its texts in both
    languages; members waiting for the step wait for the new delay."""
    for field in ("subject_en", "body_en", "subject_sw", "body_sw"):
        _check_text(getattr(step, field), field)
    for field in ("subject_en", "subject_sw"):
        if "\n" in getattr(step, field) or "\r" in getattr(step, field):
            raise InvalidInput("A subject is one line.", field=field)
    async with transaction(platform.pool) as conn:
        if not await store.update_step(conn, code, position, step, platform.clock.now()):
            raise NotFound("This program has no such step.", field="position")
        await record_audit(
            conn,
            admin.id,
            "drip_step.edited",
            f"drip_program:{code}",
            source_ip,
            {"position": position, "delay_minutes": step.delay_minutes},
            at=platform.clock.now(),
        )
        return await _program(conn, code)


# ---- enrolment and exits, from domain events -------------------------------------------

PROGRAM_TOPICS = frozenset(
    {
        UserSignedUp.topic,
        UserLoggedIn.topic,
        CohortJoined.topic,
        CohortLeft.topic,
        CertificateGranted.topic,
        SessionBooked.topic,
    }
)


async def _enrol(
    conn: Connection, trigger: str, user_id: uuid.UUID, subject: str, platform: Platform
) -> None:
    for program in await store.programs_triggered_by(conn, trigger):
        await store.enrol(conn, program.code, user_id, subject, platform.clock.now())


async def apply_program_events(
    conn: Connection, platform: Platform, batch: Sequence[Event]
) -> None:
    """Consumer `notifications.programs`: enrol on sign-up and on joining a course; end
    enrolments on their exit conditions; keep each member's last activity for the
    inactivity query. Idempotent: an enrolment is unique per program, member and subject,
    and ending an ended one changes nothing."""
    now = platform.clock.now()
    for event in batch:
        if event.topic == UserSignedUp.topic:
            signed_up = msgspec.convert(event.payload, UserSignedUp)
            await store.record_activity(conn, [signed_up.user_id], event.created_at)
            await _enrol(conn, UserSignedUp.topic, signed_up.user_id, "", platform)
        elif event.topic == UserLoggedIn.topic:
            logged_in = msgspec.convert(event.payload, UserLoggedIn)
            await store.record_activity(conn, [logged_in.user_id], event.created_at)
            await store.end_enrolments(conn, logged_in.user_id, "active_again", now)
        elif event.topic == CohortJoined.topic:
            joined = msgspec.convert(event.payload, CohortJoined)
            await _enrol(conn, CohortJoined.topic, joined.user_id, str(joined.program_id), platform)
        elif event.topic == CohortLeft.topic:
            left = msgspec.convert(event.payload, CohortLeft)
            await store.end_enrolments(
                conn, left.user_id, "left_course", now, subject=str(left.program_id)
            )
        elif event.topic == CertificateGranted.topic:
            done = msgspec.convert(event.payload, CertificateGranted)
            await store.end_enrolments(
                conn, done.user_id, "course_completed", now, subject=str(done.program_id)
            )
        elif event.topic == SessionBooked.topic:
            booked = msgspec.convert(event.payload, SessionBooked)
            await store.end_enrolments(conn, booked.mentee_id, "first_booking", now)


async def enrol_inactive_members(platform: Platform) -> int:
    """Scheduled: enrol in each inactivity program the members not seen for its number of
    days (once per inactive spell)."""
    enrolled = 0
    async with transaction(platform.pool) as conn:
        now = platform.clock.now()
        for program in await store.programs_triggered_by(conn, "inactivity"):
            if program.inactive_after_days is None:
                continue
            since = now - timedelta(days=program.inactive_after_days)
            enrolled += await store.enrol_inactive(conn, program.code, since, now, INACTIVE_BATCH)
    return enrolled


# ---- sending due steps ------------------------------------------------------------------


async def advance_drips(platform: Platform) -> int:
    """Scheduled (every minute): send every due step once, in batches of `TICK_BATCH`;
    the number of steps handled."""
    handled = 0
    for _ in range(TICK_MAX_BATCHES):
        async with transaction(platform.pool) as conn:
            due = await store.lock_due_steps(conn, platform.clock.now(), TICK_BATCH)
            if not due:
                break
            await _send_steps(conn, platform, due)
            handled += len(due)
        if len(due) < TICK_BATCH:
            break
    return handled


def _email_template(due: DueStep, language: str) -> EmailTemplate:
    subject = due.subject_sw if language == "sw" else due.subject_en
    body = due.body_sw if language == "sw" else due.body_en
    paragraphs = "".join(
        f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>" for part in body.split("\n\n")
    )
    markup = (
        f'<!doctype html><html lang="{language}"><body>{paragraphs}'
        f'<p><a href="$click_url">{_BUTTON[language]}</a></p>'
        f'<p style="font-size:12px;color:#555"><a href="$unsubscribe_url">'
        f"{_UNSUBSCRIBE[language]}</a></p>"
        '<img src="$open_url" width="1" height="1" alt=""></body></html>'
    )
    return EmailTemplate(
        name=f"drip.{due.program_code}.{due.position}",
        subject=subject,
        text=f"{body}\n\n{_FOOTER[language]}",
        html=markup,
    )


async def _send_steps(conn: Connection, platform: Platform, due: Sequence[DueStep]) -> None:
    settings = platform.settings
    now = platform.clock.now()
    user_ids = {d.user_id for d in due}
    contacts = await contacts_of(conn, settings, user_ids, active_only=True)
    # Each member's language (English unless they chose) and quiet hours, in their zone.
    recipients = await people(conn, user_ids)
    indexes = {uid: mail_address_index(settings, c.email) for uid, c in contacts.items()}
    suppressed = await store.suppressed(conn, list(indexes.values()))
    base = settings.public_url.rstrip("/")
    for step in due:
        contact = contacts.get(step.user_id)
        if contact is None:
            # Banned or gone: the program ends for them.
            await store.end_enrolments_by_id(conn, step.enrolment_id, "no_address", now)
            continue
        if indexes[step.user_id] in suppressed:
            await store.end_enrolments_by_id(conn, step.enrolment_id, "suppressed", now)
            continue
        if (quiet_until := recipients[step.user_id].quiet_until(now)) is not None:
            # Marketing is never critical: the step goes when their quiet hours end.
            await store.hold(conn, step.enrolment_id, quiet_until)
            continue
        email_id = f"drip:{step.enrolment_id}:{step.position}"
        token = await points.issue_email_token(conn, platform, step.user_id, email_id)
        if token is None or not await store.insert_send(
            conn, due=step, email_id=email_id, token_hash=token_hash(token), at=now
        ):
            continue  # sent already (cannot happen while the row is locked; kept as a guard)
        language = "sw" if recipients[step.user_id].language == "sw" else "en"
        unsubscribe_url = f"{base}/e/u/{unsubscribe_token(settings, step.user_id, contact.email)}"
        message_id = await queue_email(
            conn,
            settings,
            to=contact.email,
            template=_email_template(step, language),
            context={
                "name": contact.name,
                "click_url": f"{base}/e/c/{token}",
                "open_url": f"{base}/e/o/{token}",
                "unsubscribe_url": unsubscribe_url,
            },
            now=now,
            user_id=step.user_id,
            headers={
                "List-Unsubscribe": f"<{unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
        await store.set_send_message(conn, step.enrolment_id, step.position, message_id)
        await store.advance(conn, step, now)


# ---- opens and clicks -------------------------------------------------------------------


async def follow_click(
    platform: Platform, token: str, user_agent: str | None, ip: str | None, *, probe: bool
) -> str:
    """The page a step e-mail's link leads to. A probe (a HEAD request) or a known mail
    scanner changes nothing; a person's click is recorded (points then wait for their
    signed-in confirmation, and the step counts a click)."""
    hashed = token_hash(token)
    if probe or is_scanner(user_agent):
        async with platform.pool.acquire() as conn:
            sent = await store.sent_step(conn, hashed)
        return sent.cta_path if sent else "/"
    try:
        await points.record_email_click(platform, token, user_agent, ip)
    except NotFound:
        return "/"  # an unknown or foreign link still lands somewhere useful
    async with transaction(platform.pool) as conn:
        sent = await store.record_click(conn, hashed, platform.clock.now())
    return sent.cta_path if sent else "/"


def is_scanner(user_agent: str | None) -> bool:
    """A mail scanner or link pre-fetcher by its user agent (points' list; an empty agent
    counts as one)."""
    return points.is_automated_agent(user_agent)


async def record_open(platform: Platform, token: str) -> None:
    """The open pixel was fetched: statistics only, never points (images are fetched by
    proxies and scanners as often as by people)."""
    async with transaction(platform.pool) as conn:
        await store.record_open(conn, token_hash(token), platform.clock.now())


# ---- unsubscribe and the suppression list -----------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _signature(settings: Settings, payload: bytes) -> bytes:
    return hmac.new(mail_link_key(settings), payload, hashlib.sha256).digest()[:16]


def unsubscribe_token(settings: Settings, user_id: uuid.UUID, address: str) -> str:
    """Signed, so it works without signing in: the member and their address's index."""
    payload = user_id.bytes + mail_address_index(settings, address)
    return _b64(payload + _signature(settings, payload))


def _read_unsubscribe_token(settings: Settings, token: str) -> tuple[uuid.UUID, bytes]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError as exc:
        raise NotFound("This unsubscribe link is not valid.", field="token") from exc
    payload, signature = raw[:48], raw[48:]
    if len(raw) != 64 or not hmac.compare_digest(signature, _signature(settings, payload)):
        raise NotFound("This unsubscribe link is not valid.", field="token")
    return uuid.UUID(bytes=payload[:16]), payload[16:]


def check_unsubscribe_token(settings: Settings, token: str) -> None:
    """Raises NotFound for a link we did not sign (the confirmation page says so)."""
    _read_unsubscribe_token(settings, token)


async def unsubscribe(platform: Platform, token: str) -> UnsubscribeResult:
    """RFC 8058 one-click unsubscribe: the address gets no more marketing mail and the
    member's running programs end ("unsubscribed")."""
    user_id, address_index = _read_unsubscribe_token(platform.settings, token)
    async with transaction(platform.pool) as conn:
        now = platform.clock.now()
        added = await store.suppress(conn, address_index, user_id, "unsubscribed", "", now)
        await store.end_enrolments(conn, user_id, "unsubscribed", now)
    return UnsubscribeResult(status="unsubscribed" if added else "already_unsubscribed")


def sign_provider_body(secret: str, timestamp: int, body: bytes) -> str:
    """The provider's signature header value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
    "<t>." + body>` (the scheme Stripe and others use)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def _verify_provider_signature(platform: Platform, header: str | None, body: bytes) -> None:
    secret = platform.settings.mail_webhook_secret
    if not secret:
        # Nothing can be signed with a secret we do not have: refused like a bad signature.
        raise Unauthorized("The mail provider webhook is not configured; no post is accepted.")
    parts = dict(p.split("=", 1) for p in (header or "").split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError as exc:
        raise Unauthorized("The signature header is missing or malformed.") from exc
    expected = sign_provider_body(secret, timestamp, body)
    if not hmac.compare_digest(expected, f"t={timestamp},v1={parts.get('v1', '')}"):
        raise Unauthorized("The signature does not match this body.")
    age = abs(platform.clock.now().timestamp() - timestamp)
    if age > SIGNATURE_TOLERANCE.total_seconds():
        raise Unauthorized("The signature is too old; the post may be a replay.")


async def apply_provider_event(
    platform: Platform, signature: str | None, body: bytes
) -> ProviderEventResult:
    """The mail provider's webhook: a hard bounce or a spam complaint suppresses the
    address for marketing; soft bounces and other records are acknowledged and ignored."""
    _verify_provider_signature(platform, signature, body)
    try:
        event = msgspec.json.decode(body, type=ProviderEvent)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"The event is not one we can read: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise InvalidInput("The body is not JSON.") from exc
    if event.record_type == "Bounce" and event.type == "HardBounce":
        reason = "hard_bounce"
    elif event.record_type == "SpamComplaint":
        reason = "complaint"
    else:
        return ProviderEventResult(status="ignored")
    async with transaction(platform.pool) as conn:
        await store.suppress(
            conn,
            mail_address_index(platform.settings, event.email),
            None,
            reason,
            event.description[:500],
            platform.clock.now(),
        )
    log.info("mail_address_suppressed", reason=reason, provider_message=event.message_id)
    return ProviderEventResult(status="suppressed")

"""Shares: made by a member for a thing they may share (`create_share`), each with its
card drawn once per content; followed through their link (`record_visit`), which counts
each distinct visitor once; qualified, with `social.post_shared` emitted in the same
transaction, when the share reaches `social_share_qualifying_visitors` qualifying
visitors: signed in, not the sharer, not from the network the share was made from.

Visits of one share are counted under its row lock, so however many people follow a link
at once the share qualifies, and the event goes out, exactly once. Points awards the event
under its own rule (`social_share`: per share, daily limit) and the day's social and
e-mail cap; social never asks points anything."""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote, urlencode

import msgspec

from dracarys.crypto import short_code_hash
from dracarys.curriculum import verify_certificate
from dracarys.db import Connection, transaction
from dracarys.errors import DomainError, Forbidden, InvalidInput, NotFound
from dracarys.identity import CurrentUser, display_names
from dracarys.outbox import Event, emit_event
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.social.events import PostShared
from dracarys.social.sharing import cards, store
from dracarys.social.sharing.models import (
    Card,
    Channel,
    Share,
    ShareInput,
    ShareKind,
    SharePage,
    ShareView,
    Subject,
    Visit,
    VisitResult,
)
from dracarys.trading import closed_signal, may_watch_signals, track_record

EDUCATION = "Education, not investment advice."

# What people read for each badge code points grants (an unknown code reads as its words).
BADGE_NAMES = {
    "first_lesson": "First lesson completed",
    "first_assessment_passed": "First assessment passed",
    "streak_7_days": "7-day learning streak",
    "first_profitable_paper_month": "First profitable paper month",
}


def badge_name(code: str) -> str:
    return BADGE_NAMES.get(code, code.replace("_", " ").capitalize())


# ---- what may be shared ----------------------------------------------------------------


def _uuid(subject_id: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(subject_id)
    except ValueError:
        raise InvalidInput(f"subject_id must be the id of a {what}", field="subject_id") from None


async def _name(conn: Connection, settings: Settings, user_id: uuid.UUID) -> str:
    return (await display_names(conn, settings, [user_id])).get(user_id) or "A Dracarys member"


async def _signal_subject(
    conn: Connection, platform: Platform, user: CurrentUser, subject_id: str
) -> Subject:
    signal_id = _uuid(subject_id, "signal")
    signal = await closed_signal(conn, signal_id)
    if signal is None:
        raise InvalidInput(
            "this signal cannot be shared: a signal is shared once its book has closed it "
            "(open signals are for the mentor's subscribers)",
            field="subject_id",
        )
    if signal.mentor_id != user.id and not await may_watch_signals(
        conn, [user.id], signal.mentor_id
    ):
        raise Forbidden(
            "only the mentor and their subscribers share this mentor's signals", field="subject_id"
        )
    mentor = await _name(conn, platform.settings, signal.mentor_id)
    if signal.r_multiple is not None:
        figure, caption = f"{signal.r_multiple:+.1f}R", "result in multiples of the risk taken"
    else:
        won = (signal.pnl_minor or 0) > 0
        figure, caption = ("+ Win", "closed in profit") if won else ("- Loss", "closed at a loss")
    title = f"{signal.side.upper()} {signal.symbol} by {mentor}"
    return Subject(
        card=Card(
            kind=ShareKind.SIGNAL,
            title=title,
            figure=figure,
            figure_caption=caption,
            subtitle=f"Closed {signal.closed_at:%d %b %Y} · {EDUCATION}",
        ),
        description=(
            f"{title}: {figure}, closed {signal.closed_at:%d %b %Y}. Every signal is "
            f"paper-traded as it is published. {EDUCATION}"
        ),
        target_path=f"/mentors/{signal.mentor_id}",
    )


async def _certificate_subject(platform: Platform, user: CurrentUser, subject_id: str) -> Subject:
    try:
        certificate = await verify_certificate(platform, subject_id)
    except NotFound:
        raise NotFound("this certificate id is not valid", field="subject_id") from None
    if certificate.user_id != user.id:
        raise Forbidden("a certificate is shared by the person who earned it", field="subject_id")
    return Subject(
        card=Card(
            kind=ShareKind.CERTIFICATE,
            title=certificate.program_title,
            figure="Certified",
            figure_caption=f"awarded to {certificate.holder_name}",
            subtitle=f"{certificate.granted_at:%d %b %Y} · anyone can verify it on Dracarys",
        ),
        description=(
            f"{certificate.holder_name} earned the certificate for {certificate.program_title} "
            f"on {certificate.granted_at:%d %b %Y}. Open the link to verify it."
        ),
        target_path=f"/certificates/{quote(certificate.id, safe='')}",
    )


async def _badge_subject(
    conn: Connection, platform: Platform, user: CurrentUser, subject_id: str
) -> Subject:
    earned_at = await store.badge_earned_at(conn, user.id, subject_id)
    if earned_at is None:
        raise InvalidInput(
            "you have not earned this badge: share one of the badges on your points page",
            field="subject_id",
        )
    holder = await _name(conn, platform.settings, user.id)
    name = badge_name(subject_id)
    return Subject(
        card=Card(
            kind=ShareKind.BADGE,
            title=f"{holder} earned a badge",
            figure=name,
            figure_caption="badge earned while learning to trade",
            subtitle=f"Earned {earned_at:%d %b %Y} on Dracarys",
        ),
        description=f"{holder} earned the “{name}” badge on Dracarys on {earned_at:%d %b %Y}.",
        target_path="/",
    )


async def _track_record_subject(conn: Connection, platform: Platform, subject_id: str) -> Subject:
    mentor_id = _uuid(subject_id, "mentor")
    try:
        record = await track_record(platform, mentor_id)
    except NotFound:
        raise NotFound("there is no mentor with this id", field="subject_id") from None
    mentor = await _name(conn, platform.settings, mentor_id)
    if record.win_rate_pct is not None:
        figure, caption = f"{record.win_rate_pct:.0f}% wins", f"of {record.closed} closed signals"
    else:
        figure, caption = f"{record.signals} signals", "none closed yet"
    average_r = (
        f" · average {record.average_r_multiple:+.2f}R"
        if record.average_r_multiple is not None
        else ""
    )
    return Subject(
        card=Card(
            kind=ShareKind.TRACK_RECORD,
            title=f"{mentor}'s verified track record",
            figure=figure,
            figure_caption=caption + average_r,
            subtitle=f"Paper-traded as published · {EDUCATION}",
        ),
        description=(
            f"{mentor}: {figure} {caption}{average_r}. Every signal is paper-traded on the "
            f"signal book as it is published, so the record cannot be picked afterwards."
        ),
        target_path=f"/mentors/{mentor_id}",
    )


async def _subject(
    conn: Connection, platform: Platform, user: CurrentUser, kind: ShareKind, subject_id: str
) -> Subject:
    if kind is ShareKind.SIGNAL:
        return await _signal_subject(conn, platform, user, subject_id)
    if kind is ShareKind.CERTIFICATE:
        return await _certificate_subject(platform, user, subject_id)
    if kind is ShareKind.BADGE:
        return await _badge_subject(conn, platform, user, subject_id)
    return await _track_record_subject(conn, platform, subject_id)


# ---- links ------------------------------------------------------------------------------


def _link(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/s/{token}"


def card_url(settings: Settings, content_hash: str) -> str:
    """The card's absolute address (crawlers fetch `og:image` from anywhere)."""
    return f"{settings.public_url.rstrip('/')}/api/v1/social/cards/{content_hash}.png"


def target_url(share: Share) -> str:
    """Where the link sends people: the shared thing on this site, tagged for analytics."""
    utm = urlencode(
        {
            "utm_source": share.channel.value,
            "utm_medium": "social",
            "utm_campaign": "share",
            "utm_content": share.kind.value,
        }
    )
    return f"{share.target_path}?{utm}"


def post_url(channel: Channel, link: str, text: str) -> str | None:
    """The channel's own page for posting `link` with `text` (None: the member copies it)."""
    if channel is Channel.X:
        return "https://x.com/intent/post?" + urlencode({"text": text, "url": link})
    if channel is Channel.FACEBOOK:
        return "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": link})
    if channel is Channel.LINKEDIN:
        return "https://www.linkedin.com/sharing/share-offsite/?" + urlencode({"url": link})
    if channel is Channel.WHATSAPP:
        return "https://wa.me/?" + urlencode({"text": f"{text} {link}"})
    if channel is Channel.TELEGRAM:
        return "https://t.me/share/url?" + urlencode({"url": link, "text": text})
    return None


def _view(settings: Settings, share: Share) -> ShareView:
    link = _link(settings, share.token)
    return ShareView(
        id=share.id,
        kind=share.kind,
        subject_id=share.subject_id,
        channel=share.channel,
        title=share.title,
        link=link,
        post_url=post_url(share.channel, link, share.title),
        image_url=card_url(settings, share.card_hash),
        created_at=share.created_at,
        signed_in_visitors=share.signed_in_visitors,
        qualifying_visitors=share.qualifying_visitors,
        anonymous_visitors=share.anonymous_visitors,
        visitors_needed=settings.social_share_qualifying_visitors,
        qualified=share.qualified_at is not None,
        qualified_at=share.qualified_at,
    )


# ---- where visitors come from -------------------------------------------------------------


def _network_hash(settings: Settings, source_ip: str | None) -> bytes | None:
    """A keyed hash of the address's network (IPv4 /24, IPv6 /64: one household or
    office), or None when the address is unknown, not an IP address, or loopback: every
    request of the single-process demo, or of a server behind a proxy it was not told to
    trust, comes from there, and telling no one apart must not exclude everyone."""
    if not source_ip:
        return None
    try:
        address = ipaddress.ip_address(source_ip)
    except ValueError:
        return None
    if address.is_loopback:
        return None
    prefix = 24 if address.version == 4 else 64
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return short_code_hash(settings, f"share-network:{network}")


def _anonymous_key(settings: Settings, source_ip: str | None) -> str:
    """An anonymous visitor is told apart by a keyed hash of their address (never stored
    in the clear)."""
    return "a:" + short_code_hash(settings, f"share-visitor:{source_ip or '-'}").hex()[:32]


# ---- the member's shares ----------------------------------------------------------------


async def _ensure_card(platform: Platform, card: Card) -> str:
    content_hash = cards.card_hash(card)
    async with platform.pool.acquire() as conn:
        if await store.has_card(conn, content_hash):
            return content_hash
    # Drawing takes tens of milliseconds of CPU: off the event loop.
    png = await asyncio.to_thread(cards.render_card, card)
    async with platform.pool.acquire() as conn:
        await store.save_card(conn, content_hash, png, platform.clock.now())
    return content_hash


async def create_share(
    platform: Platform, user: CurrentUser, data: ShareInput, source_ip: str | None
) -> tuple[ShareView, bool]:
    """The caller's share of `data.kind`/`data.subject_id` on `data.channel`, and whether
    this call made it: sharing the same thing on the same channel again hands back the
    first link (its visitors so far included). Refused, naming `subject_id`, when the thing
    does not exist or is not the caller's to share."""
    settings = platform.settings
    async with platform.pool.acquire() as conn:
        existing = await store.share_of(conn, user.id, data.kind, data.subject_id, data.channel)
        if existing is not None:
            return _view(settings, existing), False
        subject = await _subject(conn, platform, user, data.kind, data.subject_id)
    content_hash = await _ensure_card(platform, subject.card)
    async with transaction(platform.pool) as conn:
        made = await store.insert_share(
            conn,
            token=secrets.token_urlsafe(9),
            user_id=user.id,
            kind=data.kind,
            subject_id=data.subject_id,
            channel=data.channel,
            title=subject.card.title,
            description=subject.description,
            target_path=subject.target_path,
            card_hash=content_hash,
            sharer_network_hash=_network_hash(settings, source_ip),
            at=platform.clock.now(),
        )
        if made is None:  # the same share, made by a concurrent request of the caller
            made = await store.share_of(conn, user.id, data.kind, data.subject_id, data.channel)
            assert made is not None
            return _view(settings, made), False
    return _view(settings, made), True


async def my_shares(platform: Platform, user: CurrentUser, limit: int) -> list[ShareView]:
    """The caller's shares, newest first, each with its visitors and whether it qualified."""
    async with platform.pool.acquire() as conn:
        shares = await store.shares_of(conn, user.id, limit)
    return [_view(platform.settings, share) for share in shares]


# ---- the link -------------------------------------------------------------------------------


def _no_such_link() -> DomainError:
    return NotFound("this share link does not exist; check it was copied whole", field="token")


async def share_page(platform: Platform, token: str) -> SharePage:
    """What the link's page shows crawlers (Open Graph) and where it sends people."""
    async with platform.pool.acquire() as conn:
        share = await store.share_by_token(conn, token)
    if share is None:
        raise _no_such_link()
    return SharePage(
        token=share.token,
        title=share.title,
        description=share.description,
        link=_link(platform.settings, share.token),
        image_url=card_url(platform.settings, share.card_hash),
        target_url=target_url(share),
    )


async def record_visit(platform: Platform, token: str, visit: Visit) -> VisitResult:
    """Count a visit of the link: each visitor once (a signed-in one by account, an
    anonymous one by address); the sharer's own visits are not counted. A signed-in
    visitor qualifies unless they come from the network the share was made from; the visit
    that brings the qualifying visitors to the number needed qualifies the share and emits
    `social.post_shared`, in the same transaction, once."""
    settings = platform.settings
    needed = settings.social_share_qualifying_visitors
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        share = await store.share_by_token(conn, token, lock=True)
        if share is None:
            raise _no_such_link()
        result = VisitResult(target_url=target_url(share), counted=False)
        if visit.user_id == share.user_id:
            return result
        signed_in = visit.user_id is not None
        visitor_network = _network_hash(settings, visit.source_ip)
        same_network = visitor_network is not None and visitor_network == share.sharer_network_hash
        excluded = "same_network" if signed_in and same_network else None
        qualifies = signed_in and excluded is None
        first_visit = await store.insert_visit(
            conn,
            share_id=share.id,
            visitor_key=f"u:{visit.user_id}"
            if signed_in
            else _anonymous_key(settings, visit.source_ip),
            user_id=visit.user_id,
            qualifies=qualifies,
            excluded=excluded,
            at=now,
        )
        if not first_visit:
            return result
        counted = await store.count_visitor(
            conn, share.id, signed_in=signed_in, qualifies=qualifies
        )
        if (
            qualifies
            and counted.qualifying_visitors >= needed
            and await store.mark_qualified(conn, share.id, now)
        ):
            await emit_event(conn, PostShared(user_id=str(share.user_id), share_id=str(share.id)))
        return VisitResult(target_url=result.target_url, counted=qualifies)


async def card_png(platform: Platform, content_hash: str) -> bytes:
    async with platform.pool.acquire() as conn:
        png = await store.card_png(conn, content_hash)
    if png is None:
        raise NotFound("there is no share card with this name", field="content_hash")
    return png


# ---- the badges members hold ----------------------------------------------------------------


# Points' topic, named here because social never imports points; the event catalogue test
# fails if no producer writes it.
BADGE_EARNED_TOPIC = "badge.earned"


class _BadgeEarned(msgspec.Struct, kw_only=True):
    # Only the fields sharing needs of points' `badge.earned` payload.
    user_id: uuid.UUID
    badge: str


async def record_badges_earned(conn: Connection, batch: Sequence[Event]) -> None:
    """Consumer `social.badges` (`badge.earned`): remember who holds which badge, so a
    badge is shared only by someone who earned it."""
    held: list[tuple[uuid.UUID, str, datetime]] = []
    for event in batch:
        try:
            earned = msgspec.convert(event.payload, _BadgeEarned)
        except msgspec.ValidationError:
            continue  # not the shape points writes: nothing to remember
        held.append((earned.user_id, earned.badge, event.created_at))
    if held:
        await store.record_badges(conn, held)

"""Referrals: a member's code and link, the click a visit of `/r/{code}` records (with the
cookie that names it), the sign-up that maps the last click within the attribution window
to the new account, and the referee's first paid session that completes the referral
(`referral.completed`, which points awards under its own rules) unless a fraud rule
refuses it.

Fraud rules are rows (`referral_fraud_rules`): each can be switched off or tuned, and a
refusal keeps the rule's code and what it found. Self-referral is a referee seen on the
referrer's device or address (sightings are recorded from the referrer's own signed-in
requests and sign-ins) or paying with an M-Pesa number the referrer uses (the wallet
compares digests); a throwaway e-mail domain refuses at sign-up; rings are a cycle in the
referral graph or too many of one referrer's referees from one network."""

from __future__ import annotations

import hashlib
import io
import ipaddress
import secrets
import uuid
from datetime import datetime, timedelta
from urllib.parse import quote

import segno
import structlog
from disposable_email_domains import blocklist as DISPOSABLE_DOMAINS

from dracarys.db import Connection, transaction
from dracarys.identity import SignupContext, display_names
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.social.events import ReferralCompleted
from dracarys.social.referrals import store
from dracarys.social.referrals.models import (
    REFUSAL_TEXT,
    DayCount,
    FraudRule,
    FraudRuleCode,
    MyReferrals,
    RefereeView,
    Referral,
    ReferralStatus,
    ReferrerView,
    Refusal,
    RefusedReferralView,
    UtmTags,
)
from dracarys.wallet import payment_instrument_digests

log = structlog.get_logger("dracarys.social.referrals")

# The attribution cookie names the visit's click (an opaque id kept server-side); the
# device cookie is a random id whose digest the sightings and clicks keep.
ATTRIBUTION_COOKIE = "dr_ref"
DEVICE_COOKIE = "dr_dev"
DEVICE_COOKIE_MAX_AGE_S = 400 * 86_400  # the longest a browser keeps a cookie
# A network as the cluster rules see it: carriers give one person's devices neighbours.
CLUSTER_PREFIX_V4 = 24
CLUSTER_PREFIX_V6 = 48

_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_CODE_LENGTH = 8
REFEREES_SHOWN = 200
REFUSALS_SHOWN = 200
_UTM_MAX = 200


def device_digest(device_token: str | None) -> bytes | None:
    return hashlib.sha256(device_token.encode()).digest() if device_token else None


def new_device_token() -> str:
    return secrets.token_urlsafe(24)


def ip_cluster(ip: str | None) -> str | None:
    """The network an address belongs to for the ring rule (/24, IPv6 /48)."""
    address = _address(ip)
    if address is None:
        return None
    prefix = CLUSTER_PREFIX_V4 if address.version == 4 else CLUSTER_PREFIX_V6
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _address(ip: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(ip) if ip else None
    except ValueError:
        return None


def utm_tags(
    source: str | None,
    medium: str | None,
    campaign: str | None,
    term: str | None,
    content: str | None,
) -> UtmTags:
    """The campaign's tags as given, trimmed and bounded (a link is not an input form:
    what does not fit is cut, never refused)."""

    def clean(value: str | None) -> str | None:
        text = (value or "").strip()[:_UTM_MAX]
        return text or None

    return UtmTags(
        source=clean(source),
        medium=clean(medium),
        campaign=clean(campaign),
        term=clean(term),
        content=clean(content),
    )


def same_origin_path(target: str | None, default: str = "/signup") -> str:
    """Where the redirect may go: a path on this site, never another origin (`//host`,
    `/\\host` and schemes are refused in favour of `default`)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ch in target for ch in "\r\n\t\\") or ":" in target.split("?", 1)[0]:
        return default
    return target


def referral_link(platform: Platform, code: str) -> str:
    return f"{platform.settings.public_url.rstrip('/')}/r/{quote(code)}"


# ---- codes and clicks ------------------------------------------------------------------


async def ensure_code(conn: Connection, user_id: uuid.UUID, at: datetime) -> str:
    """The member's code, drawn the first time (a clash with another's draws again)."""
    existing = await store.code_of(conn, user_id)
    if existing is not None:
        return existing
    while True:
        candidate = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
        code = await store.insert_code(conn, user_id, candidate, at)
        if code is not None:
            return code


async def record_click(
    platform: Platform,
    *,
    code: str,
    utm: UtmTags,
    ip: str | None,
    device_token: str | None,
) -> uuid.UUID | None:
    """Record a visit of a code's link: the click's id (the cookie's value), or None for
    a code nobody has."""
    code = code.strip().lower()
    if not (6 <= len(code) <= 16 and code.isalnum() and code.isascii()):
        return None
    click_id = uuid.uuid4()
    address = _address(ip)
    async with platform.pool.acquire() as conn:
        recorded = await store.record_click(
            conn,
            click_id=click_id,
            code=code,
            utm=utm,
            ip=None if address is None else str(address),
            cluster=ip_cluster(ip),
            device_hash=device_digest(device_token),
            at=platform.clock.now(),
        )
    return click_id if recorded else None


def qr_svg(platform: Platform, code: str) -> bytes:
    """The link as a QR code (SVG), for print and phones."""
    out = io.BytesIO()
    segno.make(referral_link(platform, code), error="m").save(
        out, kind="svg", scale=6, border=2, xmldecl=False, title="Referral link"
    )
    return out.getvalue()


async def code_exists(platform: Platform, code: str) -> bool:
    async with platform.pool.acquire() as conn:
        return await store.code_exists(conn, code.strip().lower())


# ---- sightings -------------------------------------------------------------------------


async def record_sighting(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    ip: str | None,
    device_token: str | None,
    at: datetime,
) -> None:
    seen: list[tuple[str, str]] = []
    address = _address(ip)
    if address is not None:
        seen.append(("ip", str(address)))
    digest = device_digest(device_token)
    if digest is not None:
        seen.append(("device", digest.hex()))
    await store.record_sightings(conn, user_id, seen, at)


# ---- sign-up: attribution --------------------------------------------------------------


def _rules_by_code(rules: list[FraudRule]) -> dict[FraudRuleCode, FraudRule]:
    return {rule.code: rule for rule in rules if rule.enabled}


async def attribute_signup(conn: Connection, platform: Platform, context: SignupContext) -> None:
    """Sign-up hook (inside the sign-up's transaction): give the new member a code, note
    where they signed up from, and map the attribution cookie's click, if it is within
    the window, to this account. The sign-up-time rules (device, address, throwaway
    domain) may refuse it at once."""
    await ensure_code(conn, context.user_id, context.at)
    device_token = context.cookies.get(DEVICE_COOKIE)
    await record_sighting(
        conn, context.user_id, ip=context.source_ip, device_token=device_token, at=context.at
    )
    try:
        click_id = uuid.UUID(context.cookies.get(ATTRIBUTION_COOKIE, ""))
    except ValueError:
        return
    click = await store.click(conn, click_id)
    window = timedelta(days=platform.settings.referral_attribution_days)
    if click is None or click.created_at < context.at - window:
        return
    address = _address(context.source_ip)
    referral = Referral(
        referee_id=context.user_id,
        referrer_id=click.referrer_id,
        click_id=click.id,
        status=ReferralStatus.SIGNED_UP,
        signup_ip=None if address is None else str(address),
        signup_cluster=ip_cluster(context.source_ip) or click.ip_cluster,
        signup_device=device_digest(device_token) or click.device_hash,
        signed_up_at=context.at,
    )
    rules = _rules_by_code(await store.fraud_rules(conn))
    refusal = _disposable_email(rules, context.email) or await _self_referral(
        conn, rules, referral, context.at, click_ip=click.ip
    )
    if refusal is not None:
        referral = _refused(referral, refusal, context.at)
    await store.insert_referral(conn, referral)
    log.info(
        "referral_attributed",
        referee_id=str(context.user_id),
        referrer_id=str(click.referrer_id),
        refused=None if refusal is None else refusal.rule.value,
    )


def _refused(referral: Referral, refusal: Refusal, at: datetime) -> Referral:
    return Referral(
        referee_id=referral.referee_id,
        referrer_id=referral.referrer_id,
        click_id=referral.click_id,
        status=ReferralStatus.REFUSED,
        refusal_rule=refusal.rule,
        refusal_detail=refusal.detail,
        signup_ip=referral.signup_ip,
        signup_cluster=referral.signup_cluster,
        signup_device=referral.signup_device,
        signed_up_at=referral.signed_up_at,
        decided_at=at,
    )


def _disposable_email(rules: dict[FraudRuleCode, FraudRule], email: str) -> Refusal | None:
    if FraudRuleCode.DISPOSABLE_EMAIL not in rules:
        return None
    domain = email.rpartition("@")[2].strip().lower()
    # A subdomain of a listed domain is the same throwaway service.
    parts = domain.split(".")
    if any(".".join(parts[i:]) in DISPOSABLE_DOMAINS for i in range(len(parts) - 1)):
        return Refusal(rule=FraudRuleCode.DISPOSABLE_EMAIL, detail=f"domain {domain}")
    return None


async def _self_referral(
    conn: Connection,
    rules: dict[FraudRuleCode, FraudRule],
    referral: Referral,
    at: datetime,
    *,
    click_ip: str | None = None,
) -> Refusal | None:
    """The referee on a device or address the referrer is seen on: one person, two
    accounts."""
    referrer = referral.referrer_id
    if FraudRuleCode.SHARED_DEVICE in rules:
        theirs = await store.seen_values(conn, referrer, "device")
        mine = await store.seen_values(conn, referral.referee_id, "device")
        if referral.signup_device is not None:
            mine.add(referral.signup_device.hex())
        if shared := sorted(theirs & mine):
            return Refusal(rule=FraudRuleCode.SHARED_DEVICE, detail=f"device {shared[0][:16]}")
    rule = rules.get(FraudRuleCode.SHARED_IP)
    if rule is not None:
        since = at - timedelta(days=rule.param("lookback_days", 90))
        theirs = await store.seen_values(conn, referrer, "ip", since)
        mine = await store.seen_values(conn, referral.referee_id, "ip", since)
        mine |= {ip for ip in (referral.signup_ip, click_ip) if ip}
        if shared := sorted(theirs & mine):
            return Refusal(rule=FraudRuleCode.SHARED_IP, detail=f"address {shared[0]}")
    return None


# ---- qualification: the referee's first paid session -----------------------------------


async def qualify_first_paid_session(
    conn: Connection, platform: Platform, referee_id: uuid.UUID, session_id: uuid.UUID
) -> ReferralStatus | None:
    """Consumer of `session.paid` (in the consumer's transaction): the referee's first
    paid session decides their referral — refused by the first rule that finds the two
    accounts one person or a ring, completed otherwise (`referral.completed` carries the
    session, so its refund voids the points). Later sessions change nothing."""
    referral = await store.referral_of(conn, referee_id, lock=True)
    if referral is None or referral.status is not ReferralStatus.SIGNED_UP:
        return None
    now = platform.clock.now()
    rules = _rules_by_code(await store.fraud_rules(conn))
    refusal = (
        await _self_referral(conn, rules, referral, now)
        or await _same_payment_instrument(conn, platform, rules, referral)
        or await _ring(conn, rules, referral, now)
    )
    if refusal is not None:
        await store.decide(
            conn,
            referee_id,
            status=ReferralStatus.REFUSED,
            rule=refusal.rule,
            detail=refusal.detail,
            session_id=session_id,
            at=now,
        )
        log.info("referral_refused", referee_id=str(referee_id), rule=refusal.rule.value)
        return ReferralStatus.REFUSED
    await store.decide(
        conn,
        referee_id,
        status=ReferralStatus.COMPLETED,
        rule=None,
        detail=None,
        session_id=session_id,
        at=now,
    )
    await emit_event(
        conn,
        ReferralCompleted(
            referrer_id=str(referral.referrer_id),
            referee_id=str(referee_id),
            session_id=str(session_id),
        ),
    )
    return ReferralStatus.COMPLETED


async def _same_payment_instrument(
    conn: Connection,
    platform: Platform,
    rules: dict[FraudRuleCode, FraudRule],
    referral: Referral,
) -> Refusal | None:
    if FraudRuleCode.SAME_PAYMENT_INSTRUMENT not in rules:
        return None
    digests = await payment_instrument_digests(
        conn, platform.settings, [referral.referrer_id, referral.referee_id]
    )
    shared = digests.get(referral.referrer_id, frozenset()) & digests.get(
        referral.referee_id, frozenset()
    )
    if shared:
        # Which kind matched, never which instrument (nor a digest of a phone number,
        # which a guess at every number would reverse).
        kinds = {d.kind for d in shared}
        detail = " and ".join(_SHARED_KIND[k] for k in sorted(kinds) if k in _SHARED_KIND)
        return Refusal(rule=FraudRuleCode.SAME_PAYMENT_INSTRUMENT, detail=detail)
    return None


_SHARED_KIND = {"card": "same card", "mpesa": "same M-Pesa number"}


async def _ring(
    conn: Connection, rules: dict[FraudRuleCode, FraudRule], referral: Referral, now: datetime
) -> Refusal | None:
    if FraudRuleCode.REFERRAL_CYCLE in rules and await store.refers_up_to(
        conn, referral.referrer_id, referral.referee_id
    ):
        return Refusal(rule=FraudRuleCode.REFERRAL_CYCLE, detail="the referee is up the chain")
    rule = rules.get(FraudRuleCode.CLUSTER_RING)
    if rule is not None and referral.signup_cluster is not None:
        since = now - timedelta(days=rule.param("window_days", 30))
        others = await store.referees_in_cluster(
            conn, referral.referrer_id, referral.signup_cluster, since, referral.referee_id
        )
        if others + 1 > rule.param("max_referees", 3):
            return Refusal(
                rule=FraudRuleCode.CLUSTER_RING,
                detail=f"{others + 1} referees from {referral.signup_cluster}",
            )
    return None


# ---- the member's page -----------------------------------------------------------------


async def my_referrals(
    platform: Platform, user_id: uuid.UUID, *, ip: str | None, device_token: str | None
) -> MyReferrals:
    """The member's code, link and referees (and who referred them); the request is a
    sighting of the member, which the self-referral rules compare sign-ups with."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        code = await ensure_code(conn, user_id, now)
        await record_sighting(conn, user_id, ip=ip, device_token=device_token, at=now)
        referees = await store.referrals_by(conn, user_id, REFEREES_SHOWN)
        counts = await store.status_counts(conn, user_id)
        clicks = await store.click_count(conn, user_id)
        mine = await store.referral_of(conn, user_id)
        names = await display_names(
            conn,
            platform.settings,
            [r.referee_id for r in referees] + ([mine.referrer_id] if mine else []),
        )
    return MyReferrals(
        code=code,
        link=referral_link(platform, code),
        qr_svg_url=f"/r/{code}/qr.svg",
        clicks=clicks,
        signed_up=sum(counts.values()),
        completed=counts.get(ReferralStatus.COMPLETED, 0),
        refused=counts.get(ReferralStatus.REFUSED, 0),
        referees=[
            RefereeView(
                name=names.get(r.referee_id, "A member"),
                status=r.status,
                signed_up_at=r.signed_up_at,
                decided_at=r.decided_at,
                refusal=None if r.refusal_rule is None else REFUSAL_TEXT[r.refusal_rule],
            )
            for r in referees
        ],
        referred_by=None
        if mine is None
        else ReferrerView(
            name=names.get(mine.referrer_id, "A member"),
            status=mine.status,
            signed_up_at=mine.signed_up_at,
        ),
        attribution_days=platform.settings.referral_attribution_days,
    )


async def referrer_of_click(platform: Platform, click_token: str | None) -> str | None:
    """Who the attribution cookie would credit at sign-up (the sign-up page says so):
    their name, or None when the cookie names no click within the window."""
    try:
        click_id = uuid.UUID(click_token or "")
    except ValueError:
        return None
    async with platform.pool.acquire() as conn:
        click = await store.click(conn, click_id)
        window = timedelta(days=platform.settings.referral_attribution_days)
        if click is None or click.created_at < platform.clock.now() - window:
            return None
        names = await display_names(conn, platform.settings, [click.referrer_id])
    return names.get(click.referrer_id, "A member")


async def refused_referrals(platform: Platform) -> list[RefusedReferralView]:
    """The newest refusals, for staff: which rule, what it found, between whom."""
    async with platform.pool.acquire() as conn:
        found = await store.refused(conn, REFUSALS_SHOWN)
        names = await display_names(
            conn,
            platform.settings,
            {r.referee_id for r in found} | {r.referrer_id for r in found},
        )
    return [
        RefusedReferralView(
            referrer=names.get(r.referrer_id, "A member"),
            referee=names.get(r.referee_id, "A member"),
            rule=r.refusal_rule,
            rule_description=r.rule_description,
            detail=r.refusal_detail,
            signed_up_at=r.signed_up_at,
            decided_at=r.decided_at,
        )
        for r in found
    ]


# ---- what affiliates read of referrals -------------------------------------------------


async def crediting_referral(conn: Connection, referee_id: uuid.UUID) -> Referral | None:
    """The referral that credits the referee's payments to their referrer (none when it
    was refused: a self-referral earns nobody anything)."""
    referral = await store.referral_of(conn, referee_id)
    if referral is None or referral.status is ReferralStatus.REFUSED:
        return None
    return referral


async def funnel(conn: Connection, referrer_id: uuid.UUID) -> tuple[int, int, int]:
    """Link visits, sign-ups and completed referrals, all time."""
    counts = await store.status_counts(conn, referrer_id)
    return (
        await store.click_count(conn, referrer_id),
        sum(counts.values()),
        counts.get(ReferralStatus.COMPLETED, 0),
    )


async def daily_funnel(conn: Connection, referrer_id: uuid.UUID, since: datetime) -> list[DayCount]:
    return await store.daily_funnel(conn, referrer_id, since)

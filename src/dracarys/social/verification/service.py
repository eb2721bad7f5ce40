"""The rules of follow verification.

- A platform is checked through its API (OAuth) when this deployment has the platform's
  client and our account on it; otherwise, and for Instagram and TikTok always, by a
  manual proof a reviewer decides. X falls back to a proof when its API tier refuses the
  follows lookup (the member is told so).
- The OAuth round trip: `start_oauth` stores the state (hashed, single use, 10 minutes)
  and the PKCE verifier for the member; `finish_oauth` (`POST /api/v1/social/verify`)
  takes the code back, checks the follow and records it. A retry of a finished round trip
  answers the platform's current status.
- The first verification of a platform emits `FollowVerified` (one award per member and
  platform, ever, in the transaction that records it); a check that finds a verified
  follow gone (the scheduled re-check, or the member's own "check again") emits
  `FollowRevoked` once, which takes the award back. A platform account verifies one
  member only.
- Tokens are sealed, bound to the member and platform; the re-check refreshes them (X
  rotates refresh tokens, so a refreshed pair is saved before it is used). A provider that
  cannot be reached never takes points back: the re-check tries again later."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import asyncpg
import httpx
import msgspec
import structlog

from dracarys.crypto import pkce_challenge, social_tokens_cipher, token_hash
from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceUnavailable
from dracarys.files import sniff_file_type
from dracarys.identity import CurrentUser, display_names, record_audit
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.social.events import FollowRevoked, FollowVerified
from dracarys.social.verification import store
from dracarys.social.verification.models import (
    PLATFORM_NAMES,
    FollowPlatform,
    Method,
    MyVerifications,
    OAuthStart,
    PlatformStatus,
    ProofQueueItem,
    ProofRecord,
    ProofView,
    Tokens,
    VerificationRecord,
    VerificationStatus,
    VerifyInput,
)
from dracarys.social.verification.providers import (
    AccessWithdrawn,
    CodeRefused,
    FollowCheck,
    FollowLookupForbidden,
    FollowProvider,
    ProviderUnavailable,
    ScopeMissing,
    oauth_configured,
    provider_for,
)

log = structlog.get_logger("dracarys.social.verification")

STATE_TTL = timedelta(minutes=10)
# A re-check the provider could not answer is tried again after this, doubling per failure
# up to the regular interval.
RETRY_AFTER = timedelta(minutes=30)
# A run of the re-check leases the rows it takes for this long.
CHECK_LEASE = timedelta(minutes=10)
QUEUE_LIMIT = 200
PROOF_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP"}
_TOKENS_FIELD = b"tokens"


# ---- what each platform is -----------------------------------------------------------


def our_account(settings: Settings, platform: FollowPlatform) -> tuple[str, str]:
    """How our account on `platform` is named, and its address."""
    if platform is FollowPlatform.YOUTUBE:
        url = settings.social_youtube_url
        return urlsplit(url).path.strip("/") or "Dracarys", url
    if platform is FollowPlatform.X:
        return f"@{settings.social_x_handle}", f"https://x.com/{settings.social_x_handle}"
    if platform is FollowPlatform.INSTAGRAM:
        handle = settings.social_instagram_handle
        return f"@{handle}", f"https://www.instagram.com/{handle}/"
    handle = settings.social_tiktok_handle
    return f"@{handle}", f"https://www.tiktok.com/@{handle}"


def method_of(
    settings: Settings, platform: FollowPlatform, record: VerificationRecord | None
) -> Method:
    """OAuth where the platform's API can check the follow here; a proof otherwise (and on
    X when its API tier refused the lookup)."""
    if not oauth_configured(settings, platform):
        return "manual"
    if record is not None and (
        record.status == VerificationStatus.MANUAL_REQUIRED
        or (record.method == "manual" and record.status == VerificationStatus.VERIFIED)
    ):
        return "manual"
    return "oauth"


def redirect_uri(settings: Settings, platform: FollowPlatform) -> str:
    return f"{settings.public_url.rstrip('/')}/social/callback/{platform.value}"


def _platform(value: str) -> FollowPlatform:
    try:
        return FollowPlatform(value)
    except ValueError:
        names = ", ".join(p.value for p in FollowPlatform)
        raise InvalidInput(f"Choose one of the platforms: {names}.", field="platform") from None


@asynccontextmanager
async def _http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=15) as client:
        yield client


def _seal(settings: Settings, user_id: uuid.UUID, platform: str, tokens: Tokens) -> bytes:
    cipher = social_tokens_cipher(settings)
    return cipher.seal_bytes(
        user_id, _TOKENS_FIELD + b"/" + platform.encode(), msgspec.json.encode(tokens)
    )


def _open(settings: Settings, record: VerificationRecord) -> Tokens | None:
    if record.tokens_sealed is None:
        return None
    cipher = social_tokens_cipher(settings)
    plain = cipher.open_bytes(
        record.user_id, _TOKENS_FIELD + b"/" + record.platform.encode(), record.tokens_sealed
    )
    return msgspec.json.decode(plain, type=Tokens)


# ---- the member's page -----------------------------------------------------------------


def _proof_view(proof: ProofRecord) -> ProofView:
    return ProofView(
        id=proof.id,
        user_id=proof.user_id,
        platform=FollowPlatform(proof.platform),
        profile_url=proof.profile_url,
        handle=proof.handle,
        status=proof.status,  # type: ignore[arg-type]
        submitted_at=proof.submitted_at,
        decided_at=proof.decided_at,
        reason=proof.reason,
        screenshot_url=f"/api/v1/social/proofs/{proof.id}/screenshot",
    )


def _status(
    settings: Settings,
    platform: FollowPlatform,
    record: VerificationRecord | None,
    proof: ProofRecord | None,
) -> PlatformStatus:
    name = PLATFORM_NAMES[platform]
    ours, ours_url = our_account(settings, platform)
    method = method_of(settings, platform, record)
    hours = settings.social_recheck_hours
    pending = proof is not None and proof.status == "pending"
    status = VerificationStatus.NOT_CONNECTED
    if record is not None and record.status != VerificationStatus.MANUAL_REQUIRED:
        status = VerificationStatus(record.status)
    if pending and status is not VerificationStatus.VERIFIED:
        status = VerificationStatus.PENDING_REVIEW
    elif record is not None and record.status == VerificationStatus.MANUAL_REQUIRED:
        status = VerificationStatus.MANUAL_REQUIRED
    account = (record.account_name or None) if record is not None else None
    taken_back = record is not None and record.revoked_at is not None
    if status is VerificationStatus.VERIFIED:
        if record is not None and record.method == "oauth":
            message = (
                f"Verified: {account or 'your account'} follows {ours}. We check again every "
                f"{hours} hours; unfollowing, or disconnecting us, takes the points back."
            )
        else:
            message = f"Verified by a reviewer: {account or 'your account'} follows {ours}."
        if taken_back:
            message += (
                " The points for this platform were taken back earlier and are not awarded twice."
            )
    elif status is VerificationStatus.REVOKED:
        why = (
            "you withdrew our access, so we can no longer check it"
            if record is not None and record.revoked_reason == "access_withdrawn"
            else f"{account or 'your account'} no longer follows {ours}"
        )
        message = (
            f"Your follow was checked again and {why}, so its points were taken back. "
            "You can verify again, but points for a platform are awarded once."
        )
    elif status is VerificationStatus.PENDING_REVIEW:
        message = "A reviewer is checking your proof. You will see the decision here."
    elif status is VerificationStatus.MANUAL_REQUIRED:
        message = (
            f"{name} does not let our app read who you follow, so we cannot check it "
            "automatically. Send a screenshot of your profile and its link instead; a "
            "reviewer checks it."
        )
    elif status is VerificationStatus.NOT_FOLLOWING:
        if record is not None and record.account_id is None:
            message = (
                f"This Google account has no YouTube channel, so it cannot subscribe to {ours}. "
                "Connect the account you use on YouTube."
            )
        else:
            message = (
                f"{account or 'Your account'} does not follow {ours} yet. Follow it, then "
                "check again."
            )
    elif method == "oauth":
        message = f"Connect your {name} account and we check with {name} that you follow {ours}."
    else:
        message = (
            f"Follow {ours}, then send a screenshot of your {name} profile showing it, with "
            "the link to your profile. A reviewer checks it."
        )
    if (
        status is VerificationStatus.NOT_CONNECTED
        and proof is not None
        and proof.status == "rejected"
    ):
        message = f"Your proof was not accepted: {proof.reason}. You can send another. " + message
    verified = status is VerificationStatus.VERIFIED
    return PlatformStatus(
        platform=platform,
        name=name,
        our_account=ours,
        our_account_url=ours_url,
        method=method,
        status=status,
        message=message,
        account_name=account,
        verified_at=record.verified_at if record is not None and verified else None,
        revoked_at=record.revoked_at if record is not None else None,
        award_claimed=record is not None and record.awarded_at is not None,
        can_connect=method == "oauth" and not verified,
        can_submit_proof=method == "manual" and not verified and not pending,
        latest_proof=_proof_view(proof) if proof is not None else None,
    )


async def _status_of(
    conn: Connection, settings: Settings, user_id: uuid.UUID, platform: FollowPlatform
) -> PlatformStatus:
    record = await store.verification(conn, user_id, platform.value)
    proofs = await store.latest_proofs_of(conn, user_id)
    return _status(settings, platform, record, proofs.get(platform.value))


async def my_verifications(platform: Platform, user_id: uuid.UUID) -> MyVerifications:
    async with platform.pool.acquire() as conn:
        records = {r.platform: r for r in await store.verifications_of(conn, user_id)}
        proofs = await store.latest_proofs_of(conn, user_id)
    return MyVerifications(
        platforms=[
            _status(platform.settings, p, records.get(p.value), proofs.get(p.value))
            for p in FollowPlatform
        ],
        recheck_hours=platform.settings.social_recheck_hours,
    )


# ---- OAuth -------------------------------------------------------------------------------


async def start_oauth(platform: Platform, user: CurrentUser, which: str) -> OAuthStart:
    followed = _platform(which)
    settings = platform.settings
    name = PLATFORM_NAMES[followed]
    if not oauth_configured(settings, followed):
        raise InvalidInput(
            f"{name} is verified by a screenshot a reviewer checks, not by connecting an account.",
            field="platform",
        )
    now = platform.clock.now()
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    callback = redirect_uri(settings, followed)
    async with transaction(platform.pool) as conn:
        record = await store.verification(conn, user.id, followed.value)
        if record is not None and record.status == VerificationStatus.VERIFIED:
            raise Conflict(f"Your {name} follow is already verified.", field="platform")
        await store.insert_oauth_state(
            conn,
            state_hash=token_hash(state),
            user_id=user.id,
            platform=followed.value,
            code_verifier=verifier,
            redirect_uri=callback,
            now=now,
            expires_at=now + STATE_TTL,
        )
    async with _http() as http:
        url = provider_for(settings, followed, http).authorization_url(
            state=state, code_challenge=pkce_challenge(verifier), redirect_uri=callback
        )
    return OAuthStart(platform=followed, authorization_url=url, state=state)


def _unavailable(name: str) -> ServiceUnavailable:
    return ServiceUnavailable(f"{name} could not be reached just now. Try again in a moment.")


async def finish_oauth(platform: Platform, user: CurrentUser, body: VerifyInput) -> PlatformStatus:
    """`POST /api/v1/social/verify`: the code the platform sent back, exchanged and used to
    check the follow, recorded for the member who started the round trip."""
    settings = platform.settings
    followed = body.platform
    name = PLATFORM_NAMES[followed]
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        pending = await store.consume_oauth_state(conn, token_hash(body.state), now)
    if pending is None or pending.user_id != user.id or pending.platform != followed.value:
        raise InvalidInput(
            f"This {name} connection has expired or was not started from your account. "
            "Start again.",
            field="state",
        )
    if pending.used_at is not None:
        # A retry of a round trip that already finished: its outcome stands.
        async with platform.pool.acquire() as conn:
            return await _status_of(conn, settings, user.id, followed)
    if not oauth_configured(settings, followed):
        raise InvalidInput(f"{name} is not connected through its API here.", field="platform")
    now_s = int(now.timestamp())
    async with _http() as http:
        provider = provider_for(settings, followed, http)
        try:
            tokens = await provider.exchange_code(
                code=body.code,
                code_verifier=pending.code_verifier,
                redirect_uri=pending.redirect_uri,
                now_s=now_s,
            )
        except CodeRefused:
            raise InvalidInput(
                f"{name} did not accept this connection (it may have expired). Start again.",
                field="code",
            ) from None
        except ScopeMissing:
            raise InvalidInput(
                f"To check your follow we need permission to see your {name} subscriptions. "
                "Connect again and leave that permission ticked.",
                field="code",
            ) from None
        except (ProviderUnavailable, AccessWithdrawn) as exc:
            log.warning("social_token_exchange_failed", platform=followed.value, error=str(exc))
            raise _unavailable(name) from exc
        check = await _check_or_fallback(provider, tokens.access_token)
    async with transaction(platform.pool) as conn:
        await _record_check(conn, platform, user.id, followed, check, tokens, now)
        return await _status_of(conn, settings, user.id, followed)


async def _check_or_fallback(provider: FollowProvider, access_token: str) -> FollowCheck | None:
    """The follow as the platform answers it; None when its API refuses the lookup."""
    try:
        return await provider.check_follow(access_token)
    except FollowLookupForbidden:
        return None
    except (ProviderUnavailable, AccessWithdrawn) as exc:
        log.warning("social_follow_check_failed", platform=provider.platform.value, error=str(exc))
        raise _unavailable(provider.name) from exc


async def check_again(platform: Platform, user: CurrentUser, which: str) -> PlatformStatus:
    """The member asks for a new check with the access they granted (after following)."""
    followed = _platform(which)
    settings = platform.settings
    name = PLATFORM_NAMES[followed]
    async with platform.pool.acquire() as conn:
        record = await store.verification(conn, user.id, followed.value)
    tokens = _open(settings, record) if record is not None else None
    if (
        record is None
        or tokens is None
        or record.method != "oauth"
        or not oauth_configured(settings, followed)
    ):
        raise Conflict(f"Connect your {name} account first.", field="platform")
    now = platform.clock.now()
    async with _http() as http:
        provider = provider_for(settings, followed, http)
        try:
            tokens = await _fresh_tokens(platform, provider, record, tokens)
        except AccessWithdrawn:
            tokens = None
        except ProviderUnavailable as exc:
            raise _unavailable(name) from exc
        check = None if tokens is None else await _check_or_fallback(provider, tokens.access_token)
    async with transaction(platform.pool) as conn:
        if tokens is None:
            await _access_withdrawn(conn, platform, user.id, followed, now)
        else:
            await _record_check(conn, platform, user.id, followed, check, tokens, now)
        return await _status_of(conn, settings, user.id, followed)


async def _fresh_tokens(
    platform: Platform, provider: FollowProvider, record: VerificationRecord, tokens: Tokens
) -> Tokens:
    """Tokens whose access token works for a while yet: refreshed when it has (nearly)
    expired, and saved at once, since a rotated refresh token is the only one that works."""
    now_s = int(platform.clock.now().timestamp())
    if tokens.expires_at_s is not None and tokens.expires_at_s - 60 > now_s:
        return tokens
    fresh = await provider.refresh(tokens, now_s)
    async with transaction(platform.pool) as conn:
        current = await store.verification(conn, record.user_id, record.platform, lock=True)
        if current is not None:
            await store.save_verification(
                conn,
                msgspec.structs.replace(
                    current,
                    tokens_sealed=_seal(platform.settings, record.user_id, record.platform, fresh),
                ),
            )
    return fresh


async def _record_check(
    conn: Connection,
    platform: Platform,
    user_id: uuid.UUID,
    followed: FollowPlatform,
    check: FollowCheck | None,
    tokens: Tokens,
    now: datetime,
) -> None:
    """Record what the platform answered (None: its API refuses the lookup) and emit the
    award's events: `FollowVerified` at the first verification, `FollowRevoked` when a
    verified follow is found gone."""
    settings = platform.settings
    await xact_lock(conn, "social-verification", user_id, followed.value)
    existing = await store.verification(conn, user_id, followed.value, lock=True)
    sealed = _seal(settings, user_id, followed.value, tokens)
    base = existing or VerificationRecord(
        user_id=user_id,
        platform=followed.value,
        method="oauth",
        status=VerificationStatus.NOT_FOLLOWING.value,
        account_id=None,
        account_name=None,
        tokens_sealed=None,
        checked_at=now,
        next_check_at=None,
        check_failures=0,
        verified_at=None,
        awarded_at=None,
        revoked_at=None,
        revoked_reason=None,
        created_at=now,
    )
    if check is None:
        if existing is not None and existing.status == VerificationStatus.VERIFIED:
            # Verified before the tier changed: it stands, but can no longer be re-checked.
            await store.save_verification(
                conn, msgspec.structs.replace(existing, next_check_at=None, checked_at=now)
            )
            return
        await store.save_verification(
            conn,
            msgspec.structs.replace(
                base,
                method="oauth",
                status=VerificationStatus.MANUAL_REQUIRED.value,
                tokens_sealed=None,
                checked_at=now,
                next_check_at=None,
            ),
        )
        return
    if check.following and check.account_id is not None:
        holder = await store.account_holder(conn, followed.value, check.account_id)
        if holder is not None and holder != user_id:
            raise Conflict(
                f"This {PLATFORM_NAMES[followed]} account already verified a follow for "
                "another Dracarys account.",
                field="platform",
            )
        was_verified = base.status == VerificationStatus.VERIFIED
        await _save_holding_account(
            conn,
            followed,
            msgspec.structs.replace(
                base,
                method="oauth",
                status=VerificationStatus.VERIFIED.value,
                account_id=check.account_id,
                account_name=check.account_name,
                tokens_sealed=sealed,
                checked_at=now,
                next_check_at=now + timedelta(hours=settings.social_recheck_hours),
                check_failures=0,
                verified_at=base.verified_at if was_verified else now,
                awarded_at=base.awarded_at or now,
            ),
        )
        if base.awarded_at is None:
            await emit_event(conn, FollowVerified(user_id=str(user_id), platform=followed.value))
        return
    if base.status == VerificationStatus.VERIFIED:
        await _revoke(conn, base, now, "unfollowed", tokens_sealed=sealed)
        return
    await store.save_verification(
        conn,
        msgspec.structs.replace(
            base,
            method="oauth",
            status=VerificationStatus.NOT_FOLLOWING.value,
            account_id=check.account_id,
            account_name=check.account_name,
            tokens_sealed=sealed,
            checked_at=now,
            next_check_at=None,
        ),
    )


async def _save_holding_account(
    conn: Connection, followed: FollowPlatform, row: VerificationRecord
) -> None:
    """Save a verification that holds its platform account; another member's verification
    committing the same account meanwhile (the unique index decides) is a 409."""
    try:
        await store.save_verification(conn, row)
    except asyncpg.UniqueViolationError:
        raise Conflict(
            f"This {PLATFORM_NAMES[followed]} account already verified a follow for another "
            "Dracarys account.",
            field="platform",
        ) from None


async def _revoke(
    conn: Connection,
    record: VerificationRecord,
    now: datetime,
    reason: str,
    *,
    tokens_sealed: bytes | None,
) -> None:
    """A verified follow is gone: the status says so and, the first time, the award goes
    back (`FollowRevoked`)."""
    first = record.revoked_at is None
    await store.save_verification(
        conn,
        msgspec.structs.replace(
            record,
            status=VerificationStatus.REVOKED.value,
            tokens_sealed=tokens_sealed,
            checked_at=now,
            next_check_at=None,
            revoked_at=record.revoked_at or now,
            revoked_reason=reason,
        ),
    )
    if first and record.awarded_at is not None:
        await emit_event(
            conn,
            FollowRevoked(user_id=str(record.user_id), platform=record.platform, reason=reason),
        )


async def _access_withdrawn(
    conn: Connection,
    platform: Platform,
    user_id: uuid.UUID,
    followed: FollowPlatform,
    now: datetime,
) -> None:
    await xact_lock(conn, "social-verification", user_id, followed.value)
    record = await store.verification(conn, user_id, followed.value, lock=True)
    if record is None:
        return
    if record.status == VerificationStatus.VERIFIED:
        await _revoke(conn, record, now, "access_withdrawn", tokens_sealed=None)
    else:
        # Nothing to take back; without tokens the member connects again to be checked.
        await store.save_verification(
            conn, msgspec.structs.replace(record, tokens_sealed=None, checked_at=now)
        )


# ---- the scheduled re-check --------------------------------------------------------------


async def recheck_follows(platform: Platform, *, batch_size: int = 100) -> int:
    """Cron job: re-check the verified OAuth follows that are due. A follow found gone, or
    whose access was withdrawn, is revoked (its points taken back); a provider that cannot
    answer is asked again later. Returns how many follows were checked."""
    checked = 0
    async with _http() as http:
        while True:
            now = platform.clock.now()
            async with transaction(platform.pool) as conn:
                due = await store.claim_due_checks(conn, now, now + CHECK_LEASE, batch_size)
                if checked == 0:
                    await store.delete_expired_states(conn, now - timedelta(days=1))
            for record in due:
                await _recheck_one(platform, http, record)
                checked += 1
            if len(due) < batch_size:
                return checked


async def _recheck_one(
    platform: Platform, http: httpx.AsyncClient, record: VerificationRecord
) -> None:
    settings = platform.settings
    followed = FollowPlatform(record.platform)
    now = platform.clock.now()
    if not oauth_configured(settings, followed):
        return  # the deployment stopped checking this platform: the lease just runs out
    provider = provider_for(settings, followed, http)
    stored = _open(settings, record)
    try:
        if stored is None:
            raise AccessWithdrawn("no tokens")
        tokens = await _fresh_tokens(platform, provider, record, stored)
        check: FollowCheck | None = await provider.check_follow(tokens.access_token)
    except AccessWithdrawn:
        async with transaction(platform.pool) as conn:
            await _access_withdrawn(conn, platform, record.user_id, followed, now)
        log.info("social_follow_access_withdrawn", platform=followed.value)
        return
    except FollowLookupForbidden:
        check = None
    except ProviderUnavailable as exc:
        failures = record.check_failures + 1
        wait = min(
            RETRY_AFTER * 2 ** min(failures - 1, 10), timedelta(hours=settings.social_recheck_hours)
        )
        async with transaction(platform.pool) as conn:
            current = await store.verification(conn, record.user_id, record.platform, lock=True)
            if current is not None and current.status == VerificationStatus.VERIFIED:
                await store.save_verification(
                    conn,
                    msgspec.structs.replace(
                        current, check_failures=failures, next_check_at=now + wait
                    ),
                )
        log.warning("social_follow_recheck_failed", platform=followed.value, error=str(exc))
        return
    try:
        async with transaction(platform.pool) as conn:
            await _record_check(conn, platform, record.user_id, followed, check, tokens, now)
    except Conflict:
        # The grant now names an account that verifies someone else's follow: this
        # member's follow can no longer be confirmed.
        async with transaction(platform.pool) as conn:
            await _access_withdrawn(conn, platform, record.user_id, followed, now)


# ---- manual proofs -----------------------------------------------------------------------

_X_RESERVED = {"home", "explore", "i", "settings", "messages", "notifications", "search"}
_INSTAGRAM_RESERVED = {"p", "reel", "reels", "explore", "accounts", "stories", "direct"}
_PROFILE_LINKS: dict[FollowPlatform, tuple[frozenset[str], str, re.Pattern[str], str]] = {
    # hosts, canonical host, path pattern (group 1: the handle), example
    FollowPlatform.X: (
        frozenset({"x.com", "www.x.com", "mobile.x.com", "twitter.com", "www.twitter.com"}),
        "x.com",
        re.compile(r"^/([A-Za-z0-9_]{1,15})/?$"),
        "https://x.com/yourname",
    ),
    FollowPlatform.INSTAGRAM: (
        frozenset({"instagram.com", "www.instagram.com"}),
        "www.instagram.com",
        re.compile(r"^/([A-Za-z0-9._]{1,30})/?$"),
        "https://www.instagram.com/yourname/",
    ),
    FollowPlatform.TIKTOK: (
        frozenset({"tiktok.com", "www.tiktok.com", "m.tiktok.com"}),
        "www.tiktok.com",
        re.compile(r"^/(@[A-Za-z0-9._]{2,24})/?$"),
        "https://www.tiktok.com/@yourname",
    ),
    FollowPlatform.YOUTUBE: (
        frozenset({"youtube.com", "www.youtube.com", "m.youtube.com"}),
        "www.youtube.com",
        re.compile(r"^/(@[A-Za-z0-9._-]{3,30}|channel/UC[A-Za-z0-9_-]{22})/?$"),
        "https://www.youtube.com/@yourname",
    ),
}


def profile_link(platform: FollowPlatform, raw: str) -> tuple[str, str]:
    """The member's profile link on `platform`, checked against the platform's own hosts
    and profile paths: (the link as we keep it, the handle)."""
    hosts, canonical, pattern, example = _PROFILE_LINKS[platform]
    name = PLATFORM_NAMES[platform]
    text = raw.strip()
    if "://" not in text:
        text = f"https://{text}"
    refused = InvalidInput(
        f"Paste the link to your own {name} profile, like {example}.", field="profile_url"
    )
    try:
        parts = urlsplit(text)
    except ValueError:
        raise refused from None
    if parts.scheme not in ("http", "https") or (parts.hostname or "") not in hosts:
        raise refused
    if parts.username or parts.password or parts.port:
        raise refused
    match = pattern.match(parts.path)
    if match is None:
        raise refused
    handle = match.group(1)
    reserved = {FollowPlatform.X: _X_RESERVED, FollowPlatform.INSTAGRAM: _INSTAGRAM_RESERVED}
    if handle.lower() in reserved.get(platform, set()):
        raise refused
    return f"https://{canonical}/{handle}", handle


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


async def submit_proof(
    platform: Platform, user: CurrentUser, which: str, profile_url: str, content: bytes
) -> ProofView:
    followed = _platform(which)
    settings = platform.settings
    name = PLATFORM_NAMES[followed]
    link, handle = profile_link(followed, profile_url)
    limit = settings.social_proof_max_bytes
    if not content:
        raise InvalidInput(
            "This file is empty. Choose the screenshot of your profile.", field="file"
        )
    if len(content) > limit:
        raise InvalidInput(
            f"This screenshot is {_megabytes(len(content))}, more than the "
            f"{_megabytes(limit)} limit. Send a smaller one.",
            field="file",
        )
    sniffed = sniff_file_type(content)
    if sniffed is None or sniffed.content_type not in PROOF_TYPES:
        raise InvalidInput(
            "This file is not a PNG, JPEG or WebP picture (we read the file itself, not its "
            "name). Send a screenshot in one of those formats.",
            field="file",
        )
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        await xact_lock(conn, "social-verification", user.id, followed.value)
        record = await store.verification(conn, user.id, followed.value)
        if method_of(settings, followed, record) != "manual":
            raise InvalidInput(
                f"{name} is checked by connecting your {name} account, not by a screenshot.",
                field="platform",
            )
        if record is not None and record.status == VerificationStatus.VERIFIED:
            raise Conflict(f"Your {name} follow is already verified.", field="platform")
        if await store.pending_proof(conn, user.id, followed.value) is not None:
            raise Conflict(
                f"Your {name} proof is waiting for a reviewer. You can send another if it is "
                "not accepted.",
                field="platform",
            )
        holder = await store.account_holder(conn, followed.value, handle.lower())
        if holder is not None and holder != user.id:
            raise Conflict(
                f"This {name} profile already verified a follow for another Dracarys account.",
                field="profile_url",
            )
        try:
            proof = await store.insert_proof(
                conn,
                proof_id=uuid.uuid4(),
                user_id=user.id,
                platform=followed.value,
                profile_url=link,
                handle=handle,
                content_type=sniffed.content_type,
                screenshot=content,
                now=now,
            )
        except asyncpg.UniqueViolationError:  # pragma: no cover - the lock above orders them
            raise Conflict(f"Your {name} proof is waiting for a reviewer.") from None
    return _proof_view(proof)


async def proof_screenshot(
    platform: Platform, viewer: CurrentUser, proof_id: uuid.UUID
) -> tuple[ProofRecord, bytes]:
    """The screenshot, for its member and for staff; anyone else is told it does not exist."""
    async with platform.pool.acquire() as conn:
        proof = await store.proof(conn, proof_id)
        if proof is None or not (proof.user_id == viewer.id or viewer.is_staff):
            raise NotFound("There is no such proof.", field="proof_id")
        content = await store.screenshot(conn, proof_id)
    assert content is not None  # the row was just read
    return proof, content


async def review_queue(platform: Platform) -> list[ProofQueueItem]:
    async with platform.pool.acquire() as conn:
        proofs = await store.pending_proofs(conn, QUEUE_LIMIT)
        names = await display_names(conn, platform.settings, {p.user_id for p in proofs})
    return [
        ProofQueueItem(
            **msgspec.structs.asdict(_proof_view(p)), member_name=names.get(p.user_id, "A member")
        )
        for p in proofs
    ]


async def decide_proof(
    platform: Platform,
    reviewer: CurrentUser,
    proof_id: uuid.UUID,
    *,
    approve: bool,
    reason: str,
    source_ip: str | None,
) -> ProofView:
    """A reviewer's decision on a pending proof; approving verifies the follow (and sends
    its award the first time). Nobody decides their own proof."""
    reason = reason.strip()
    if not approve and len(reason) < 3:
        raise InvalidInput(
            "Say why the proof is not accepted; the member reads it.", field="reason"
        )
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        proof = await store.proof(conn, proof_id, lock=True)
        if proof is None:
            raise NotFound("There is no such proof.", field="proof_id")
        if proof.user_id == reviewer.id:
            raise Forbidden("You cannot review your own proof; another reviewer decides it.")
        if proof.status != "pending":
            raise Conflict(f"This proof was already {proof.status}.", field="proof_id")
        followed = FollowPlatform(proof.platform)
        await xact_lock(conn, "social-verification", proof.user_id, proof.platform)
        if approve:
            await _verify_by_proof(conn, proof, followed, now)
        decided = await store.decide_proof(
            conn,
            proof_id,
            status="approved" if approve else "rejected",
            reviewer_id=reviewer.id,
            reason=reason or None,
            now=now,
        )
        await record_audit(
            conn,
            reviewer.id,
            "social.proof_approved" if approve else "social.proof_rejected",
            f"user:{proof.user_id}",
            source_ip,
            {"proof_id": str(proof.id), "platform": proof.platform, "reason": reason},
            at=now,
        )
    return _proof_view(decided)


async def _verify_by_proof(
    conn: Connection, proof: ProofRecord, followed: FollowPlatform, now: datetime
) -> None:
    account_id = proof.handle.lower()
    holder = await store.account_holder(conn, followed.value, account_id)
    if holder is not None and holder != proof.user_id:
        raise Conflict(
            f"This {PLATFORM_NAMES[followed]} profile already verified a follow for another "
            "Dracarys account; reject the proof with that reason.",
            field="proof_id",
        )
    existing = await store.verification(conn, proof.user_id, followed.value, lock=True)
    if existing is not None and existing.status == VerificationStatus.VERIFIED:
        raise Conflict("This member's follow is already verified.", field="proof_id")
    # How the member's profile is named: TikTok and YouTube handles carry their "@", a
    # YouTube channel link is named by its path.
    handle = proof.handle if proof.handle.startswith(("@", "channel/")) else f"@{proof.handle}"
    await _save_holding_account(
        conn,
        followed,
        VerificationRecord(
            user_id=proof.user_id,
            platform=followed.value,
            method="manual",
            status=VerificationStatus.VERIFIED.value,
            account_id=account_id,
            account_name=handle,
            tokens_sealed=None,
            checked_at=now,
            next_check_at=None,
            check_failures=0,
            verified_at=now,
            awarded_at=(existing.awarded_at if existing else None) or now,
            revoked_at=existing.revoked_at if existing else None,
            revoked_reason=existing.revoked_reason if existing else None,
            created_at=existing.created_at if existing else now,
        ),
    )
    if existing is None or existing.awarded_at is None:
        await emit_event(conn, FollowVerified(user_id=str(proof.user_id), platform=followed.value))

"""Anti-abuse rules: e-mail clicks earn only when a person followed their own link and
then signed in; logins leave sightings of IPs and devices, and accounts sharing them are
flagged for review; staff unfreeze earning and decide appeals (a grant is a ledger entry
keyed by the appeal)."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from datetime import datetime

from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, Forbidden, NotFound
from dracarys.identity import record_audit
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.points import events
from dracarys.points.abuse import store
from dracarys.points.abuse.models import (
    Appeal,
    AppealDecisionInput,
    AppealInput,
    Denial,
    ReviewQueue,
)
from dracarys.points.ledger import service as ledger
from dracarys.points.ledger import store as ledger_store

# How many of a user's denials, and of the appeals, one page shows.
DENIALS_SHOWN = 100
APPEALS_SHOWN = 200

# ---- e-mail click tokens --------------------------------------------------------------

# Mail scanners and link pre-fetchers that "click" every link in a message.
_AUTOMATED_AGENTS = re.compile(
    r"bot|crawl|spider|slurp|preview|prefetch|scanner|proofpoint|mimecast|barracuda|"
    r"googleimageproxy|yahoomailproxy|outlook-ios-linkpreview|microsoft office protocol|"
    r"ms-office|curl|wget|python-requests|python-httpx|httpclient|go-http-client|java/|"
    r"okhttp|headless|phantomjs|^$",
    re.IGNORECASE,
)


def is_automated_agent(user_agent: str | None) -> bool:
    return bool(_AUTOMATED_AGENTS.search((user_agent or "").strip()))


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def issue_email_token(
    conn: Connection, platform: Platform, user_id: uuid.UUID, email_id: str
) -> str | None:
    """A unique click token for one user and one marketing email (messaging puts it in
    the links); None if this user already has a token for this email."""
    token = secrets.token_urlsafe(24)
    inserted = await store.insert_email_token(
        conn, _token_hash(token), user_id, email_id, platform.clock.now()
    )
    return token if inserted else None


async def record_email_click(
    platform: Platform, token: str, user_agent: str | None, ip: str | None
) -> str:
    """The link in the email was followed. Scanners are ignored; a human click waits for
    the signed-in confirmation before it can earn anything."""
    if is_automated_agent(user_agent):
        return "ignored"
    async with transaction(platform.pool) as conn:
        if await store.lock_email_token(conn, _token_hash(token)) is None:
            raise NotFound("unknown or expired link")
        await store.record_email_click(
            conn, _token_hash(token), platform.clock.now(), user_agent or "", ip
        )
    return "recorded"


async def confirm_email_click(platform: Platform, user_id: uuid.UUID, token: str) -> str:
    """The click led to an authenticated session of the token's own user: emit
    `email.clicked`, which the award consumer turns into points."""
    async with transaction(platform.pool) as conn:
        clicked = await store.lock_email_token(conn, _token_hash(token))
        if clicked is None or clicked.user_id != user_id:
            raise NotFound("unknown link for this account")
        if clicked.clicked_at is None:
            raise Conflict("this link was not opened by a person yet", field="token")
        if clicked.confirmed_at is not None:
            return "already_confirmed"
        await store.confirm_email_click(conn, _token_hash(token), platform.clock.now())
        await emit_event(conn, events.EmailClicked(user_id=str(user_id), email_id=clicked.email_id))
    return "confirmed"


async def email_click_confirmed(conn: Connection, user_id: uuid.UUID, email_id: str) -> bool:
    """Whether the user's own click on this e-mail led to their signed-in session."""
    return await store.email_click_confirmed(conn, user_id, email_id)


# ---- logins, clusters, freezes --------------------------------------------------------


async def record_login(
    conn: Connection,
    user_id: uuid.UUID,
    source_ip: str | None,
    device: str | None,
    at: datetime,
) -> None:
    await store.set_last_login(conn, user_id, at)
    if source_ip:
        await store.record_sighting(conn, user_id, "ip", source_ip, at)
    if device:
        await store.record_sighting(conn, user_id, "device", device, at)


async def flag_shared_clusters(platform: Platform) -> int:
    """Flag for review every IP or device fingerprint shared by N or more accounts."""
    opened = 0
    async with transaction(platform.pool) as conn:
        now = platform.clock.now()
        min_accounts = platform.settings.points_cluster_min_accounts
        for cluster in await store.shared_clusters(conn, min_accounts):
            kind = "shared_ip" if cluster.kind == "ip" else "shared_device"
            opened += await store.upsert_fraud_flag(
                conn, kind, cluster.value, cluster.user_ids, now
            )
    return opened


async def unfreeze(
    platform: Platform, user_id: uuid.UUID, *, actor: uuid.UUID, source_ip: str | None
) -> None:
    async with transaction(platform.pool) as conn:
        balance = await ledger_store.balance(conn, user_id)
        if balance is None or balance.earning_frozen_at is None:
            raise Conflict("this account's earning is not frozen")
        await ledger_store.set_frozen(conn, user_id, None, None)
        await record_audit(
            conn,
            actor,
            "points.earning_unfrozen",
            f"user:{user_id}",
            source_ip,
            {"frozen_reason": balance.frozen_reason},
        )


async def review_queue(platform: Platform) -> ReviewQueue:
    """What staff review: frozen accounts, open fraud flags and open appeals."""
    async with platform.pool.acquire() as conn:
        return ReviewQueue(
            frozen_accounts=await store.frozen_accounts(conn),
            fraud_flags=await store.open_fraud_flags(conn),
            open_appeals=await store.appeals(conn, None, True, APPEALS_SHOWN),
        )


# ---- denials and appeals --------------------------------------------------------------


async def denials(platform: Platform, user_id: uuid.UUID) -> list[Denial]:
    """Awards that were not given to the user, and why, newest first."""
    async with platform.pool.acquire() as conn:
        return await store.denials(conn, user_id, DENIALS_SHOWN)


async def appeals(platform: Platform, user_id: uuid.UUID, *, staff: bool) -> list[Appeal]:
    """Staff see every open appeal; anyone else their own, whatever became of them."""
    async with platform.pool.acquire() as conn:
        if staff:
            return await store.appeals(conn, None, True, APPEALS_SHOWN)
        return await store.appeals(conn, user_id, False, APPEALS_SHOWN)


async def file_appeal(platform: Platform, user_id: uuid.UUID, body: AppealInput) -> Appeal:
    async with transaction(platform.pool) as conn:
        if body.denial_id is not None:
            denial = await store.denial(conn, body.denial_id)
            if denial is None or denial.user_id != user_id:
                raise NotFound("no such decision on your account", field="denial_id")
        if (
            body.entry_id is not None
            and await ledger_store.entry_owner(conn, body.entry_id) != user_id
        ):
            raise NotFound("no such entry in your history", field="entry_id")
        return await store.insert_appeal(
            conn,
            user_id=user_id,
            denial_id=body.denial_id,
            entry_id=body.entry_id,
            message=body.message,
            at=platform.clock.now(),
        )


async def decide_appeal(
    platform: Platform,
    appeal_id: uuid.UUID,
    body: AppealDecisionInput,
    reviewer: uuid.UUID,
    source_ip: str | None,
) -> Appeal:
    """Grant (optionally with points, defaulting to the denied amount, and unfreezing) or
    reject an open appeal; the grant is a ledger entry keyed by the appeal."""
    async with transaction(platform.pool) as conn:
        appeal = await store.lock_appeal(conn, appeal_id)
        if appeal is None:
            raise NotFound("no such appeal")
        if appeal.status != "open":
            raise Conflict(f"this appeal was already {appeal.status}")
        user_id = appeal.user_id
        if user_id == reviewer:
            raise Forbidden("you cannot decide your own appeal")
        granted: int | None = None
        if body.decision == "grant":
            points = body.points
            if points is None and appeal.denial_id is not None:
                denial = await store.denial(conn, appeal.denial_id)
                points = denial.points if denial else None
            if body.unfreeze:
                await ledger_store.lock_balance(conn, user_id, platform.clock.now())
                await ledger_store.set_frozen(conn, user_id, None, None)
            if points:
                outcome = await ledger.adjust(
                    conn,
                    platform,
                    user_id=user_id,
                    change=points,
                    reason_code="appeal_granted",
                    related_entity=str(appeal_id),
                    key=f"appeal:{appeal_id}",
                    source_ip=None,
                )
                granted = outcome.points
        decided = await store.resolve_appeal(
            conn,
            appeal_id,
            status="granted" if body.decision == "grant" else "rejected",
            granted_points=granted,
            note=body.note,
            reviewer_id=reviewer,
            at=platform.clock.now(),
        )
        await record_audit(
            conn,
            reviewer,
            "points.appeal_decided",
            f"appeal:{appeal_id}",
            source_ip,
            {
                "user_id": str(user_id),
                "decision": decided.status,
                "granted_points": granted,
                "unfreeze": body.unfreeze,
                "note": body.note,
            },
        )
        return decided

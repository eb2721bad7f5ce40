"""The append-only, hash-chained audit log. Any module records security-relevant actions
with `record_audit(conn, actor_id, action, target, source_ip, details)` inside its own
transaction; `verify_audit_chain` (and `dracarys audit verify`) finds edited, deleted and
reordered rows.

Each row stores `hash = SHA-256(prev_hash ‖ canonical JSON of the row)` and a gapless
`position`; appends are serialised by a transaction-scoped advisory lock, so the chain
order is the commit order. The database refuses UPDATE, DELETE and TRUNCATE."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec

from dracarys.db import Connection, transaction
from dracarys.identity.audit import store
from dracarys.identity.audit.models import AuditRecord
from dracarys.identity.models import AuditCheck, AuditEntry
from dracarys.observability import mask_values
from dracarys.platform import Platform

GENESIS_HASH = bytes(32)
MAX_PROBLEMS = 100


def _canonical(
    *,
    position: int,
    entry_id: uuid.UUID,
    occurred_at: datetime,
    actor_id: uuid.UUID | None,
    action: str,
    target: str,
    source_ip: str | None,
    details: dict[str, Any],
) -> bytes:
    return msgspec.json.encode(
        {
            "position": position,
            "id": str(entry_id),
            "occurred_at": occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor_id": str(actor_id) if actor_id else None,
            "action": action,
            "target": target,
            "source_ip": source_ip,
            "details": details,
        },
        order="sorted",
    )


def chain_hash(prev_hash: bytes, canonical: bytes) -> bytes:
    return hashlib.sha256(prev_hash + canonical).digest()


async def record_audit(
    conn: Connection,
    actor_id: uuid.UUID | None,
    action: str,
    target: str,
    source_ip: str | None,
    details: dict[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> uuid.UUID:
    """Append one entry in the caller's transaction. `target` names what was acted on,
    e.g. `user:<id>`; `details` must be JSON-safe (strings, ints, bools, lists)."""
    # Free text (an admin's reason) may quote an address or number: masked like logs.
    details = mask_values(msgspec.to_builtins(details or {}))
    await store.lock_audit_chain(conn)
    head = await store.audit_head(conn)
    position = 1 if head is None else head.position + 1
    prev_hash = GENESIS_HASH if head is None else head.hash
    occurred_at = at or await store.database_now(conn)
    entry_id = uuid.uuid4()
    canonical = _canonical(
        position=position,
        entry_id=entry_id,
        occurred_at=occurred_at,
        actor_id=actor_id,
        action=action,
        target=target,
        source_ip=source_ip,
        details=details,
    )
    await store.insert_audit_row(
        conn,
        position=position,
        entry_id=entry_id,
        occurred_at=occurred_at,
        actor_id=actor_id,
        action=action,
        target=target,
        source_ip=source_ip,
        details=details,
        prev_hash=prev_hash,
        entry_hash=chain_hash(prev_hash, canonical),
    )
    return entry_id


async def verify_audit_chain(platform: Platform, *, expected_head: str | None = None) -> AuditCheck:
    """Walk the whole chain in order; report every break (up to 100).

    Rows cut off the end leave no break behind them, so the chain alone cannot show
    them; `expected_head` ("position:hexhash", a head recorded earlier outside the
    database) must then still be in the chain with that hash."""
    anchor: tuple[int, str] | None = None
    if expected_head is not None:
        position_text, _, hash_text = expected_head.partition(":")
        if not position_text.isdigit() or len(hash_text) != 64:
            raise ValueError("expected head is POSITION:SHA256HEX")
        anchor = (int(position_text), hash_text.lower())
    anchor_seen = False
    problems: list[str] = []
    checked = 0
    expected_position = 1
    expected_prev = GENESIS_HASH
    async with transaction(platform.pool, isolation="repeatable_read") as conn:
        async for row in store.audit_rows(conn):
            checked += 1
            position = row.position
            if position != expected_position:
                problems.append(
                    f"position {expected_position}"
                    + (f"–{position - 1}" if position - 1 > expected_position else "")
                    + " missing: rows were deleted"
                )
            if row.prev_hash != expected_prev:
                problems.append(
                    f"position {position}: does not follow the previous row "
                    "(a row before it was deleted, edited or moved)"
                )
            canonical = _canonical(
                position=position,
                entry_id=row.id,
                occurred_at=row.occurred_at,
                actor_id=row.actor_id,
                action=row.action,
                target=row.target,
                source_ip=row.source_ip,
                details=row.details,
            )
            if chain_hash(row.prev_hash, canonical) != row.hash:
                problems.append(f"position {position}: content does not match its hash (edited)")
            if anchor is not None and position == anchor[0]:
                anchor_seen = True
                if row.hash.hex() != anchor[1]:
                    problems.append(f"position {position}: differs from the recorded head")
            expected_position = position + 1
            expected_prev = row.hash
            if len(problems) >= MAX_PROBLEMS:
                break
    if anchor is not None and not anchor_seen and len(problems) < MAX_PROBLEMS:
        problems.append(
            f"position {anchor[0]} (the recorded head) is gone: rows were cut off the end"
        )
    head = f"{expected_position - 1}:{expected_prev.hex()}" if checked else None
    return AuditCheck(ok=not problems, rows_checked=checked, problems=problems, head=head)


async def audit_trail(platform: Platform, target: str, *, limit: int = 100) -> list[AuditEntry]:
    """The newest entries about `target` (e.g. `user:<id>`), newest first."""
    async with platform.pool.acquire() as conn:
        return _entries(await store.audit_rows_for(conn, target, limit))


async def user_audit_trail(
    platform: Platform, user_id: uuid.UUID, *, limit: int = 100
) -> list[AuditEntry]:
    """The newest entries where the user is the actor or the target, newest first: what
    was done to their account and what they did (as staff, too)."""
    async with platform.pool.acquire() as conn:
        return _entries(await store.audit_rows_about_user(conn, user_id, limit))


def _entries(rows: list[AuditRecord]) -> list[AuditEntry]:
    return [
        AuditEntry(
            position=r.position,
            id=r.id,
            occurred_at=r.occurred_at,
            actor_id=r.actor_id,
            action=r.action,
            target=r.target,
            source_ip=r.source_ip,
            details=r.details,
        )
        for r in rows
    ]

"""Escrow for mentorship: paying for a booking or package puts a pending transfer from the
payer's wallet into escrow. Completion (or the timeout with no dispute) posts it and
splits the net-of-VAT amount: the mentor's share (70% unless their contract says
otherwise), of which 10% is held back for 30 days, and the platform's commission.
Cancellations, no-shows and dispute resolutions refund all or part of it: posting less
than was pending gives the rest back to the payer, TigerBeetle-style.

What other domains call, each inside the caller's transaction: `hold_escrow`,
`release_escrow`, `refund_escrow` (the booking's own rules say how much), `open_dispute`
and `resolve_dispute`. The rest serves the API and the scheduled jobs, each in its own
transaction."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound
from dracarys.identity import CurrentUser, Role, account_of, display_names, record_audit
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.wallet.escrow import store
from dracarys.wallet.escrow.models import (
    Dispute,
    DisputeRequest,
    DisputeResolution,
    DisputeResponse,
    DisputeView,
    Escrow,
    EscrowView,
)
from dracarys.wallet.events import EscrowHeld, EscrowReleased, RefundIssued
from dracarys.wallet.invoices import service as invoices
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountCode, TransferSpec
from dracarys.wallet.policy import BPS, mentor_split, split_vat

_NAMESPACE = uuid.UUID("6f1c1c52-7c1e-4d55-9a5e-1f1b0b6f0a08")


def escrow_view(escrow: Escrow) -> EscrowView:
    return EscrowView(
        id=escrow.id,
        payer_id=escrow.payer_id,
        mentor_id=escrow.mentor_id,
        amount_minor=escrow.amount_minor,
        currency=escrow.currency,
        reference=escrow.reference,
        status=escrow.status,
        released_minor=escrow.released_minor,
        refunded_minor=escrow.refunded_minor,
        auto_release_at=escrow.auto_release_at,
    )


def _dispute_view(
    dispute: Dispute, escrow: Escrow | None = None, names: dict[uuid.UUID, str] | None = None
) -> DisputeView:
    names = names or {}
    return DisputeView(
        id=dispute.id,
        escrow_id=dispute.escrow_id,
        opened_by=dispute.opened_by,
        reason=dispute.reason,
        evidence=list(dispute.evidence),
        status=dispute.status,
        refund_minor=dispute.refund_minor,
        resolution_note=dispute.resolution_note,
        created_at=dispute.created_at,
        response=dispute.response,
        response_evidence=list(dispute.response_evidence),
        responded_at=dispute.responded_at,
        resolved_at=dispute.resolved_at,
        escrow=escrow_view(escrow) if escrow is not None else None,
        payer_name=names.get(escrow.payer_id) if escrow is not None else None,
        mentor_name=names.get(escrow.mentor_id) if escrow is not None else None,
    )


# ---- holding --------------------------------------------------------------------------


async def hold_escrow(
    conn: Connection,
    *,
    settings: Settings,
    now: datetime,
    payer_id: uuid.UUID,
    mentor_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    reference: str,
    idempotency_key: str,
    release_after: timedelta | None = None,
) -> EscrowView:
    """Reserve `amount_minor` of the payer's wallet in escrow for `reference` (a booking or
    package id), with its VAT invoice (in the payer's country). Released automatically
    `release_after` from now unless disputed first."""
    if amount_minor <= 0:
        raise InvalidInput("an escrow holds a positive amount", field="amount_minor")
    if payer_id == mentor_id:
        raise InvalidInput("a mentor cannot pay themselves", field="mentor_id")
    await xact_lock(conn, "escrow", idempotency_key)
    escrow_id = uuid.uuid5(_NAMESPACE, f"escrow:{idempotency_key}")
    existing = await store.get_escrow(conn, escrow_id)
    if existing is not None:
        same = (
            existing.payer_id == payer_id
            and existing.mentor_id == mentor_id
            and existing.amount_minor == amount_minor
            and existing.currency == currency
            and existing.reference == reference
        )
        if not same:
            raise InvalidInput(
                "this idempotency key was used for a different escrow", field="idempotency_key"
            )
        return escrow_view(existing)
    mentor = await account_of(conn, mentor_id)
    if mentor is None or mentor.role is not Role.MENTOR:
        raise NotFound("no such mentor", field="mentor_id")
    hold = await ledger.open_pending(
        conn,
        idempotency_key=f"escrow:{escrow_id}:hold",
        code="escrow_hold",
        debit_account_id=await ledger.wallet_account(conn, payer_id, currency, now),
        credit_account_id=await ledger.platform_account(conn, AccountCode.ESCROW, currency, now),
        amount_minor=amount_minor,
        currency=currency,
        reference=str(escrow_id),
        now=now,
    )
    invoice = await invoices.issue_invoice(
        conn,
        settings=settings,
        user_id=payer_id,
        charge_id=escrow_id,
        description=f"Mentorship {reference}",
        gross_minor=amount_minor,
        currency=currency,
        now=now,
    )
    share = await store.mentor_share_bps(conn, mentor_id)
    await store.insert_escrow(
        conn,
        escrow_id=escrow_id,
        payer_id=payer_id,
        mentor_id=mentor_id,
        amount_minor=amount_minor,
        currency=currency,
        reference=reference,
        pending_transfer_id=hold.id,
        mentor_share_bps=settings.wallet_mentor_share_bps if share is None else share,
        vat_rate_bps=invoice.vat_rate_bps,
        auto_release_at=now
        + (release_after or timedelta(hours=settings.wallet_escrow_auto_release_hours)),
        now=now,
    )
    await emit_event(
        conn,
        EscrowHeld(
            escrow_id=escrow_id,
            payer_id=payer_id,
            mentor_id=mentor_id,
            reference=reference,
            amount_minor=amount_minor,
            currency=currency,
            invoice_number=invoice.number,
        ),
    )
    created = await store.get_escrow(conn, escrow_id)
    assert created is not None
    return escrow_view(created)


# ---- settling -------------------------------------------------------------------------


async def _settle(
    conn: Connection,
    escrow: Escrow,
    *,
    settings: Settings,
    now: datetime,
    refund_minor: int,
) -> EscrowView:
    """Post what the mentor and platform keep (splitting it), give the rest back."""
    kept = escrow.amount_minor - refund_minor
    currency = escrow.currency
    escrow_id = escrow.id
    if kept == 0:
        await ledger.void_pending(
            conn,
            escrow.pending_transfer_id,
            idempotency_key=f"escrow:{escrow_id}:void",
            code="escrow_refund",
            now=now,
            reference=str(escrow_id),
        )
    else:
        await ledger.post_pending(
            conn,
            escrow.pending_transfer_id,
            idempotency_key=f"escrow:{escrow_id}:post",
            code="escrow_post",
            now=now,
            amount_minor=kept,
            reference=str(escrow_id),
        )
        net, vat = split_vat(kept, escrow.vat_rate_bps)
        mentor_now, held_back, platform_fee = mentor_split(
            net, escrow.mentor_share_bps, settings.wallet_holdback_bps
        )
        escrow_account = await ledger.platform_account(conn, AccountCode.ESCROW, currency, now)
        legs: list[tuple[str, int, int]] = [
            (
                "mentor_share",
                await ledger.wallet_account(conn, escrow.mentor_id, currency, now),
                mentor_now,
            ),
            (
                "mentor_holdback",
                await ledger.platform_account(conn, AccountCode.MENTOR_HOLDBACK, currency, now),
                held_back,
            ),
            (
                "platform_commission",
                await ledger.platform_account(conn, AccountCode.PLATFORM_REVENUE, currency, now),
                platform_fee,
            ),
            (
                "vat",
                await ledger.platform_account(conn, AccountCode.VAT_PAYABLE, currency, now),
                vat,
            ),
        ]
        await ledger.create_transfers(
            conn,
            [
                TransferSpec(
                    idempotency_key=f"escrow:{escrow_id}:{code}",
                    code=code,
                    debit_account_id=escrow_account,
                    credit_account_id=account,
                    amount_minor=amount,
                    currency=currency,
                    reference=str(escrow_id),
                )
                for code, account, amount in legs
                if amount > 0
            ],
            now=now,
        )
        if held_back > 0:
            await store.insert_holdback(
                conn,
                escrow_id=escrow_id,
                mentor_id=escrow.mentor_id,
                amount_minor=held_back,
                currency=currency,
                release_at=now + timedelta(days=settings.wallet_holdback_days),
                now=now,
            )
        await emit_event(
            conn,
            EscrowReleased(
                escrow_id=escrow_id,
                mentor_id=escrow.mentor_id,
                payer_id=escrow.payer_id,
                reference=escrow.reference,
                amount_minor=kept,
                mentor_minor=mentor_now + held_back,
                currency=currency,
            ),
        )
    if refund_minor > 0:
        await invoices.issue_credit_note(
            conn, charge_id=escrow_id, refund_minor=refund_minor, now=now
        )
        await emit_event(
            conn,
            RefundIssued(
                user_id=escrow.payer_id,
                related_id=escrow_id,
                amount_minor=refund_minor,
                currency=currency,
                reference=escrow.reference,
            ),
        )
    await store.settle_escrow(
        conn,
        escrow_id,
        status="released" if kept > 0 else "refunded",
        released_minor=kept,
        refunded_minor=refund_minor,
        now=now,
    )
    settled = await store.get_escrow(conn, escrow_id)
    assert settled is not None
    return escrow_view(settled)


async def _locked(conn: Connection, escrow_id: uuid.UUID) -> Escrow:
    escrow = await store.lock_escrow(conn, escrow_id)
    if escrow is None:
        raise NotFound("no such escrow", field="escrow_id")
    return escrow


async def release_escrow(
    conn: Connection, escrow_id: uuid.UUID, *, settings: Settings, now: datetime
) -> EscrowView:
    """The session happened: pay the mentor and the platform. Releasing twice is a no-op;
    a disputed escrow waits for the dispute's resolution."""
    escrow = await _locked(conn, escrow_id)
    if escrow.status in ("released", "refunded"):
        return escrow_view(escrow)
    if escrow.status == "disputed":
        raise Conflict("this escrow is disputed; an admin resolves it", field="escrow_id")
    return await _settle(conn, escrow, settings=settings, now=now, refund_minor=0)


async def move_escrow_release(
    conn: Connection, escrow_id: uuid.UUID, *, release_at: datetime
) -> EscrowView:
    """Release a held escrow on its own at `release_at` instead: the session it pays for
    moved, or a package's session was booked (or given back). A settled or disputed escrow
    is returned unchanged: its money already went, or waits for the dispute."""
    escrow = await _locked(conn, escrow_id)
    if escrow.status != "held":
        return escrow_view(escrow)
    await store.set_auto_release(conn, escrow_id, release_at)
    moved = await store.get_escrow(conn, escrow_id)
    assert moved is not None
    return escrow_view(moved)


async def refund_escrow(
    conn: Connection,
    escrow_id: uuid.UUID,
    *,
    settings: Settings,
    now: datetime,
    amount_minor: int | None = None,
    fraction_bps: int | None = None,
) -> EscrowView:
    """Give `amount_minor` (or `fraction_bps` of the escrow) back to the payer and release
    the rest; a settled escrow is returned unchanged. How much a cancellation or no-show
    gives back is the caller's rule (mentorship's cancellation policy)."""
    escrow = await _locked(conn, escrow_id)
    if escrow.status in ("released", "refunded"):
        return escrow_view(escrow)
    total = escrow.amount_minor
    if (amount_minor is None) == (fraction_bps is None):
        raise InvalidInput("give either an amount or a fraction to refund", field="amount_minor")
    if fraction_bps is not None:
        if not 0 <= fraction_bps <= BPS:
            raise InvalidInput("a fraction is between 0 and 10000 bps", field="fraction_bps")
        amount_minor = total * fraction_bps // BPS
    assert amount_minor is not None
    if not 0 <= amount_minor <= total:
        raise InvalidInput("a refund is between zero and the escrowed amount", field="amount_minor")
    return await _settle(conn, escrow, settings=settings, now=now, refund_minor=amount_minor)


# ---- reading --------------------------------------------------------------------------


async def get_escrow(platform: Platform, actor: CurrentUser, escrow_id: uuid.UUID) -> EscrowView:
    """Its payer, its mentor and staff; not observers: an escrow says who pays which
    mentor for which booking."""
    async with platform.pool.acquire() as conn:
        escrow = await store.get_escrow(conn, escrow_id)
    if escrow is None or not (actor.id in (escrow.payer_id, escrow.mentor_id) or actor.is_staff):
        raise NotFound("no such escrow", field="escrow_id")
    return escrow_view(escrow)


# ---- disputes -------------------------------------------------------------------------


async def open_dispute(
    conn: Connection,
    escrow_id: uuid.UUID,
    *,
    opened_by: uuid.UUID,
    reason: str,
    evidence: list[str],
    now: datetime,
) -> DisputeView:
    """The payer or the mentor disputes money still held; disputing again adds evidence."""
    escrow = await _locked(conn, escrow_id)
    if opened_by not in (escrow.payer_id, escrow.mentor_id):
        raise Forbidden("only the payer or the mentor may dispute this escrow")
    existing = await store.dispute_of_escrow(conn, escrow_id)
    if existing is not None:
        if existing.status == "open" and evidence:
            await store.add_dispute_evidence(conn, existing.id, evidence)
            existing = await store.dispute_of_escrow(conn, escrow_id)
            assert existing is not None
        return _dispute_view(existing, escrow)
    if escrow.status != "held":
        raise Conflict("only money still held in escrow can be disputed", field="escrow_id")
    await store.insert_dispute(
        conn,
        dispute_id=uuid.uuid4(),
        escrow_id=escrow_id,
        opened_by=opened_by,
        reason=reason,
        evidence=evidence,
        now=now,
    )
    await store.set_escrow_status(conn, escrow_id, "disputed")
    created = await store.dispute_of_escrow(conn, escrow_id)
    assert created is not None
    return _dispute_view(created, escrow)


async def dispute_escrow(
    platform: Platform, actor: CurrentUser, escrow_id: uuid.UUID, request: DisputeRequest
) -> DisputeView:
    async with transaction(platform.pool) as conn:
        return await open_dispute(
            conn,
            escrow_id,
            opened_by=actor.id,
            reason=request.reason,
            evidence=list(request.evidence),
            now=platform.clock.now(),
        )


async def respond_to_dispute(
    platform: Platform, actor: CurrentUser, escrow_id: uuid.UUID, request: DisputeResponse
) -> DisputeView:
    """The party who did not open the dispute (the mentor, when the mentee opened it) gives
    their side, once, while the dispute is open; the admin deciding it reads both."""
    async with transaction(platform.pool) as conn:
        escrow = await _locked(conn, escrow_id)
        if actor.id not in (escrow.payer_id, escrow.mentor_id):
            raise Forbidden("only the payer or the mentor may answer this dispute")
        dispute = await store.dispute_of_escrow(conn, escrow_id)
        if dispute is None:
            raise NotFound("this escrow is not disputed", field="escrow_id")
        if dispute.opened_by == actor.id:
            raise Forbidden("you opened this dispute; add evidence to it instead of answering it")
        if dispute.status != "open":
            raise Conflict("this dispute is already decided", field="escrow_id")
        if dispute.response is not None:
            raise Conflict("you have already answered this dispute", field="response")
        await store.record_dispute_response(
            conn,
            dispute.id,
            responded_by=actor.id,
            response=request.response,
            evidence=list(request.evidence),
            now=platform.clock.now(),
        )
        answered = await store.dispute_of_escrow(conn, escrow_id)
        assert answered is not None
        return _dispute_view(answered, escrow)


def _refund_of(escrow: Escrow, refund_minor: int | None, refund_percent: int | None) -> int:
    """The refund an admin chose, as an amount or a percentage (rounded down to the minor
    unit, so the payer never gets more than the share named)."""
    if (refund_minor is None) == (refund_percent is None):
        raise InvalidInput(
            "give the refund either as an amount or as a percentage, not both",
            field="refund_minor" if refund_minor is None else "refund_percent",
        )
    if refund_percent is not None:
        return escrow.amount_minor * refund_percent // 100
    assert refund_minor is not None
    if not 0 <= refund_minor <= escrow.amount_minor:
        raise InvalidInput("a refund is between zero and the escrowed amount", field="refund_minor")
    return refund_minor


async def resolve_dispute(
    conn: Connection,
    dispute_id: uuid.UUID,
    *,
    admin_id: uuid.UUID,
    note: str,
    settings: Settings,
    now: datetime,
    refund_minor: int | None = None,
    refund_percent: int | None = None,
) -> DisputeView:
    """An admin decides: the refund goes back to the payer, the rest is released (and split
    between mentor and platform as any release is)."""
    dispute = await store.lock_dispute(conn, dispute_id)
    if dispute is None:
        raise NotFound("no such dispute", field="dispute_id")
    escrow = await _locked(conn, dispute.escrow_id)
    refund = _refund_of(escrow, refund_minor, refund_percent)
    if dispute.status == "resolved":
        if dispute.refund_minor != refund:
            raise Conflict("this dispute was already resolved differently")
        return _dispute_view(dispute, escrow)
    await _settle(conn, escrow, settings=settings, now=now, refund_minor=refund)
    await store.resolve_dispute(
        conn, dispute_id, refund_minor=refund, resolved_by=admin_id, note=note, now=now
    )
    resolved = await store.lock_dispute(conn, dispute_id)
    settled = await store.get_escrow(conn, escrow.id)
    assert resolved is not None
    assert settled is not None
    return _dispute_view(resolved, settled)


async def decide_dispute(
    platform: Platform,
    admin: CurrentUser,
    dispute_id: uuid.UUID,
    decision: DisputeResolution,
    source_ip: str | None,
) -> DisputeView:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        resolved = await resolve_dispute(
            conn,
            dispute_id,
            admin_id=admin.id,
            refund_minor=decision.refund_minor,
            refund_percent=decision.refund_percent,
            note=decision.note,
            settings=platform.settings,
            now=now,
        )
        await record_audit(
            conn,
            admin.id,
            "dispute.resolved",
            f"dispute:{dispute_id}",
            source_ip,
            {
                "escrow_id": str(resolved.escrow_id),
                "refund_minor": resolved.refund_minor,
                "refund_percent": decision.refund_percent,
                "note": decision.note,
            },
            at=now,
        )
        return resolved


async def open_disputes(platform: Platform, limit: int = 100) -> list[DisputeView]:
    """The admins' queue, oldest first, each with its escrow and both parties' names."""
    async with platform.pool.acquire() as conn:
        disputes = await store.open_disputes(conn, limit)
        escrows = await store.escrows_by_id(conn, [d.escrow_id for d in disputes])
        people = {p for e in escrows.values() for p in (e.payer_id, e.mentor_id)}
        names = await display_names(conn, platform.settings, people)
    return [_dispute_view(d, escrows[d.escrow_id], names) for d in disputes]


# ---- mentor contracts -----------------------------------------------------------------


async def set_mentor_contract(
    conn: Connection, mentor_id: uuid.UUID, *, share_bps: int, now: datetime
) -> None:
    """Override the default 70% mentor share for escrows of this mentor held from now on
    (those held already keep theirs), inside the caller's transaction: mentorship's
    admins set it, with the audit entry."""
    if not 0 <= share_bps <= BPS:
        raise InvalidInput("a share is between 0 and 10000 bps", field="share_bps")
    await store.set_mentor_share(conn, mentor_id, share_bps, now)


async def held_back_of(conn: Connection, mentor_id: uuid.UUID) -> dict[str, int]:
    """A mentor's held-back shares not yet released (they reach the wallet after the
    holdback days), by currency."""
    return await store.unreleased_holdbacks(conn, mentor_id)


# ---- scheduled jobs -------------------------------------------------------------------


async def release_due_escrows(platform: Platform) -> int:
    """Release every undisputed escrow whose timeout has passed, each in its own
    transaction so one failure holds back nobody else."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        due = await store.due_escrow_ids(conn, now)
    released = 0
    for escrow_id in due:
        async with transaction(platform.pool) as conn:
            escrow = await store.lock_escrow(conn, escrow_id)
            if escrow is None or escrow.status != "held" or escrow.auto_release_at > now:
                continue
            await _settle(conn, escrow, settings=platform.settings, now=now, refund_minor=0)
            released += 1
    return released


async def release_due_holdbacks(platform: Platform) -> int:
    """Move held-back mentor shares whose 30 days have passed into the mentors' wallets."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        due = await store.lock_due_holdbacks(conn, now)
        for holdback in due:
            currency = holdback.currency
            await ledger.create_transfer(
                conn,
                TransferSpec(
                    idempotency_key=f"holdback:{holdback.id}:release",
                    code="holdback_release",
                    debit_account_id=await ledger.platform_account(
                        conn, AccountCode.MENTOR_HOLDBACK, currency, now
                    ),
                    credit_account_id=await ledger.wallet_account(
                        conn, holdback.mentor_id, currency, now
                    ),
                    amount_minor=holdback.amount_minor,
                    currency=currency,
                    reference=str(holdback.escrow_id),
                ),
                now=now,
            )
            await store.mark_holdback_released(conn, holdback.id, now)
    return len(due)

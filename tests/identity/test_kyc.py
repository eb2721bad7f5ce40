"""KYC: upload checks (size, magic bytes), encryption at rest bound to the document id,
owner/reviewer-only download, tier levels, and the reviewer queue with mails."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from cryptography.exceptions import InvalidTag

from dracarys.clock import ManualClock
from dracarys.crypto import kyc_document_key, unseal
from dracarys.identity import Role
from dracarys.identity import store as identity_store
from dracarys.identity.personal import PHONE, personal_data_cipher
from dracarys.settings import Settings
from tests.identity.conftest import Account, Client, new_account, staff_account
from tests.messaging.simulators import SmtpSimulator
from tests.support import TestUser
from workers.runtime import Worker

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x11" * 500 + b"\xff\xd9"


async def _upload(
    client: Client,
    account: Account,
    content: bytes,
    doc_type: str = "government_id",
    filename: str = "id.png",
    content_type: str = "image/png",
) -> object:
    return await client.patch(
        f"/api/v1/users/{account.id}/kyc-upload",
        files={"file": (filename, content, content_type)},
        data={"doc_type": doc_type},
        headers=account.headers,
    )


async def _verified_contact(
    pool: asyncpg.Pool, settings: Settings, clock: ManualClock, user_id: uuid.UUID, phone: str
) -> None:
    """E-mail and phone verified (KYC level 1's facts), the phone sealed as identity keeps it."""
    cipher = personal_data_cipher(settings)
    async with pool.acquire() as conn:
        sealed, index = cipher.seal(user_id, PHONE, phone), cipher.phone_index(phone)
        await identity_store.set_phone(conn, user_id, sealed, index, clock.now())
    await pool.execute(
        "UPDATE users SET email_verified_at = now(), phone_verified_at = now() WHERE id = $1",
        user_id,
    )


async def test_upload_sniffs_type_from_bytes_and_encrypts_with_the_document_id(
    client: Client, pool: asyncpg.Pool, settings: Settings
) -> None:
    account = await new_account(client)
    # The client lies about the type: the bytes decide.
    response = await _upload(client, account, PDF, filename="id.png", content_type="image/png")
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["content_type"] == "application/pdf"
    stored_name = await pool.fetchval(
        "SELECT stored_name FROM kyc_documents WHERE id = $1", uuid.UUID(document["id"])
    )
    assert "id.png" not in stored_name
    sealed = (Path(settings.data_dir) / "kyc" / stored_name).read_bytes()
    assert b"%PDF" not in sealed
    key = kyc_document_key(settings)
    assert unseal(key, sealed, uuid.UUID(document["id"]).bytes) == PDF
    # Bound to its id: the same ciphertext does not open as another document.
    with pytest.raises(InvalidTag):
        unseal(key, sealed, uuid.uuid4().bytes)
    # Random nonce: the same file twice gives different ciphertexts.
    again = (await _upload(client, account, PDF, doc_type="proof_of_address")).json()
    other_name = await pool.fetchval(
        "SELECT stored_name FROM kyc_documents WHERE id = $1", uuid.UUID(again["id"])
    )
    assert (Path(settings.data_dir) / "kyc" / other_name).read_bytes()[:12] != sealed[:12]


async def test_upload_refuses_other_types_oversize_and_someone_elses_account(
    client: Client, settings: Settings, pool: asyncpg.Pool
) -> None:
    account = await new_account(client)
    other = await new_account(client)
    html = await _upload(
        client, account, b"<html><script>alert(1)</script></html>", filename="x.pdf"
    )
    assert html.status_code == 422
    exe = await _upload(client, account, b"MZ\x90\x00" + b"\x00" * 100, filename="x.jpg")
    assert exe.status_code == 422
    big = await _upload(client, account, PNG + b"\x00" * settings.kyc_max_upload_bytes)
    assert big.status_code == 422
    assert big.json()["errors"][0]["field"] == "file"
    bad_type = await _upload(client, account, PNG, doc_type="selfie")
    assert bad_type.status_code == 422
    foreign = await client.patch(
        f"/api/v1/users/{other.id}/kyc-upload",
        files={"file": ("id.png", PNG, "image/png")},
        data={"doc_type": "government_id"},
        headers=account.headers,
    )
    assert foreign.status_code == 404
    assert await pool.fetchval("SELECT count(*) FROM kyc_documents") == 0


async def test_documents_are_served_only_to_the_owner_and_reviewers(
    client: Client, pool: asyncpg.Pool, clock: ManualClock, make_user: object
) -> None:
    owner = await new_account(client)
    stranger = await new_account(client)
    observer: TestUser = await make_user(role=Role.OBSERVER)  # type: ignore[operator]
    mentor: TestUser = await make_user(role=Role.MENTOR)  # type: ignore[operator]
    reviewer = await staff_account(client, pool, clock, Role.REVIEWER)
    document = (await _upload(client, owner, JPEG, filename="me.jpg")).json()
    url = f"/api/v1/kyc/documents/{document['id']}/file"
    mine = await client.get(url, headers=owner.headers)
    assert mine.status_code == 200
    assert mine.content == JPEG
    assert mine.headers["content-type"].startswith("image/jpeg")
    assert mine.headers["x-content-type-options"] == "nosniff"
    assert (await client.get(url, headers=reviewer.headers)).content == JPEG
    for intruder in (stranger.headers, observer.headers, mentor.headers):
        assert (await client.get(url, headers=intruder)).status_code == 404
    assert (await client.get(url)).status_code == 401
    status = await client.get(f"/api/v1/users/{owner.id}/kyc", headers=stranger.headers)
    assert status.status_code == 404


async def test_kyc_tiers_rise_with_verification_and_approvals_and_the_user_is_mailed(
    client: Client,
    pool: asyncpg.Pool,
    clock: ManualClock,
    worker: Worker,
    smtp_server: SmtpSimulator,
    settings: Settings,
) -> None:
    owner = await new_account(client)
    reviewer = await staff_account(client, pool, clock, Role.REVIEWER)
    await _verified_contact(pool, settings, clock, owner.id, "+254700111222")
    gov = (await _upload(client, owner, PNG)).json()
    clock.advance(timedelta(minutes=1))
    address = (await _upload(client, owner, PDF, doc_type="proof_of_address")).json()
    queue = await client.get("/api/v1/kyc/reviews", headers=reviewer.headers)
    assert [d["id"] for d in queue.json()] == [gov["id"], address["id"]]
    # Nobody but staff sees the queue.
    assert (await client.get("/api/v1/kyc/reviews", headers=owner.headers)).status_code == 403

    rejected = await client.post(
        f"/api/v1/kyc/documents/{address['id']}/reject",
        json={"reason": "The document is older than three months"},
        headers=reviewer.headers,
    )
    assert rejected.status_code == 200, rejected.text
    no_reason = await client.post(
        f"/api/v1/kyc/documents/{gov['id']}/reject", json={}, headers=reviewer.headers
    )
    assert no_reason.status_code == 422
    approved = await client.post(
        f"/api/v1/kyc/documents/{gov['id']}/approve", json={}, headers=reviewer.headers
    )
    assert approved.status_code == 200
    twice = await client.post(
        f"/api/v1/kyc/documents/{gov['id']}/approve", json={}, headers=reviewer.headers
    )
    assert twice.status_code == 409
    assert await pool.fetchval("SELECT kyc_level FROM users WHERE id = $1", owner.id) == 2
    events = await pool.fetch(
        "SELECT topic, payload FROM outbox WHERE topic IN ('kyc.approved', 'kyc.rejected') "
        "ORDER BY created_at"
    )
    # The first decision recomputes the tier: e-mail + phone (set directly above) → 1;
    # then the approved government ID → 2.
    assert [(e["topic"], e["payload"].get("level")) for e in events] == [
        ("kyc.approved", 1),
        ("kyc.rejected", None),
        ("kyc.approved", 2),
    ]

    mails = await smtp_server.wait_for(owner.email, count=3)  # verification + 2 decisions
    # One e-mail per decision: the level rising (both kyc.approved events, once the
    # notifications consumer has read them) is told in the app and by SMS, not by a
    # second e-mail beside the approval's.
    for _ in range(200):
        told = await pool.fetchval(
            "SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = 'kyc_approved'",
            owner.id,
        )
        if told == 2:
            break
        await asyncio.sleep(0.05)
    assert told == 2
    mailed = await pool.fetch(
        "SELECT template FROM outbound_messages WHERE user_id = $1 AND channel = 'email'",
        owner.id,
    )
    assert sorted(m["template"] for m in mailed) == [
        "kyc_approved",
        "kyc_rejected",
        "verify_email",
    ]
    subjects = {m["Subject"] for m in mails}
    assert "Your proof of address could not be accepted" in subjects
    assert "Your government ID was approved" in subjects
    rejection = next(m for m in mails if "could not" in m["Subject"])
    body = rejection.get_body(preferencelist=("plain",))
    assert body is not None
    assert "older than three months" in body.get_content()

    actions = await pool.fetch(
        "SELECT action, actor_id FROM audit_log WHERE action LIKE 'kyc.%' ORDER BY position"
    )
    decisions = [
        (r["action"], r["actor_id"]) for r in actions if r["action"] != "kyc.document_uploaded"
    ]
    assert decisions == [("kyc.rejected", reviewer.id), ("kyc.approved", reviewer.id)]

    address2 = (await _upload(client, owner, PDF, doc_type="proof_of_address")).json()
    approved = await client.post(
        f"/api/v1/kyc/documents/{address2['id']}/approve", json={}, headers=reviewer.headers
    )
    assert approved.status_code == 200, approved.text
    assert await pool.fetchval("SELECT kyc_level FROM users WHERE id = $1", owner.id) == 3


async def test_admin_override_sets_the_level_and_is_audited(
    client: Client, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    admin = await staff_account(client, pool, clock, Role.ADMIN)
    target = await new_account(client)
    response = await client.put(
        f"/api/v1/admin/users/{target.id}/kyc-level",
        json={"level": 2, "reason": "verified in person at the Nairobi office"},
        headers=admin.headers,
    )
    assert response.status_code == 200
    assert await pool.fetchval("SELECT kyc_level FROM users WHERE id = $1", target.id) == 2
    row = await pool.fetchrow(
        "SELECT actor_id, details FROM audit_log WHERE action = 'admin.kyc_override'"
    )
    assert row is not None
    assert row["actor_id"] == admin.id
    assert row["details"]["to"] == 2


async def test_an_approval_waits_for_a_worker_holding_the_users_row_then_raises_the_level(
    client: Client, pool: asyncpg.Pool, clock: ManualClock, settings: Settings
) -> None:
    """The cause of an old flake (the second approval "not taking effect"): a points
    consumer on the test's event loop held a key-share lock on the user's row (its ledger
    insert references `users`) while the request waited for that row. Litestar's
    `AsyncTestClient` blocked the loop for the whole request, so the consumer never
    committed, the request hit the 60 s statement timeout with a 500, and the level stayed
    at 2. The recomputation itself has no race (it runs under the row lock, in READ
    COMMITTED, after the document's update). Here the lock holder runs on the same loop as
    the request, as the in-process worker does: the approval waits, then takes effect."""
    owner = await new_account(client)
    reviewer = await staff_account(client, pool, clock, Role.REVIEWER)
    await _verified_contact(pool, settings, clock, owner.id, "+254700111333")
    await pool.execute("UPDATE users SET kyc_level = 2 WHERE id = $1", owner.id)
    document = (await _upload(client, owner, PDF, doc_type="proof_of_address")).json()
    await pool.execute(
        "INSERT INTO kyc_documents (id, user_id, doc_type, status, content_type, size_bytes,"
        " stored_name, uploaded_at) VALUES ($1, $2, 'government_id', 'approved',"
        " 'image/png', 1, $3, now())",
        uuid.uuid4(),
        owner.id,
        uuid.uuid4().hex,
    )
    holding = asyncio.Event()

    async def consumer_holding_the_row() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR KEY SHARE", owner.id)
            holding.set()
            await asyncio.sleep(0.5)  # commits only if the loop keeps running

    holder = asyncio.create_task(consumer_holding_the_row())
    await holding.wait()
    approved = await client.post(
        f"/api/v1/kyc/documents/{document['id']}/approve", json={}, headers=reviewer.headers
    )
    await holder
    assert approved.status_code == 200, approved.text
    assert await pool.fetchval("SELECT kyc_level FROM users WHERE id = $1", owner.id) == 3


async def test_concurrent_approvals_of_both_documents_always_reach_level_three(
    client: Client, pool: asyncpg.Pool, clock: ManualClock, settings: Settings
) -> None:
    """Both documents approved at once, for many users: whichever decision takes the
    user's row second sees the first one's committed approval, so no user stops at 2."""
    reviewer = await staff_account(client, pool, clock, Role.REVIEWER)
    owners = [await new_account(client) for _ in range(12)]
    pairs = []
    for i, owner in enumerate(owners):
        await _verified_contact(pool, settings, clock, owner.id, f"+25470022{i:04d}")
        gov = (await _upload(client, owner, PNG)).json()
        address = (await _upload(client, owner, PDF, doc_type="proof_of_address")).json()
        pairs.append((gov["id"], address["id"]))

    async def approve(document_id: str) -> int:
        response = await client.post(
            f"/api/v1/kyc/documents/{document_id}/approve", json={}, headers=reviewer.headers
        )
        return response.status_code

    statuses = await asyncio.gather(*(approve(d) for pair in pairs for d in pair))
    assert set(statuses) == {200}
    levels = await pool.fetch(
        "SELECT kyc_level FROM users WHERE id = ANY($1::uuid[])", [o.id for o in owners]
    )
    assert [r["kyc_level"] for r in levels] == [3] * len(owners)

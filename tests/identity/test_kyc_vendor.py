"""KYC documents checked by Smile ID before reviewers, against the local Smile ID
simulator (its wire format and signatures): a clear signed result decides the document as
a reviewer would, a bad or stale signature changes nothing, a repeated callback counts
once, an unclear result reaches the reviewers with Smile ID's words, a lost callback is
found by the status query, and without the settings reviewers decide as before."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from dracarys.app import create_app
from dracarys.clock import ManualClock
from dracarys.db import Database
from dracarys.identity import Role, verify_audit_chain
from dracarys.identity.jobs import reconcile_vendor_checks
from dracarys.identity.kyc.service import pending_documents
from dracarys.identity.kyc.vendor.smile_id import JobResult, verdict_of
from dracarys.payments.sandbox import serve
from dracarys.platform import Platform
from dracarys.settings import Settings
from tests.conftest import make_settings
from tests.identity.conftest import (
    Account,
    Client,
    new_account,
    simulators_env,
    staff_account,
)
from tests.identity.oidc_simulator import OidcProviderSimulator
from tests.identity.smile_id_simulator import (
    PROVISIONAL,
    REJECTED_FRAUD,
    SmileIdSimulator,
)
from tests.identity.test_kyc import JPEG, PDF, PNG, _upload, _verified_contact
from tests.messaging.simulators import SmsSimulator, SmtpSimulator
from tests.support import AppClient
from workers.runtime import Worker

CALLBACK_URL = "http://testserver.local/api/v1/webhooks/smile-id"


@pytest.fixture(scope="session")
def smile_server() -> Iterator[SmileIdSimulator]:
    simulator = SmileIdSimulator()
    with serve(simulator.app()) as url:
        simulator.base_url = url
        yield simulator


@pytest.fixture
def smile(smile_server: SmileIdSimulator, clock: ManualClock) -> SmileIdSimulator:
    smile_server.reset()
    smile_server.now = clock.now
    return smile_server


def smile_env(simulator: SmileIdSimulator, callback_url: str = CALLBACK_URL) -> dict[str, str]:
    return {
        "DRACARYS_SMILE_ID_PARTNER_ID": simulator.partner_id,
        "DRACARYS_SMILE_ID_API_KEY": simulator.api_key,
        "DRACARYS_SMILE_ID_BASE_URL": simulator.base_url,
        "DRACARYS_SMILE_ID_CALLBACK_URL": callback_url,
    }


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Path,
    smtp_server: SmtpSimulator,
    sms_gateway: SmsSimulator,
    oidc_server: OidcProviderSimulator,
    smile_server: SmileIdSimulator,
) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        **simulators_env(smtp_server, sms_gateway, oidc_server),
        **smile_env(smile_server),
    )


async def _member_with_id_sent(
    client: Client, pool: asyncpg.Pool, settings: Settings, clock: ManualClock
) -> tuple[Account, dict[str, object]]:
    owner = await new_account(client)
    await _verified_contact(pool, settings, clock, owner.id, "+254700333444")
    response = await _upload(client, owner, PNG)
    assert response.status_code == 200, response.text
    return owner, response.json()


async def _level(pool: asyncpg.Pool, user_id: uuid.UUID) -> int:
    level: int = await pool.fetchval("SELECT kyc_level FROM users WHERE id = $1", user_id)
    return level


async def _decisions(pool: asyncpg.Pool) -> list[tuple[str, uuid.UUID | None, str | None]]:
    rows = await pool.fetch(
        "SELECT action, actor_id, details FROM audit_log "
        "WHERE action IN ('kyc.approved', 'kyc.rejected', 'kyc.referred_to_reviewers') "
        "ORDER BY position"
    )
    return [(r["action"], r["actor_id"], r["details"].get("decided_by")) for r in rows]


async def test_a_signed_verified_result_approves_the_id_raises_the_level_and_mails_the_member(
    client: Client,
    pool: asyncpg.Pool,
    clock: ManualClock,
    settings: Settings,
    smile: SmileIdSimulator,
    worker: Worker,
    smtp_server: SmtpSimulator,
    platform: Platform,
) -> None:
    reviewer = await staff_account(client, pool, clock, Role.REVIEWER)
    owner, document = await _member_with_id_sent(client, pool, settings, clock)
    # Smile ID got the job in its own format: our ids, the ID's type and the photo itself.
    job = smile.job_of_user(owner.id)
    assert (job.image, job.id_type, job.country, job.uploaded) == (PNG, "NATIONAL_ID", "KE", True)
    assert smile.refused == []
    # While Smile ID works, the member is told so and no reviewer is asked.
    mine = (await client.get("/api/v1/me/kyc", headers=owner.headers)).json()
    slot = mine["tiers"][1]["documents"][0]
    assert (slot["status"], slot["automatic_check_under_way"]) == ("pending", True)
    queue = await client.get("/api/v1/kyc/reviews", headers=reviewer.headers)
    assert queue.json() == []

    [answer] = await smile.deliver(client)
    assert answer.status_code == 200, answer.text
    assert await _level(pool, owner.id) == 2
    status = await pool.fetchval(
        "SELECT status FROM kyc_documents WHERE id = $1", uuid.UUID(str(document["id"]))
    )
    assert status == "approved"
    topics = await pool.fetch(
        "SELECT payload FROM outbox WHERE topic = 'kyc.approved' AND payload->>'user_id' = $1",
        str(owner.id),
    )
    assert [t["payload"]["level"] for t in topics] == [2]
    # The vendor is named as the decider in the hash-chained audit log, which still holds.
    assert await _decisions(pool) == [("kyc.approved", None, "vendor:smile_id")]
    assert (await verify_audit_chain(platform)).ok
    mails = await smtp_server.wait_for(owner.email, count=2)  # verification + decision
    assert "Your government ID was approved" in {m["Subject"] for m in mails}
    mine = (await client.get("/api/v1/me/kyc", headers=owner.headers)).json()
    assert mine["tiers"][1]["documents"][0]["automatic_check_under_way"] is False


async def test_a_bad_or_stale_signature_is_refused_and_changes_nothing(
    client: Client,
    pool: asyncpg.Pool,
    clock: ManualClock,
    settings: Settings,
    smile: SmileIdSimulator,
) -> None:
    owner, _ = await _member_with_id_sent(client, pool, settings, clock)
    job = smile.job_of_user(owner.id)
    smile.held.clear()
    forged = smile.callback_for(job, api_key="not-our-key")
    stale = smile.callback_for(job, at=clock.now() - timedelta(minutes=30))
    unsigned = json.loads(smile.callback_for(job).body)
    del unsigned["signature"]
    for body in (forged.body, stale.body, json.dumps(unsigned).encode()):
        answer = await client.post(
            forged.path, content=body, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 401, answer.text
        problem = answer.json()
        assert problem["status"] == 401
        assert problem["errors"][0]["field"] in ("signature", "timestamp")
    assert await _level(pool, owner.id) == 0
    assert await _decisions(pool) == []
    state = await pool.fetchval("SELECT state FROM kyc_vendor_checks WHERE job_id = $1", job.job_id)
    assert state == "submitted"
    # The genuine callback still decides: the refusals were for the signature alone.
    genuine = smile.callback_for(job)
    answer = await client.post(
        genuine.path, content=genuine.body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 200, answer.text
    assert await _level(pool, owner.id) == 2


async def test_a_repeated_callback_counts_once_even_when_the_copies_arrive_together(
    client: Client,
    pool: asyncpg.Pool,
    clock: ManualClock,
    settings: Settings,
    smile: SmileIdSimulator,
) -> None:
    owner, _ = await _member_with_id_sent(client, pool, settings, clock)
    [callback] = smile.held
    answers = await asyncio.gather(
        *(
            client.post(
                callback.path, content=callback.body, headers={"Content-Type": "application/json"}
            )
            for _ in range(6)
        )
    )
    assert [a.status_code for a in answers] == [200] * 6
    later = await client.post(
        callback.path, content=callback.body, headers={"Content-Type": "application/json"}
    )
    assert later.status_code == 200
    assert await _decisions(pool) == [("kyc.approved", None, "vendor:smile_id")]
    mailed = await pool.fetchval(
        "SELECT count(*) FROM outbound_messages WHERE user_id = $1 AND template = 'kyc_approved'",
        owner.id,
    )
    assert mailed == 1
    approvals = await pool.fetchval(
        "SELECT count(*) FROM outbox WHERE topic = 'kyc.approved' AND payload->>'user_id' = $1",
        str(owner.id),
    )
    assert approvals == 1


async def test_an_unclear_result_goes_to_the_reviewers_with_smile_ids_reason(
    client: Client,
    pool: asyncpg.Pool,
    clock: ManualClock,
    settings: Settings,
    smile: SmileIdSimulator,
) -> None:
    smile.outcome = PROVISIONAL
    reviewer = await staff_account(client, pool, clock, Role.REVIEWER)
    owner, document = await _member_with_id_sent(client, pool, settings, clock)
    [answer] = await smile.deliver(client)
    assert answer.status_code == 200, answer.text
    assert await _level(pool, owner.id) == 0
    [queued] = (await client.get("/api/v1/kyc/reviews", headers=reviewer.headers)).json()
    assert queued["id"] == document["id"]
    check = queued["vendor_check"]
    assert check["vendor"] == "Smile ID"
    assert (check["state"], check["verdict"], check["result_code"]) == (
        "referred",
        "unclear",
        "0814",
    )
    assert check["result_text"] == PROVISIONAL[1]
    assert PROVISIONAL[1] in check["referral"]
    assert await _decisions(pool) == [("kyc.referred_to_reviewers", None, "vendor:smile_id")]
    # The reviewer decides as always, and the member is no longer told a check is running.
    mine = (await client.get("/api/v1/me/kyc", headers=owner.headers)).json()
    assert mine["tiers"][1]["documents"][0]["automatic_check_under_way"] is False
    approved = await client.post(
        f"/api/v1/kyc/documents/{document['id']}/approve", json={}, headers=reviewer.headers
    )
    assert approved.status_code == 200, approved.text
    assert await _level(pool, owner.id) == 2


async def test_a_fraud_result_rejects_the_id_with_a_reason_and_allows_another_upload(
    client: Client,
    pool: asyncpg.Pool,
    clock: ManualClock,
    settings: Settings,
    smile: SmileIdSimulator,
) -> None:
    smile.outcome = REJECTED_FRAUD
    owner, document = await _member_with_id_sent(client, pool, settings, clock)
    [answer] = await smile.deliver(client)
    assert answer.status_code == 200, answer.text
    mine = (await client.get("/api/v1/me/kyc", headers=owner.headers)).json()
    slot = mine["tiers"][1]["documents"][0]
    assert (slot["status"], slot["may_upload"]) == ("rejected", True)
    assert "Security features could not be verified" in slot["rejection_reason"]
    assert await _decisions(pool) == [("kyc.rejected", None, "vendor:smile_id")]
    rejected = await pool.fetchval(
        "SELECT count(*) FROM outbox WHERE topic = 'kyc.rejected' AND payload->>'document_id' = $1",
        str(document["id"]),
    )
    assert rejected == 1
    assert (await _upload(client, owner, JPEG, filename="id.jpg")).status_code == 200


async def test_a_lost_callback_is_found_by_the_status_query(
    client: Client,
    pool: asyncpg.Pool,
    clock: ManualClock,
    settings: Settings,
    smile: SmileIdSimulator,
    platform: Platform,
) -> None:
    smile.delivery = "lose"
    owner, _ = await _member_with_id_sent(client, pool, settings, clock)
    job = smile.job_of_user(owner.id)
    # Not yet due: Smile ID gets time to call back.
    assert await reconcile_vendor_checks(platform) == []
    clock.advance(timedelta(seconds=settings.smile_id_status_query_after_s + 1))
    assert await reconcile_vendor_checks(platform) == [job.job_id]
    assert await _level(pool, owner.id) == 2
    assert await _decisions(pool) == [("kyc.approved", None, "vendor:smile_id")]
    # Closed: the next run asks nothing, and a late callback counts for nothing.
    assert await reconcile_vendor_checks(platform) == []
    late = smile.callback_for(job)
    answer = await client.post(
        late.path, content=late.body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 200
    assert len(await _decisions(pool)) == 1


async def test_a_job_without_a_result_by_the_deadline_goes_to_the_reviewers(
    client: Client,
    pool: asyncpg.Pool,
    clock: ManualClock,
    settings: Settings,
    smile: SmileIdSimulator,
    platform: Platform,
) -> None:
    smile.completes = False
    reviewer = await staff_account(client, pool, clock, Role.REVIEWER)
    owner, document = await _member_with_id_sent(client, pool, settings, clock)
    clock.advance(timedelta(seconds=settings.smile_id_status_query_after_s + 1))
    assert await reconcile_vendor_checks(platform) == []  # still in progress, before deadline
    assert (await client.get("/api/v1/kyc/reviews", headers=reviewer.headers)).json() == []
    clock.advance(timedelta(seconds=settings.smile_id_result_deadline_s))
    job = smile.job_of_user(owner.id)
    assert await reconcile_vendor_checks(platform) == [job.job_id]
    # A day on, the reviewer's access token has long expired: the queue as the page reads it.
    [queued] = await pending_documents(platform)
    assert str(queued.id) == document["id"]
    assert queued.vendor_check is not None
    assert "gave no result within 24 hours" in (queued.vendor_check.referral or "")


async def test_a_pdf_scan_and_a_proof_of_address_go_straight_to_the_reviewers(
    client: Client,
    pool: asyncpg.Pool,
    clock: ManualClock,
    settings: Settings,
    smile: SmileIdSimulator,
) -> None:
    reviewer = await staff_account(client, pool, clock, Role.REVIEWER)
    owner = await new_account(client)
    scan = (await _upload(client, owner, PDF)).json()
    clock.advance(timedelta(seconds=1))
    address = (await _upload(client, owner, PNG, doc_type="proof_of_address")).json()
    assert smile.jobs == {}
    queue = (await client.get("/api/v1/kyc/reviews", headers=reviewer.headers)).json()
    assert [(d["id"], d["vendor_check"]) for d in queue] == [
        (scan["id"], None),
        (address["id"], None),
    ]


async def test_an_unknown_id_type_is_refused_naming_the_field(
    client: Client, smile: SmileIdSimulator
) -> None:
    owner = await new_account(client)
    response = await client.patch(
        f"/api/v1/users/{owner.id}/kyc-upload",
        files={"file": ("id.png", PNG, "image/png")},
        data={"doc_type": "government_id", "id_type": "LIBRARY_CARD"},
        headers=owner.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "id_type"
    passport = await client.patch(
        f"/api/v1/users/{owner.id}/kyc-upload",
        files={"file": ("id.png", PNG, "image/png")},
        data={"doc_type": "government_id", "id_type": "PASSPORT"},
        headers=owner.headers,
    )
    assert passport.status_code == 200, passport.text
    assert smile.job_of_user(owner.id).id_type == "PASSPORT"


def test_only_a_known_clear_code_decides() -> None:
    assert verdict_of(JobResult(ResultCode="0810")) == "verified"
    assert verdict_of(JobResult(ResultCode="0810", Actions={"Verify_Document": "Failed"})) == (
        "unclear"
    )
    assert verdict_of(JobResult(ResultCode="0812")) == "rejected"
    for code in ("0811", "0814", "0999", "1012", ""):
        assert verdict_of(JobResult(ResultCode=code)) == "unclear"


async def test_without_smile_id_settings_reviewers_decide_as_before(
    database_url: str,
    tmp_path: Path,
    smtp_server: SmtpSimulator,
    sms_gateway: SmsSimulator,
    oidc_server: OidcProviderSimulator,
    pool: asyncpg.Pool,
    clock: ManualClock,
    smile: SmileIdSimulator,
) -> None:
    plain = make_settings(
        database_url, tmp_path, **simulators_env(smtp_server, sms_gateway, oidc_server)
    )
    async with AppClient(create_app(plain, clock=clock)) as client:
        reviewer = await staff_account(client, pool, clock, Role.REVIEWER)
        owner = await new_account(client)
        await _verified_contact(pool, plain, clock, owner.id, "+254700555666")
        document = (await _upload(client, owner, PNG)).json()
        assert smile.jobs == {}
        mine = (await client.get("/api/v1/me/kyc", headers=owner.headers)).json()
        assert mine["tiers"][1]["documents"][0]["automatic_check_under_way"] is False
        [queued] = (await client.get("/api/v1/kyc/reviews", headers=reviewer.headers)).json()
        assert (queued["id"], queued["vendor_check"]) == (document["id"], None)
        # A callback has nobody to talk to here.
        refused = await client.post("/api/v1/webhooks/smile-id", content=b"{}")
        assert refused.status_code == 404
        approved = await client.post(
            f"/api/v1/kyc/documents/{document['id']}/approve", json={}, headers=reviewer.headers
        )
        assert approved.status_code == 200
        assert await _level(pool, owner.id) == 2
    unconfigured = Platform(settings=plain, database=Database(pool=pool, dsn=database_url))
    assert await reconcile_vendor_checks(unconfigured) == []

"""Concurrency of follow verification, proven with many tasks on one database: two
re-check runs at once check each follow once (rows are leased); ten proofs of one member
at once leave one pending; two reviewers approving one proof at once award it once. And
the re-check is a cron job the workers run."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from taskiq import InMemoryBroker

from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.platform import Platform
from dracarys.social import recheck_follows
from dracarys.social.verification.sandbox import SocialSandbox
from tests.points.conftest import balance_of, drain
from tests.social.conftest import connect, verify
from tests.social.test_verification import advance, png, submit_proof, topics
from tests.support import AppClient
from workers.runtime import Worker
from workers.tasks import register_tasks


def test_the_recheck_is_a_cron_job() -> None:
    tasks = register_tasks(InMemoryBroker())
    assert tasks["social.recheck_follows"].labels["schedule"] == [{"cron": "31 * * * *"}]


async def test_two_recheck_runs_at_once_check_each_follow_once_and_a_worker_runs_the_job(
    client: AppClient,
    make_user: Any,
    platform: Platform,
    sandbox: SocialSandbox,
    clock: ManualClock,
) -> None:
    members = [await make_user() for _ in range(6)]
    for i, member in enumerate(members):
        sandbox.auto_consent["youtube"] = sandbox.add_youtube_viewer(f"Viewer {i}", subscribed=True)
        assert (await verify(client, member, "youtube")).json()["status"] == "verified"
    advance(clock, sandbox, timedelta(hours=25))
    sandbox.calls.clear()
    first, second = await asyncio.gather(
        recheck_follows(platform, batch_size=2), recheck_follows(platform, batch_size=2)
    )
    assert first + second == 6
    assert sandbox.calls.count("youtube.subscriptions") == 6
    # Nothing is due again until the interval has passed; then a worker runs the job.
    assert await recheck_follows(platform) == 0
    advance(clock, sandbox, timedelta(hours=25))
    worker = Worker(platform, InMemoryBroker())
    await worker.start(relay=False)
    try:
        task = await worker.tasks["social.recheck_follows"].kiq()
        assert (await task.wait_result(timeout=30)).return_value == 6
    finally:
        await worker.stop()


async def test_ten_proofs_of_one_member_at_once_leave_one_pending(
    client: AppClient, make_user: Any, platform: Platform, sandbox: SocialSandbox
) -> None:
    member = await make_user()
    answers = await asyncio.gather(
        *(
            submit_proof(
                client, member, "instagram", "https://www.instagram.com/many_at_once/", png()
            )
            for _ in range(10)
        )
    )
    assert sorted(a.status_code for a in answers) == [201] + [409] * 9
    assert await platform.pool.fetchval("SELECT count(*) FROM social_proofs") == 1


async def test_two_reviewers_approving_one_proof_at_once_award_it_once(
    client: AppClient, make_user: Any, platform: Platform, sandbox: SocialSandbox
) -> None:
    member = await make_user()
    reviewers = [await make_user(role=Role.REVIEWER), await make_user(role=Role.ADMIN)]
    sent = await submit_proof(
        client, member, "tiktok", "https://www.tiktok.com/@both.at.once", png()
    )
    proof_id = sent.json()["id"]
    answers = await asyncio.gather(
        *(
            client.post(f"/api/v1/social/proofs/{proof_id}/approve", json={}, headers=r.headers)
            for r in reviewers
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert len(await topics(platform.pool, "social.follow_verified")) == 1
    await drain(platform)
    assert await balance_of(platform.pool, member.id) == 150


async def test_two_members_verifying_one_channel_at_once_one_wins_and_the_other_is_told(
    client: AppClient, make_user: Any, platform: Platform, sandbox: SocialSandbox
) -> None:
    first, second = await make_user(), await make_user()
    sandbox.auto_consent["youtube"] = sandbox.add_youtube_viewer("Contested", subscribed=True)
    returned = [await connect(client, m, "youtube") for m in (first, second)]
    answers = await asyncio.gather(
        *(
            client.post("/api/v1/social/verify", json=r, headers=m.headers)
            for r, m in zip(returned, (first, second), strict=True)
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert len(await topics(platform.pool, "social.follow_verified")) == 1

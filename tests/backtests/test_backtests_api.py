"""POST/GET /api/v1/backtests: validation at the edge (a 422 naming the field, nothing
stored), the outbox-queued worker run with the engine, sweeps, and who may read."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import polars as pl
import pytest

from dracarys.backtests.service import QUIET_AFTER, dataset_bars, run_job, unattended_jobs
from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.platform import Platform
from engine.portfolio import PortfolioSizing, run_portfolio
from engine.runner import run_backtest
from engine.strategy import TEMPLATES, ExecutionSettings
from tests.support import AppClient, TestUser
from workers.backtest_tasks import REQUEUE_BACKTESTS
from workers.runtime import Worker

Client = AppClient
MakeUser = Callable[..., Awaitable[TestUser]]


@pytest.fixture
async def worker(platform: Platform) -> AsyncIterator[Worker]:
    running = Worker(platform)
    await running.start()
    yield running
    await running.stop()


async def wait_finished(client: Client, user: TestUser, backtest_id: str) -> dict[str, Any]:
    for _ in range(600):
        response = await client.get(f"/api/v1/backtests/{backtest_id}", headers=user.headers)
        body: dict[str, Any] = response.json()
        if body["status"] in ("succeeded", "failed"):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError("the backtest did not finish")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"template": "no_such"}, "template"),
        ({}, "template"),
        ({"template": "sma_cross", "params": {"fastest": 3}}, "params.fastest"),
        ({"template": "sma_cross", "params": {"fast": 0}}, "params.fast"),
        (
            {"template": "sma_cross", "sweep": {"slow": {"start": 0, "stop": 2, "step": 1}}},
            "sweep.slow",
        ),
        ({"template": "sma_cross", "rank_by": "luck"}, "rank_by"),
        ({"template": "sma_cross", "execution": {"initial_cash": -5}}, "execution.initial_cash"),
        ({"template": "sma_cross", "dataset": "real_money"}, "dataset"),
        (
            {"template": "sma_cross", "sweep": {"fast": {"start": 5, "stop": 1, "step": 1}}},
            "sweep.fast.stop",
        ),
        (
            {"template": "sma_cross", "sweep": {"nope": {"start": 1, "stop": 2, "step": 1}}},
            "sweep.nope",
        ),
        ({"spec": {"name": "x", "indicators": [], "rules": {"entry": 3}}}, "spec.rules.entry"),
        (
            {"spec": {"name": "x", "indicators": [{"kind": "sma", "name": "f", "window": 0}]}},
            "spec.indicators[0].window",
        ),
        ({"template": "sma_cross", "owner_id": "00000000-0000-0000-0000-000000000000"}, "owner_id"),
        ({"template": "sma_cross", "datasets": ["sample_daily", "real_money"]}, "datasets[1]"),
        ({"template": "sma_cross", "datasets": ["sample_daily", "sample_daily"]}, "datasets[1]"),
        ({"template": "sma_cross", "datasets": ["sample_daily", "sample_1m"]}, "datasets[1]"),
        ({"template": "sma_cross", "datasets": []}, "datasets"),
        ({"template": "sma_cross", "portfolio": {"fraction": 0.5}}, "datasets"),
        (
            {
                "template": "sma_cross",
                "datasets": ["sample_daily", "sample_daily_b"],
                "portfolio": {"method": "target_weights", "target_weights": [0.5]},
            },
            "portfolio.target_weights",
        ),
        (
            {
                "template": "sma_cross",
                "datasets": ["sample_daily", "sample_daily_b"],
                "portfolio": {"fraction": 1.5},
            },
            "portfolio.fraction",
        ),
        (
            {
                "template": "sma_cross",
                "datasets": ["sample_daily", "sample_daily_b"],
                "allow_short": True,
            },
            "allow_short",
        ),
        (
            {
                "template": "sma_cross",
                "datasets": ["sample_daily", "sample_daily_b"],
                "sweep": {"fast": {"start": 5, "stop": 10, "step": 5}},
            },
            "sweep",
        ),
    ],
)
async def test_bad_request_is_a_422_naming_the_field_and_stores_nothing(
    client: Client, make_user: MakeUser, pool: asyncpg.Pool, body: dict[str, Any], field: str
) -> None:
    user = await make_user()
    response = await client.post("/api/v1/backtests", json=body, headers=user.headers)
    assert response.status_code == 422, response.text
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields[0] == field, fields
    assert await pool.fetchval("SELECT count(*) FROM backtests") == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_worker_runs_queued_backtest_with_the_engine_and_stores_its_result(
    client: Client, make_user: MakeUser, worker: Worker
) -> None:
    user = await make_user()
    response = await client.post(
        "/api/v1/backtests",
        json={"template": "sma_cross", "params": {"fast": 10, "slow": 30}},
        headers=user.headers,
    )
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] == "queued"
    done = await wait_finished(client, user, queued["id"])
    assert done["status"] == "succeeded", done["error"]

    # The same numbers as the engine run directly on the same data.
    expected = run_backtest(
        dataset_bars("sample_daily"),
        TEMPLATES["sma_cross"].build({"fast": 10, "slow": 30}, False),
        ExecutionSettings(initial_cash=10_000),
    )
    assert done["metrics"]["final_equity"] == pytest.approx(expected.metrics.final_equity, 1e-12)
    assert done["metrics"]["trades"] == expected.metrics.trades
    assert done["trade_count"] == expected.trade_table.shape[0]
    assert len(done["trades"]) == expected.trade_table.shape[0]
    curve = done["equity"]
    assert 2 < len(curve) <= 601
    assert curve[-1]["equity"] == pytest.approx(float(expected.equity[-1]))
    assert min(p["drawdown_pct"] for p in curve) == pytest.approx(
        -done["metrics"]["max_drawdown_pct"], abs=1e-9
    )
    times = [p["time"] for p in curve]
    assert times == sorted(set(times))


async def test_a_run_over_two_datasets_shares_cash_and_stores_per_asset_and_portfolio_results(
    client: Client, make_user: MakeUser, worker: Worker
) -> None:
    user = await make_user()
    response = await client.post(
        "/api/v1/backtests",
        json={
            "template": "sma_cross",
            "params": {"fast": 10, "slow": 30},
            "datasets": ["sample_daily", "sample_daily_b"],
            "portfolio": {"method": "target_weights", "target_weights": [0.6, 0.4]},
            "execution": {"commission_bps": 5},
        },
        headers=user.headers,
    )
    assert response.status_code == 202, response.text
    assert response.json()["kind"] == "portfolio"
    done = await wait_finished(client, user, response.json()["id"])
    assert done["status"] == "succeeded", done["error"]

    # The same numbers as the engine run directly on the same data.
    expected = run_portfolio(
        [dataset_bars("sample_daily"), dataset_bars("sample_daily_b")],
        TEMPLATES["sma_cross"].build({"fast": 10, "slow": 30}, False),
        ExecutionSettings(initial_cash=10_000, commission_bps=5),
        PortfolioSizing(method="target_weights", target_weights=(0.6, 0.4)),
    )
    assert done["metrics"]["final_equity"] == pytest.approx(expected.metrics.final_equity, 1e-12)
    assert done["metrics"]["sharpe"] == pytest.approx(expected.metrics.sharpe, 1e-12)
    assert [a["symbol"] for a in done["assets"]] == ["sample_daily", "sample_daily_b"]
    for stored, computed in zip(done["assets"], expected.assets, strict=True):
        assert stored["contribution"] == pytest.approx(computed.contribution, 1e-12)
        assert stored["round_trips"] == computed.round_trips > 0
        assert stored["exposure_pct"] == pytest.approx(computed.exposure_pct)
    profit = done["metrics"]["final_equity"] - 10_000
    assert sum(a["contribution"] for a in done["assets"]) == pytest.approx(profit, abs=1e-6)
    assert {t["symbol"] for t in done["trades"]} == {"sample_daily", "sample_daily_b"}
    assert done["equity"][-1]["equity"] == pytest.approx(float(expected.equity[-1]))

    listed = (await client.get("/api/v1/backtests", headers=user.headers)).json()
    assert listed[0]["dataset"] == "sample_daily + sample_daily_b"


async def test_a_single_dataset_run_stores_no_asset_table(
    client: Client, make_user: MakeUser, worker: Worker
) -> None:
    user = await make_user()
    response = await client.post(
        "/api/v1/backtests", json={"template": "sma_cross"}, headers=user.headers
    )
    done = await wait_finished(client, user, response.json()["id"])
    assert done["kind"] == "single"
    assert done["assets"] is None


async def test_sweep_ranks_every_combination_and_reports_the_best_run(
    client: Client, make_user: MakeUser, worker: Worker
) -> None:
    user = await make_user()
    response = await client.post(
        "/api/v1/backtests",
        json={
            "template": "sma_cross",
            "sweep": {
                "fast": {"start": 5, "stop": 15, "step": 5},
                "slow": {"start": 20, "stop": 40, "step": 10},
            },
            "rank_by": "sharpe",
        },
        headers=user.headers,
    )
    assert response.status_code == 202, response.text
    assert response.json()["progress_total"] == 9
    done = await wait_finished(client, user, response.json()["id"])
    assert done["status"] == "succeeded", done["error"]
    results = pl.DataFrame(done["sweep"]["results"])
    assert results.height == 9
    assert set(zip(results["fast"], results["slow"], strict=True)) == {
        (f, s) for f in (5, 10, 15) for s in (20, 30, 40)
    }
    best = results.row(0, named=True)
    assert best["sharpe"] == results["sharpe"].max()
    assert done["metrics"]["sharpe"] == pytest.approx(best["sharpe"], rel=1e-9)
    assert done["progress_done"] == 9


async def test_only_owner_and_shared_users_read_a_backtest(
    client: Client, make_user: MakeUser
) -> None:
    owner = await make_user()
    friend = await make_user()
    stranger = await make_user()
    staff = await make_user(role=Role.ADMIN)
    created = await client.post(
        "/api/v1/backtests",
        json={"template": "macd", "share_with": [str(friend.id)]},
        headers=owner.headers,
    )
    backtest_id = created.json()["id"]
    url = f"/api/v1/backtests/{backtest_id}"
    assert (await client.get(url, headers=owner.headers)).status_code == 200
    assert (await client.get(url, headers=friend.headers)).status_code == 200
    assert (await client.get(url, headers=stranger.headers)).status_code == 404
    assert (await client.get(url, headers=staff.headers)).status_code == 404  # staff too
    assert (await client.get(url)).status_code == 401
    listed = await client.get("/api/v1/backtests", headers=friend.headers)
    assert [b["id"] for b in listed.json()] == [backtest_id]
    assert (await client.get("/api/v1/backtests", headers=stranger.headers)).json() == []

    # A share by someone who is not the owner is refused; the owner's share works.
    refused = await client.post(
        f"{url}/shares", json={"user_id": str(stranger.id)}, headers=friend.headers
    )
    assert refused.status_code == 403
    shared = await client.post(
        f"{url}/shares", json={"user_id": str(stranger.id)}, headers=owner.headers
    )
    assert shared.status_code == 200
    assert (await client.get(url, headers=stranger.headers)).status_code == 200


async def test_share_with_unknown_user_is_refused_naming_the_entry(
    client: Client, make_user: MakeUser
) -> None:
    owner = await make_user()
    response = await client.post(
        "/api/v1/backtests",
        json={"template": "macd", "share_with": ["7b0b4d8e-4a57-4f4c-9d70-1c1f5b0f0c11"]},
        headers=owner.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "share_with[0]"


async def test_a_run_is_taken_over_only_when_its_worker_has_gone_quiet(
    client: Client, make_user: MakeUser, platform: Platform, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    """No worker here: the job's task is run by hand, as a re-delivered message would."""
    user = await make_user()
    response = await client.post(
        "/api/v1/backtests", json={"template": "sma_cross"}, headers=user.headers
    )
    backtest_id = uuid.UUID(response.json()["id"])
    assert await unattended_jobs(platform) == []  # just queued: its task is on its way

    # A worker claimed it and is alive (its heartbeat is recent): a second delivery of
    # the same task leaves it alone.
    await pool.execute(
        "UPDATE backtests SET status = 'running', started_at = $2, heartbeat_at = $2 WHERE id = $1",
        backtest_id,
        clock.now(),
    )
    await run_job(platform, backtest_id)
    row = await pool.fetchrow("SELECT status, metrics FROM backtests WHERE id = $1", backtest_id)
    assert row is not None
    assert (row["status"], row["metrics"]) == ("running", None)
    assert await unattended_jobs(platform) == []

    # Its heartbeat goes quiet (the worker died): the job is unattended, and taken over.
    clock.advance(QUIET_AFTER + timedelta(seconds=1))
    assert await unattended_jobs(platform) == [backtest_id]
    await run_job(platform, backtest_id)
    done = await client.get(f"/api/v1/backtests/{backtest_id}", headers=user.headers)
    assert done.json()["status"] == "succeeded", done.json()["error"]
    assert await unattended_jobs(platform) == []

    # A finished job is never run again.
    await run_job(platform, backtest_id)
    again = await client.get(f"/api/v1/backtests/{backtest_id}", headers=user.headers)
    assert again.json() == done.json()


async def test_the_cron_task_requeues_a_job_whose_task_was_lost(
    client: Client, make_user: MakeUser, pool: asyncpg.Pool, clock: ManualClock, worker: Worker
) -> None:
    user = await make_user()
    backtest_id = uuid.uuid4()
    # A queued job whose outbox event is gone (as after a broker restart lost its task).
    await pool.execute(
        "INSERT INTO backtests (id, owner_id, kind, request, created_at) "
        "VALUES ($1, $2, 'single', $3, $4)",
        backtest_id,
        user.id,
        {"template": "sma_cross"},
        clock.now(),
    )
    clock.advance(QUIET_AFTER + timedelta(seconds=1))
    requeued = await worker.tasks[REQUEUE_BACKTESTS].kiq()
    assert (await requeued.wait_result(timeout=10)).return_value == 1
    done = await wait_finished(client, user, str(backtest_id))
    assert done["status"] == "succeeded", done["error"]

"""Backtests on the platform: jobs queued through the outbox, run by a worker with the
engine, results stored in PostgreSQL and read by their owner and whom they share with.

What other parts of the platform may use: the HTTP routes (`backtests.api.ROUTES`, for the
composition root), running a queued job, working on a distributed sweep's chunks and
finding unattended jobs (the workers' tasks), the demo seeder, and the event that asks
for a worker."""

from dracarys.backtests.demo import seed_backtests_demo
from dracarys.backtests.events import BACKTEST_REQUESTED, BacktestRequested
from dracarys.backtests.service import AskWorkers, run_job, unattended_jobs, work_on_sweep

__all__ = [
    "BACKTEST_REQUESTED",
    "AskWorkers",
    "BacktestRequested",
    "run_job",
    "seed_backtests_demo",
    "unattended_jobs",
    "work_on_sweep",
]

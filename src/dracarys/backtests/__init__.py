"""Backtests on the platform: jobs queued through the outbox, run by a worker with the
engine, results stored in PostgreSQL and read by their owner and whom they share with."""

"""Analytics (blueprint §10 and 2.11, issue 22): an append-only stream of domain events
copied from the outbox (`events`), the KPIs computed over it with polars (`kpis`), funnels
with steps chosen on the page (`funnels`), each mentor's own numbers (`mentors`) and the
warehouse and CSV exports (`exports`).

A package of areas cut the same way (`models`, `store`, `service`, `api`); `api.py`
gathers their routes (`ROUTES`) for the composition root. Other code uses analytics
through what this module exports: the consumer that copies events into the stream
(`record_events`, for `ANALYTICS_TOPICS`) and the scheduled warehouse export
(`export_yesterday`), and the job keeping the KPIs' columnar cache warm
(`warm_fact_cache`). Analytics reads no other domain's tables: everything it knows
came through its own event stream."""

from dracarys.analytics.events.service import ANALYTICS_TOPICS, record_events, warm_fact_cache
from dracarys.analytics.exports.service import export_yesterday

__all__ = ["ANALYTICS_TOPICS", "export_yesterday", "record_events", "warm_fact_cache"]

"""A funnel asked for on the staff analytics page, and its answer."""

from __future__ import annotations

from datetime import datetime

from dracarys.wire import Input, Schema


class FunnelQuery(Input):
    """Steps are event topics in order (two to eight); a member entering at the first
    step's event between `since` and `until` counts at each later step they reach within
    `window_days` of entering. Built by the API from the URL's query (the page links to
    it), so the service checks the steps."""

    steps: list[str]
    since: datetime
    until: datetime
    window_days: int = 30


class FunnelStep(Schema):
    topic: str
    members: int
    # Share of the step before (the first step: None) and of the first step.
    from_previous: float | None
    from_first: float | None


class Funnel(Schema):
    since: datetime
    until: datetime
    window_days: int
    steps: list[FunnelStep]

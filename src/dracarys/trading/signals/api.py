"""Signals HTTP API under /api/v1/trading: publishing, reading and verifying a mentor's
signals and track record, feed plans, subscriptions and their mirrored copies. Handlers
call services only."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dracarys.identity import CurrentUser, Role, authenticated, requires_role
from dracarys.platform import Platform
from dracarys.trading.signals import service, subscriptions
from dracarys.trading.signals.models import (
    ChainVerification,
    FeedPlan,
    FeedPlanInput,
    Mirror,
    Signal,
    SignalInput,
    SignalList,
    SignalOutcome,
    SubscribeInput,
    Subscriber,
    Subscription,
    TrackRecord,
    TrackRecordCurve,
)

MENTOR = [requires_role(Role.MENTOR)]


class SignalController(Controller):
    path = "/api/v1/trading"
    tags = ["signals"]  # noqa: RUF012 (Litestar declares it as an instance attribute)
    guards = [authenticated]  # noqa: RUF012

    @post(
        "/signals",
        operation_id="publishSignal",
        guards=MENTOR,
        status_code=HTTP_201_CREATED,
        summary="Broadcast a signal (append-only; a correction names the signal it corrects)",
    )
    async def publish(
        self,
        data: JSONBody[SignalInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Signal:
        return await service.publish_signal(platform, current_user, data)

    @get("/mentors/{mentor_id:uuid}/signals", operation_id="listMentorSignals")
    async def list_signals(
        self,
        mentor_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        limit: int = Parameter(default=50, ge=1, le=500),
    ) -> SignalList:
        return await service.list_signals(platform, current_user, mentor_id, limit)

    @get(
        "/mentors/{mentor_id:uuid}/signal-outcomes",
        operation_id="listSignalOutcomes",
        summary="How the signal book closed each signal (P&L, R multiple, latency, slippage)",
    )
    async def signal_outcomes(
        self,
        mentor_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> list[SignalOutcome]:
        return await service.signal_outcomes(platform, current_user, mentor_id)

    @get(
        "/mentors/{mentor_id:uuid}/signals/verification",
        operation_id="verifySignalChain",
        summary="Recompute the mentor's signal hash chain",
    )
    async def verify(
        self, mentor_id: FromPath[uuid.UUID], platform: NamedDependency[Platform]
    ) -> ChainVerification:
        return await service.verify_chain(platform, mentor_id)

    @get(
        "/mentors/{mentor_id:uuid}/track-record",
        operation_id="getMentorTrackRecord",
        summary="Verified track record of the mentor's signal book",
    )
    async def track_record(
        self, mentor_id: FromPath[uuid.UUID], platform: NamedDependency[Platform]
    ) -> TrackRecord:
        return await service.track_record(platform, mentor_id)

    @get(
        "/mentors/{mentor_id:uuid}/track-record/curve",
        operation_id="getMentorTrackRecordCurve",
        summary="Equity of the mentor's signal book, for a chart",
    )
    async def track_record_curve(
        self,
        mentor_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        limit: int = Parameter(default=1000, ge=1, le=5000),
    ) -> TrackRecordCurve:
        return await service.track_record_curve(platform, mentor_id, limit)

    @put(
        "/feed-plan",
        operation_id="setSignalFeedPlan",
        guards=MENTOR,
        summary="Your signal feed's monthly price (0 = free)",
    )
    async def set_plan(
        self,
        data: JSONBody[FeedPlanInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> FeedPlan:
        return await subscriptions.set_plan(platform, current_user, data)

    @get(
        "/feed-plan/subscribers",
        operation_id="listMySignalSubscribers",
        guards=MENTOR,
        summary="Your signal feed's active subscribers",
    )
    async def subscribers(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[Subscriber]:
        return await subscriptions.list_subscribers(platform, current_user.id)

    @get(
        "/mentors/{mentor_id:uuid}/feed-plan",
        operation_id="getSignalFeedPlan",
        summary="What a mentor's signal feed costs per month (0 = free)",
    )
    async def get_plan(
        self, mentor_id: FromPath[uuid.UUID], platform: NamedDependency[Platform]
    ) -> FeedPlan:
        return await subscriptions.feed_plan(platform, mentor_id)

    @post(
        "/mentors/{mentor_id:uuid}/subscriptions",
        operation_id="subscribeToSignals",
        status_code=HTTP_201_CREATED,
        summary="Subscribe to a mentor's signals, optionally mirroring into a portfolio",
    )
    async def subscribe(
        self,
        mentor_id: FromPath[uuid.UUID],
        data: JSONBody[SubscribeInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        idempotency_key: NamedDependency[str],
    ) -> Subscription:
        return await subscriptions.subscribe(
            platform, current_user, mentor_id, data, idempotency_key
        )

    @get("/subscriptions", operation_id="listSignalSubscriptions")
    async def list_subscriptions(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[Subscription]:
        return await subscriptions.list_subscriptions(platform, current_user)

    @post(
        "/subscriptions/{subscription_id:uuid}/cancel",
        operation_id="cancelSignalSubscription",
        status_code=HTTP_200_OK,
    )
    async def unsubscribe(
        self,
        subscription_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Subscription:
        return await subscriptions.unsubscribe(platform, current_user, subscription_id)

    @get(
        "/subscriptions/{subscription_id:uuid}/mirrors",
        operation_id="listSignalMirrors",
        summary="Mirrored orders and skipped copies (with reasons and latency)",
    )
    async def mirrors(
        self,
        subscription_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> list[Mirror]:
        return await subscriptions.list_mirrors(platform, current_user, subscription_id)


ROUTES: list[Any] = [SignalController]

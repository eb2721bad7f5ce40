"""The Litestar app factory: one app for the embedded and the scale-out modes, with
what differs (embedded PostgreSQL or `DATABASE_URL`, memory or Redis stores) decided by
settings in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any, cast

import structlog
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.plugins.prometheus import PrometheusController
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import BlockingConnectionPool, Redis
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from dracarys.clock import Clock, SystemClock
from dracarys.community import space_watchers
from dracarys.db import open_database
from dracarys.edge import EdgeRequest, refuse_malformed_request
from dracarys.errors import EXCEPTION_HANDLERS
from dracarys.idempotency import IDEMPOTENCY_DEPENDENCY
from dracarys.identity import (
    AccessMiddleware,
    SignupHooks,
    build_session_cache,
    provide_current_user,
)
from dracarys.notifications import conversation_members
from dracarys.observability import (
    configure_logging,
    request_middleware,
)
from dracarys.openapi import ApiDocumentConfig, api_reference
from dracarys.platform import Platform
from dracarys.ratelimit import api_rate_limit_middleware
from dracarys.realtime import (
    ChannelPolicies,
    ChannelPolicy,
    community_space_policy,
    conversation_policy,
    only_that_user,
    portfolio_policy,
    public,
    run_streams,
    signal_feed_policy,
)
from dracarys.routes import ROUTE_HANDLERS
from dracarys.settings import Settings, load_settings
from dracarys.social import attribute_signup
from dracarys.trading import may_watch_signals, portfolio_viewers
from dracarys.upgrade import upgrade_database
from dracarys.web.render import with_error_pages
from streams.channels import ChannelKind

log = structlog.get_logger("dracarys.app")
REDIS_MAX_CONNECTIONS = 100

# Extra work that lives as long as the app: the embedded mode's in-process worker, relay
# and scheduler come in this way from the composition root (the CLI), keeping the
# dependency direction workers → dracarys.
LifespanHook = Callable[[Platform], AbstractAsyncContextManager[None]]


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False


def platform_from_state(state: State) -> Platform:
    platform: Platform = state.platform
    return platform


def platform_channel_policies() -> dict[ChannelKind, ChannelPolicy]:
    """Who may watch each kind of stream channel: realtime's rules, with trading's
    checks of who may watch a mentor's signal feed and a portfolio, chat's of who
    is in a conversation, and the community's of who may read a space."""
    return {
        ChannelKind.MARKET: public,
        ChannelKind.LEADERBOARD: public,
        ChannelKind.NOTIFICATIONS: only_that_user,
        ChannelKind.SIGNALS: signal_feed_policy(may_watch_signals),
        ChannelKind.PORTFOLIO: portfolio_policy(portfolio_viewers),
        ChannelKind.CHAT: conversation_policy(conversation_members),
        ChannelKind.COMMUNITY: community_space_policy(space_watchers),
    }


# What other domains do inside a sign-up's transaction: a referral link's cookie maps
# the new account to its referrer.
SIGNUP_HOOKS = SignupHooks(hooks=(attribute_signup,))


def provide_signup_hooks() -> SignupHooks:
    return SIGNUP_HOOKS


def _stores(settings: Settings, redis: Redis | None) -> dict[str, Store]:
    names = ("cache", "sessions")
    if redis is None:
        return {name: MemoryStore() for name in names}
    return {name: RedisStore(redis, namespace=f"{settings.redis_prefix}:{name}") for name in names}


def create_app(
    settings: Settings | None = None,
    *,
    lifespan_hooks: Sequence[LifespanHook] = (),
    clock: Clock | None = None,
    run_migrations: bool | None = None,
    channel_policies: Mapping[ChannelKind, ChannelPolicy] | None = None,
) -> Litestar:
    """`channel_policies` replaces `platform_channel_policies()` (tests that watch a
    policy of their own)."""
    settings = settings or load_settings()
    policies = ChannelPolicies(
        platform_channel_policies() if channel_policies is None else channel_policies
    )
    configure_logging(settings)
    # Every API request counts in Redis (the rate limit): a burst beyond the pool waits
    # for a connection instead of failing with "Too many connections".
    redis = (
        Redis.from_pool(
            BlockingConnectionPool.from_url(
                settings.redis_url, max_connections=REDIS_MAX_CONNECTIONS, timeout=10
            )
        )
        if settings.redis_url
        else None
    )
    migrate_at_start = settings.embedded_database if run_migrations is None else run_migrations

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = await open_database(settings)
            stack.push_async_callback(database.close)
            if migrate_at_start:
                async with database.pool.acquire() as conn:
                    await upgrade_database(conn, settings)
            if redis is not None:
                stack.push_async_callback(redis.aclose)
            session_cache = build_session_cache(settings, redis)
            platform = Platform(
                settings=settings,
                database=database,
                redis=redis,
                clock=clock or SystemClock(),
                session_cache=session_cache,
            )
            app.state.platform = platform
            await stack.enter_async_context(session_cache.running())
            app.state.streams = await stack.enter_async_context(run_streams(platform, policies))
            for hook in lifespan_hooks:
                await stack.enter_async_context(hook(platform))
            log.info(
                "dracarys_started",
                database="embedded" if database.embedded else "external",
                redis="configured" if redis is not None else "in-memory",
            )
            yield

    def provide_platform() -> Platform:
        # From this app's state, without the request: a dependency that takes no
        # parameters skips Litestar's per-request validation of its arguments.
        return platform_from_state(app.state)

    # Probes and scrapes are left out of the request metrics: orchestrators call them
    # every few seconds and would drown the series that describe real traffic. The
    # stream WebSocket is too: its "request" lasts hours and every message passes `send`.
    edge = request_middleware(
        "dracarys",
        metrics_exclude=["^/health$", "^/ready$", "^/metrics$", "^/api/v1/stream$"],
        check=refuse_malformed_request,
    )
    app = Litestar(
        route_handlers=[*ROUTE_HANDLERS, MetricsController],
        lifespan=[lifespan],
        dependencies={
            "platform": Provide(provide_platform, sync_to_thread=False),
            "current_user": Provide(provide_current_user, sync_to_thread=False),
            "idempotency_key": IDEMPOTENCY_DEPENDENCY,
            "signup_hooks": Provide(provide_signup_hooks, sync_to_thread=False),
        },
        exception_handlers=with_error_pages(EXCEPTION_HANDLERS),
        request_class=EdgeRequest,
        middleware=[
            # Outermost, so that everything after sees the client a trusted proxy names.
            # (Uvicorn types ASGI with TypedDicts of its own; the protocol is the same.)
            *(
                [
                    DefineMiddleware(
                        cast("Any", ProxyHeadersMiddleware),
                        trusted_hosts=list(settings.trusted_proxies),
                    )
                ]
                if settings.trusted_proxies
                else []
            ),
            # Request id, input guard, metrics, and the headers inner layers add.
            edge,
            DefineMiddleware(AccessMiddleware, exclude=["^/health$", "^/metrics", "^/schema"]),
            # After access, so a signed-in caller is counted as themselves, not their IP.
            api_rate_limit_middleware(settings),
        ],
        stores=_stores(settings, redis),
        cors_config=(
            CORSConfig(allow_origins=list(settings.cors_origins), allow_credentials=True)
            if settings.cors_origins
            else None
        ),
        openapi_config=ApiDocumentConfig(
            title="Dracarys API",
            version="1.0.0",
            description="Trading-mentorship platform: courses, sessions, signals, paper "
            "trading, backtests, points and payments.",
            path="/schema",
            render_plugins=[api_reference()],
            create_examples=False,
        ),
        debug=False,
    )
    return app

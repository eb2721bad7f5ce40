"""The per-process cache of login-session state (live, role, two-factor) that
`AccessMiddleware` reads instead of the database, and the push that keeps every API
process's copy current.

How stale an entry can be is bounded two ways:

- Pushed changes. Whatever ends a session or changes what it may do (logout, refresh-token
  reuse, a ban, a role change, two-factor enrolment, an OIDC takeover) is published after
  its transaction commits, never inside it, so no process can re-read the old state after
  dropping it. The publishing process drops its own entries at once; the others drop
  theirs as the push arrives over one Redis pub/sub channel under the configured prefix
  (when `REDIS_URL` is set; without it there is one process and the push stays in it).
- The TTL. A push can be lost: the publisher dies between commit and publish, Redis
  restarts, a process is between subscriptions. So the guarantee is the TTL: no entry is
  trusted longer than `session_cache_ttl_s` (at most 5 s, the bound the streams promise
  for revoked sessions) after the database read it came from. While a process is not
  subscribed it does not use the cache at all, and it empties it on every (re)subscribe.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from dracarys.platform import Caller, SessionCaller
from dracarys.settings import Settings

log = structlog.get_logger("dracarys.identity.session_cache")

# Only sessions used within the last TTL are held; this caps memory should a flood of
# distinct valid tokens arrive within one TTL.
MAX_ENTRIES = 100_000
# A push names one session or every session of one user: a kind byte and the 16 bytes
# of the id.
_SESSION = b"s"
_USER = b"u"


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a shared read's failure as seen: its requests may all have gone away."""
    if not task.cancelled():
        task.exception()


def build_session_cache(settings: Settings, redis: Redis | None) -> LoginSessionCache:
    """The cache the composition root hands to the platform (`Platform.session_cache`);
    run `running()` for as long as the process serves requests."""
    return LoginSessionCache(
        ttl_s=settings.session_cache_ttl_s,
        redis=redis,
        channel=f"{settings.redis_prefix}:auth:session-changes",
    )


class LoginSessionCache:
    """Session id → the caller it resolved to (`CurrentUser`) and when that was read; the
    platform's `SessionCache`.

    Usage, with `read` the one query that reads a session's state::

        user = await cache.resolve(claimed, now_s, read)

    and, after a change commits: `await cache.publish_session_change(session_id)` or
    `await cache.publish_user_change(user_id)`."""

    def __init__(self, *, ttl_s: float, redis: Redis | None, channel: str) -> None:
        self._ttl_s = ttl_s
        self._redis = redis
        self._channel = channel
        self._entries: OrderedDict[uuid.UUID, tuple[SessionCaller, float]] = OrderedDict()
        self._sessions_of: dict[uuid.UUID, set[uuid.UUID]] = {}
        # Bumped by every change seen: a read that a change overtook (read before the
        # change committed, back after its push arrived) is used once but not kept, and
        # a request that comes after the change does not wait for it.
        self._generation = 0
        self._reads: dict[tuple[uuid.UUID, uuid.UUID], tuple[int, asyncio.Future[Any]]] = {}
        # Without Redis every change happens in this process; with it, changes are seen
        # only while subscribed.
        self._live = ttl_s > 0 and redis is None
        self._listener: asyncio.Task[None] | None = None

    @property
    def live(self) -> bool:
        """Whether entries are used: every change reaches this process (subscribed to
        the pushes, or no Redis and so no other process) and the TTL is above zero."""
        return self._live

    async def resolve(
        self, claimed: Caller, now_s: float, read: Callable[[Caller], Awaitable[Caller]]
    ) -> Caller:
        """The caller of `claimed`'s session (a verified token's): the cached entry while
        it is fresh, else what `read` returns, kept as read at `now_s`. Requests of one
        session that miss together share one read, so an expiring entry costs one query,
        not one per request in flight."""
        if not self._live:
            return await read(claimed)
        entry = self._entries.get(claimed.session_id)
        if entry is not None:
            user, read_at_s = entry
            if now_s - read_at_s < self._ttl_s and user.id == claimed.id:
                # Entries of a session are only ever what `read` gave for its callers.
                return cast("Caller", user)
        key = (claimed.session_id, claimed.id)
        shared = self._reads.get(key)
        if shared is None or shared[0] != self._generation:
            generation = self._generation
            task = asyncio.ensure_future(self._read_and_keep(key, claimed, now_s, read, generation))
            task.add_done_callback(_retrieve)
            shared = self._reads[key] = (generation, task)
        # Shielded: a request that goes away does not cancel the others' read.
        return cast("Caller", await asyncio.shield(shared[1]))

    async def _read_and_keep(
        self,
        key: tuple[uuid.UUID, uuid.UUID],
        claimed: Caller,
        read_at_s: float,
        read: Callable[[Caller], Awaitable[Caller]],
        generation: int,
    ) -> Caller:
        try:
            user = await read(claimed)
        finally:
            if self._reads.get(key, (0, None))[1] is asyncio.current_task():
                del self._reads[key]
        if self._live and generation == self._generation:
            self._keep(user, read_at_s)
        return user

    def _keep(self, user: SessionCaller, read_at_s: float) -> None:
        session_id = user.session_id
        self._drop(session_id)
        self._entries[session_id] = (user, read_at_s)
        self._sessions_of.setdefault(user.id, set()).add(session_id)
        # Entries go in roughly in read order, so the expired ones are at the front.
        while self._entries:
            oldest, (_, oldest_read_at_s) = next(iter(self._entries.items()))
            if len(self._entries) <= MAX_ENTRIES and read_at_s - oldest_read_at_s < self._ttl_s:
                break
            self._drop(oldest)

    # ---- changes ----------------------------------------------------------------------

    async def publish_session_change(self, session_id: uuid.UUID) -> None:
        """The session was revoked or its two-factor state changed (call after commit)."""
        await self._publish(_SESSION + session_id.bytes)

    async def publish_user_change(self, user_id: uuid.UUID) -> None:
        """The user's role or status changed, or all their sessions ended (after commit)."""
        await self._publish(_USER + user_id.bytes)

    async def _publish(self, message: bytes) -> None:
        # This process first, whatever happens to the push: its next request sees it.
        self._apply(message)
        if self._redis is None:
            return
        try:
            await self._redis.publish(self._channel, message)
        except (RedisError, OSError) as exc:
            # The change is committed; other processes catch up within the TTL.
            log.warning("session_change_not_pushed", error=repr(exc))

    def _apply(self, message: bytes) -> None:
        if len(message) != 17:
            return
        kind, ident = message[:1], uuid.UUID(bytes=message[1:])
        self._generation += 1
        if kind == _SESSION:
            self._drop(ident)
        elif kind == _USER:
            for session_id in tuple(self._sessions_of.get(ident, ())):
                self._drop(session_id)

    def _drop(self, session_id: uuid.UUID) -> None:
        entry = self._entries.pop(session_id, None)
        if entry is None:
            return
        sessions = self._sessions_of.get(entry[0].id)
        if sessions is not None:
            sessions.discard(session_id)
            if not sessions:
                del self._sessions_of[entry[0].id]

    def _forget_all(self) -> None:
        self._generation += 1
        self._entries.clear()
        self._sessions_of.clear()

    # ---- the subscription (Redis) -------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Receive other processes' pushes for as long as the block runs (with Redis)."""
        if self._redis is not None and self._ttl_s > 0:
            self._listener = asyncio.create_task(self._listen(), name="session-cache-listener")
        try:
            yield
        finally:
            if self._listener is not None:
                self._listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._listener
                self._listener = None
            self._live = self._ttl_s > 0 and self._redis is None

    async def _listen(self) -> None:
        assert self._redis is not None
        while True:
            pubsub: Any = self._redis.pubsub()
            try:
                await self._receive(pubsub)
            except (RedisError, OSError) as exc:
                log.warning("session_cache_unsubscribed", error=repr(exc))
            finally:
                self._live = False
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(1.0)

    async def _receive(self, pubsub: Any) -> None:
        await pubsub.subscribe(self._channel)
        while True:
            reply = await pubsub.get_message(timeout=5.0)
            if reply is not None and reply["type"] == "subscribe":
                break
        # Whatever was pushed before this point may have been missed.
        self._forget_all()
        self._live = True
        while True:
            reply = await pubsub.get_message(timeout=30.0)
            if reply is not None and reply["type"] == "message":
                self._apply(reply["data"])

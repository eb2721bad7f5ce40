"""Login throttling: failures are counted per account and per source IP in the app's
`rate_limit` store (memory in the embedded mode, Redis in production), each in a window
that restarts with every failure; at the limit, further attempts get 429 until it ends."""

from __future__ import annotations

import hashlib

from litestar.stores.base import Store

from dracarys.errors import TooManyRequests
from dracarys.settings import Settings


class LoginThrottle:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._window_s = settings.login_failure_window_s
        self._max_account = settings.login_max_failures_per_account
        self._max_ip = settings.login_max_failures_per_ip

    @staticmethod
    def _account_key(email: str) -> str:
        return "login:account:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]

    @staticmethod
    def _ip_key(source_ip: str) -> str:
        return "login:ip:" + source_ip

    async def _count(self, key: str) -> int:
        raw = await self._store.get(key)
        return int(raw) if raw else 0

    async def check(self, email: str, source_ip: str | None) -> None:
        """Raise 429 when the account or the IP has used up its failures."""
        over = await self._count(self._account_key(email)) >= self._max_account
        if source_ip is not None and not over:
            over = await self._count(self._ip_key(source_ip)) >= self._max_ip
        if over:
            raise TooManyRequests(
                "too many failed sign-in attempts; wait and try again",
                headers={"Retry-After": str(self._window_s)},
            )

    async def record_failure(self, email: str, source_ip: str | None) -> None:
        keys = [self._account_key(email)]
        if source_ip is not None:
            keys.append(self._ip_key(source_ip))
        for key in keys:
            await self._store.set(key, str(await self._count(key) + 1), expires_in=self._window_s)

    async def record_success(self, email: str) -> None:
        await self._store.delete(self._account_key(email))

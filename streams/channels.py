"""Channel names: the seven kinds of stream and the shape of each key.

A channel is `kind:key`; `parse_channel` is the one place that decides whether a name
is valid, so the server, the publisher and the client agree on it."""

from __future__ import annotations

import re
import uuid
from enum import StrEnum

import msgspec


class ChannelKind(StrEnum):
    SIGNALS = "signals"  # signals:{mentor_id}
    PORTFOLIO = "portfolio"  # portfolio:{portfolio_id}
    MARKET = "market"  # market:{symbol}
    LEADERBOARD = "leaderboard"  # leaderboard:{board}
    NOTIFICATIONS = "notifications"  # notifications:{user_id}
    CHAT = "chat"  # chat:{conversation_id}
    COMMUNITY = "community"  # community:{space_id}


_UUID_KINDS = frozenset(
    {
        ChannelKind.SIGNALS,
        ChannelKind.PORTFOLIO,
        ChannelKind.NOTIFICATIONS,
        ChannelKind.CHAT,
        ChannelKind.COMMUNITY,
    }
)
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9._/-]{0,31}$")
_BOARD = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class InvalidChannel(ValueError):
    """The name is not `kind:key` with a known kind and a well-formed key."""


class Channel(msgspec.Struct, frozen=True):
    kind: ChannelKind
    key: str

    @property
    def name(self) -> str:
        return f"{self.kind.value}:{self.key}"

    @property
    def key_uuid(self) -> uuid.UUID:
        """The key as a UUID, for the kinds keyed by an id."""
        return uuid.UUID(self.key)


def parse_channel(name: str) -> Channel:
    kind_name, sep, key = name.partition(":")
    if not sep:
        raise InvalidChannel(f"{name!r} is not of the form kind:key")
    try:
        kind = ChannelKind(kind_name)
    except ValueError:
        kinds = ", ".join(k.value for k in ChannelKind)
        raise InvalidChannel(f"unknown channel kind {kind_name!r}; one of: {kinds}") from None
    if kind in _UUID_KINDS:
        try:
            parsed = uuid.UUID(key)
        except ValueError:
            raise InvalidChannel(
                f"{kind.value} channels are keyed by a UUID, not {key!r}"
            ) from None
        # One spelling per channel, so `signals:ABC…` and `signals:abc…` are not two feeds.
        return Channel(kind, str(parsed))
    pattern = _SYMBOL if kind is ChannelKind.MARKET else _BOARD
    if not pattern.match(key):
        raise InvalidChannel(f"{key!r} is not a valid {kind.value} key")
    return Channel(kind, key)


def signals(mentor_id: uuid.UUID | str) -> str:
    return f"signals:{mentor_id}"


def portfolio(portfolio_id: uuid.UUID | str) -> str:
    return f"portfolio:{portfolio_id}"


def market(symbol: str) -> str:
    return f"market:{symbol}"


def leaderboard(board: str) -> str:
    return f"leaderboard:{board}"


def notifications(user_id: uuid.UUID | str) -> str:
    return f"notifications:{user_id}"


def chat(conversation_id: uuid.UUID | str) -> str:
    return f"chat:{conversation_id}"


def community(space_id: uuid.UUID | str) -> str:
    return f"community:{space_id}"

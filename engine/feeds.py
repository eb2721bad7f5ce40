"""Market feeds for paper trading: one interface, ``MarketFeed``, whose ``ticks(after_seq)``
yields ``Tick``s (one bar per symbol, numbered by a gap-free sequence) from a given point,
so a matching engine that restarts asks for what follows the last tick it persisted.

* ``ReplayFeed`` replays historical bars on an accelerated clock (``speed`` market
  seconds per wall second; the default, 86,400, plays one daily bar — one trading day —
  per second). With ``loop=True`` it starts over when the data ends, shifting time
  forward and scaling prices so each pass continues from the last close.
* ``SyntheticFeed`` makes bars as it goes from ``engine.synthetic.generate``, seeded per
  block, so the same seed and sequence number always give the same bar.

**Plugging in a real exchange or broker feed.** Write a class with ``name``, ``symbols``,
``tick_size``, ``qty_step`` and ``async def ticks(self, after_seq)`` that connects to the
venue (WebSocket, FIX, a vendor SDK), aggregates its trades into bars (or passes its bars
through) and yields ``Tick``s with a sequence number that only grows and a market time in
nanoseconds. ``after_seq`` is where a restarted engine resumes: a venue with its own
sequence numbers maps them; one without keeps a local counter and replays nothing older
(a live feed cannot be re-run, so fills stay unique through their (order, seq) ids
anyway). Nothing else changes: the matching engine only sees ``Tick``s.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl

from engine.data import load
from engine.matching import FloatArray, Tick
from engine.synthetic import generate

Sleep = Callable[[float], Awaitable[None]]
TRADING_DAY_PER_SECOND = 86_400.0


class MarketFeed(Protocol):
    name: str
    symbols: list[str]
    tick_size: list[float]
    qty_step: list[float]

    def ticks(self, after_seq: int) -> AsyncIterator[Tick]:
        """Ticks with ``seq > after_seq``, in order, paced by the feed's clock."""
        ...


def _nominal_interval_ns(stamps: np.ndarray) -> int:
    if stamps.shape[0] < 2:
        return 86_400 * 10**9
    return int(np.median(np.diff(stamps)))


@dataclass
class ReplayFeed:
    """Replays aligned bars of several symbols. ``bars[k]`` is a (5, n) matrix (open,
    high, low, close, volume) of symbol ``k``; all share ``timestamps_ns``."""

    name: str
    symbols: list[str]
    timestamps_ns: np.ndarray
    bars: list[FloatArray]
    speed: float = TRADING_DAY_PER_SECOND
    loop: bool = False
    tick_size: list[float] = field(default_factory=list)
    qty_step: list[float] = field(default_factory=list)
    sleep: Sleep = asyncio.sleep

    def __post_init__(self) -> None:
        if not self.tick_size:
            self.tick_size = [0.0001] * len(self.symbols)
        if not self.qty_step:
            self.qty_step = [1.0] * len(self.symbols)
        self.interval_ns = _nominal_interval_ns(self.timestamps_ns)
        self.length = int(self.timestamps_ns.shape[0])
        span = int(self.timestamps_ns[-1] - self.timestamps_ns[0]) + self.interval_ns
        self.span_ns = span
        # Each pass scales prices by last close / first open of the data, per symbol.
        self.growth = np.array([b[3, -1] / b[0, 0] for b in self.bars])

    @classmethod
    def from_files(cls, name: str, files: dict[str, str | Path], **options: object) -> ReplayFeed:
        """Symbols from CSV/Parquet files (any layout ``engine.data.load`` reads), aligned
        on the timestamps they all share."""
        frames = {symbol: load(path) for symbol, path in files.items()}
        return cls.from_frames(name, frames, **options)

    @classmethod
    def from_frames(
        cls, name: str, frames: dict[str, pl.DataFrame], **options: object
    ) -> ReplayFeed:
        common: set[int] | None = None
        for frame in frames.values():
            stamps = set(frame["timestamp"].dt.epoch("ns").to_list())
            common = stamps if common is None else common & stamps
        keep = pl.Series("ns", sorted(common or ()), dtype=pl.Int64)
        bars: list[FloatArray] = []
        for frame in frames.values():
            aligned = frame.with_columns(pl.col("timestamp").dt.epoch("ns").alias("ns")).filter(
                pl.col("ns").is_in(keep.to_list())
            )
            bars.append(
                np.ascontiguousarray(
                    aligned.select("open", "high", "low", "close", "volume").to_numpy().T,
                    dtype=np.float64,
                )
            )
        return cls(
            name=name,
            symbols=list(frames),
            timestamps_ns=keep.to_numpy(),
            bars=bars,
            **options,  # type: ignore[arg-type]
        )

    def tick_at(self, seq: int) -> Tick | None:
        """The tick numbered ``seq`` (1-based), or None past the end of a finite replay."""
        index = seq - 1
        cycle, row = divmod(index, self.length)
        if cycle and not self.loop:
            return None
        scale = self.growth**cycle
        matrix = np.array([b[:, row] for b in self.bars])  # (symbols, 5)
        return Tick(
            seq=seq,
            ts_ns=int(self.timestamps_ns[row]) + cycle * self.span_ns,
            has_bar=np.ones(len(self.symbols), dtype=np.int8),
            open=matrix[:, 0] * scale,
            high=matrix[:, 1] * scale,
            low=matrix[:, 2] * scale,
            close=matrix[:, 3] * scale,
            volume=np.ascontiguousarray(matrix[:, 4]),
        )

    async def ticks(self, after_seq: int) -> AsyncIterator[Tick]:
        delay_s = self.interval_ns / 1e9 / self.speed if math.isfinite(self.speed) else 0.0
        seq = after_seq + 1
        while (tick := self.tick_at(seq)) is not None:
            if delay_s > 0:
                await self.sleep(delay_s)
            yield tick
            seq += 1


@dataclass
class SyntheticFeed:
    """Endless seeded bars for the given symbols, ``bar_seconds`` apart from ``start``,
    generated in blocks of ``block`` bars (block ``b`` of symbol ``k`` is seeded with
    ``(seed, k, b)`` and continues from the previous block's last close)."""

    name: str
    symbols: list[str]
    seed: int
    bar_seconds: int = 60
    start: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    speed: float = 1.0
    block: int = 1_000
    start_price: float = 100.0
    tick_size: list[float] = field(default_factory=list)
    qty_step: list[float] = field(default_factory=list)
    sleep: Sleep = asyncio.sleep

    def __post_init__(self) -> None:
        if not self.tick_size:
            self.tick_size = [0.0001] * len(self.symbols)
        if not self.qty_step:
            self.qty_step = [1.0] * len(self.symbols)
        self._blocks: dict[int, list[FloatArray]] = {}

    def _block(self, number: int) -> list[FloatArray]:
        cached = self._blocks.get(number)
        if cached is not None:
            return cached
        previous = self._block(number - 1) if number > 0 else None
        matrices: list[FloatArray] = []
        for k in range(len(self.symbols)):
            price = self.start_price if previous is None else float(previous[k][3, -1])
            frame = generate(
                self.block,
                seed=int(np.random.SeedSequence([self.seed, k, number]).generate_state(1)[0]),
                bar_seconds=self.bar_seconds,
                start_price=price,
                business_days=False,
            )
            matrices.append(
                np.ascontiguousarray(
                    frame.select("open", "high", "low", "close", "volume").to_numpy().T
                )
            )
        self._blocks = {n: m for n, m in self._blocks.items() if n >= number - 1}
        self._blocks[number] = matrices
        return matrices

    def tick_at(self, seq: int) -> Tick:
        number, row = divmod(seq - 1, self.block)
        matrix = np.array([m[:, row] for m in self._block(number)])
        origin = int(self.start.timestamp()) * 10**9
        return Tick(
            seq=seq,
            ts_ns=origin + (seq - 1) * self.bar_seconds * 10**9,
            has_bar=np.ones(len(self.symbols), dtype=np.int8),
            open=np.ascontiguousarray(matrix[:, 0]),
            high=np.ascontiguousarray(matrix[:, 1]),
            low=np.ascontiguousarray(matrix[:, 2]),
            close=np.ascontiguousarray(matrix[:, 3]),
            volume=np.ascontiguousarray(matrix[:, 4]),
        )

    async def ticks(self, after_seq: int) -> AsyncIterator[Tick]:
        delay_s = self.bar_seconds / self.speed if math.isfinite(self.speed) else 0.0
        seq = after_seq + 1
        while True:
            if delay_s > 0:
                await self.sleep(delay_s)
            yield self.tick_at(seq)
            seq += 1

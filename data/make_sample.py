"""Writes the committed synthetic samples in this folder (seeded, so re-running gives the
same bytes): ``sample_daily.csv`` — 2,520 business days (about ten years) of one symbol
in the Yahoo-style layout, and ``sample_daily_b.csv`` / ``sample_daily_c.csv``, two more
symbols on the same days (for multi-asset runs); ``sample_1m.csv`` — 5 days of one-minute
bars in the bare layout. Run with ``uv run python data/make_sample.py``."""

from pathlib import Path

import polars as pl

from engine.synthetic import generate_daily, generate_intraday

HERE = Path(__file__).parent


def write_daily(seed: int, name: str) -> None:
    daily = generate_daily(2_520, seed=seed)
    daily.select(
        pl.col("timestamp").dt.date().alias("Date"),
        pl.col("open").alias("Open"),
        pl.col("high").alias("High"),
        pl.col("low").alias("Low"),
        pl.col("close").alias("Close"),
        pl.col("close").alias("Adj Close"),
        pl.col("volume").cast(pl.Int64).alias("Volume"),
    ).write_csv(HERE / name)


def main() -> None:
    write_daily(20260101, "sample_daily.csv")
    write_daily(20260103, "sample_daily_b.csv")
    write_daily(20260104, "sample_daily_c.csv")
    minutes = generate_intraday(5 * 1_440, seed=20260102)
    body = minutes.select(
        pl.col("timestamp").dt.strftime("%Y-%m-%d %H:%M:%S"),
        "open",
        "high",
        "low",
        "close",
        pl.col("volume").cast(pl.Int64),
    ).write_csv(include_header=False)
    # The bare layout pandas writes: an unnamed first column holding the timestamp.
    (HERE / "sample_1m.csv").write_text(",Open,High,Low,Close,Volume\n" + body)


if __name__ == "__main__":
    main()

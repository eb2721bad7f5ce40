r"""Community search at one million posts: the platform's full-text query
(`dracarys.community.search.store.search`: `websearch_to_tsquery`, a bounded set of
candidates ranked by `ts_rank`, title matches first, `ts_headline` snippets, 20 hits)
against an `ILIKE '%word%'` scan (every word somewhere in the text, newest first, as a
LIKE search would run) over the same posts, the same words, alternating in one run.
Goal: full-text p95 under 50 ms.

    flock /tmp/dracarys-bench.lock uv run python benchmarks/community_search.py \
        [--posts 1000000 | --quick] [--queries 100] [--keep]

`--quick` makes 100,000 posts. `--keep` keeps the database (`dracarys_bench_search_N`)
and reuses it on the next `--keep` run when this generator made it with as many posts
(migrations added since are applied; one edited since makes a new database); drop it by
hand when done. Without it a fresh database (from `TEST_DATABASE_URL`, an admin DSN, else
127.0.0.1) is made, migrated, filled, measured and dropped.

The fill is numpy and `COPY`, indexes built after it: topics of about 20 posts each
spread over the whole period (post n is n seconds old), titled with 3-8 words and posts
of 12-40 words drawn from a 2,000-word list, skewed so a few words are common (the
commonest in about 15% of posts and 3.5% of titles) and the rarest is in 0.9% (seeded,
so every run makes the same text). Queries are drawn by the same skew (a seeded RNG):
`--queries` of one word, and a quarter as many of two words that must both appear
(77-3,564 posts hold both).

Last run (2026-12-06 02:05 UTC; 1,000,000 posts in 50,000 topics generated in 77 s, at
load average about 2 (268 s at about 10; 100,000 posts in 26 s at about 8); 2-core box
shared with other jobs: load average 3.04 before the queries, 3.32 2.52 4.34 after;
Python 3.11.7, asyncpg 0.32.0, PostgreSQL 15.20, shared_buffers 128 MB shared with other
jobs' databases):

  query                                count    p50 ms    p95 ms    max ms   rows
  one word: full-text (platform)         100     10.39     13.37     15.22   20.0
  one word: ILIKE scan                   100      4.54      7.78     10.71   20.0
  two words: full-text (platform)         25      8.25     35.15     35.98   20.0
  two words: ILIKE scan                   25    238.99   1754.18   1770.29   20.0

  The goal (full-text p95 < 50 ms) is met: one word p95 13.37 ms, two words 35.15 ms.
  The one-word ILIKE scan is faster still (p95 7.78 ms, 0.6x ours; why below); with two
  words it is 50x slower at p95. Under heavier load the goal is at the edge: four runs of
  the same query on the same data at 01:44-01:49 UTC (load average 6-10) gave one-word
  full-text p50/p95 of 34.2/56.0, 11.8/29.6 (200 queries), 23.7/50.3 and 24.8/46.3 ms,
  two words p95 86 and 139 ms (the two runs that asked them), ILIKE one word p95
  11-273 ms.
  Before this query (2026-12-05, ranking every match): p50 4.49 s, p95 14.66 s.

Why it is fast now, and what is left (EXPLAIN ANALYZE on the same data, same machine,
01:42-01:50 UTC at load average 6-10): the query ranks at most 100 of the newest text
matches plus the opening posts of the 100 newest topics whose title matches, each after
every filter.
For a common word the planner walks the newest-first partial index of migration 1400
and tests each post's stored vector: 746 posts read for the commonest word (152,019
matches), 12,252 for the rarest (8,720 matches): 6-38 ms, by how many of those pages
other jobs left in shared buffers; titles walk the topics' newest-first index the same
way. Two words match few posts, so the planner takes the GIN index (both words at once)
and sorts the matches by date, every match a heap page read: 8-104 ms (median 15) for
the 25 two-word queries (77-3,564 matches). Each run is planned for its words
(`plan_cache_mode`), 1-2 ms, since one generic plan is slow by orders of magnitude for
one kind of query or the other. On top: four round trips (begin, set, query, commit),
each a wake-up on a loaded 2-core machine.
The one-word ILIKE scan is fast here for a reason peculiar to the data: the same
newest-first index serves its `ORDER BY created_at`, and a list word (a string of 2-4
syllables) is a substring of many posts, so 20 are found early; with two words, fewer
posts hold both and its walk reads much further (p50 0.76 s, p95 3.9 s). What might cut
further: an index-only walk (the vector in the newest-first index), a larger
shared_buffers, fewer round trips.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from importlib import metadata
from pathlib import Path

import asyncpg
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchdb import ADMIN_DSN, dsn_for

from dracarys.community.search.models import SearchFilters
from dracarys.community.search.store import search
from dracarys.db.migrate import MigrationError, migrate

WORDS = 2_000
LIMIT = 20
POSTS_PER_TOPIC = 20
COPY_BATCH = 100_000
AUTHOR = uuid.UUID("00000000-0000-0000-0000-0000000b0001")
# Bumped whenever the generated data changes, so `--keep` never reuses an older shape.
GENERATOR = "community-search-v3"

# Syllables make pronounceable, stemmer-stable words (no English stop words among them).
_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z"]
_VOWELS = ["a", "e", "i", "o", "u"]


def word_list() -> list[str]:
    rng = random.Random(21)
    words: set[str] = set()
    while len(words) < WORDS:
        words.add(
            "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(rng.randint(2, 4)))
        )
    return sorted(words)


def texts(
    rng: np.random.Generator, words: np.ndarray, count: int, low: int, high: int
) -> list[str]:
    """`count` texts of `low`-`high` words. Word index floor(2000 * r^1.5): a skew toward
    the first words (the commonest is in about 15% of posts, like 'trade' in a trading
    forum) over a long tail."""
    lengths = rng.integers(low, high + 1, size=count)
    drawn = words[(WORDS * rng.random(int(lengths.sum())) ** 1.5).astype(np.int64)]
    ends = np.cumsum(lengths)
    return [
        " ".join(drawn[end - n : end])
        for n, end in zip(lengths.tolist(), ends.tolist(), strict=True)
    ]


def _id(kind: int, n: int) -> uuid.UUID:
    return uuid.UUID(int=(kind << 64) | n)


async def fill(conn: asyncpg.Connection, posts: int, words: list[str]) -> None:
    # The author's sealed fields are placeholders: the benchmark never opens them.
    await conn.execute(
        "INSERT INTO users (id, email_sealed, email_index, name_sealed) "
        "VALUES ($1, '\\x00', '\\x00', '\\x00')",
        AUTHOR,
    )
    spaces = [r["id"] for r in await conn.fetch("SELECT id FROM community_spaces ORDER BY slug")]
    rng = np.random.default_rng(21)
    vocabulary = np.array(words, dtype=object)
    topics = max(1, posts // POSTS_PER_TOPIC)
    now = await conn.fetchval("SELECT now()")
    # Post n is `n` seconds old and belongs to topic n % topics, so every topic has about
    # `POSTS_PER_TOPIC` posts spread over the whole period; a topic is as old as its
    # oldest post, titled with 3-8 words of the same skew (so titles match queries too).
    titles = texts(rng, vocabulary, topics, 3, 8)
    oldest = [(posts - 1 - ((posts - 1 - k) % topics)) for k in range(topics)]
    await conn.copy_records_to_table(
        "community_topics",
        columns=["id", "space_id", "author_id", "kind", "title", "status", "last_seq",
                 "created_at", "last_posted_at"],
        records=(
            (_id(1, k), spaces[k % len(spaces)], AUTHOR, "discussion", f"Topic {titles[k]}",
             "visible", 0, now - timedelta(seconds=oldest[k]), now - timedelta(seconds=k))
            for k in range(topics)
        ),
    )  # fmt: skip
    # Built after the fill, as the migration defines them: one build beats a million updates.
    indexes = await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes "
        "WHERE tablename = 'community_posts' AND indexname <> 'community_posts_pkey' "
        "AND indexdef NOT LIKE '%UNIQUE%'"
    )
    for index in indexes:
        await conn.execute(f'DROP INDEX "{index["indexname"]}"')
    for start in range(0, posts, COPY_BATCH):
        stop = min(posts, start + COPY_BATCH)
        bodies = texts(rng, vocabulary, stop - start, 12, 40)
        await conn.copy_records_to_table(
            "community_posts",
            columns=["id", "topic_id", "seq", "author_id", "source", "html", "search_title",
                     "created_at"],
            records=(
                (_id(2, n), _id(1, n % topics), (posts - 1 - n) // topics + 1, AUTHOR,
                 body, f"<p>{body}</p>",
                 f"Topic {titles[n % topics]}" if n == oldest[n % topics] else "",
                 now - timedelta(seconds=n))
                for n, body in zip(range(start, stop), bodies, strict=True)
            ),
        )  # fmt: skip
    for index in indexes:
        await conn.execute(index["indexdef"])
    await conn.execute(f"COMMENT ON TABLE community_posts IS '{GENERATOR} posts={posts}'")


# Every given word somewhere in the text, newest first: the scan a LIKE search would run.
ILIKE_SQL = """
SELECT p.id, p.topic_id, p.created_at
  FROM community_posts p
  JOIN community_topics t ON t.id = p.topic_id
 WHERE p.source ILIKE ALL($1::text[])
   AND p.status = 'visible' AND t.status = 'visible'
   AND t.space_id = ANY($2::uuid[])
 ORDER BY p.created_at DESC
 LIMIT $3
"""


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


async def _admin(sql: str) -> None:
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(sql)
    finally:
        await admin.close()


async def prepared(name: str, posts: int, keep: bool) -> tuple[asyncpg.Connection, float | None]:
    """A connection to a migrated database holding `posts` generated posts, and the seconds
    the fill took (None when `--keep` found one already filled by this generator)."""
    if keep:
        try:
            conn = await asyncpg.connect(dsn_for(name))
        except asyncpg.InvalidCatalogNameError:
            pass
        else:
            made = await conn.fetchval("SELECT obj_description('community_posts'::regclass)")
            try:
                await migrate(conn)  # a kept database takes the migrations added since
            except MigrationError:  # one it holds was edited since: make a new database
                made = None
            if made == f"{GENERATOR} posts={posts}":
                await conn.execute("ANALYZE community_posts")
                await conn.execute("ANALYZE community_topics")
                return conn, None
            await conn.close()
            await _admin(f'DROP DATABASE "{name}" WITH (FORCE)')
    await _admin(f'CREATE DATABASE "{name}"')
    conn = await asyncpg.connect(dsn_for(name))
    await migrate(conn)
    started = time.perf_counter()
    await conn.execute("SET maintenance_work_mem = '512MB'")
    async with conn.transaction():
        await fill(conn, posts, word_list())
    await conn.execute("VACUUM ANALYZE community_posts")
    await conn.execute("VACUUM ANALYZE community_topics")
    return conn, time.perf_counter() - started


async def run(posts: int, queries: int, keep: bool) -> None:
    name = f"dracarys_bench_search_{posts}" if keep else f"dracarys_bench_{uuid.uuid4().hex[:8]}"
    conn, filled_s = await prepared(name, posts, keep)
    try:
        words = word_list()
        count = await conn.fetchval("SELECT count(*) FROM community_posts")
        topics = await conn.fetchval("SELECT count(*) FROM community_topics")
        space_ids = [r["id"] for r in await conn.fetch("SELECT id FROM community_spaces")]
        rng = random.Random(7)

        def word() -> str:
            return words[int(WORDS * rng.random() ** 1.5)]

        # One word (the commonest kind of search), and two words that must both appear (a
        # narrower search: few posts hold both, so a scan reads far before it finds 20).
        asked = {
            "one word": [[word()] for _ in range(queries)],
            "two words": [[word(), word()] for _ in range(max(5, queries // 4))],
        }

        async def full_text(terms: list[str]) -> int:
            hits = await search(
                conn,
                SearchFilters(
                    query=" ".join(terms), space_ids=space_ids, tag=None, author_id=None,
                    solved=None, limit=LIMIT,
                ),
            )  # fmt: skip
            return len(hits)

        async def ilike(terms: list[str]) -> int:
            patterns = [f"%{term}%" for term in terms]
            return len(await conn.fetch(ILIKE_SQL, patterns, space_ids, LIMIT))

        # Warm both (the first index and heap pages off disk), then alternate per query.
        for terms in asked["one word"][:5]:
            await full_text(terms)
            await ilike(terms)
        load_before = os.getloadavg()
        # (kind, query) -> (milliseconds, rows returned)
        measured: dict[tuple[str, str], tuple[list[float], int]] = {}
        for kind, queries_of_kind in asked.items():
            fts_ms: list[float] = []
            like_ms: list[float] = []
            fts_rows = like_rows = 0
            for terms in queries_of_kind:
                t0 = time.perf_counter()
                fts_rows += await full_text(terms)
                t1 = time.perf_counter()
                like_rows += await ilike(terms)
                t2 = time.perf_counter()
                fts_ms.append((t1 - t0) * 1000)
                like_ms.append((t2 - t1) * 1000)
            measured[kind, "full-text (platform)"] = (fts_ms, fts_rows)
            measured[kind, "ILIKE scan"] = (like_ms, like_rows)
        server = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
        if not keep:
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    load = os.getloadavg()
    made = "kept from an earlier run" if filled_s is None else f"generated in {filled_s:.0f} s"
    print(f"{count:,} posts in {topics:,} topics {made}; {LIMIT} rows asked per query")
    print(
        f"machine: {os.cpu_count()} cores, load average {load_before[0]:.2f} before the "
        f"queries, {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} after; Python "
        f"{platform.python_version()}, asyncpg {metadata.version('asyncpg')}, "
        f"PostgreSQL {server}"
    )
    print(f"{'query':<36}{'count':>6}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'rows':>7}")
    for (kind, label), (samples, rows) in measured.items():
        print(
            f"{kind + ': ' + label:<36}{len(samples):>6}{statistics.median(samples):>10.2f}"
            f"{p95(samples):>10.2f}{max(samples):>10.2f}{rows / len(samples):>7.1f}"
        )
    fts = p95(measured["one word", "full-text (platform)"][0])
    like = p95(measured["one word", "ILIKE scan"][0])
    goal = "met" if fts < 50 else "NOT met"
    print(
        f"one word: ILIKE p95 / full-text p95 {like / fts:.1f}x; goal full-text p95 < 50 ms: {goal}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 posts")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument(
        "--keep", action="store_true",
        help="keep the generated database for the next run with --keep (reused if made by "
        "this generator with as many posts); drop it by hand when done",
    )  # fmt: skip
    args = parser.parse_args()
    posts = 100_000 if args.quick else args.posts
    asyncio.run(run(posts, args.queries, args.keep))


if __name__ == "__main__":
    main()

"""The full-text query: `websearch_to_tsquery` over each post's generated `search_vector`
(its topic's title weighted A on the opening post, its text B), ranked by `ts_rank`, with
`ts_headline` snippets.

Ranking every match does not scale: a common word matches a tenth of a forum's posts, and
`ts_rank` reads each one's vector before the top few are kept. So the query ranks a
bounded set of candidates: the newest `RECENT_MATCHES` visible posts that match and pass
the filters, and the opening posts of the newest `RECENT_MATCHES` topics whose title
matches (however old, so a title match is never crowded out by newer chatter). Title
matches rank first, then by `ts_rank`, then newest; snippets are made for the rows kept.
An old post matching only in its text is found when fewer than `RECENT_MATCHES` newer
posts match, which is what a more precise query is for."""

from __future__ import annotations

from dracarys.community.search.models import SearchFilters, SearchHit
from dracarys.db import Connection, records

# Snippet markers are characters no post text is escaped into; the page escapes the text
# and turns them into <mark>, so a snippet never carries the post's own HTML.
START_MARK = "\u00ab"
STOP_MARK = "\u00bb"

# How many of the newest text matches, and of the newest title matches, are ranked.
RECENT_MATCHES = 100

# The tsquery is written out where it is used (not taken from a CTE) so the planner sees
# the word itself and picks by its frequency: walk a newest-first index (posts', topics')
# testing each stored vector for a common word, the GIN index and a small sort for a rare
# one (migration 1400).
_SEARCH_SQL = f"""
WITH text_matches AS (
    SELECT p.id
      FROM community_posts p
      JOIN community_topics t ON t.id = p.topic_id
     WHERE p.search_vector @@ websearch_to_tsquery('english', $1)
       AND p.status = 'visible' AND t.status = 'visible'
       AND t.space_id = ANY($2::uuid[])
       AND ($3::text IS NULL OR $3 = ANY(t.tags))
       AND ($4::uuid IS NULL OR p.author_id = $4)
       AND ($5::boolean IS NULL OR (t.accepted_post_id IS NOT NULL) = $5)
     ORDER BY p.created_at DESC, p.id DESC
     LIMIT {RECENT_MATCHES}
), title_matches AS (
    -- Topics first, bounded, then their opening posts (written by the topic's author and
    -- moderated with the topic): a common word's thousand matching titles cost a short
    -- walk of the newest topics, not a thousand opening-post lookups.
    SELECT p.id
      FROM (SELECT t.id
              FROM community_topics t
             WHERE t.title_vector @@ websearch_to_tsquery('english', $1)
               AND t.status = 'visible'
               AND t.space_id = ANY($2::uuid[])
               AND ($3::text IS NULL OR $3 = ANY(t.tags))
               AND ($4::uuid IS NULL OR t.author_id = $4)
               AND ($5::boolean IS NULL OR (t.accepted_post_id IS NOT NULL) = $5)
             ORDER BY t.created_at DESC, t.id DESC
             LIMIT {RECENT_MATCHES}) t
      JOIN community_posts p ON p.topic_id = t.id AND p.seq = 1
     WHERE p.status = 'visible'
), ranked AS (
    SELECT p.id AS post_id, p.seq, t.id AS topic_id, t.title AS topic_title,
           s.id AS space_id, s.slug AS space_slug, p.author_id,
           t.accepted_post_id IS NOT NULL AS solved,
           p.id IN (SELECT id FROM title_matches) AS title_match,
           ts_rank(p.search_vector, websearch_to_tsquery('english', $1)) AS rank,
           p.search_title, p.source, p.created_at
      FROM community_posts p
      JOIN community_topics t ON t.id = p.topic_id
      JOIN community_spaces s ON s.id = t.space_id
     WHERE p.id IN (SELECT id FROM text_matches UNION SELECT id FROM title_matches)
     ORDER BY title_match DESC, rank DESC, p.created_at DESC, p.id DESC
     LIMIT $6
)
SELECT post_id, seq, topic_id, topic_title, space_id, space_slug, author_id, solved, rank,
       ts_headline('english', search_title || ' ' || source,
                   websearch_to_tsquery('english', $1),
                   'StartSel={START_MARK}, StopSel={STOP_MARK}, MaxFragments=2, '
                   'MaxWords=30, MinWords=10') AS snippet,
       created_at
  FROM ranked
 ORDER BY title_match DESC, rank DESC, created_at DESC, post_id DESC
"""


async def search(conn: Connection, f: SearchFilters) -> list[SearchHit]:
    # A generic plan (which PostgreSQL may settle on for a prepared statement after five
    # runs) cannot know the word, and the wrong one of the two plans is slow by orders of
    # magnitude; so every run is planned for its own word, which costs about a millisecond.
    async with conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        rows = await conn.fetch(
            _SEARCH_SQL, f.query, f.space_ids, f.tag, f.author_id, f.solved, f.limit
        )
    return records(SearchHit, rows)

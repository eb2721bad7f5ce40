"""The full-text query: `websearch_to_tsquery` over each post's generated `search_vector`
(its topic's title weighted A on the opening post, its text B), ranked by `ts_rank`, with
`ts_headline` snippets."""

from __future__ import annotations

from dracarys.community.search.models import SearchFilters, SearchHit
from dracarys.db import Connection, records

# Snippet markers are characters no post text is escaped into; the page escapes the text
# and turns them into <mark>, so a snippet never carries the post's own HTML.
START_MARK = "\u00ab"
STOP_MARK = "\u00bb"


async def search(conn: Connection, f: SearchFilters) -> list[SearchHit]:
    rows = await conn.fetch(
        f"""
        WITH q AS (SELECT websearch_to_tsquery('english', $1) AS query)
        SELECT p.id AS post_id, p.seq, t.id AS topic_id, t.title AS topic_title,
               s.id AS space_id, s.slug AS space_slug, p.author_id,
               t.accepted_post_id IS NOT NULL AS solved,
               ts_rank(p.search_vector, q.query) AS rank,
               ts_headline('english', p.search_title || ' ' || p.source, q.query,
                           'StartSel={START_MARK}, StopSel={STOP_MARK}, MaxFragments=2, '
                           'MaxWords=30, MinWords=10') AS snippet,
               p.created_at
          FROM community_posts p
          JOIN community_topics t ON t.id = p.topic_id
          JOIN community_spaces s ON s.id = t.space_id
          CROSS JOIN q
         WHERE p.search_vector @@ q.query
           AND p.status = 'visible' AND t.status = 'visible'
           AND t.space_id = ANY($2::uuid[])
           AND ($3::text IS NULL OR $3 = ANY(t.tags))
           AND ($4::uuid IS NULL OR p.author_id = $4)
           AND ($5::boolean IS NULL OR (t.accepted_post_id IS NOT NULL) = $5)
         ORDER BY rank DESC, p.created_at DESC
         LIMIT $6
        """,
        f.query,
        f.space_ids,
        f.tag,
        f.author_id,
        f.solved,
        f.limit,
    )
    return records(SearchHit, rows)

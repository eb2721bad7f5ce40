-- Community search at scale (issue 21, the search benchmark): a query ranks a bounded set
-- of candidates instead of every match of a common word: the newest matching visible
-- posts, and the opening posts of the newest topics whose title matches (however old, so
-- a title match still ranks first). Each set is found by walking a newest-first index and
-- testing each stored vector (reading about 100 / frequency rows, in order) or by the GIN
-- index and a sort of the matches (a rare word, or words that rarely meet); the planner
-- picks by the words' estimated frequency.
CREATE INDEX community_posts_newest ON community_posts (created_at DESC, id DESC)
    WHERE status = 'visible';

ALTER TABLE community_topics ADD COLUMN title_vector tsvector
    GENERATED ALWAYS AS (to_tsvector('english', title)) STORED;
CREATE INDEX community_topics_title_search ON community_topics USING gin (title_vector);
CREATE INDEX community_topics_newest ON community_topics (created_at DESC, id DESC)
    WHERE status = 'visible';

-- That choice rests on each word's estimated frequency; the default statistics keep the
-- 1,000 commonest words of the posts, and a forum's vocabulary is larger.
ALTER TABLE community_posts ALTER COLUMN search_vector SET STATISTICS 1000;

-- Pictures members put in posts (issue 21 item 2): recognised by their bytes (PNG, JPEG,
-- GIF, WebP), size-limited, uploaded by members whose trust level allows images. A post
-- shows one through `![…](/api/v1/community/images/{id})`; the id is random, and the
-- post's HTML may point at no other picture.
CREATE TABLE community_images (
    id           uuid PRIMARY KEY,
    uploader_id  uuid NOT NULL REFERENCES users (id),
    content_type text NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/gif', 'image/webp')),
    size_bytes   integer NOT NULL CHECK (size_bytes > 0),
    content      bytea NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX community_images_uploader ON community_images (uploader_id, created_at DESC);

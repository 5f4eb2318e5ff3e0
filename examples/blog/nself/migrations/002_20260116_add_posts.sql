-- migrate:up
CREATE TABLE posts (
    id serial PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title text NOT NULL,
    body text,
    tags text[] NOT NULL DEFAULT '{}',
    published boolean NOT NULL DEFAULT false,
    published_at timestamptz
);
CREATE INDEX posts_author_idx ON posts (author_id);
CREATE INDEX posts_published_idx ON posts (published_at) WHERE published;

CREATE VIEW published_posts AS
    SELECT p.id, p.title, u.name AS author
    FROM posts p JOIN users u ON u.id = p.author_id
    WHERE p.published;

-- migrate:down
DROP VIEW published_posts;
DROP TABLE posts;

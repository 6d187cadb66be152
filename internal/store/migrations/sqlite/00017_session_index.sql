-- +goose Up
-- Which sessions a user has, for the "your sessions" page and revocation.
-- Sessions themselves live in Redis (or the sessions table); this index
-- holds only a SHA-256 of each session token, never the token.
CREATE TABLE session_index (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    tenant_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    user_agent TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    revoked_at INTEGER NULL
);
CREATE INDEX session_index_user ON session_index (tenant_id, user_id);

-- +goose Down
DROP TABLE session_index;

-- +goose Up
-- Personal access tokens. Only the SHA-256 of a token is stored; hint is
-- its last characters, so a user can tell tokens apart in a list.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    last_used_at INTEGER NULL,
    last_used_ip TEXT NOT NULL DEFAULT '',
    revoked_at INTEGER NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX api_tokens_owner ON api_tokens (tenant_id, user_id);

-- +goose Down
DROP TABLE api_tokens;

-- +goose Up
-- HQ sessions, indexed at login (by token hash) so an operator can list
-- and end their own; an HQ session without a live entry is void.
CREATE TABLE operator_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    operator_id INTEGER NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    user_agent TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    revoked_at INTEGER NULL,
    awaiting_mfa INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX operator_sessions_operator ON operator_sessions (operator_id);

-- +goose Down
DROP TABLE operator_sessions;

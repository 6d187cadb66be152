-- +goose Up
-- One row per audit chain (chain_id is the tenant id, 0 for the platform).
-- SQLite's immediate write transactions already serialise appends; the row
-- remembers the newest link so deleting the last events is detected too.
CREATE TABLE audit_heads (
    chain_id INTEGER NOT NULL PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);

-- +goose Down
DROP TABLE audit_heads;

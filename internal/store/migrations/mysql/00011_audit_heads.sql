-- +goose Up
-- One row per audit chain (chain_id is the tenant id, 0 for the platform).
-- Appending locks this row, which serialises appends per chain, and the row
-- remembers the newest link so deleting the last events is detected too.
CREATE TABLE audit_heads (
    chain_id BIGINT NOT NULL PRIMARY KEY,
    last_seq BIGINT NOT NULL,
    last_hash CHAR(64) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE audit_heads;

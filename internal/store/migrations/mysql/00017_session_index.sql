-- +goose Up
-- Which sessions a user has, for the "your sessions" page and revocation.
-- Sessions themselves live in Redis (or the sessions table); this index
-- holds only a SHA-256 of each session token, never the token.
CREATE TABLE session_index (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    token_hash CHAR(64) NOT NULL,
    tenant_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    user_agent VARCHAR(512) NOT NULL DEFAULT '',
    ip VARCHAR(64) NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    revoked_at BIGINT NULL,
    UNIQUE KEY session_index_token (token_hash),
    KEY session_index_user (tenant_id, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE session_index;

-- +goose Up
-- Personal access tokens. Only the SHA-256 of a token is stored; hint is
-- its last characters, so a user can tell tokens apart in a list.
CREATE TABLE api_tokens (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    name VARCHAR(100) NOT NULL,
    token_hash CHAR(64) NOT NULL,
    hint VARCHAR(8) NOT NULL,
    scopes VARCHAR(500) NOT NULL,
    expires_at BIGINT NOT NULL,
    last_used_at BIGINT NULL,
    last_used_ip VARCHAR(64) NOT NULL DEFAULT '',
    revoked_at BIGINT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE KEY api_tokens_hash (token_hash),
    KEY api_tokens_owner (tenant_id, user_id),
    CONSTRAINT api_tokens_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT api_tokens_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE api_tokens;

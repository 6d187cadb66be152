-- +goose Up
-- HQ sessions, indexed at login (by token hash) so an operator can list
-- and end their own; an HQ session without a live entry is void.
CREATE TABLE operator_sessions (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    token_hash CHAR(64) NOT NULL,
    operator_id BIGINT NOT NULL,
    user_agent VARCHAR(512) NOT NULL DEFAULT '',
    ip VARCHAR(64) NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    revoked_at BIGINT NULL,
    awaiting_mfa BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE KEY operator_sessions_token (token_hash),
    KEY operator_sessions_operator (operator_id),
    CONSTRAINT operator_sessions_operator_fk FOREIGN KEY (operator_id) REFERENCES operators (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE operator_sessions;

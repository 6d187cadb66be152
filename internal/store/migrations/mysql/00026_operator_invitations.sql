-- +goose Up
-- An operator is invited by an e-mailed single-use link and sets their own
-- password; only a SHA-256 of the link's token is kept.
CREATE TABLE operator_invitations (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email VARCHAR(254) NOT NULL,
    name VARCHAR(100) NOT NULL,
    token_hash CHAR(64) NOT NULL,
    invited_by BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE KEY operator_invitations_token (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE operator_invitations;

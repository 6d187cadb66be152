-- +goose Up
-- TOTP second factor of a user or an operator (subject_type 'user' or
-- 'operator'). confirmed_at is NULL until the first code is verified.
-- last_step is the newest time step accepted, so a code is never used twice.
CREATE TABLE mfa_totp (
    subject_type VARCHAR(16) NOT NULL,
    subject_id BIGINT NOT NULL,
    secret VARCHAR(64) NOT NULL,
    confirmed_at BIGINT NULL,
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (subject_type, subject_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE mfa_totp;

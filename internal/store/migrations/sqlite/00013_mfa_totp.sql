-- +goose Up
-- TOTP second factor of a user or an operator (subject_type 'user' or
-- 'operator'). confirmed_at is NULL until the first code is verified.
-- last_step is the newest time step accepted, so a code is never used twice.
CREATE TABLE mfa_totp (
    subject_type TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    secret TEXT NOT NULL,
    confirmed_at INTEGER NULL,
    last_step INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (subject_type, subject_id)
);

-- +goose Down
DROP TABLE mfa_totp;

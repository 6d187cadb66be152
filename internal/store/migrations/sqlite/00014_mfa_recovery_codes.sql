-- +goose Up
-- Single-use recovery codes, stored as SHA-256 hashes.
CREATE TABLE mfa_recovery_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_type TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    code_hash TEXT NOT NULL,
    used_at INTEGER NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX mfa_recovery_subject ON mfa_recovery_codes (subject_type, subject_id);

-- +goose Down
DROP TABLE mfa_recovery_codes;

-- +goose Up
-- Single-use recovery codes, stored as SHA-256 hashes.
CREATE TABLE mfa_recovery_codes (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    subject_type VARCHAR(16) NOT NULL,
    subject_id BIGINT NOT NULL,
    code_hash CHAR(64) NOT NULL,
    used_at BIGINT NULL,
    created_at BIGINT NOT NULL,
    KEY mfa_recovery_subject (subject_type, subject_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE mfa_recovery_codes;

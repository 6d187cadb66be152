-- +goose Up
-- Passkeys (WebAuthn credentials). credential_id is base64url; credential
-- is the library's JSON record (public key, sign count, flags).
CREATE TABLE webauthn_credentials (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    subject_type VARCHAR(16) NOT NULL,
    subject_id BIGINT NOT NULL,
    credential_id VARCHAR(1400) NOT NULL,
    credential MEDIUMBLOB NOT NULL,
    name VARCHAR(100) NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NULL,
    UNIQUE KEY webauthn_credential_id (credential_id(255)),
    KEY webauthn_subject (subject_type, subject_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE webauthn_credentials;

-- +goose Up
-- Passkeys (WebAuthn credentials). credential_id is base64url; credential
-- is the library's JSON record (public key, sign count, flags).
CREATE TABLE webauthn_credentials (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_type TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    credential_id TEXT NOT NULL UNIQUE,
    credential BLOB NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NULL
);
CREATE INDEX webauthn_subject ON webauthn_credentials (subject_type, subject_id);

-- +goose Down
DROP TABLE webauthn_credentials;

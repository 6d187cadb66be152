-- +goose Up
-- An operator is invited by an e-mailed single-use link and sets their own
-- password; only a SHA-256 of the link's token is kept.
CREATE TABLE operator_invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    invited_by INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    accepted_at INTEGER NULL,
    created_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE operator_invitations;

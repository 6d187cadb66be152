-- +goose Up
CREATE TABLE invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    invited_by INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    accepted_at INTEGER NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX invitations_tenant ON invitations (tenant_id, id);

-- +goose Down
DROP TABLE invitations;

-- +goose Up
-- Four-eyes offboarding requests. No foreign key to tenants: the request
-- outlives the tenant's rows as the record of who deleted it and when.
CREATE TABLE tenant_deletions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    tenant_slug TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_by INTEGER NOT NULL,
    requested_at INTEGER NOT NULL,
    approved_by INTEGER NULL,
    approved_at INTEGER NULL,
    delete_after INTEGER NULL,
    finished_at INTEGER NULL
);
CREATE INDEX tenant_deletions_tenant ON tenant_deletions (tenant_id, status);
CREATE INDEX tenant_deletions_due ON tenant_deletions (status, delete_after);

-- +goose Down
DROP TABLE tenant_deletions;

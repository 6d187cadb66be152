-- +goose Up
-- Buckets the app has provisioned, so the scheduler's sweep knows which
-- tenants still need one and the audit knows which to check.
CREATE TABLE tenant_buckets (
    tenant_id INTEGER NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    bucket TEXT NOT NULL,
    provisioned_at INTEGER NOT NULL,
    warnings TEXT NOT NULL
);

-- +goose Down
DROP TABLE tenant_buckets;

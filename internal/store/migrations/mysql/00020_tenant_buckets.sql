-- +goose Up
-- Buckets the app has provisioned, so the scheduler's sweep knows which
-- tenants still need one and the audit knows which to check.
CREATE TABLE tenant_buckets (
    tenant_id BIGINT NOT NULL PRIMARY KEY,
    bucket VARCHAR(63) NOT NULL,
    provisioned_at BIGINT NOT NULL,
    warnings TEXT NOT NULL,
    CONSTRAINT tenant_buckets_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE tenant_buckets;

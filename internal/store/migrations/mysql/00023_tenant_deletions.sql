-- +goose Up
-- Four-eyes offboarding requests. No foreign key to tenants: the request
-- outlives the tenant's rows as the record of who deleted it and when.
CREATE TABLE tenant_deletions (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id BIGINT NOT NULL,
    tenant_slug VARCHAR(32) NOT NULL,
    reason VARCHAR(500) NOT NULL,
    status VARCHAR(16) NOT NULL,
    requested_by BIGINT NOT NULL,
    requested_at BIGINT NOT NULL,
    approved_by BIGINT NULL,
    approved_at BIGINT NULL,
    delete_after BIGINT NULL,
    finished_at BIGINT NULL,
    KEY tenant_deletions_tenant (tenant_id, status),
    KEY tenant_deletions_due (status, delete_after)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE tenant_deletions;

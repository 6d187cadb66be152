-- +goose Up
-- Time-limited operator access to a tenant's content. Rows go with the
-- tenant; the audit trail keeps the record.
CREATE TABLE break_glass (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id BIGINT NOT NULL,
    operator_id BIGINT NOT NULL,
    reason VARCHAR(500) NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    KEY break_glass_active (tenant_id, operator_id, expires_at),
    CONSTRAINT break_glass_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE break_glass;

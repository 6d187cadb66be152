-- +goose Up
-- Time-limited operator access to a tenant's content. Rows go with the
-- tenant; the audit trail keeps the record.
CREATE TABLE break_glass (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    operator_id INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX break_glass_active ON break_glass (tenant_id, operator_id, expires_at);

-- +goose Down
DROP TABLE break_glass;

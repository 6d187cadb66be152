-- +goose Up
CREATE INDEX files_tenant ON files (tenant_id, id);
CREATE INDEX files_status ON files (status, uploaded_at);

-- +goose Down
DROP INDEX files_status;
DROP INDEX files_tenant;

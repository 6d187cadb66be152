-- +goose Up
-- The rescan sweep's lookup; files_tenant came with the table (00030).
CREATE INDEX files_status ON files (status, uploaded_at);

-- +goose Down
DROP INDEX files_status ON files;

-- +goose Up
CREATE TABLE files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    uploader_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    bucket TEXT NOT NULL,
    object_key TEXT NOT NULL,
    version_id TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    signature TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    uploaded_at INTEGER NULL,
    scanned_at INTEGER NULL,
    UNIQUE (bucket, object_key)
);

-- +goose Down
DROP TABLE files;

-- +goose Up
CREATE TABLE files (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id BIGINT NOT NULL,
    uploader_id BIGINT NOT NULL,
    name VARCHAR(255) NOT NULL,
    content_type VARCHAR(100) NOT NULL,
    size BIGINT NOT NULL,
    bucket VARCHAR(63) NOT NULL,
    object_key VARCHAR(255) NOT NULL,
    version_id VARCHAR(1024) NOT NULL DEFAULT '',
    status VARCHAR(16) NOT NULL,
    signature VARCHAR(255) NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    uploaded_at BIGINT NULL,
    scanned_at BIGINT NULL,
    UNIQUE KEY files_object (bucket, object_key),
    KEY files_tenant (tenant_id, id),
    CONSTRAINT files_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE files;

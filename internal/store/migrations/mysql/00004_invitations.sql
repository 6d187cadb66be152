-- +goose Up
CREATE TABLE invitations (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id BIGINT NOT NULL,
    email VARCHAR(254) NOT NULL,
    role VARCHAR(16) NOT NULL,
    token_hash CHAR(64) NOT NULL,
    invited_by BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE KEY invitations_token (token_hash),
    KEY invitations_tenant (tenant_id, id),
    CONSTRAINT invitations_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE invitations;

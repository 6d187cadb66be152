-- +goose Up
-- Sessions created before cutoff_at are void: (tenant, 0) voids a whole
-- tenant's sessions (an operator's action), (0, user) a user's sessions
-- everywhere (a password change). This catches sessions the index has not
-- seen yet too.
CREATE TABLE session_cutoffs (
    tenant_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    cutoff_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE session_cutoffs;

-- +goose Up
-- Sessions created before cutoff_at are void: (tenant, 0) voids a whole
-- tenant's sessions (an operator's action), (0, user) a user's sessions
-- everywhere (a password change). This catches sessions the index has not
-- seen yet too.
CREATE TABLE session_cutoffs (
    tenant_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    cutoff_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

-- +goose Down
DROP TABLE session_cutoffs;

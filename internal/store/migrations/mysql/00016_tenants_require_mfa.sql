-- +goose Up
-- An owner can require every member to use a second factor.
ALTER TABLE tenants ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE tenants DROP COLUMN require_mfa;

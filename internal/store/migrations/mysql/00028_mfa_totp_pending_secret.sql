-- +goose Up
-- Re-enrolling an authenticator app: the new secret waits here, and the
-- confirmed one keeps working, until a code of the new one confirms it.
ALTER TABLE mfa_totp ADD COLUMN pending_secret VARCHAR(64) NULL;

-- +goose Down
ALTER TABLE mfa_totp DROP COLUMN pending_secret;

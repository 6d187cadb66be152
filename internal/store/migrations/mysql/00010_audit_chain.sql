-- +goose Up
-- Each event carries its place in its chain (the tenant's, or the platform's
-- when tenant_id is NULL) and the hash of its predecessor, so an edited or
-- deleted row breaks the chain where it stood.
ALTER TABLE audit_events
    ADD COLUMN chain_seq BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN prev_hash CHAR(64) NOT NULL DEFAULT '',
    ADD COLUMN hash CHAR(64) NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_events DROP COLUMN chain_seq, DROP COLUMN prev_hash, DROP COLUMN hash;

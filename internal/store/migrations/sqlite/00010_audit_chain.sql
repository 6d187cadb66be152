-- +goose Up
-- Each event carries its place in its chain (the tenant's, or the platform's
-- when tenant_id is NULL) and the hash of its predecessor, so an edited or
-- deleted row breaks the chain where it stood.
ALTER TABLE audit_events ADD COLUMN chain_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN hash TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_events DROP COLUMN hash;
ALTER TABLE audit_events DROP COLUMN prev_hash;
ALTER TABLE audit_events DROP COLUMN chain_seq;

-- +goose Up
-- The dev mailer keeps a message once per idempotency key (the outbox
-- message id), so a re-delivered outbox mail is not listed twice.
ALTER TABLE mail_outbox ADD COLUMN idempotency_key TEXT NULL;
CREATE UNIQUE INDEX mail_outbox_key ON mail_outbox (idempotency_key);

-- +goose Down
DROP INDEX mail_outbox_key;
ALTER TABLE mail_outbox DROP COLUMN idempotency_key;

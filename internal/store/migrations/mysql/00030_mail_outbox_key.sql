-- +goose Up
-- The dev mailer keeps a message once per idempotency key (the outbox
-- message id), so a re-delivered outbox mail is not listed twice.
ALTER TABLE mail_outbox ADD COLUMN idempotency_key VARCHAR(100) NULL, ADD UNIQUE KEY mail_outbox_key (idempotency_key);

-- +goose Down
ALTER TABLE mail_outbox DROP INDEX mail_outbox_key, DROP COLUMN idempotency_key;

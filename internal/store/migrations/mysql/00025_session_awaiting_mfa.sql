-- +goose Up
-- A session is indexed at login, before its holder has given the second
-- factor; until then it is only half logged in, and the sessions page
-- shows it as such.
ALTER TABLE session_index ADD COLUMN awaiting_mfa BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE session_index DROP COLUMN awaiting_mfa;

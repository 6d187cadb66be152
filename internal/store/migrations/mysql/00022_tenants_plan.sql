-- +goose Up
-- The commercial plan HQ filters and reports on; billing sets it later.
ALTER TABLE tenants ADD COLUMN plan VARCHAR(32) NOT NULL DEFAULT 'free';

-- +goose Down
ALTER TABLE tenants DROP COLUMN plan;

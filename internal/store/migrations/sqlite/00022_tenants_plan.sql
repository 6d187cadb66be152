-- +goose Up
-- The commercial plan HQ filters and reports on; billing sets it later.
ALTER TABLE tenants ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';

-- +goose Down
ALTER TABLE tenants DROP COLUMN plan;

-- +goose Up
-- The transactional outbox (internal/outbox): a side effect of a change
-- (a mail, a job to enqueue, a realtime event) is written in the change's
-- own transaction and delivered after the commit, at least once.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT NULL,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER NULL
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- +goose Down
DROP INDEX outbox_due;
DROP TABLE outbox;

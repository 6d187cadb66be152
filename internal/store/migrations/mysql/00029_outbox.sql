-- +goose Up
-- The transactional outbox (internal/outbox): a side effect of a change
-- (a mail, a job to enqueue, a realtime event) is written in the change's
-- own transaction and delivered after the commit, at least once.
CREATE TABLE outbox (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind VARCHAR(20) NOT NULL,
    payload MEDIUMTEXT NOT NULL,
    status VARCHAR(20) NOT NULL DEFAULT 'pending',
    attempts INT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error VARCHAR(1000) NULL,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT NULL,
    KEY outbox_due (status, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE outbox;

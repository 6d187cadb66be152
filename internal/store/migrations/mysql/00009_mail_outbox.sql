-- +goose Up
CREATE TABLE mail_outbox (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    to_addr VARCHAR(254) NOT NULL,
    subject VARCHAR(255) NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE mail_outbox;

-- +goose Up
CREATE TABLE sessions (
    token VARCHAR(64) NOT NULL PRIMARY KEY,
    data MEDIUMBLOB NOT NULL,
    expiry BIGINT NOT NULL,
    KEY sessions_expiry (expiry)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE sessions;

-- +goose Up
CREATE TABLE sessions (
    token TEXT NOT NULL PRIMARY KEY,
    data BLOB NOT NULL,
    expiry INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry);

-- +goose Down
DROP TABLE sessions;

-- Fixed-window counters for rate limits (e.g. failed sign-ins per IP).
-- They live in the database, not in process memory, so every app server
-- sees the same counts.
CREATE TABLE rate_limits (
    key           TEXT    PRIMARY KEY,   -- e.g. 'login:203.0.113.7'
    window_start  INTEGER NOT NULL,      -- epoch ms
    count         INTEGER NOT NULL
);

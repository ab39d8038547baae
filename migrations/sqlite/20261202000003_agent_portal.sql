-- The agent portal (/m): agents sign in with phone + password. Their
-- accounts and sessions are separate from staff ones, so an agent can never
-- hold a staff permission.
ALTER TABLE agents ADD COLUMN password_hash TEXT;
ALTER TABLE agents ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN locked_until INTEGER;

CREATE TABLE agent_sessions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash    TEXT    NOT NULL UNIQUE,
    agent_id      INTEGER NOT NULL REFERENCES agents(id),
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    revoked_at    INTEGER
);
CREATE INDEX agent_sessions_agent ON agent_sessions(agent_id);

-- Recruitment (招募): invite codes of agents and staff, and the applications
-- people send from an invite link. Nothing is paid for recruiting: an
-- application only ever creates an agent.

CREATE TABLE invite_codes (
    code        TEXT    PRIMARY KEY,       -- random, in the public link /join/{code}
    agent_id    INTEGER REFERENCES agents(id),
    user_id     INTEGER REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    CHECK ((agent_id IS NULL) <> (user_id IS NULL))
);
CREATE UNIQUE INDEX invite_codes_agent ON invite_codes(agent_id);
CREATE UNIQUE INDEX invite_codes_user ON invite_codes(user_id);

CREATE TABLE agent_applications (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    invite_code        TEXT,
    sponsor_id         INTEGER REFERENCES agents(id),   -- the inviting agent, if any
    recruiter_id       INTEGER REFERENCES users(id),    -- the inviting 销售, if any (for their KPIs)
    name               TEXT    NOT NULL,
    phone              TEXT    NOT NULL,
    wechat             TEXT    NOT NULL,
    province           TEXT    NOT NULL DEFAULT '',
    city               TEXT    NOT NULL DEFAULT '',
    requested_level    INTEGER NOT NULL,
    message            TEXT    NOT NULL DEFAULT '',
    status             TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    -- With sponsor approval on, the sponsor agrees first (in the agent
    -- portal), then head office decides.
    sponsor_approved_at INTEGER,
    reason             TEXT    NOT NULL DEFAULT '',     -- why it was rejected
    decided_by         INTEGER REFERENCES users(id),
    decided_at         INTEGER,
    agent_id           INTEGER REFERENCES agents(id),   -- the agent an approval created
    ip                 TEXT    NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL
);
CREATE INDEX agent_applications_status ON agent_applications(status, created_at);
CREATE INDEX agent_applications_sponsor ON agent_applications(sponsor_id, status);

-- Brand-wide settings as key/value text (e.g. how applications are approved).
CREATE TABLE app_settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

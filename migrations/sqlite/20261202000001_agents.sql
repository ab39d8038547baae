-- The agent network (代理体系): levels, agents on a sponsor forest,
-- certificates (授权书), applications (招募申请) and monthly team sales.
--
-- How the tree is stored, and why:
--   * `sponsor_id` is the edge; `path` is the materialised path of ids from
--     the root down to the agent itself ('/12/40/41/') and `depth` its length
--     minus one. Descendants of X are exactly the rows whose path starts with
--     X's path: a range scan on the `path` index ('/12/40/' <= path <
--     '/12/400'), the same SQL on SQLite and PostgreSQL, no recursive query.
--     Ancestors are read from the path itself, so a reward walk up two
--     generations needs no query at all once the buyer is loaded.
--   * `team_size` (all descendants) and `direct_count` are kept on every
--     agent and adjusted along the path when agents join or move: a team of
--     a million answers "how big" with one row read.
--   * Monthly team purchases live in `agent_team_sales`, added along the
--     path when an order is counted, for the same reason.
--   A closure table would cost depth × agents rows (30M for a million
--   agents 30 deep); nested sets would rewrite half the table on every
--   join. Paths cost one string per agent and a bounded update per change.

CREATE TABLE agent_levels (
    level                  INTEGER PRIMARY KEY CHECK (level BETWEEN 1 AND 9),  -- 1 is the highest
    name                   TEXT    NOT NULL,
    price_bp               INTEGER NOT NULL CHECK (price_bp BETWEEN 0 AND 10000),  -- share of retail paid
    first_purchase_fen     INTEGER,          -- optional first order amount to join at this level
    upgrade_threshold_fen  INTEGER,          -- optional cumulative purchases that qualify for this level
    updated_at             INTEGER NOT NULL
);
INSERT INTO agent_levels (level, name, price_bp, updated_at) VALUES
    (1, '联合创始人', 4000, 0), (2, '总代理', 5000, 0), (3, '省级代理', 6000, 0),
    (4, '市级代理', 7000, 0), (5, '特约代理', 8000, 0);

CREATE TABLE agents (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    code           TEXT    NOT NULL UNIQUE,      -- external id (agents.csv `id`)
    name           TEXT    NOT NULL,
    phone          TEXT    NOT NULL DEFAULT '',
    wechat         TEXT    NOT NULL DEFAULT '',
    province       TEXT    NOT NULL DEFAULT '',
    city           TEXT    NOT NULL DEFAULT '',
    level          INTEGER NOT NULL REFERENCES agent_levels(level),
    sponsor_id     INTEGER REFERENCES agents(id),
    path           TEXT    NOT NULL,
    depth          INTEGER NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('active', 'frozen', 'terminated')),
    joined_at      INTEGER NOT NULL,
    notes          TEXT    NOT NULL DEFAULT '',
    team_size      INTEGER NOT NULL DEFAULT 0,
    direct_count   INTEGER NOT NULL DEFAULT 0,
    recruited_by   INTEGER REFERENCES users(id),  -- the 销售 staff member, for their KPIs
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX agents_sponsor ON agents(sponsor_id);
CREATE INDEX agents_path ON agents(path);
CREATE INDEX agents_level_joined ON agents(level, joined_at);
CREATE INDEX agents_status_joined ON agents(status, joined_at);
CREATE INDEX agents_joined ON agents(joined_at);
CREATE INDEX agents_region ON agents(province, city);
CREATE INDEX agents_name ON agents(name);
CREATE INDEX agents_phone ON agents(phone);
CREATE INDEX agents_wechat ON agents(wechat);

CREATE TABLE agent_level_changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id    INTEGER NOT NULL REFERENCES agents(id),
    from_level  INTEGER NOT NULL,
    to_level    INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    actor_id    INTEGER,
    actor_name  TEXT    NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX agent_level_changes_agent ON agent_level_changes(agent_id, at);

-- Purchases per agent per Beijing month: the agent's own and its whole
-- team's (itself and every descendant), kept up to date along the path.
CREATE TABLE agent_team_sales (
    agent_id  INTEGER NOT NULL REFERENCES agents(id),
    period    TEXT    NOT NULL,          -- 'YYYY-MM'
    own_fen   INTEGER NOT NULL DEFAULT 0,
    team_fen  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (agent_id, period)
);

CREATE TABLE agent_certificates (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    cert_no      TEXT    NOT NULL UNIQUE,
    agent_id     INTEGER NOT NULL REFERENCES agents(id),
    level        INTEGER NOT NULL,
    name         TEXT    NOT NULL,       -- as printed at issue time
    wechat       TEXT    NOT NULL,
    phone        TEXT    NOT NULL,
    region       TEXT    NOT NULL,
    valid_from   INTEGER NOT NULL,
    valid_until  INTEGER NOT NULL,
    issued_at    INTEGER NOT NULL,
    revoked_at   INTEGER,
    revoke_reason TEXT
);
CREATE INDEX agent_certificates_agent ON agent_certificates(agent_id, issued_at);

-- Long jobs (imports of a million rows) run in the server that received
-- them and report progress here, so any server can show it. A job left
-- `running` by a server that stopped is marked failed at the next start.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    stage       TEXT    NOT NULL DEFAULT '',   -- message key of the current step
    done        INTEGER NOT NULL DEFAULT 0,
    total       INTEGER NOT NULL DEFAULT 0,
    result      TEXT,                          -- JSON: counts, or the problems of a refused file
    created_by  INTEGER REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Secrets shared by every app server (e.g. the key that signs certificate
-- QR codes), created once on first use.
CREATE TABLE app_secrets (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

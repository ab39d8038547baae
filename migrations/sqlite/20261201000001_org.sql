-- Organisation: departments (extending the foundation's tree), positions
-- (岗位) with duties and KPIs, staff profiles, and which positions each
-- staff member holds. A staff member's permissions are the union of the
-- roles of their positions and the roles given to them directly.

-- SQLite cannot add a UNIQUE column; the unique index below does the job
-- (NULL codes do not collide, on either engine).
ALTER TABLE departments ADD COLUMN code TEXT;
ALTER TABLE departments ADD COLUMN summary TEXT NOT NULL DEFAULT '';
ALTER TABLE departments ADD COLUMN head_user_id INTEGER REFERENCES users(id);
ALTER TABLE departments ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived'));
ALTER TABLE departments ADD COLUMN template_id TEXT;
ALTER TABLE departments ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX departments_code ON departments(code);
CREATE INDEX departments_parent ON departments(parent_id);
CREATE INDEX departments_path ON departments(path);

CREATE TABLE positions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    code           TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    name_en        TEXT    NOT NULL DEFAULT '',
    department_id  INTEGER NOT NULL REFERENCES departments(id),
    summary        TEXT    NOT NULL DEFAULT '',
    headcount      INTEGER NOT NULL DEFAULT 1 CHECK (headcount >= 0),
    -- The role a holder of this post gets; NULL = none.
    role_id        INTEGER REFERENCES roles(id),
    -- The post this one reports to (汇报对象); a tree, no cycles.
    reports_to_id  INTEGER REFERENCES positions(id),
    status         TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    sort_order     INTEGER NOT NULL DEFAULT 0,
    template_id    TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX positions_department ON positions(department_id);

CREATE TABLE position_duties (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    position_id  INTEGER NOT NULL REFERENCES positions(id) ON DELETE CASCADE,
    sort_order   INTEGER NOT NULL,
    text         TEXT    NOT NULL
);
CREATE INDEX position_duties_position ON position_duties(position_id, sort_order);

-- KPI targets are decimals kept exactly as thousandths (12.5 → 12500):
-- no floats in the database.
CREATE TABLE position_kpis (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    position_id   INTEGER NOT NULL REFERENCES positions(id) ON DELETE CASCADE,
    sort_order    INTEGER NOT NULL,
    name          TEXT    NOT NULL,
    unit          TEXT    NOT NULL DEFAULT '',
    target_milli  INTEGER NOT NULL,
    direction     TEXT    NOT NULL CHECK (direction IN ('higher', 'lower')),
    period        TEXT    NOT NULL CHECK (period IN ('week', 'month', 'quarter', 'year'))
);
CREATE INDEX position_kpis_position ON position_kpis(position_id, sort_order);

-- A staff member is a user account plus this profile.
CREATE TABLE staff (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id),
    employee_no TEXT    UNIQUE,                 -- 工号, optional
    wechat_id   TEXT    NOT NULL DEFAULT '',
    hire_date   TEXT,                           -- 'YYYY-MM-DD', Beijing calendar
    status      TEXT    NOT NULL DEFAULT 'on_job' CHECK (status IN ('on_job', 'on_leave', 'left')),
    left_date   TEXT,
    notes       TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE staff_positions (
    user_id      INTEGER NOT NULL REFERENCES users(id),
    position_id  INTEGER NOT NULL REFERENCES positions(id),
    is_primary   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, position_id)
);
CREATE INDEX staff_positions_position ON staff_positions(position_id);
-- At most one primary post per person.
CREATE UNIQUE INDEX staff_positions_one_primary ON staff_positions(user_id) WHERE is_primary = 1;

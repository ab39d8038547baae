-- Foundation: staff accounts, roles and permissions, sessions, API tokens,
-- the audit log, and the department tree that data scopes refer to.
--
-- Conventions shared by every migration (both engines run the same queries
-- through sqlx's Any driver):
--   * instants are INTEGER milliseconds since the epoch, UTC;
--   * flags are INTEGER 0/1, enums are TEXT with a CHECK;
--   * money is INTEGER fen; rates are INTEGER basis points.

-- Departments arrive in full with the organisation module; the foundation
-- needs the tree so that a role's data scope "own department and below" has
-- a meaning from day one. `path` is the materialised path `/1/4/9/`.
CREATE TABLE departments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id   INTEGER REFERENCES departments(id),
    name        TEXT    NOT NULL,
    path        TEXT    NOT NULL DEFAULT '/',
    sort_order  INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    username              TEXT    NOT NULL UNIQUE,   -- stored lowercase
    display_name          TEXT    NOT NULL,
    phone                 TEXT    UNIQUE,            -- 11 digits or NULL
    password_hash         TEXT    NOT NULL,          -- argon2id PHC string
    must_change_password  INTEGER NOT NULL DEFAULT 0,
    status                TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    locale                TEXT,                      -- 'zh-CN' / 'en', NULL = negotiate
    department_id         INTEGER REFERENCES departments(id),
    -- Lockout state lives here, not in process memory, so that several app
    -- servers share it.
    failed_logins         INTEGER NOT NULL DEFAULT 0,
    locked_until          INTEGER,
    last_login_at         INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);

CREATE TABLE roles (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    code         TEXT    NOT NULL UNIQUE,
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    data_scope   TEXT    NOT NULL DEFAULT 'own' CHECK (data_scope IN ('all', 'department_tree', 'own')),
    -- The built-in admin role holds every permission, including those that
    -- later modules add; it is neither edited nor deleted.
    builtin      INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE role_permissions (
    role_id     INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    permission  TEXT    NOT NULL,
    PRIMARY KEY (role_id, permission)
);

CREATE TABLE user_roles (
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id  INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role ON user_roles(role_id);

-- Sessions are rows, not signed cookies, so they can be listed and revoked
-- and any app server can check them. Only the SHA-256 of the token is kept.
CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash    TEXT    NOT NULL UNIQUE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    ip            TEXT    NOT NULL DEFAULT '',
    user_agent    TEXT    NOT NULL DEFAULT '',
    revoked_at    INTEGER
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL UNIQUE,
    prefix        TEXT    NOT NULL,      -- first characters, to recognise a token in the list
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

-- Append-only: the application only ever INSERTs here, and triggers refuse
-- UPDATE and DELETE so that not even a bug can rewrite history.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,
    actor_id     INTEGER,                -- NULL for the system / CLI without a user
    actor_name   TEXT    NOT NULL,       -- snapshot: survives renames
    action       TEXT    NOT NULL,       -- e.g. 'user.create'
    entity_type  TEXT    NOT NULL,       -- e.g. 'user'
    entity_id    TEXT    NOT NULL DEFAULT '',
    summary      TEXT    NOT NULL DEFAULT '',
    before_json  TEXT,
    after_json   TEXT,
    request_id   TEXT    NOT NULL DEFAULT '',
    ip           TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_actor ON audit_log(actor_id, at);
CREATE INDEX audit_log_entity ON audit_log(entity_type, entity_id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- The built-in administrator role. Its permissions are not rows: holding
-- it means holding every permission, including those added later.
INSERT INTO roles (code, name, description, data_scope, builtin, created_at, updated_at)
VALUES ('admin', '系统管理员', '内置角色，拥有全部权限', 'all', 1, 0, 0);

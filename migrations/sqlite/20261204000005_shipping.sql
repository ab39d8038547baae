-- 打单发货 (issue 6 item 6): carriers, one shipment row per parcel, and the
-- notices an agent sees in the portal when a parcel leaves.
--
-- Built-in carriers are seeded; staff add others (builtin = 0). A carrier
-- is referenced by its code as text, so a retired carrier (active = 0)
-- keeps its old shipments readable.

CREATE TABLE carriers (
    code     TEXT     PRIMARY KEY,
    name     TEXT     NOT NULL,
    builtin  INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1)),
    active   INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);
INSERT INTO carriers (code, name, builtin, active) VALUES
    ('SF', '顺丰', 1, 1),
    ('ZTO', '中通', 1, 1),
    ('YTO', '圆通', 1, 1),
    ('YD', '韵达', 1, 1),
    ('STO', '申通', 1, 1),
    ('JT', '极兔', 1, 1),
    ('JD', '京东', 1, 1),
    ('EMS', 'EMS', 1, 1);

-- Exactly one of order_id / cloud_request_id says what left. The same
-- tracking number at the same carrier is one parcel: the unique index turns
-- a scanner's double read (or a re-imported sheet) into a 409, not a
-- second shipment.
CREATE TABLE shipments (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id          INTEGER REFERENCES orders(id),
    cloud_request_id  INTEGER REFERENCES cloud_requests(id),
    carrier           TEXT    NOT NULL REFERENCES carriers(code),
    tracking_no       TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('pending', 'shipped')),
    created_at        INTEGER NOT NULL,
    shipped_at        INTEGER,
    shipped_by        INTEGER REFERENCES users(id),
    shipped_by_name   TEXT    NOT NULL DEFAULT '',
    CHECK ((order_id IS NULL) <> (cloud_request_id IS NULL))
);
CREATE UNIQUE INDEX shipments_tracking ON shipments(carrier, tracking_no);
CREATE INDEX shipments_order ON shipments(order_id);
CREATE INDEX shipments_cloud_request ON shipments(cloud_request_id);
CREATE INDEX shipments_created ON shipments(created_at);

-- What the portal tells an agent (read_at NULL = unread).
CREATE TABLE agent_notices (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id    INTEGER NOT NULL REFERENCES agents(id),
    kind        TEXT    NOT NULL,                 -- 'shipped'
    message     TEXT    NOT NULL,
    ref_no      TEXT    NOT NULL DEFAULT '',      -- order or request number
    read_at     INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX agent_notices_agent ON agent_notices(agent_id, read_at, created_at);

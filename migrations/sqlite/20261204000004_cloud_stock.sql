-- 云库存 (issue 6 item 5): goods an agent paid for and keeps in head
-- office's warehouse. The physical units stay RESERVED in `stock` (nobody
-- else can buy them) while `cloud_stock` says whose they are:
--
--   sum(cloud_stock.qty) + units of pending requests  <=  stock.reserved
--
-- per SKU and warehouse. A paid cloud order credits the ledger; a
-- shipment request (提货/代发) takes from it with ONE conditional UPDATE
-- (`... SET qty = qty - $n WHERE ... AND qty >= $n`) per line, so racing
-- requests can never take more than the balance; shipping the request
-- takes the reserved units out of the warehouse; cancelling gives them back
-- to the ledger. Every change of `cloud_stock` writes a movement row.

CREATE TABLE cloud_stock (
    agent_id      INTEGER NOT NULL REFERENCES agents(id),
    sku_id        INTEGER NOT NULL REFERENCES skus(id),
    warehouse_id  INTEGER NOT NULL REFERENCES warehouses(id),
    qty           INTEGER NOT NULL DEFAULT 0 CHECK (qty >= 0),
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (agent_id, sku_id, warehouse_id)
);
CREATE INDEX cloud_stock_sku ON cloud_stock(sku_id);

CREATE TABLE cloud_stock_movements (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id      INTEGER NOT NULL REFERENCES agents(id),
    sku_id        INTEGER NOT NULL REFERENCES skus(id),
    warehouse_id  INTEGER NOT NULL REFERENCES warehouses(id),
    kind          TEXT    NOT NULL CHECK (kind IN ('purchase', 'ship_request', 'ship_cancelled', 'adjust')),
    qty           INTEGER NOT NULL,                 -- signed change of the balance
    qty_after     INTEGER NOT NULL,
    ref_type      TEXT    NOT NULL DEFAULT '',      -- 'order' | 'cloud_request'
    ref_id        TEXT    NOT NULL DEFAULT '',
    actor_id      INTEGER REFERENCES users(id),
    actor_name    TEXT    NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX cloud_stock_movements_agent ON cloud_stock_movements(agent_id, at);
CREATE INDEX cloud_stock_movements_ref ON cloud_stock_movements(ref_type, ref_id);

-- A shipment from cloud stock to any address. Its units left the agent's
-- balance when it was made; they leave the warehouse when it is shipped.
CREATE TABLE cloud_requests (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    request_no        TEXT    NOT NULL UNIQUE,      -- TH + Beijing date + 8 random digits
    agent_id          INTEGER NOT NULL REFERENCES agents(id),
    warehouse_id      INTEGER NOT NULL REFERENCES warehouses(id),
    status            TEXT    NOT NULL CHECK (status IN ('pending', 'shipped', 'cancelled')),
    receiver_name     TEXT    NOT NULL,
    receiver_phone    TEXT    NOT NULL,
    receiver_address  TEXT    NOT NULL,
    note              TEXT    NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL,
    shipped_at        INTEGER,
    tracking_no       TEXT,
    carrier           TEXT
);
CREATE INDEX cloud_requests_status ON cloud_requests(status, created_at);
CREATE INDEX cloud_requests_agent ON cloud_requests(agent_id, created_at);

CREATE TABLE cloud_request_lines (
    request_id  INTEGER NOT NULL REFERENCES cloud_requests(id),
    sku_id      INTEGER NOT NULL REFERENCES skus(id),
    qty         INTEGER NOT NULL CHECK (qty > 0),
    PRIMARY KEY (request_id, sku_id)
);

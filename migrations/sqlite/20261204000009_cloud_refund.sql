-- A refunded cloud order takes its units off the agent's cloud stock: the
-- ledger gets a movement kind 'refund'. SQLite cannot change a CHECK in
-- place, so the table is rebuilt with its rows and indexes.
CREATE TABLE cloud_stock_movements_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id      INTEGER NOT NULL REFERENCES agents(id),
    sku_id        INTEGER NOT NULL REFERENCES skus(id),
    warehouse_id  INTEGER NOT NULL REFERENCES warehouses(id),
    kind          TEXT    NOT NULL CHECK (kind IN ('purchase', 'ship_request', 'ship_cancelled', 'refund', 'adjust')),
    qty           INTEGER NOT NULL,                 -- signed change of the balance
    qty_after     INTEGER NOT NULL,
    ref_type      TEXT    NOT NULL DEFAULT '',      -- 'order' | 'cloud_request' | 'after_sales'
    ref_id        TEXT    NOT NULL DEFAULT '',
    actor_id      INTEGER REFERENCES users(id),
    actor_name    TEXT    NOT NULL,
    at            INTEGER NOT NULL
);
INSERT INTO cloud_stock_movements_new (id, agent_id, sku_id, warehouse_id, kind, qty, qty_after, ref_type, ref_id, actor_id, actor_name, at)
    SELECT id, agent_id, sku_id, warehouse_id, kind, qty, qty_after, ref_type, ref_id, actor_id, actor_name, at
    FROM cloud_stock_movements;
DROP TABLE cloud_stock_movements;
ALTER TABLE cloud_stock_movements_new RENAME TO cloud_stock_movements;
CREATE INDEX cloud_stock_movements_agent ON cloud_stock_movements(agent_id, at);
CREATE INDEX cloud_stock_movements_ref ON cloud_stock_movements(ref_type, ref_id);

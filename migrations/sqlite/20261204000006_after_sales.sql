-- 售后: refund only or return and refund of a paid purchase order. A case
-- is requested (by the agent or staff), then refunded or rejected by
-- finance; refunding reverses the order's rewards like any refund.
CREATE TABLE after_sales (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    case_no         TEXT    NOT NULL UNIQUE,
    order_id        INTEGER NOT NULL REFERENCES orders(id),
    agent_id        INTEGER NOT NULL REFERENCES agents(id),
    kind            TEXT    NOT NULL CHECK (kind IN ('refund_only', 'return_refund')),
    status          TEXT    NOT NULL CHECK (status IN ('requested', 'refunded', 'rejected')),
    reason          TEXT    NOT NULL,
    amount_fen      INTEGER NOT NULL CHECK (amount_fen >= 0),
    refund_to       TEXT    CHECK (refund_to IN ('balance', 'offline')),
    goods           TEXT    CHECK (goods IN ('restock', 'write_off', 'not_shipped', 'kept')),
    reject_reason   TEXT,
    created_by_name TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    decided_by      INTEGER REFERENCES users(id),
    decided_by_name TEXT,
    decided_at      INTEGER
);
CREATE INDEX after_sales_status ON after_sales(status, created_at);
CREATE INDEX after_sales_order ON after_sales(order_id);

-- The goods side (issue 6): products and SKUs with prices per agent level,
-- warehouses and stock, purchase orders placed in weiops (they share the
-- `orders` table with imported orders), payments and agent prepayments.
--
-- Stock is never negative, also under concurrent orders: `stock` keeps
-- `on_hand` and `reserved` with CHECKs (0 <= reserved <= on_hand), and
-- every change is ONE conditional UPDATE (`... SET reserved = reserved + $q
-- WHERE ... AND on_hand - reserved >= $q`) whose row count says whether it
-- happened. No read-then-write, so no SELECT ... FOR UPDATE is needed on
-- either engine. Every change also writes a `stock_movements` row.

CREATE TABLE product_categories (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    sort_order  INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

CREATE TABLE products (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    code         TEXT    NOT NULL UNIQUE,           -- 商品编码
    name         TEXT    NOT NULL,
    category_id  INTEGER REFERENCES product_categories(id),
    description  TEXT    NOT NULL DEFAULT '',
    image        TEXT,                              -- file name under <data-dir>/uploads
    on_sale      INTEGER NOT NULL DEFAULT 1 CHECK (on_sale IN (0, 1)),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX products_category ON products(category_id);
CREATE INDEX products_name ON products(name);

CREATE TABLE skus (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id   INTEGER NOT NULL REFERENCES products(id),
    code         TEXT    NOT NULL UNIQUE,           -- SKU 编码, also on waybills
    spec         TEXT    NOT NULL DEFAULT '',       -- 规格: "500ml × 2"
    barcode      TEXT    NOT NULL DEFAULT '',
    retail_fen   INTEGER NOT NULL CHECK (retail_fen >= 0),
    weight_g     INTEGER NOT NULL DEFAULT 0 CHECK (weight_g >= 0),
    on_sale      INTEGER NOT NULL DEFAULT 1 CHECK (on_sale IN (0, 1)),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX skus_product ON skus(product_id);
CREATE INDEX skus_barcode ON skus(barcode);

-- A price for one level that overrides the level's rate for this SKU.
CREATE TABLE sku_level_prices (
    sku_id     INTEGER NOT NULL REFERENCES skus(id),
    level      INTEGER NOT NULL CHECK (level BETWEEN 1 AND 9),
    price_fen  INTEGER NOT NULL CHECK (price_fen >= 0),
    PRIMARY KEY (sku_id, level)
);

-- Every change of a retail price or a level price (level NULL = retail).
CREATE TABLE sku_price_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    sku_id      INTEGER NOT NULL REFERENCES skus(id),
    level       INTEGER,
    old_fen     INTEGER,                            -- NULL: there was none
    new_fen     INTEGER,                            -- NULL: removed
    actor_id    INTEGER REFERENCES users(id),
    actor_name  TEXT    NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX sku_price_history_sku ON sku_price_history(sku_id, at);

CREATE TABLE warehouses (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    code        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    address     TEXT    NOT NULL DEFAULT '',
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    is_default  INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at  INTEGER NOT NULL
);

CREATE TABLE stock (
    warehouse_id  INTEGER NOT NULL REFERENCES warehouses(id),
    sku_id        INTEGER NOT NULL REFERENCES skus(id),
    on_hand       INTEGER NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    reserved      INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    low_alert     INTEGER NOT NULL DEFAULT 0 CHECK (low_alert >= 0),  -- alert when available <= this
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (warehouse_id, sku_id),
    CHECK (reserved <= on_hand)
);
CREATE INDEX stock_sku ON stock(sku_id);

CREATE TABLE stock_movements (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    warehouse_id  INTEGER NOT NULL REFERENCES warehouses(id),
    sku_id        INTEGER NOT NULL REFERENCES skus(id),
    kind          TEXT    NOT NULL CHECK (kind IN ('purchase_in', 'sale_out', 'transfer_in', 'transfer_out',
                                                   'count_adjust', 'return_in', 'write_off',
                                                   'reserve', 'release')),
    qty           INTEGER NOT NULL,                 -- signed change of on_hand (reserve/release: of reserved)
    on_hand_after INTEGER NOT NULL,
    reason        TEXT    NOT NULL DEFAULT '',
    ref_type      TEXT    NOT NULL DEFAULT '',      -- 'order', 'count', 'transfer', …
    ref_id        TEXT    NOT NULL DEFAULT '',
    actor_id      INTEGER REFERENCES users(id),
    actor_name    TEXT    NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX stock_movements_sku ON stock_movements(sku_id, at);
CREATE INDEX stock_movements_wh ON stock_movements(warehouse_id, at);
CREATE INDEX stock_movements_ref ON stock_movements(ref_type, ref_id);

-- 盘点: a count of a warehouse; finishing it adjusts stock to what was counted.
CREATE TABLE stock_counts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    warehouse_id  INTEGER NOT NULL REFERENCES warehouses(id),
    status        TEXT    NOT NULL CHECK (status IN ('open', 'done', 'cancelled')),
    note          TEXT    NOT NULL DEFAULT '',
    created_by    INTEGER REFERENCES users(id),
    created_at    INTEGER NOT NULL,
    finished_at   INTEGER
);
CREATE TABLE stock_count_lines (
    count_id   INTEGER NOT NULL REFERENCES stock_counts(id),
    sku_id     INTEGER NOT NULL REFERENCES skus(id),
    expected   INTEGER NOT NULL,                    -- on_hand when the count started
    counted    INTEGER,                             -- NULL until typed
    PRIMARY KEY (count_id, sku_id)
);

-- Purchase orders placed in weiops use the orders table; these columns are
-- empty for imported orders.
ALTER TABLE orders ADD COLUMN warehouse_id INTEGER REFERENCES warehouses(id);
ALTER TABLE orders ADD COLUMN fulfilment TEXT;       -- 'ship_to_me' | 'ship_to_customer' | 'cloud'
ALTER TABLE orders ADD COLUMN receiver_name TEXT;
ALTER TABLE orders ADD COLUMN receiver_phone TEXT;
ALTER TABLE orders ADD COLUMN receiver_address TEXT;
ALTER TABLE orders ADD COLUMN amount_fen INTEGER;    -- what the agent pays (level prices, overrides)
ALTER TABLE orders ADD COLUMN payment_method TEXT;   -- 'balance' | 'transfer'
ALTER TABLE orders ADD COLUMN reserved_until INTEGER; -- unpaid orders release their stock after this
ALTER TABLE orders ADD COLUMN placed_by INTEGER REFERENCES users(id);  -- staff placing on an agent's behalf
ALTER TABLE orders ADD COLUMN note TEXT;
CREATE INDEX orders_status_created ON orders(status, created_at);
CREATE INDEX orders_reserved_until ON orders(reserved_until);

CREATE TABLE order_lines (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id        INTEGER NOT NULL REFERENCES orders(id),
    sku_id          INTEGER NOT NULL REFERENCES skus(id),
    qty             INTEGER NOT NULL CHECK (qty > 0),
    retail_fen      INTEGER NOT NULL CHECK (retail_fen >= 0),   -- per unit, at order time
    unit_price_fen  INTEGER NOT NULL CHECK (unit_price_fen >= 0),
    amount_fen      INTEGER NOT NULL CHECK (amount_fen >= 0)
);
CREATE INDEX order_lines_order ON order_lines(order_id);
CREATE INDEX order_lines_sku ON order_lines(sku_id);

-- The timeline of an order: every transition, who and when.
CREATE TABLE order_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id    INTEGER NOT NULL REFERENCES orders(id),
    from_status TEXT,
    to_status   TEXT    NOT NULL,
    note        TEXT    NOT NULL DEFAULT '',
    actor_id    INTEGER REFERENCES users(id),
    actor_name  TEXT    NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX order_events_order ON order_events(order_id, at);

-- Money an agent sends head office by offline transfer: a top-up of the
-- prepaid balance (货款余额, account 2203) or the payment of one order.
-- Finance confirms (posting to the ledger) or rejects.
CREATE TABLE payments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id        INTEGER NOT NULL REFERENCES agents(id),
    order_id        INTEGER REFERENCES orders(id),  -- NULL: a top-up
    amount_fen      INTEGER NOT NULL CHECK (amount_fen > 0),
    proof           TEXT,                           -- uploaded image file name
    reference       TEXT    NOT NULL DEFAULT '',    -- the transfer's reference as typed
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'confirmed', 'rejected')),
    reason          TEXT,
    created_at      INTEGER NOT NULL,
    decided_by      INTEGER REFERENCES users(id),
    decided_by_name TEXT,
    decided_at      INTEGER
);
CREATE INDEX payments_status ON payments(status, created_at);
CREATE INDEX payments_agent ON payments(agent_id, created_at);

-- Prepaid balances per agent (account 2203), kept with every posting like
-- agent_wallets: paying from the balance is one conditional UPDATE.
CREATE TABLE agent_prepayments (
    agent_id     INTEGER PRIMARY KEY REFERENCES agents(id),
    balance_fen  INTEGER NOT NULL DEFAULT 0 CHECK (balance_fen >= 0),
    updated_at   INTEGER NOT NULL
);

INSERT INTO app_settings (name, value) VALUES ('orders.reservation_minutes', '30');

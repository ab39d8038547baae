-- A refunded cloud order takes its units off the agent's cloud stock: the
-- ledger gets a movement kind 'refund'.
ALTER TABLE cloud_stock_movements DROP CONSTRAINT cloud_stock_movements_kind_check;
ALTER TABLE cloud_stock_movements ADD CONSTRAINT cloud_stock_movements_kind_check
    CHECK (kind IN ('purchase', 'ship_request', 'ship_cancelled', 'refund', 'adjust'));

-- Orders placed in weiops keep what they cost at every level's prices
-- (shared/spec/settlement.md, "Orders placed in weiops"): Rule 1 pays the
-- difference of `price_at` between two levels, and a SKU may have a price
-- of its own for some levels, so retail × the level rate is not enough.
--
-- `level_prices` is `price_at(1):price_at(2):…:price_at(K)` in fen, the
-- sums over the order's lines of qty × the unit price for that level as
-- it stood when the order was placed. NULL for imported orders (priced by
-- retail_fen and the level rates, as the spec defines them) and for orders
-- placed before this column existed until `orders::pricing::backfill`
-- (run by `weiops migrate` and `weiops serve`) fills it; '' marks an order
-- of a month already approved or paid, which keeps the rate pricing it was
-- paid with, so that what is shown as paid equals what was paid.
ALTER TABLE orders ADD COLUMN level_prices TEXT;
-- The backfill's worklist; empty once it has run.
CREATE INDEX orders_unpriced ON orders(id) WHERE source = 'app' AND level_prices IS NULL;

-- Indexes on orders cost every import of millions of historical rows a
-- write each. Unpaid orders are few: the expiry sweep reads a partial
-- index of them only. (The status filter of the order list will get its
-- own index with the list's performance work.)
DROP INDEX IF EXISTS orders_status_created;
DROP INDEX IF EXISTS orders_reserved_until;
CREATE INDEX orders_unpaid ON orders(reserved_until) WHERE status = 'pending_payment';

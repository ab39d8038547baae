-- 打单发货 lists every paid order that ships from the warehouse (issue 13
-- item 5), not only those someone opened and marked 配货中. `paid` is the
-- status of almost every imported order (millions), which
-- orders_status_open leaves out on purpose, so the queue gets its own
-- partial index: orders placed in weiops waiting to ship, oldest first.
-- Imports (`source = 'import'`) never enter it, so they pay no extra
-- write; an app order leaves it when it ships. The queue's query repeats
-- these terms word for word, which is what lets SQLite use the index.
CREATE INDEX orders_to_ship ON orders(created_at, id) WHERE status IN ('paid', 'picking') AND source = 'app';

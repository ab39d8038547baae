-- The built-in admin role was seeded with created_at = updated_at = 0, so
-- the role list dated it 1970-01-01 08:00. It is dated from the install:
-- the first account's creation (the administrator made at first start),
-- or, on a database with no account yet (a new install: migrations run
-- before that account is made), the time this migration runs. The seed in
-- the foundation migration stays as it is: an applied migration never
-- changes.
UPDATE roles
SET created_at = COALESCE((SELECT MIN(created_at) FROM users),
                          CAST(strftime('%s', 'now') AS INTEGER) * 1000)
WHERE created_at = 0;
UPDATE roles SET updated_at = created_at WHERE updated_at = 0;

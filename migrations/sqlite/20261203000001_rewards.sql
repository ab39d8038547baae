-- Rewards, settlement and the ledger (issue 5), and the orders table the
-- goods side (issue 6) shares.
--
-- Design:
--   * One `orders` table for orders imported from files (`source = 'import'`)
--     and orders placed in weiops (`source = 'app'`), so refunds, reward
--     explanations and settlements have one path. `counted` is 1 while the
--     order is paid and not refunded/cancelled: the settlement reads
--     `counted = 1 AND paid_at in [month)` through `orders_paid_at`.
--   * Reward lines (Rules 1 and 2) are not stored per order: a month of a
--     big brand is 10M orders and ~30M lines. They are computed by the pure
--     engine (weiops_core::rewards) from the orders and the sponsor tree, the
--     same way for a settlement and for an explanation. An approved run keeps
--     the tree it used (`settlement_agents`), so its explanations and the
--     clawbacks of later refunds are computed on the tree that was paid.
--   * Plans are versioned rows; a run records the version and the whole plan
--     it used.
--   * The journal is double-entry: an entry is written unposted, its lines
--     added, then posted; the posting trigger refuses an entry whose lines do
--     not balance (or do not match its header), and posted entries and their
--     lines can never change. Reports read posted entries only.

CREATE TABLE orders (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    order_no      TEXT    NOT NULL,          -- orders.csv `id`, or the number weiops gives
    agent_id      INTEGER NOT NULL REFERENCES agents(id),
    buyer_level   INTEGER NOT NULL,          -- the buyer's level when the order was placed
    retail_fen    INTEGER NOT NULL CHECK (retail_fen >= 0),
    paid_fen      INTEGER NOT NULL CHECK (paid_fen >= 0),
    status        TEXT    NOT NULL CHECK (status IN ('pending_payment', 'paid', 'picking', 'shipped',
                                                     'received', 'completed', 'cancelled', 'closed', 'refunded')),
    counted       INTEGER NOT NULL DEFAULT 0 CHECK (counted IN (0, 1)),
    source        TEXT    NOT NULL CHECK (source IN ('import', 'app')),
    paid_at       INTEGER,
    refunded_at   INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX orders_order_no ON orders(order_no);
CREATE INDEX orders_paid_at ON orders(paid_at);
CREATE INDEX orders_agent_paid ON orders(agent_id, paid_at);

-- The brand's reward settings, one row per saved version. Level price rates
-- come from agent_levels and are copied into `plan` when a version is saved
-- and when a settlement runs.
CREATE TABLE reward_plans (
    version     INTEGER PRIMARY KEY,
    plan        TEXT    NOT NULL,            -- JSON of weiops_core::rewards::Plan
    note        TEXT    NOT NULL DEFAULT '',
    created_by  INTEGER REFERENCES users(id),
    created_at  INTEGER NOT NULL
);

-- A monthly settlement. At most one run per period (UNIQUE): a second
-- attempt is refused, so nothing is paid twice.
CREATE TABLE settlement_runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    period          TEXT    NOT NULL UNIQUE,        -- 'YYYY-MM', Asia/Shanghai
    status          TEXT    NOT NULL CHECK (status IN ('draft', 'approved', 'paid')),
    plan_version    INTEGER NOT NULL,
    plan            TEXT    NOT NULL,               -- the plan as used (JSON)
    orders_count    INTEGER NOT NULL DEFAULT 0,     -- counted orders of the period
    orders_paid_fen INTEGER NOT NULL DEFAULT 0,
    level_diff_fen  INTEGER NOT NULL DEFAULT 0,
    referral_fen    INTEGER NOT NULL DEFAULT 0,
    team_fen        INTEGER NOT NULL DEFAULT 0,
    adjust_fen      INTEGER NOT NULL DEFAULT 0,     -- clawbacks landing in this period (<= 0)
    total_fen       INTEGER NOT NULL DEFAULT 0,
    earners         INTEGER NOT NULL DEFAULT 0,
    held_fen        INTEGER NOT NULL DEFAULT 0,
    -- What the draft was computed from; approval refuses a stale draft.
    fingerprint     TEXT    NOT NULL DEFAULT '',
    created_by      INTEGER REFERENCES users(id),
    created_by_name TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    computed_at     INTEGER NOT NULL,
    computed_by     INTEGER REFERENCES users(id),
    computed_by_name TEXT   NOT NULL DEFAULT '',
    approved_by     INTEGER REFERENCES users(id),
    approved_by_name TEXT,
    approved_at     INTEGER,
    paid_by         INTEGER REFERENCES users(id),
    paid_by_name    TEXT,
    paid_at         INTEGER
);

-- Per agent results of a run (rows with a non-zero total or adjustment).
CREATE TABLE settlement_results (
    run_id          INTEGER NOT NULL REFERENCES settlement_runs(id),
    agent_id        INTEGER NOT NULL REFERENCES agents(id),
    level           INTEGER NOT NULL,               -- at settlement
    level_diff_fen  INTEGER NOT NULL,
    referral_fen    INTEGER NOT NULL,
    team_fen        INTEGER NOT NULL,
    team_volume_fen INTEGER NOT NULL DEFAULT 0,     -- V(x) of Rule 3
    total_fen       INTEGER NOT NULL,               -- level_diff + referral + team
    adjust_fen      INTEGER NOT NULL DEFAULT 0,     -- clawbacks (<= 0)
    net_fen         INTEGER NOT NULL,               -- total + adjust
    held            INTEGER NOT NULL DEFAULT 0,     -- 1: frozen when the run was paid; not released
    released_at     INTEGER,
    PRIMARY KEY (run_id, agent_id)
);
CREATE INDEX settlement_results_agent ON settlement_results(agent_id, run_id);
CREATE INDEX settlement_results_total ON settlement_results(run_id, total_fen);

-- The sponsor tree an approved run was computed on.
CREATE TABLE settlement_agents (
    run_id      INTEGER NOT NULL REFERENCES settlement_runs(id),
    agent_id    INTEGER NOT NULL,
    sponsor_id  INTEGER,
    level       INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    PRIMARY KEY (run_id, agent_id)
);
CREATE INDEX settlement_agents_sponsor ON settlement_agents(run_id, sponsor_id);

-- Reversals of rewards already settled (a refund after its month was
-- approved): negative amounts that land in the next open period.
CREATE TABLE reward_adjustments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id        INTEGER NOT NULL REFERENCES agents(id),
    order_id        INTEGER NOT NULL REFERENCES orders(id),
    rule            TEXT    NOT NULL CHECK (rule IN ('level_diff', 'referral', 'team')),
    generation      INTEGER NOT NULL,
    amount_fen      INTEGER NOT NULL,               -- negative: taken back
    volume_fen      INTEGER NOT NULL DEFAULT 0,     -- Rule 3: paid removed from V(x)
    origin_run_id   INTEGER REFERENCES settlement_runs(id),
    origin_period   TEXT    NOT NULL,               -- the settled month of the order
    period          TEXT    NOT NULL,               -- the month it is settled in
    created_at      INTEGER NOT NULL
);
CREATE INDEX reward_adjustments_period ON reward_adjustments(period, agent_id);
CREATE INDEX reward_adjustments_agent ON reward_adjustments(agent_id, period);

-- Chart of accounts (会计科目), codes after the PRC small-enterprise chart.
CREATE TABLE ledger_accounts (
    code        TEXT    PRIMARY KEY,
    name_zh     TEXT    NOT NULL,
    name_en     TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('asset', 'liability', 'equity', 'revenue', 'expense')),
    per_agent   INTEGER NOT NULL DEFAULT 0        -- 1: lines carry the agent (sub-ledger)
);
INSERT INTO ledger_accounts (code, name_zh, name_en, kind, per_agent) VALUES
    ('1001', '库存现金', 'Cash on hand', 'asset', 0),
    ('1002', '银行存款', 'Bank', 'asset', 0),
    ('1012', '其他货币资金（微信/支付宝）', 'WeChat Pay / Alipay balances', 'asset', 0),
    ('1122', '应收账款', 'Accounts receivable', 'asset', 0),
    ('1405', '库存商品', 'Inventory', 'asset', 0),
    ('2202', '应付账款', 'Accounts payable', 'liability', 0),
    ('2203', '预收账款-代理货款余额', 'Agent prepayments (货款余额)', 'liability', 1),
    ('2211', '应付职工薪酬', 'Payroll payable', 'liability', 0),
    ('2221', '应交税费', 'Taxes payable', 'liability', 0),
    ('2241', '其他应付款-应付代理奖励', 'Agent rewards payable (approved)', 'liability', 1),
    ('2242', '其他应付款-代理钱包', 'Agent wallets (released rewards)', 'liability', 1),
    ('2243', '其他应付款-提现在途', 'Withdrawals in process', 'liability', 1),
    ('4001', '实收资本', 'Paid-in capital', 'equity', 0),
    ('4103', '本年利润', 'Current year profit', 'equity', 0),
    ('6001', '主营业务收入', 'Sales revenue', 'revenue', 0),
    ('6051', '其他业务收入-提现手续费', 'Withdrawal fees', 'revenue', 0),
    ('6401', '主营业务成本', 'Cost of goods sold', 'expense', 0),
    ('6601', '销售费用-代理奖励', 'Reward expense', 'expense', 0),
    ('6602', '管理费用', 'Administrative expenses', 'expense', 0),
    ('6603', '财务费用', 'Bank charges', 'expense', 0),
    ('6604', '销售退回', 'Sales returns and refunds', 'expense', 0);

CREATE TABLE journal_entries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    posted_at    INTEGER NOT NULL,                 -- the business date of the entry (ms)
    memo         TEXT    NOT NULL,
    source       TEXT    NOT NULL,                 -- 'settlement', 'withdrawal', 'order', 'manual', …
    source_id    TEXT    NOT NULL DEFAULT '',
    debit_fen    INTEGER NOT NULL CHECK (debit_fen > 0),
    credit_fen   INTEGER NOT NULL CHECK (credit_fen > 0),
    line_count   INTEGER NOT NULL CHECK (line_count >= 2),
    posted       INTEGER NOT NULL DEFAULT 0 CHECK (posted IN (0, 1)),
    created_by   INTEGER REFERENCES users(id),
    created_by_name TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    CHECK (debit_fen = credit_fen)
);
CREATE INDEX journal_entries_posted_at ON journal_entries(posted_at);
CREATE INDEX journal_entries_source ON journal_entries(source, source_id);

CREATE TABLE journal_lines (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id    INTEGER NOT NULL REFERENCES journal_entries(id),
    account     TEXT    NOT NULL REFERENCES ledger_accounts(code),
    agent_id    INTEGER REFERENCES agents(id),
    debit_fen   INTEGER NOT NULL DEFAULT 0 CHECK (debit_fen >= 0),
    credit_fen  INTEGER NOT NULL DEFAULT 0 CHECK (credit_fen >= 0),
    posted_at   INTEGER NOT NULL,                  -- copy of the entry's, for balances by date
    CHECK ((debit_fen = 0) <> (credit_fen = 0))
);
CREATE INDEX journal_lines_entry ON journal_lines(entry_id);
CREATE INDEX journal_lines_account ON journal_lines(account, posted_at);
CREATE INDEX journal_lines_agent ON journal_lines(agent_id, account, posted_at);

CREATE TRIGGER journal_lines_only_unposted BEFORE INSERT ON journal_lines
WHEN (SELECT posted FROM journal_entries WHERE id = NEW.entry_id) IS NOT 0
BEGIN SELECT RAISE(ABORT, 'journal: lines can only be added to an unposted entry'); END;
CREATE TRIGGER journal_lines_no_update BEFORE UPDATE ON journal_lines
BEGIN SELECT RAISE(ABORT, 'journal: lines are append-only'); END;
CREATE TRIGGER journal_lines_no_delete BEFORE DELETE ON journal_lines
WHEN (SELECT posted FROM journal_entries WHERE id = OLD.entry_id) = 1
BEGIN SELECT RAISE(ABORT, 'journal: posted lines are append-only'); END;
CREATE TRIGGER journal_entries_post BEFORE UPDATE ON journal_entries
BEGIN
    SELECT RAISE(ABORT, 'journal: a posted entry cannot change')
    WHERE OLD.posted = 1;
    SELECT RAISE(ABORT, 'journal: only the posted flag may change')
    WHERE NEW.debit_fen <> OLD.debit_fen OR NEW.credit_fen <> OLD.credit_fen OR NEW.line_count <> OLD.line_count
       OR NEW.posted_at <> OLD.posted_at;
    SELECT RAISE(ABORT, 'journal: unbalanced entry')
    WHERE NEW.posted = 1 AND (
        (SELECT COALESCE(SUM(debit_fen), 0) FROM journal_lines WHERE entry_id = NEW.id) <> NEW.debit_fen
     OR (SELECT COALESCE(SUM(credit_fen), 0) FROM journal_lines WHERE entry_id = NEW.id) <> NEW.credit_fen
     OR (SELECT COUNT(*) FROM journal_lines WHERE entry_id = NEW.id) <> NEW.line_count);
END;
CREATE TRIGGER journal_entries_no_delete BEFORE DELETE ON journal_entries
WHEN OLD.posted = 1
BEGIN SELECT RAISE(ABORT, 'journal: posted entries are append-only'); END;

-- Agent withdrawals (提现) from the wallet (account 2242).
CREATE TABLE withdrawals (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id        INTEGER NOT NULL REFERENCES agents(id),
    amount_fen      INTEGER NOT NULL CHECK (amount_fen > 0),
    fee_fen         INTEGER NOT NULL CHECK (fee_fen >= 0),
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'paid', 'rejected')),
    account_name    TEXT    NOT NULL,              -- where to send it (bank / WeChat), as the agent typed
    account_no      TEXT    NOT NULL,
    reference       TEXT,                          -- transfer reference when paid
    reason          TEXT,                          -- when rejected
    requested_at    INTEGER NOT NULL,
    decided_by      INTEGER REFERENCES users(id),
    decided_by_name TEXT,
    decided_at      INTEGER
);
CREATE INDEX withdrawals_status ON withdrawals(status, requested_at);
CREATE INDEX withdrawals_agent ON withdrawals(agent_id, requested_at);

-- Wallet balances per agent, kept in the same transaction as every posting
-- to account 2242 so a withdrawal can take money with one conditional
-- UPDATE (`... WHERE balance_fen >= $amount`): concurrent requests can
-- never overdraw, on either engine. The journal remains the record.
CREATE TABLE agent_wallets (
    agent_id     INTEGER PRIMARY KEY REFERENCES agents(id),
    balance_fen  INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL
);

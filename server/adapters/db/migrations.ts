import type { Db } from "./db";

/**
 * The schema, in order; each entry runs once, in a transaction, under an advisory lock so that
 * relayers starting together on one PostgreSQL do not race. Amounts are base units in
 * NUMERIC(78,0), which holds any uint256. An entry is one string, split into statements at each
 * `;` that ends a line, or a list of statements run as given (a function's body has such `;`s).
 */
const MIGRATIONS: readonly (string | readonly string[])[] = [
  `CREATE TABLE settings (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );
   CREATE TABLE shops (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     webhook_secret TEXT NOT NULL,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE TABLE batches (
     id BIGSERIAL PRIMARY KEY,
     sender TEXT NOT NULL,
     nonce BIGINT NOT NULL,
     tx_hash TEXT NOT NULL,
     raw_tx TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('sent', 'mined', 'confirmed', 'abandoned')),
     block_number BIGINT,
     block_hash TEXT,
     sent_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE INDEX batches_open ON batches (state) WHERE state IN ('sent', 'mined');
   CREATE TABLE orders (
     shop_id TEXT NOT NULL REFERENCES shops (id),
     order_id TEXT NOT NULL,
     user_id TEXT NOT NULL,
     referrer_id TEXT,
     amount NUMERIC(78, 0) NOT NULL,
     body_hash TEXT NOT NULL,
     chain_order_id TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('received', 'submitted', 'confirmed', 'rejected')),
     batch_id BIGINT REFERENCES batches (id),
     gp_minted NUMERIC(78, 0),
     tx_hash TEXT,
     reason TEXT,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     PRIMARY KEY (shop_id, order_id)
   );
   CREATE INDEX orders_received ON orders (created_at) WHERE state = 'received';
   CREATE INDEX orders_batch ON orders (batch_id);
   CREATE TABLE nonces (
     sender TEXT PRIMARY KEY,
     next_nonce BIGINT NOT NULL
   );`,
  `CREATE TABLE idempotency_keys (
     scope TEXT NOT NULL,
     key TEXT NOT NULL,
     fingerprint TEXT NOT NULL,
     status INT,
     response TEXT,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     PRIMARY KEY (scope, key)
   );`,
  `ALTER TABLE batches ADD COLUMN kind TEXT NOT NULL DEFAULT 'orders' CHECK (kind IN ('orders', 'operation'));
   CREATE TABLE operations (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     actor TEXT NOT NULL,
     account TEXT,
     counterparty TEXT,
     request_id TEXT UNIQUE,
     target TEXT NOT NULL,
     calldata TEXT,
     details TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('queued', 'submitted', 'confirmed', 'rejected')),
     batch_id BIGINT REFERENCES batches (id),
     tx_hash TEXT,
     result TEXT,
     reason TEXT,
     created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
     updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE INDEX operations_queued ON operations (created_at) WHERE state = 'queued';
   CREATE INDEX operations_batch ON operations (batch_id);
   CREATE INDEX operations_account ON operations (account, created_at);
   CREATE INDEX operations_counterparty ON operations (counterparty, created_at);
   CREATE TABLE users (
     user_id TEXT PRIMARY KEY,
     account TEXT NOT NULL UNIQUE,
     password_hash TEXT NOT NULL,
     payment_hash TEXT,
     payment_failures INT NOT NULL DEFAULT 0,
     payment_locked_until TIMESTAMPTZ,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE TABLE sessions (
     token_hash TEXT PRIMARY KEY,
     user_id TEXT NOT NULL REFERENCES users (user_id),
     expires_at TIMESTAMPTZ NOT NULL,
     revoked_at TIMESTAMPTZ,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE TABLE merchants (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     account TEXT NOT NULL UNIQUE,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE TABLE merchant_keys (
     id TEXT PRIMARY KEY,
     merchant_id TEXT NOT NULL REFERENCES merchants (id),
     key_hash TEXT NOT NULL,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     revoked_at TIMESTAMPTZ
   );`,
  `CREATE TABLE ad_networks (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     scheme TEXT NOT NULL CHECK (scheme IN ('hmac-sha256', 'ed25519')),
     secret TEXT,
     public_key TEXT,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE TABLE voucher_sales (
     sale_key TEXT PRIMARY KEY,
     sale_id TEXT NOT NULL UNIQUE,
     user_id TEXT NOT NULL,
     merchant_id TEXT NOT NULL REFERENCES merchants (id),
     shop_id TEXT,
     order_id TEXT,
     payment_id TEXT REFERENCES operations (id),
     asset TEXT NOT NULL CHECK (asset IN ('settlement', 'GP', 'CP')),
     paid NUMERIC(78, 0) NOT NULL,
     amount NUMERIC(78, 0),
     operation_id TEXT REFERENCES operations (id),
     state TEXT NOT NULL CHECK (state IN ('awaiting', 'queued', 'issued', 'refused', 'rejected')),
     backing NUMERIC(78, 0),
     reason TEXT,
     created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
     FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, order_id),
     CHECK ((order_id IS NULL) <> (payment_id IS NULL))
   );
   CREATE INDEX voucher_sales_awaiting ON voucher_sales (created_at) WHERE state = 'awaiting';
   CREATE INDEX voucher_sales_queued ON voucher_sales (operation_id) WHERE state = 'queued';
   CREATE INDEX voucher_sales_user ON voucher_sales (user_id, created_at);
   CREATE INDEX voucher_sales_merchant ON voucher_sales (merchant_id, state);
   CREATE TABLE ad_tasks (
     network_id TEXT NOT NULL REFERENCES ad_networks (id),
     transaction_id TEXT NOT NULL,
     user_id TEXT NOT NULL,
     day TEXT NOT NULL,
     released NUMERIC(78, 0) NOT NULL,
     received_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
     PRIMARY KEY (network_id, transaction_id)
   );
   CREATE INDEX ad_tasks_user_day ON ad_tasks (user_id, day);
   CREATE TABLE voucher_conversions (
     id TEXT PRIMARY KEY,
     conversion_id TEXT NOT NULL UNIQUE,
     user_id TEXT NOT NULL,
     merchant_id TEXT NOT NULL REFERENCES merchants (id),
     vouchers NUMERIC(78, 0) NOT NULL,
     network_id TEXT NOT NULL,
     transaction_id TEXT NOT NULL,
     operation_id TEXT REFERENCES operations (id),
     state TEXT NOT NULL CHECK (state IN ('pending', 'submitted', 'confirmed', 'rejected')),
     backing NUMERIC(78, 0),
     points NUMERIC(78, 0),
     reason TEXT,
     created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
   );
   CREATE INDEX voucher_conversions_pending ON voucher_conversions (created_at) WHERE state = 'pending';
   CREATE INDEX voucher_conversions_submitted ON voucher_conversions (operation_id) WHERE state = 'submitted';
   CREATE INDEX voucher_conversions_user ON voucher_conversions (user_id, created_at);`,
  // Who made each user id (a shop's first order or registration, or the operator: NULL), so a shop
  // registers only its own users and only the order that creates a user may name its referrer.
  // Shop limits: NULL means the deployment's default; outstanding is what the platform fronted.
  `CREATE TABLE user_origins (
     user_id TEXT PRIMARY KEY,
     shop_id TEXT REFERENCES shops (id),
     created_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   INSERT INTO user_origins (user_id, shop_id, created_at)
     SELECT DISTINCT ON (user_id) user_id, shop_id, created_at FROM orders ORDER BY user_id, created_at, shop_id;
   INSERT INTO user_origins (user_id, shop_id) SELECT user_id, NULL FROM users ON CONFLICT (user_id) DO NOTHING;
   CREATE INDEX orders_user_shop ON orders (user_id, shop_id);
   ALTER TABLE shops ADD COLUMN limit_per_order NUMERIC(78, 0);
   ALTER TABLE shops ADD COLUMN limit_per_day NUMERIC(78, 0);
   ALTER TABLE shops ADD COLUMN limit_outstanding NUMERIC(78, 0);
   ALTER TABLE shops ADD COLUMN outstanding NUMERIC(78, 0) NOT NULL DEFAULT 0;
   UPDATE shops SET outstanding = COALESCE((SELECT sum(amount) FROM orders WHERE orders.shop_id = shops.id AND state <> 'rejected'), 0);
   CREATE TABLE shop_daily_totals (
     shop_id TEXT NOT NULL REFERENCES shops (id),
     day TEXT NOT NULL,
     total NUMERIC(78, 0) NOT NULL,
     PRIMARY KEY (shop_id, day)
   );
   CREATE TABLE daily_totals (
     day TEXT PRIMARY KEY,
     total NUMERIC(78, 0) NOT NULL
   );
   CREATE TABLE shop_settlements (
     id BIGSERIAL PRIMARY KEY,
     shop_id TEXT NOT NULL REFERENCES shops (id),
     amount NUMERIC(78, 0) NOT NULL,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE TABLE shop_ad_merchants (
     shop_id TEXT NOT NULL REFERENCES shops (id),
     merchant_id TEXT NOT NULL REFERENCES merchants (id),
     allowed_by TEXT NOT NULL,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     PRIMARY KEY (shop_id, merchant_id)
   );`,
  // The gas of relayed signatures, per user and day: the estimate when queued, what the receipt
  // says once mined (also for a transaction that reverted, which spent it all the same).
  `ALTER TABLE operations ADD COLUMN gas_estimate NUMERIC(78, 0);
   ALTER TABLE operations ADD COLUMN gas_used NUMERIC(78, 0);
   CREATE INDEX operations_relayed ON operations (actor, created_at) WHERE gas_estimate IS NOT NULL;`,
  `CREATE UNIQUE INDEX operations_signed_nonce ON operations (target, ((details::jsonb) ->> 'owner'), ((details::jsonb) ->> 'nonce'))
     WHERE kind IN ('deposit-by-sig', 'redeem-by-sig', 'transfer-by-sig', 'permit') AND state <> 'rejected';
   ALTER TABLE orders ADD COLUMN retry_at TIMESTAMPTZ;
   ALTER TABLE orders ADD COLUMN parked INT NOT NULL DEFAULT 0;`,
  // The table of signed transactions holds single operations as well as batches of orders: named
  // for what it holds, with its references, indices, sequence and constraints. Renames keep the
  // rows, and the sequence keeps counting (the column default refers to it by identity, not name).
  `ALTER TABLE batches RENAME TO transactions;
   ALTER SEQUENCE batches_id_seq RENAME TO transactions_id_seq;
   ALTER INDEX batches_pkey RENAME TO transactions_pkey;
   ALTER INDEX batches_open RENAME TO transactions_open;
   ALTER TABLE transactions RENAME CONSTRAINT batches_state_check TO transactions_state_check;
   ALTER TABLE transactions RENAME CONSTRAINT batches_kind_check TO transactions_kind_check;
   ALTER TABLE orders RENAME COLUMN batch_id TO transaction_id;
   ALTER TABLE orders RENAME CONSTRAINT orders_batch_id_fkey TO orders_transaction_id_fkey;
   ALTER INDEX orders_batch RENAME TO orders_transaction;
   ALTER TABLE operations RENAME COLUMN batch_id TO transaction_id;
   ALTER TABLE operations RENAME CONSTRAINT operations_batch_id_fkey TO operations_transaction_id_fkey;
   ALTER INDEX operations_batch RENAME TO operations_transaction;`,
  // Several relayers on one database, each with its own key: an order once sent is bound to the key
  // that sent it (the pool's order key is per sender, so only that key's resend is refused twice),
  // and a refill of a relayer's settlement float belongs to that relayer. What was sent before
  // keeps the key of its transaction.
  `ALTER TABLE orders ADD COLUMN sent_by TEXT;
   UPDATE orders SET sent_by = t.sender FROM transactions t WHERE orders.transaction_id = t.id;
   ALTER TABLE operations ADD COLUMN sent_by TEXT;
   UPDATE operations SET sent_by = t.sender FROM transactions t
     WHERE operations.transaction_id = t.id AND operations.kind IN ('settlement-refill', 'settlement-approve');
   CREATE INDEX transactions_sender_open ON transactions (sender, nonce) WHERE state IN ('sent', 'mined');`,
  // A process of an earlier version left running beside this schema cannot send an order: its
  // update to submitted names no key, which this refuses, so its transaction rolls back before
  // anything is broadcast.
  `ALTER TABLE orders ADD CONSTRAINT orders_sent_by_bound CHECK (state <> 'submitted' OR sent_by IS NOT NULL) NOT VALID;`,
  // Operations go out in the order they were recorded, and one may rely on the one before it (a
  // merchant flagged, then paid). created_at cannot say that order: PGlite's clock counts
  // milliseconds, so two recorded in the same one tied and went by their random ids. A sequence
  // numbers them as they are inserted; what was recorded before is numbered in its old order.
  `CREATE SEQUENCE operations_seq;
   ALTER TABLE operations ADD COLUMN seq BIGINT;
   UPDATE operations SET seq = numbered.n
     FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM operations) numbered WHERE numbered.id = operations.id;
   SELECT setval('operations_seq', COALESCE((SELECT max(seq) FROM operations), 0) + 1, false);
   ALTER TABLE operations ALTER COLUMN seq SET DEFAULT nextval('operations_seq');
   ALTER TABLE operations ALTER COLUMN seq SET NOT NULL;
   ALTER SEQUENCE operations_seq OWNED BY operations.seq;
   CREATE UNIQUE INDEX operations_in_order ON operations (seq);
   DROP INDEX operations_queued;
   CREATE INDEX operations_queued ON operations (seq) WHERE state = 'queued';`,
  // The operator's audit log: who did what to whom and why, with the operation it queued (if any)
  // and the request as given; written in the transaction that queues the operation. Newest first
  // by its sequence (a cursor), by subject for one user's entries.
  `CREATE TABLE audit_log (
     seq BIGSERIAL PRIMARY KEY,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     subject TEXT,
     operation_id TEXT REFERENCES operations (id),
     reason TEXT,
     details TEXT NOT NULL,
     created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
   );
   CREATE INDEX audit_log_subject ON audit_log (subject, seq);
   CREATE INDEX audit_log_action ON audit_log (action, seq);`,
  // Shoppers' own accounts (docs/accounts.md): one phone number in E.164, one user id, across every
  // shop. A shop's order for a phone makes the row (registered_at null) and the user id the points
  // go to; signing up with that number sets registered_at. Codes are kept only as a keyed hash, with
  // their tries and use; the limits count these rows, so every relayer process sees the same count.
  // A login password's failures are counted like the payment password's. Each user's referral code
  // is made the first time it is asked for.
  `CREATE TABLE phone_accounts (
     phone TEXT PRIMARY KEY,
     user_id TEXT NOT NULL UNIQUE,
     registered_at TIMESTAMPTZ,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE TABLE phone_codes (
     id BIGSERIAL PRIMARY KEY,
     phone TEXT NOT NULL,
     purpose TEXT NOT NULL,
     code_hash TEXT NOT NULL,
     ip TEXT NOT NULL,
     created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
     expires_at TIMESTAMPTZ NOT NULL,
     attempts INT NOT NULL DEFAULT 0,
     used_at TIMESTAMPTZ
   );
   CREATE INDEX phone_codes_phone ON phone_codes (phone, created_at);
   CREATE INDEX phone_codes_ip ON phone_codes (ip, created_at);
   CREATE INDEX phone_codes_created ON phone_codes (created_at);
   ALTER TABLE users ADD COLUMN login_failures INT NOT NULL DEFAULT 0;
   ALTER TABLE users ADD COLUMN login_locked_until TIMESTAMPTZ;
   CREATE TABLE referral_codes (
     code TEXT PRIMARY KEY,
     user_id TEXT NOT NULL UNIQUE,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );`,
  // An order's count against the limits as one call that fails when a limit refuses (SQLSTATE
  // GPL01, the limit in the message, what is used of it in the detail), so that the statement
  // after it can be the COMMIT; and a new order without a module's or a referral's part recorded
  // in one statement (order, user origin, count), its own transaction: the limits' rows are then
  // locked only while the server runs it, never across a round trip to the relayer. The counts
  // are the statements of the former single count, in the same order (the shop's day, what it
  // owes, every shop's day), so concurrent orders lock the rows in one order as before.
  [
    `CREATE FUNCTION gp_count_order(p_shop TEXT, p_day TEXT, p_amount NUMERIC, p_per_order NUMERIC, p_per_day NUMERIC,
       p_outstanding NUMERIC, p_deployment_per_day NUMERIC, OUT day_total TEXT, OUT outstanding_total TEXT)
     LANGUAGE plpgsql AS $$
     DECLARE
       counted NUMERIC;
     BEGIN
       IF p_amount > p_per_order THEN
         RAISE EXCEPTION USING ERRCODE = 'GPL01', MESSAGE = 'perOrder', DETAIL = '0';
       END IF;
       INSERT INTO shop_daily_totals (shop_id, day, total) SELECT p_shop, p_day, p_amount WHERE p_amount <= p_per_day
         ON CONFLICT (shop_id, day) DO UPDATE SET total = shop_daily_totals.total + EXCLUDED.total
         WHERE shop_daily_totals.total + EXCLUDED.total <= p_per_day
         RETURNING total INTO counted;
       IF counted IS NULL THEN
         RAISE EXCEPTION USING ERRCODE = 'GPL01', MESSAGE = 'perDay',
           DETAIL = COALESCE((SELECT t.total FROM shop_daily_totals t WHERE t.shop_id = p_shop AND t.day = p_day), 0)::text;
       END IF;
       day_total := counted::text;
       counted := NULL;
       UPDATE shops SET outstanding = outstanding + p_amount WHERE id = p_shop AND outstanding + p_amount <= p_outstanding
         RETURNING outstanding INTO counted;
       IF counted IS NULL THEN
         RAISE EXCEPTION USING ERRCODE = 'GPL01', MESSAGE = 'outstanding',
           DETAIL = COALESCE((SELECT s.outstanding FROM shops s WHERE s.id = p_shop), 0)::text;
       END IF;
       outstanding_total := counted::text;
       counted := NULL;
       INSERT INTO daily_totals (day, total) SELECT p_day, p_amount WHERE p_amount <= p_deployment_per_day
         ON CONFLICT (day) DO UPDATE SET total = daily_totals.total + EXCLUDED.total
         WHERE daily_totals.total + EXCLUDED.total <= p_deployment_per_day
         RETURNING total INTO counted;
       IF counted IS NULL THEN
         RAISE EXCEPTION USING ERRCODE = 'GPL01', MESSAGE = 'deployment',
           DETAIL = COALESCE((SELECT t.total FROM daily_totals t WHERE t.day = p_day), 0)::text;
       END IF;
     END $$`,
    `CREATE FUNCTION gp_record_order(p_shop TEXT, p_order TEXT, p_user TEXT, p_referrer TEXT, p_amount NUMERIC, p_body_hash TEXT,
       p_chain_order_id TEXT, p_day TEXT, p_per_order NUMERIC, p_per_day NUMERIC, p_outstanding NUMERIC, p_deployment_per_day NUMERIC)
     RETURNS TABLE (day_total TEXT, outstanding_total TEXT)
     LANGUAGE plpgsql AS $$
     BEGIN
       INSERT INTO orders (shop_id, order_id, user_id, referrer_id, amount, body_hash, chain_order_id, state)
         VALUES (p_shop, p_order, p_user, p_referrer, p_amount, p_body_hash, p_chain_order_id, 'received')
         ON CONFLICT (shop_id, order_id) DO NOTHING;
       IF NOT FOUND THEN
         RETURN;
       END IF;
       INSERT INTO user_origins (user_id, shop_id) VALUES (p_user, p_shop) ON CONFLICT (user_id) DO NOTHING;
       RETURN QUERY SELECT c.day_total, c.outstanding_total
         FROM gp_count_order(p_shop, p_day, p_amount, p_per_order, p_per_day, p_outstanding, p_deployment_per_day) c;
     END $$`,
  ],
  // The pool's events as the relayer indexes them for the public page's history (server/services/
  // pool-indexer.ts): each with the pool's assets and supply after it, the blocks indexed and
  // their hashes (to notice a reorg and walk back to the last block the chain still has), and the
  // cursor: the last block indexed, its hash, and the pool's state after it.
  `CREATE TABLE pool_events (
     block_number BIGINT NOT NULL,
     log_index INT NOT NULL,
     block_hash TEXT NOT NULL,
     block_time BIGINT NOT NULL,
     tx_hash TEXT NOT NULL,
     name TEXT NOT NULL,
     order_key TEXT,
     orders INT,
     amount NUMERIC,
     contribution NUMERIC,
     points NUMERIC,
     gross NUMERIC,
     fee NUMERIC,
     payout NUMERIC,
     assets_after NUMERIC NOT NULL,
     supply_after NUMERIC NOT NULL,
     PRIMARY KEY (block_number, log_index)
   );
   CREATE INDEX pool_events_time ON pool_events (block_time);
   CREATE TABLE pool_index_blocks (
     block_number BIGINT PRIMARY KEY,
     block_hash TEXT NOT NULL,
     has_events BOOLEAN NOT NULL
   );
   CREATE TABLE pool_index_cursor (
     id INT PRIMARY KEY CHECK (id = 1),
     block_number BIGINT NOT NULL,
     block_hash TEXT NOT NULL,
     assets NUMERIC NOT NULL,
     supply NUMERIC NOT NULL,
     updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );`,
  // Staff who log in with a login id and a password (server/services/staff.ts): operators, and
  // merchants' owners and staff, each of one merchant. Logins are one namespace (one log-in
  // endpoint); a disabled account keeps its row (the audit log names it) and opens nothing.
  `CREATE TABLE staff (
     id TEXT PRIMARY KEY,
     login TEXT NOT NULL UNIQUE,
     role TEXT NOT NULL CHECK (role IN ('operator', 'owner', 'staff')),
     merchant_id TEXT REFERENCES merchants (id),
     password_hash TEXT NOT NULL,
     login_failures INT NOT NULL DEFAULT 0,
     login_locked_until TIMESTAMPTZ,
     created_by TEXT NOT NULL,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     disabled_at TIMESTAMPTZ,
     CHECK ((role = 'operator') = (merchant_id IS NULL))
   );
   CREATE INDEX staff_merchant ON staff (merchant_id, created_at);
   CREATE TABLE staff_sessions (
     token_hash TEXT PRIMARY KEY,
     staff_id TEXT NOT NULL REFERENCES staff (id),
     expires_at TIMESTAMPTZ NOT NULL,
     revoked_at TIMESTAMPTZ,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE INDEX staff_sessions_live ON staff_sessions (staff_id) WHERE revoked_at IS NULL;`,
  // A merchant the operator suspended (server/services/merchants.ts): no payments to it, no ad
  // orders naming it, until resumed; why, for the console and the audit log.
  `ALTER TABLE merchants ADD COLUMN suspended_at TIMESTAMPTZ;
   ALTER TABLE merchants ADD COLUMN suspension_reason TEXT;`,
  // The operator's dashboard and daily ledger (server/services/dashboard.ts) tell GP minted by
  // orders from those of ad conversions and grants by who paid in: each indexed pool event keeps
  // the address it names first (the paying shop or contract, the holder), and each OrdersSettled
  // the GP it minted (the supply it added, the first mint's locked GP included). An index built
  // before this has neither, so it is emptied here and the indexer walks the pool's events again
  // from the deployment (from the events alone: any node will do). Members and orders a day are
  // counted by time.
  `ALTER TABLE pool_events ADD COLUMN account TEXT;
   ALTER TABLE pool_events ADD COLUMN minted NUMERIC;
   DELETE FROM pool_events;
   DELETE FROM pool_index_blocks;
   DELETE FROM pool_index_cursor;
   CREATE INDEX users_created ON users (created_at);
   CREATE INDEX orders_created ON orders (created_at);`,
  // Signed notifications (server/services/notifications.ts): endpoints that shops and merchants
  // register, each with its secret (and the one it replaced, which signs too until
  // `previous_until`); a transactional outbox of events, written in the transaction of the change
  // each reports (`dedupe_key` keeps one event per change, even when a change is written again);
  // one delivery per event and endpoint, claimed with a lease by the relayer's round; each
  // attempt's outcome, the delivery log; and whether each merchant's ad credit was last seen below
  // the low mark (one ad_credit.low per fall below it, numbered by `crossings`).
  `CREATE TABLE notification_endpoints (
     id TEXT PRIMARY KEY,
     owner_kind TEXT NOT NULL CHECK (owner_kind IN ('shop', 'merchant')),
     owner_id TEXT NOT NULL,
     url TEXT NOT NULL,
     event_types TEXT NOT NULL,
     secret TEXT NOT NULL,
     previous_secret TEXT,
     previous_until TIMESTAMPTZ,
     disabled_at TIMESTAMPTZ,
     disabled_reason TEXT,
     created_by TEXT NOT NULL,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE INDEX notification_endpoints_owner ON notification_endpoints (owner_kind, owner_id, created_at);
   CREATE TABLE notification_events (
     id TEXT PRIMARY KEY,
     dedupe_key TEXT NOT NULL UNIQUE,
     type TEXT NOT NULL,
     owner_kind TEXT NOT NULL,
     owner_id TEXT NOT NULL,
     payload TEXT NOT NULL,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE TABLE notification_deliveries (
     id BIGSERIAL PRIMARY KEY,
     event_id TEXT NOT NULL REFERENCES notification_events (id),
     endpoint_id TEXT NOT NULL REFERENCES notification_endpoints (id),
     state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
     attempts INT NOT NULL DEFAULT 0,
     step INT NOT NULL DEFAULT 0,
     next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     leased_until TIMESTAMPTZ,
     last_status INT,
     delivered_at TIMESTAMPTZ,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     UNIQUE (event_id, endpoint_id)
   );
   CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE state = 'pending';
   CREATE INDEX notification_deliveries_endpoint ON notification_deliveries (endpoint_id, id);
   CREATE TABLE notification_attempts (
     delivery_id BIGINT NOT NULL REFERENCES notification_deliveries (id),
     attempt INT NOT NULL,
     started_at TIMESTAMPTZ NOT NULL,
     status INT,
     duration_ms INT NOT NULL,
     outcome TEXT NOT NULL,
     error TEXT,
     PRIMARY KEY (delivery_id, attempt)
   );
   CREATE TABLE ad_credit_watch (
     merchant_id TEXT PRIMARY KEY REFERENCES merchants (id),
     low BOOLEAN NOT NULL,
     crossings INT NOT NULL DEFAULT 0,
     updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );`,
  // Who pays, pending points and refunds (issue 18, docs/rules.md "Who pays, pending points and
  // refunds"). A shop's terms: its funding mode (`invoiced`: the platform's wallet pays, as before;
  // `prefunded`: the shop's deposits, Transfers from its registered payer address to the
  // platform's deposit address seen on the chain, pay), its pending window and its refund policy.
  // An order waits `pending` until `release_at` (the relayer's clock, unix seconds); `refunded` is
  // what the shop refunded of it, `contribution` what was paid into the pool for it (set when
  // sent), `cancelled` a pending order refunded whole. Each refund is kept once by its id.
  `ALTER TABLE shops ADD COLUMN funding TEXT NOT NULL DEFAULT 'invoiced' CHECK (funding IN ('invoiced', 'prefunded'));
   ALTER TABLE shops ADD COLUMN payer TEXT;
   ALTER TABLE shops ADD COLUMN pending_seconds INT NOT NULL DEFAULT 0 CHECK (pending_seconds BETWEEN 0 AND 7776000);
   ALTER TABLE shops ADD COLUMN refund_policy TEXT NOT NULL DEFAULT 'none' CHECK (refund_policy IN ('none', 'clawback'));
   ALTER TABLE orders DROP CONSTRAINT orders_state_check;
   ALTER TABLE orders ADD CONSTRAINT orders_state_check CHECK (state IN ('pending', 'received', 'submitted', 'confirmed', 'rejected', 'cancelled'));
   ALTER TABLE orders ADD COLUMN release_at BIGINT;
   ALTER TABLE orders ADD COLUMN refunded NUMERIC(78, 0) NOT NULL DEFAULT 0;
   ALTER TABLE orders ADD COLUMN contribution NUMERIC(78, 0);
   ALTER TABLE orders ADD COLUMN paid_by TEXT CHECK (paid_by IN ('platform', 'shop'));
   CREATE INDEX orders_pending ON orders (release_at) WHERE state = 'pending';
   CREATE TABLE shop_deposits (
     tx_hash TEXT NOT NULL,
     ordinal INT NOT NULL,
     shop_id TEXT NOT NULL REFERENCES shops (id),
     payer TEXT NOT NULL,
     amount NUMERIC(78, 0) NOT NULL,
     block_number BIGINT NOT NULL,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     PRIMARY KEY (tx_hash, ordinal)
   );
   CREATE INDEX shop_deposits_shop ON shop_deposits (shop_id, created_at);
   CREATE TABLE refunds (
     shop_id TEXT NOT NULL REFERENCES shops (id),
     refund_id TEXT NOT NULL,
     order_id TEXT NOT NULL,
     amount NUMERIC(78, 0) NOT NULL,
     body_hash TEXT NOT NULL,
     outcome TEXT NOT NULL CHECK (outcome IN ('reduced', 'cancelled', 'kept', 'clawback')),
     clawback NUMERIC(78, 0) NOT NULL DEFAULT 0,
     spent NUMERIC(78, 0) NOT NULL DEFAULT 0,
     operation_id TEXT REFERENCES operations (id),
     created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     PRIMARY KEY (shop_id, refund_id),
     FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, order_id)
   );
   CREATE INDEX refunds_order ON refunds (shop_id, order_id);`,
];

const MIGRATION_LOCK = 7_236_842;

/** A migration's statements, one by one. */
function statementsOf(entry: string | readonly string[]): readonly string[] {
  return typeof entry === "string"
    ? entry
        .split(/;\s*$/m)
        .map((s) => s.trim())
        .filter(Boolean)
    : entry;
}

/** The version of the first migration whose text contains `marker` (for tests that undo one migration and run it again). */
export function migrationVersionOf(marker: string): number {
  const index = MIGRATIONS.findIndex((entry) => statementsOf(entry).some((statement) => statement.includes(marker)));
  if (index < 0) throw new Error(`no migration contains ${marker}`);
  return index + 1;
}

/** Runs migration `version` alone again, in a transaction (tests only: the schema must be as before it). */
export async function rerunMigration(db: Db, version: number): Promise<void> {
  await db.transaction(async (tx) => {
    for (const statement of statementsOf(MIGRATIONS[version - 1])) await tx.query(statement);
  });
}

export async function migrate(db: Db): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await tx.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
    const [{ version }] = await tx.query<{ version: number | null }>("SELECT max(version) AS version FROM schema_migrations");
    const current = version ?? 0;
    for (let v = current; v < MIGRATIONS.length; v++) {
      for (const statement of statementsOf(MIGRATIONS[v])) await tx.query(statement);
      await tx.query("INSERT INTO schema_migrations (version) VALUES ($1)", [v + 1]);
    }
    return MIGRATIONS.length;
  });
}

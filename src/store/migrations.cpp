#include "store/migrations.h"

#include <string_view>

namespace loyalty::store {

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "core ledger", R"SQL(
CREATE TABLE programs (
  id {ID},
  name TEXT NOT NULL,
  currency TEXT NOT NULL,
  timezone TEXT NOT NULL,
  points_name TEXT NOT NULL,
  point_value_minor {INT} NOT NULL,
  point_value_points {INT} NOT NULL,
  negative_balance TEXT NOT NULL,
  transfers_enabled {INT} NOT NULL,
  transfer_min_points {INT} NOT NULL,
  transfer_max_points {INT} NOT NULL,
  transfer_daily_limit_points {INT} NOT NULL,
  created_at {INT} NOT NULL,
  updated_at {INT} NOT NULL
  {PROGRAM_KEY}
);
CREATE TABLE api_keys (
  id {ID},
  program_id {INT} NOT NULL,
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  key_hash TEXT NOT NULL,
  scopes TEXT NOT NULL,
  created_at {INT} NOT NULL,
  revoked_at {INT},
  {KEY} (program_id, id)
);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (key_hash);
CREATE TABLE members (
  id {ID},
  program_id {INT} NOT NULL,
  external_id TEXT NOT NULL,
  email TEXT NOT NULL,
  first_name TEXT NOT NULL,
  last_name TEXT NOT NULL,
  birthday TEXT,
  attributes TEXT NOT NULL,
  consent_email {INT},
  consent_sms {INT},
  consent_push {INT},
  status TEXT NOT NULL,
  created_at {INT} NOT NULL,
  updated_at {INT} NOT NULL,
  {KEY} (program_id, id)
);
CREATE UNIQUE INDEX members_external_id ON members (program_id, external_id);
CREATE INDEX members_email ON members (program_id, email, id);
CREATE TABLE balances (
  program_id {INT} NOT NULL,
  member_id {INT} NOT NULL,
  available {INT} NOT NULL,
  pending {INT} NOT NULL,
  lifetime_earned {INT} NOT NULL,
  lifetime_spent {INT} NOT NULL,
  expired {INT} NOT NULL,
  adjusted {INT} NOT NULL,
  transferred_net {INT} NOT NULL,
  next_due_at {INT},
  PRIMARY KEY (program_id, member_id)
){WITHOUT_ROWID};
CREATE INDEX balances_next_due ON balances (next_due_at) WHERE next_due_at IS NOT NULL;
CREATE TABLE postings (
  id {ID},
  program_id {INT} NOT NULL,
  member_id {INT} NOT NULL,
  counterparty_id {INT},
  kind TEXT NOT NULL,
  reason TEXT NOT NULL,
  source TEXT NOT NULL,
  reason_code TEXT NOT NULL,
  actor TEXT NOT NULL,
  reverses_id {INT},
  created_at {INT} NOT NULL{POSTINGS_KEY}
);
{PG}CREATE UNIQUE INDEX postings_by_id ON postings (program_id, id);
CREATE UNIQUE INDEX postings_one_reversal ON postings (program_id, reverses_id)
  WHERE reverses_id IS NOT NULL;
CREATE TABLE entries (
  program_id {INT} NOT NULL,
  member_id {INT} NOT NULL,
  posting_id {INT} NOT NULL,
  seq {INT} NOT NULL,
  account {INT} NOT NULL,
  lot_id {INT},
  amount {INT} NOT NULL,
  PRIMARY KEY (program_id, member_id, posting_id, seq)
){WITHOUT_ROWID};
CREATE TABLE lots (
  id {ID},
  program_id {INT} NOT NULL,
  member_id {INT} NOT NULL,
  posting_id {INT} NOT NULL,
  original {INT} NOT NULL,
  remaining {INT} NOT NULL,
  pending {INT} NOT NULL,
  created_at {INT} NOT NULL,
  available_at {INT},
  expires_at {INT},
  {KEY} (program_id, member_id, id)
);
CREATE INDEX lots_open ON lots (program_id, member_id, id) WHERE remaining > 0;
CREATE TABLE idempotency_keys (
  program_id {INT} NOT NULL,
  idem_key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  status_code {INT} NOT NULL,
  response TEXT NOT NULL,
  created_at {INT} NOT NULL,
  PRIMARY KEY (program_id, idem_key)
){WITHOUT_ROWID};
)SQL"},
      {2, "program configuration versions", R"SQL(
CREATE TABLE program_configs (
  program_id {INT} NOT NULL,
  version {INT} NOT NULL,
  format TEXT NOT NULL,
  document TEXT NOT NULL,
  canonical_json TEXT NOT NULL,
  created_at {INT} NOT NULL,
  actor TEXT NOT NULL,
  PRIMARY KEY (program_id, version)
);
ALTER TABLE postings ADD COLUMN config_version {INT};
)SQL"},
      {3, "orders", R"SQL(
CREATE TABLE orders (
  id {ID},
  program_id {INT} NOT NULL,
  external_id TEXT NOT NULL,
  member_id {INT},
  customer_external_id TEXT NOT NULL,
  customer_email TEXT NOT NULL,
  currency TEXT NOT NULL,
  channel TEXT NOT NULL,
  attributes TEXT NOT NULL,
  placed_at {INT} NOT NULL,
  subtotal_minor {INT} NOT NULL,
  items_discount_minor {INT} NOT NULL,
  discount_minor {INT} NOT NULL,
  shipping_minor {INT} NOT NULL,
  tax_minor {INT} NOT NULL,
  total_minor {INT} NOT NULL,
  refunded_minor {INT} NOT NULL,
  status TEXT NOT NULL,
  paid_at {INT},
  shipped_at {INT},
  delivered_at {INT},
  cancelled_at {INT},
  returned_at {INT},
  carrier TEXT NOT NULL,
  tracking_number TEXT NOT NULL,
  promised_delivery_date TEXT,
  delivered_on_time {INT},
  points_earned {INT} NOT NULL,
  points_reversed {INT} NOT NULL,
  points_written_off {INT} NOT NULL,
  earn_posting_id {INT},
  earn_lot_id {INT},
  vests_at {INT},
  config_version {INT} NOT NULL,
  request_fingerprint TEXT NOT NULL,
  events_count {INT} NOT NULL,
  created_at {INT} NOT NULL,
  updated_at {INT} NOT NULL,
  {KEY} (program_id, id)
);
CREATE UNIQUE INDEX orders_external_id ON orders (program_id, external_id);
CREATE INDEX orders_member ON orders (program_id, member_id, id) WHERE member_id IS NOT NULL;
CREATE INDEX orders_guest_customer ON orders (program_id, customer_external_id)
  WHERE member_id IS NULL;
CREATE INDEX orders_guest_email ON orders (program_id, customer_email) WHERE member_id IS NULL;
CREATE INDEX orders_delivered ON orders (program_id, delivered_at) WHERE delivered_at IS NOT NULL;
CREATE TABLE order_items (
  program_id {INT} NOT NULL,
  order_id {INT} NOT NULL,
  line {INT} NOT NULL,
  sku TEXT NOT NULL,
  name TEXT NOT NULL,
  category TEXT NOT NULL,
  quantity {INT} NOT NULL,
  unit_price_minor {INT} NOT NULL,
  discount_minor {INT} NOT NULL,
  attributes TEXT NOT NULL,
  refunded_quantity {INT} NOT NULL,
  refunded_minor {INT} NOT NULL,
  points {INT} NOT NULL,
  points_reversed {INT} NOT NULL,
  PRIMARY KEY (program_id, order_id, line)
){WITHOUT_ROWID};
CREATE TABLE order_events (
  program_id {INT} NOT NULL,
  order_id {INT} NOT NULL,
  seq {INT} NOT NULL,
  type TEXT NOT NULL,
  event_id TEXT,
  occurred_at {INT} NOT NULL,
  recorded_at {INT} NOT NULL,
  details TEXT NOT NULL,
  PRIMARY KEY (program_id, order_id, seq)
){WITHOUT_ROWID};
CREATE UNIQUE INDEX order_events_event_id ON order_events (program_id, order_id, event_id)
  WHERE event_id IS NOT NULL;
ALTER TABLE postings ADD COLUMN order_id {INT};
)SQL"},
      {4, "earn-rule usage counters and custom events", R"SQL(
CREATE TABLE rule_usage (
  program_id {INT} NOT NULL,
  member_id {INT} NOT NULL,
  rule_id TEXT NOT NULL,
  period_key TEXT NOT NULL,
  distinct_key TEXT NOT NULL,
  awards {INT} NOT NULL,
  points {INT} NOT NULL,
  PRIMARY KEY (program_id, member_id, rule_id, period_key, distinct_key)
){WITHOUT_ROWID};
CREATE TABLE member_events (
  id {ID},
  program_id {INT} NOT NULL,
  member_id {INT} NOT NULL,
  external_id TEXT NOT NULL,
  type TEXT NOT NULL,
  attributes TEXT NOT NULL,
  occurred_at {INT} NOT NULL,
  created_at {INT} NOT NULL,
  points {INT} NOT NULL,
  posting_id {INT},
  awards TEXT NOT NULL,
  {KEY} (program_id, member_id, id)
);
CREATE UNIQUE INDEX member_events_external_id ON member_events (program_id, external_id);
)SQL"},
      {5, "jobs, leases and outbox", R"SQL(
CREATE TABLE outbox_events (
  id {ID},
  program_id {INT} NOT NULL,
  member_id {INT},
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at {INT} NOT NULL,
  delivered_at {INT},
  {KEY} (program_id, id)
);
CREATE TABLE job_marks (
  program_id {INT} NOT NULL,
  member_id {INT} NOT NULL,
  job TEXT NOT NULL,
  period_key TEXT NOT NULL,
  done_at {INT} NOT NULL,
  PRIMARY KEY (program_id, member_id, job, period_key)
){WITHOUT_ROWID};
CREATE TABLE job_state (
  program_id {INT} NOT NULL,
  job TEXT NOT NULL,
  last_completed_key TEXT NOT NULL,
  last_run_by TEXT NOT NULL,
  last_run_at {INT} NOT NULL,
  PRIMARY KEY (program_id, job)
){WITHOUT_ROWID};
ALTER TABLE balances ADD COLUMN rolling_expires_at {INT};
CREATE INDEX members_birthday_md ON members (program_id, (substr(birthday, 6, 5)))
  WHERE birthday IS NOT NULL;
CREATE INDEX members_enrolled ON members (program_id, created_at);
CREATE INDEX lots_expiring ON lots (program_id, expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX balances_rolling ON balances (program_id, rolling_expires_at)
  WHERE rolling_expires_at IS NOT NULL;
)SQL"},
      // Tiers (docs/tiers.md): each member's tier, the month buckets of the
      // tier metric (so windows never recount orders), and the history of changes.
      {6, "member tiers", R"SQL(
CREATE TABLE member_tiers (
  program_id {INT} NOT NULL,
  member_id {INT} NOT NULL,
  tier_id TEXT NOT NULL,
  since {INT} NOT NULL,
  guaranteed_until {INT},
  source TEXT NOT NULL,
  manual_expires_at {INT},
  manual_reason TEXT NOT NULL,
  actor TEXT NOT NULL,
  evaluated_through {INT},
  updated_at {INT} NOT NULL,
  PRIMARY KEY (program_id, member_id)
){WITHOUT_ROWID};
CREATE TABLE tier_metric_buckets (
  program_id {INT} NOT NULL,
  member_id {INT} NOT NULL,
  month {INT} NOT NULL,
  spend_minor {INT} NOT NULL,
  points {INT} NOT NULL,
  orders {INT} NOT NULL,
  PRIMARY KEY (program_id, member_id, month)
){WITHOUT_ROWID};
CREATE TABLE tier_history (
  id {ID},
  program_id {INT} NOT NULL,
  member_id {INT} NOT NULL,
  kind TEXT NOT NULL,
  from_tier TEXT NOT NULL,
  to_tier TEXT NOT NULL,
  metric_value {INT} NOT NULL,
  guaranteed_until {INT},
  reason TEXT NOT NULL,
  actor TEXT NOT NULL,
  occurred_at {INT} NOT NULL,
  {KEY} (program_id, member_id, id)
);
)SQL"},
      // Member order statistics for the rules (member.orders_count,
      // member.total_spent): kept by StoreSession::add_member_order_stats as
      // orders change; backfilled here from the orders already stored, with the
      // definition of member_order_stats (domain/order.h).
      {9, "member order statistics", R"SQL(
ALTER TABLE members ADD COLUMN orders_count {INT} NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN total_spent_minor {INT} NOT NULL DEFAULT 0;
UPDATE members SET
  orders_count = (SELECT COUNT(*) FROM orders o
    WHERE o.program_id = members.program_id AND o.member_id = members.id
      AND o.paid_at IS NOT NULL AND o.status NOT IN ('cancelled', 'returned')),
  total_spent_minor = (SELECT COALESCE(SUM(o.total_minor - o.refunded_minor), 0) FROM orders o
    WHERE o.program_id = members.program_id AND o.member_id = members.id
      AND o.paid_at IS NOT NULL AND o.status NOT IN ('cancelled', 'returned'))
  WHERE EXISTS (SELECT 1 FROM orders o
    WHERE o.program_id = members.program_id AND o.member_id = members.id);
)SQL"},
      // SQLite: one B-tree per member's lots instead of two. A credit writes a
      // lot to a random place in every index keyed by member; the table's
      // UNIQUE (program_id, member_id, id) and lots_open held the same keys.
      // One index keyed by (member, open, id) serves both open_lots (the open
      // half) and list_lots; the table is rebuilt to lose the UNIQUE. One
      // page write fewer per credit (docs/performance.md). PostgreSQL keeps its
      // primary key (program_id, member_id, id) and lots_open.
      {11, "one member index on lots (SQLite)", R"SQL(
{SQLITE}CREATE TABLE lots_rebuilt (
{SQLITE}  id INTEGER PRIMARY KEY,
{SQLITE}  program_id INTEGER NOT NULL,
{SQLITE}  member_id INTEGER NOT NULL,
{SQLITE}  posting_id INTEGER NOT NULL,
{SQLITE}  original INTEGER NOT NULL,
{SQLITE}  remaining INTEGER NOT NULL,
{SQLITE}  pending INTEGER NOT NULL,
{SQLITE}  created_at INTEGER NOT NULL,
{SQLITE}  available_at INTEGER,
{SQLITE}  expires_at INTEGER
{SQLITE});
{SQLITE}INSERT INTO lots_rebuilt (id, program_id, member_id, posting_id, original, remaining,
{SQLITE}  pending, created_at, available_at, expires_at)
{SQLITE}  SELECT id, program_id, member_id, posting_id, original, remaining, pending, created_at,
{SQLITE}  available_at, expires_at FROM lots;
{SQLITE}DROP TABLE lots;
{SQLITE}ALTER TABLE lots_rebuilt RENAME TO lots;
{SQLITE}CREATE INDEX lots_member ON lots (program_id, member_id, remaining > 0, id);
{SQLITE}CREATE INDEX lots_expiring ON lots (program_id, expires_at) WHERE expires_at IS NOT NULL;
)SQL"},
      // The tier job (docs/tiers.md) stores manual tiers whose expiry passed:
      // found without scanning every member's tier.
      {12, "manual tier expiry index", R"SQL(
CREATE INDEX member_tiers_manual_expiry ON member_tiers (program_id, manual_expires_at)
  WHERE source = 'manual';
)SQL"},
      // VIP (docs/tiers.md, "VIP"): the account manager of each member an
      // admin assigned an invite-only tier; listed per manager.
      {13, "vip members", R"SQL(
CREATE TABLE vip_members (
  program_id {INT} NOT NULL,
  member_id {INT} NOT NULL,
  tier_id TEXT NOT NULL,
  manager_key TEXT NOT NULL,
  manager_name TEXT NOT NULL,
  manager_email TEXT NOT NULL,
  manager_admin_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  actor TEXT NOT NULL,
  assigned_at {INT} NOT NULL,
  PRIMARY KEY (program_id, member_id)
){WITHOUT_ROWID};
CREATE INDEX vip_members_manager ON vip_members (program_id, manager_key, member_id);
)SQL"},
      // Rewards, redemptions and coupons (docs/rewards.md). reward_stock holds
      // the units of each reward taken by redemptions not cancelled: a stock
      // check and its increment are one conditional UPDATE (row-locked on
      // PostgreSQL). Coupons keep only the SHA-256 of their code.
      {14, "rewards, redemptions and coupons", R"SQL(
CREATE TABLE reward_stock (
  program_id {INT} NOT NULL,
  reward_id TEXT NOT NULL,
  taken {INT} NOT NULL,
  PRIMARY KEY (program_id, reward_id)
){WITHOUT_ROWID};
CREATE TABLE redemptions (
  id {ID},
  program_id {INT} NOT NULL,
  member_id {INT} NOT NULL,
  reward_id TEXT NOT NULL,
  reward_type TEXT NOT NULL,
  reward_name TEXT NOT NULL,
  points {INT} NOT NULL,
  amount_minor {INT} NOT NULL,
  cause_id TEXT NOT NULL,
  cause_name TEXT NOT NULL,
  posting_id {INT} NOT NULL,
  reversal_id {INT},
  status TEXT NOT NULL,
  period_key TEXT NOT NULL,
  coupon_id {INT},
  took_stock {INT} NOT NULL,
  config_version {INT} NOT NULL,
  created_at {INT} NOT NULL,
  cancelled_at {INT},
  {KEY} (program_id, member_id, id)
);
CREATE INDEX redemptions_usage ON redemptions (program_id, member_id, reward_id, period_key);
CREATE INDEX redemptions_cause ON redemptions (program_id, cause_id, created_at)
  WHERE cause_id <> '';
CREATE TABLE coupons (
  id {ID},
  program_id {INT} NOT NULL,
  member_id {INT} NOT NULL,
  redemption_id {INT} NOT NULL,
  code_hash TEXT NOT NULL,
  code_hint TEXT NOT NULL,
  reward_id TEXT NOT NULL,
  reward_type TEXT NOT NULL,
  amount_minor {INT} NOT NULL,
  percent {INT} NOT NULL,
  max_discount_minor {INT} NOT NULL,
  min_order_minor {INT} NOT NULL,
  sku TEXT NOT NULL,
  status TEXT NOT NULL,
  order_ref TEXT NOT NULL,
  release_on_cancel {INT} NOT NULL,
  expires_at {INT},
  created_at {INT} NOT NULL,
  consumed_at {INT},
  {KEY} (program_id, id)
);
CREATE UNIQUE INDEX coupons_code ON coupons (code_hash);
CREATE INDEX coupons_order ON coupons (program_id, order_ref) WHERE order_ref <> '';
)SQL"},
      // Points at checkout (docs/checkout.md, docs/ledger.md): the member
      // account `held` materialized in balances, the holds, and what each
      // hold took from each lot (so a release restores the same lots).
      {15, "checkout holds", R"SQL(
ALTER TABLE balances ADD COLUMN held {INT} NOT NULL DEFAULT 0;
CREATE TABLE holds (
  id {ID},
  program_id {INT} NOT NULL,
  member_id {INT} NOT NULL,
  status TEXT NOT NULL,
  points {INT} NOT NULL,
  amount_minor {INT} NOT NULL,
  currency TEXT NOT NULL,
  order_total_minor {INT} NOT NULL,
  order_external_id TEXT NOT NULL,
  capture_on_paid {INT} NOT NULL,
  captured {INT} NOT NULL,
  refunded {INT} NOT NULL,
  hold_posting_id {INT} NOT NULL,
  settle_posting_id {INT},
  created_at {INT} NOT NULL,
  expires_at {INT} NOT NULL,
  settled_at {INT},
  actor TEXT NOT NULL,
  {KEY} (program_id, id)
);
CREATE INDEX holds_member ON holds (program_id, member_id, id);
CREATE INDEX holds_open_expiry ON holds (expires_at) WHERE status = 'open';
CREATE INDEX holds_order ON holds (program_id, order_external_id);
CREATE TABLE hold_lots (
  program_id {INT} NOT NULL,
  hold_id {INT} NOT NULL,
  seq {INT} NOT NULL,
  lot_id {INT} NOT NULL,
  held {INT} NOT NULL,
  captured {INT} NOT NULL,
  refunded {INT} NOT NULL,
  PRIMARY KEY (program_id, hold_id, seq)
){WITHOUT_ROWID};
)SQL"},
      // Paid membership (docs/tiers.md, "Paid membership"): each member's plan
      // and paid period, and every reported payment (the history of periods,
      // idempotent on the merchant's payment id). next_action_at: when the
      // paid_memberships job next owes a reminder or a lapse.
      {16, "paid memberships", R"SQL(
CREATE TABLE paid_memberships (
  program_id {INT} NOT NULL,
  member_id {INT} NOT NULL,
  plan_id TEXT NOT NULL,
  period_start {INT} NOT NULL,
  period_end {INT} NOT NULL,
  cancelled_at {INT},
  reminded_through {INT},
  lapsed_at {INT},
  next_action_at {INT},
  updated_at {INT} NOT NULL,
  PRIMARY KEY (program_id, member_id)
){WITHOUT_ROWID};
CREATE INDEX paid_memberships_due ON paid_memberships (program_id, next_action_at)
  WHERE next_action_at IS NOT NULL;
CREATE TABLE paid_membership_payments (
  id {ID},
  program_id {INT} NOT NULL,
  member_id {INT} NOT NULL,
  plan_id TEXT NOT NULL,
  external_payment_id TEXT NOT NULL,
  period_start {INT} NOT NULL,
  period_end {INT} NOT NULL,
  amount_minor {INT} NOT NULL,
  currency TEXT NOT NULL,
  recorded_at {INT} NOT NULL,
  {KEY} (program_id, member_id, id)
);
CREATE UNIQUE INDEX paid_membership_payments_external
  ON paid_membership_payments (program_id, external_payment_id);
)SQL"},
      {17, "referrals", R"SQL(
CREATE TABLE referral_codes (
  program_id {INT} NOT NULL,
  member_id {INT} NOT NULL,
  code TEXT NOT NULL,
  active {INT} NOT NULL,
  created_at {INT} NOT NULL,
  PRIMARY KEY (program_id, member_id)
){WITHOUT_ROWID};
CREATE UNIQUE INDEX referral_codes_code ON referral_codes (program_id, code);
CREATE TABLE referral_invitations (
  id {ID},
  program_id {INT} NOT NULL,
  member_id {INT} NOT NULL,
  email TEXT NOT NULL,
  created_at {INT} NOT NULL,
  {KEY} (program_id, id)
);
CREATE UNIQUE INDEX referral_invitations_email ON referral_invitations (program_id, member_id, email);
CREATE TABLE referrals (
  id {ID},
  program_id {INT} NOT NULL,
  referrer_id {INT} NOT NULL,
  referee_id {INT} NOT NULL,
  code TEXT NOT NULL,
  status TEXT NOT NULL,
  findings TEXT NOT NULL,
  decision_reason TEXT NOT NULL,
  order_external_id TEXT,
  order_value_minor {INT} NOT NULL,
  referrer_points {INT} NOT NULL,
  referee_points {INT} NOT NULL,
  referrer_skip TEXT NOT NULL,
  referee_skip TEXT NOT NULL,
  welcome_paid {INT} NOT NULL,
  created_at {INT} NOT NULL,
  updated_at {INT} NOT NULL,
  actor TEXT NOT NULL,
  {KEY} (program_id, id)
);
CREATE UNIQUE INDEX referrals_referee ON referrals (program_id, referee_id);
CREATE INDEX referrals_referrer ON referrals (program_id, referrer_id, id);
CREATE INDEX referrals_code_time ON referrals (program_id, code, created_at);
CREATE TABLE referral_signals (
  program_id {INT} NOT NULL,
  member_id {INT} NOT NULL,
  shipping_hash TEXT NOT NULL,
  payment_hash TEXT NOT NULL,
  device_hash TEXT NOT NULL,
  ip_hash TEXT NOT NULL,
  updated_at {INT} NOT NULL,
  PRIMARY KEY (program_id, member_id)
){WITHOUT_ROWID};
CREATE TABLE referral_usage (
  program_id {INT} NOT NULL,
  scope_id {INT} NOT NULL,
  period TEXT NOT NULL,
  rewards {INT} NOT NULL,
  points {INT} NOT NULL,
  PRIMARY KEY (program_id, scope_id, period)
){WITHOUT_ROWID};
)SQL"},
      // Referrals in the engine (docs/referrals.md): when a referral is due,
      // the rewards' postings, an optimistic version, look-ups by state and by
      // an invitation's email.
      {18, "referral_engine", R"SQL(
ALTER TABLE referrals ADD COLUMN due_at {INT};
ALTER TABLE referrals ADD COLUMN referrer_posting_id {INT} NOT NULL DEFAULT 0;
ALTER TABLE referrals ADD COLUMN referee_posting_id {INT} NOT NULL DEFAULT 0;
ALTER TABLE referrals ADD COLUMN clawed_back {INT} NOT NULL DEFAULT 0;
ALTER TABLE referrals ADD COLUMN version {INT} NOT NULL DEFAULT 0;
CREATE INDEX referrals_status ON referrals (program_id, status, due_at);
CREATE INDEX referral_invitations_by_email ON referral_invitations (program_id, email, id);
)SQL"},
      // Gift cards (docs/gift-cards.md).
      // Codes are stored as a lookup digest (unique across programs)
      // and a 4-character hint; PINs as a digest salted by the code. Money in
      // minor units: balance_minor is what the card can still pay (not held).
      {19, "gift cards", R"SQL(
CREATE TABLE gift_cards (
  id {ID},
  program_id {INT} NOT NULL,
  code_hash TEXT NOT NULL,
  code_hint TEXT NOT NULL,
  pin_hash TEXT NOT NULL,
  kind TEXT NOT NULL,
  source TEXT NOT NULL,
  source_ref TEXT NOT NULL,
  member_id {INT},
  status TEXT NOT NULL,
  currency TEXT NOT NULL,
  initial_minor {INT} NOT NULL,
  balance_minor {INT} NOT NULL,
  held_minor {INT} NOT NULL,
  recipient_email TEXT NOT NULL,
  message TEXT NOT NULL,
  expires_at {INT},
  created_at {INT} NOT NULL,
  activated_at {INT},
  actor TEXT NOT NULL,
  {KEY} (program_id, id)
);
CREATE UNIQUE INDEX gift_cards_code ON gift_cards (code_hash);
CREATE INDEX gift_cards_member ON gift_cards (program_id, member_id) WHERE member_id IS NOT NULL;
CREATE TABLE gift_card_holds (
  id {ID},
  program_id {INT} NOT NULL,
  gift_card_id {INT} NOT NULL,
  status TEXT NOT NULL,
  amount_minor {INT} NOT NULL,
  captured_minor {INT} NOT NULL,
  order_ref TEXT NOT NULL,
  created_at {INT} NOT NULL,
  expires_at {INT} NOT NULL,
  settled_at {INT},
  actor TEXT NOT NULL,
  {KEY} (program_id, id)
);
CREATE INDEX gift_card_holds_card ON gift_card_holds (program_id, gift_card_id, id);
CREATE INDEX gift_card_holds_open_expiry ON gift_card_holds (expires_at) WHERE status = 'open';
CREATE INDEX gift_card_holds_order ON gift_card_holds (program_id, order_ref);
CREATE TABLE gift_card_transactions (
  id {ID},
  program_id {INT} NOT NULL,
  gift_card_id {INT} NOT NULL,
  kind TEXT NOT NULL,
  amount_minor {INT} NOT NULL,
  balance_after_minor {INT} NOT NULL,
  held_after_minor {INT} NOT NULL,
  hold_id {INT},
  order_ref TEXT NOT NULL,
  created_at {INT} NOT NULL,
  actor TEXT NOT NULL,
  {KEY} (program_id, id)
);
CREATE INDEX gift_card_transactions_card ON gift_card_transactions (program_id, gift_card_id, id);
CREATE TABLE gift_card_attempts (
  program_id {INT} NOT NULL,
  scope TEXT NOT NULL,
  subject_id {INT} NOT NULL,
  window_start {INT} NOT NULL,
  failures {INT} NOT NULL,
  PRIMARY KEY (program_id, scope, subject_id, window_start)
){WITHOUT_ROWID};
)SQL"},
      // Gifts (docs/gifting.md): points or a redeemed reward's coupon a member
      // sends to an email. The claim token is stored as its digest only.
      // `lots`: what a gift of points took from each of the giver's lots,
      // "LOT:POINTS:EXPIRES_AT" joined by ',' (EXPIRES_AT empty = never).
      {20, "gifts", R"SQL(
CREATE TABLE gifts (
  id {ID},
  program_id {INT} NOT NULL,
  giver_id {INT} NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  points {INT} NOT NULL,
  redemption_id {INT},
  coupon_id {INT},
  recipient_email TEXT NOT NULL,
  recipient_key TEXT NOT NULL,
  message TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  recipient_id {INT},
  period_key TEXT NOT NULL,
  lots TEXT NOT NULL,
  send_posting_id {INT},
  settle_posting_id {INT},
  expired_points {INT} NOT NULL,
  created_at {INT} NOT NULL,
  expires_at {INT} NOT NULL,
  settled_at {INT},
  actor TEXT NOT NULL,
  {KEY} (program_id, id)
);
CREATE UNIQUE INDEX gifts_token ON gifts (token_hash);
CREATE INDEX gifts_giver ON gifts (program_id, giver_id, period_key);
CREATE INDEX gifts_recipient ON gifts (program_id, recipient_id) WHERE recipient_id IS NOT NULL;
CREATE INDEX gifts_pending_email ON gifts (program_id, recipient_key) WHERE status = 'pending';
CREATE INDEX gifts_pending_expiry ON gifts (program_id, expires_at) WHERE status = 'pending';
)SQL"},
      // Gift card holds captured when their order is paid, and the money an
      // order's refund gave back to the card after a capture (docs/gift-cards.md).
      {21, "gift card refunds", R"SQL(
ALTER TABLE gift_card_holds ADD COLUMN capture_on_paid {INT} NOT NULL DEFAULT 0;
ALTER TABLE gift_card_holds ADD COLUMN refunded_minor {INT} NOT NULL DEFAULT 0;
)SQL"},
      // SQLite: the member index on lots no longer holds `remaining > 0`.
      // Keyed on openness, every lot a debit or an expiry empties moved in the
      // index (a delete and an insert, ~10k instructions per lot: a quarter of
      // the expiry job, docs/performance.md "Expiry job: under 30 s"); keyed
      // on (program, member, id) it never moves after the lot is written.
      // Reading a member's open lots now also passes its spent ones.
      {22, "lots member index without openness (SQLite)", R"SQL(
{SQLITE}DROP INDEX lots_member;
{SQLITE}CREATE INDEX lots_member ON lots (program_id, member_id, id);
)SQL"},
      // A version per balance row, added to by every write to the member's
      // balance or lots: the scheduler plans expiries from a reader's snapshot
      // and the writer applies a plan only if the version did not move
      // (StoreSession::apply_plan_if_version).
      {23, "balance versions", R"SQL(
ALTER TABLE balances ADD COLUMN version {INT} NOT NULL DEFAULT 0;
)SQL"},
  };
  return kMigrations;
}

namespace {
void replace_all(std::string& s, const std::string& from, const std::string& to) {
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
}
}  // namespace

std::string render_migration(const Migration& m, Dialect dialect) {
  bool pg = dialect == Dialect::kPostgres;
  // Lines starting with {PG} exist only on PostgreSQL (on SQLite the rowid
  // already is the index they would add), lines starting with {SQLITE} only on
  // SQLite.
  std::string sql;
  std::string_view text = m.sql;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end == std::string_view::npos ? text.size() : end + 1);
    text.remove_prefix(line.size());
    if (line.starts_with("{PG}")) {
      if (pg) sql += line.substr(4);
    } else if (line.starts_with("{SQLITE}")) {
      if (!pg) sql += line.substr(8);
    } else {
      sql += line;
    }
  }
  replace_all(sql, "{ID}", pg ? "BIGINT GENERATED BY DEFAULT AS IDENTITY" : "INTEGER PRIMARY KEY");
  replace_all(sql, "{PROGRAM_KEY}", pg ? ", PRIMARY KEY (id)" : "");
  // SQLite needs no composite key on postings: every query finds a posting by
  // its rowid or through entries; one index fewer on the hottest insert.
  replace_all(sql, "{POSTINGS_KEY}", pg ? ",\n  PRIMARY KEY (program_id, member_id, id)" : "");
  replace_all(sql, "{KEY}", pg ? "PRIMARY KEY" : "UNIQUE");
  replace_all(sql, "{INT}", pg ? "BIGINT" : "INTEGER");
  replace_all(sql, "{WITHOUT_ROWID}", pg ? "" : " WITHOUT ROWID");
  return sql;
}

}  // namespace loyalty::store

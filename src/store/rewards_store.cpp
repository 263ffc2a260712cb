// RewardStore: reward stock, redemptions and coupons (migration 14).
#include "store/rewards_store.h"

#include <cstdint>

#include "common/assert.h"
#include "store/sql_helpers.h"

namespace loyalty::store {
namespace {

using detail::insert_returning_id;
using detail::instant_value;
using detail::opt_instant;

constexpr const char* kRedemptionColumns =
    "id, program_id, member_id, reward_id, reward_type, reward_name, points, amount_minor, "
    "cause_id, cause_name, posting_id, reversal_id, status, period_key, coupon_id, "
    "config_version, created_at, cancelled_at, took_stock";

constexpr const char* kCouponColumns =
    "id, program_id, member_id, redemption_id, code_hash, code_hint, reward_id, reward_type, "
    "amount_minor, percent, max_discount_minor, min_order_minor, sku, status, order_ref, "
    "release_on_cancel, expires_at, created_at, consumed_at";

// Rows hold only what the store wrote; an unknown enum text is a corrupted row.
struct BadText {
  std::optional<std::string> text;
  Status status(const char* column) const {
    if (!text) return {};
    return Status(ErrorCode::kInternal, std::string(column) + " holds '" + *text + "'");
  }
};

Redemption read_redemption(const Row& r, BadText& bad) {
  Redemption d;
  d.id = RedemptionId{r.get_int(0)};
  d.program_id = ProgramId{r.get_int(1)};
  d.member_id = MemberId{r.get_int(2)};
  d.reward_id = std::string(r.get_text(3));
  auto type = parse_reward_type(r.get_text(4));
  if (!type) bad.text = std::string(r.get_text(4));
  d.reward_type = type.value_or(RewardType::kFixedDiscount);
  d.reward_name = std::string(r.get_text(5));
  d.points = r.get_int(6);
  d.amount_minor = r.get_int(7);
  d.cause_id = std::string(r.get_text(8));
  d.cause_name = std::string(r.get_text(9));
  d.posting_id = PostingId{r.get_int(10)};
  d.reversal_id = PostingId{r.get_optional_int(11).value_or(0)};
  d.status =
      r.get_text(12) == "cancelled" ? RedemptionStatus::kCancelled : RedemptionStatus::kCompleted;
  d.period_key = std::string(r.get_text(13));
  d.coupon_id = CouponId{r.get_optional_int(14).value_or(0)};
  d.config_version = static_cast<int>(r.get_int(15));
  d.created_at = Instant{r.get_int(16)};
  d.cancelled_at = opt_instant(r, 17);
  d.took_stock = r.get_int(18) != 0;
  return d;
}

std::optional<CouponStatus> parse_coupon_status(std::string_view s) {
  for (CouponStatus c : {CouponStatus::kIssued, CouponStatus::kConsumed, CouponStatus::kCancelled,
                         CouponStatus::kGifted}) {
    if (s == to_string(c)) return c;
  }
  return std::nullopt;
}

Coupon read_coupon(const Row& r, BadText& bad) {
  Coupon c;
  c.id = CouponId{r.get_int(0)};
  c.program_id = ProgramId{r.get_int(1)};
  c.member_id = MemberId{r.get_int(2)};
  c.redemption_id = RedemptionId{r.get_int(3)};
  c.code_hash = std::string(r.get_text(4));
  c.code_hint = std::string(r.get_text(5));
  c.reward_id = std::string(r.get_text(6));
  auto type = parse_reward_type(r.get_text(7));
  if (!type) bad.text = std::string(r.get_text(7));
  c.terms.type = type.value_or(RewardType::kFixedDiscount);
  c.terms.amount_minor = r.get_int(8);
  c.terms.percent = static_cast<int>(r.get_int(9));
  c.terms.max_discount_minor = r.get_int(10);
  c.terms.min_order_minor = r.get_int(11);
  c.terms.sku = std::string(r.get_text(12));
  auto status = parse_coupon_status(r.get_text(13));
  if (!status) bad.text = std::string(r.get_text(13));
  c.status = status.value_or(CouponStatus::kIssued);
  c.order_ref = std::string(r.get_text(14));
  c.release_on_cancel = r.get_int(15) != 0;
  c.expires_at = opt_instant(r, 16);
  c.created_at = Instant{r.get_int(17)};
  c.consumed_at = opt_instant(r, 18);
  return c;
}

}  // namespace

const char* to_string(RedemptionStatus s) {
  return s == RedemptionStatus::kCancelled ? "cancelled" : "completed";
}

const char* to_string(CouponStatus s) {
  switch (s) {
    case CouponStatus::kIssued:
      return "issued";
    case CouponStatus::kConsumed:
      return "consumed";
    case CouponStatus::kCancelled:
      return "cancelled";
    case CouponStatus::kGifted:
      return "gifted";
  }
  return "?";
}

Result<std::map<std::string, int64_t>> RewardStore::stock_taken(ProgramId program) {
  std::map<std::string, int64_t> out;
  LOYALTY_RETURN_IF_ERROR(
      db_.query("SELECT reward_id, taken FROM reward_stock WHERE program_id = ?", {program.value},
                [&](const Row& r) { out[std::string(r.get_text(0))] = r.get_int(1); }));
  return out;
}

Result<bool> RewardStore::take_stock(ProgramId program, std::string_view reward_id, int64_t stock) {
  LOYALTY_ASSERT(stock >= 0);
  // The row exists from the first redemption on; creating it races nothing:
  // the insert is idempotent and the UPDATE below is what decides.
  LOYALTY_RETURN_IF_ERROR(
      db_.query("INSERT INTO reward_stock (program_id, reward_id, taken) VALUES (?, ?, 0) "
                "ON CONFLICT (program_id, reward_id) DO NOTHING",
                {program.value, reward_id}));
  LOYALTY_RETURN_IF_ERROR(
      db_.query("UPDATE reward_stock SET taken = taken + 1 "
                "WHERE program_id = ? AND reward_id = ? AND taken < ?",
                {program.value, reward_id, stock}));
  return db_.changes() == 1;
}

Status RewardStore::return_stock(ProgramId program, std::string_view reward_id) {
  LOYALTY_RETURN_IF_ERROR(
      db_.query("UPDATE reward_stock SET taken = taken - 1 "
                "WHERE program_id = ? AND reward_id = ? AND taken > 0",
                {program.value, reward_id}));
  if (db_.changes() != 1) {
    return Status(ErrorCode::kInternal,
                  "reward_stock of '" + std::string(reward_id) + "' has no unit to return");
  }
  return {};
}

Result<std::map<std::string, RewardUsage>> RewardStore::member_usage(
    ProgramId program, MemberId member, const std::map<std::string, std::string>& period_keys) {
  std::map<std::string, RewardUsage> out;
  LOYALTY_RETURN_IF_ERROR(db_.query(
      "SELECT reward_id, period_key, COUNT(*) FROM redemptions "
      "WHERE program_id = ? AND member_id = ? AND status = 'completed' "
      "GROUP BY reward_id, period_key",
      {program.value, member.value}, [&](const Row& r) {
        std::string reward(r.get_text(0));
        RewardUsage& u = out[reward];
        u.lifetime += r.get_int(2);
        auto it = period_keys.find(reward);
        if (it != period_keys.end() && !it->second.empty() && it->second == r.get_text(1)) {
          u.in_period += r.get_int(2);
        }
      }));
  return out;
}

Result<RedemptionId> RewardStore::insert_redemption(const Redemption& d) {
  const std::string sql =
      "INSERT INTO redemptions (program_id, member_id, reward_id, reward_type, reward_name, "
      "points, amount_minor, cause_id, cause_name, posting_id, reversal_id, status, period_key, "
      "coupon_id, config_version, created_at, cancelled_at, took_stock) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL, ?, ?, NULL, ?)";
  LOYALTY_ASSIGN_OR_RETURN(
      int64_t id, insert_returning_id(
                      db_, sql,
                      {d.program_id.value, d.member_id.value, d.reward_id, to_string(d.reward_type),
                       d.reward_name, d.points, d.amount_minor, d.cause_id, d.cause_name,
                       d.posting_id.value, to_string(d.status), d.period_key,
                       int64_t{d.config_version}, d.created_at.micros_since_epoch, d.took_stock}));
  return RedemptionId{id};
}

Status RewardStore::set_redemption_coupon(ProgramId program, MemberId member, RedemptionId id,
                                          CouponId coupon) {
  return db_.query(
      "UPDATE redemptions SET coupon_id = ? WHERE program_id = ? AND member_id = ? AND id = ?",
      {coupon.value, program.value, member.value, id.value});
}

Status RewardStore::mark_redemption_cancelled(ProgramId program, MemberId member, RedemptionId id,
                                              PostingId reversal, Instant at) {
  LOYALTY_RETURN_IF_ERROR(
      db_.query("UPDATE redemptions SET status = 'cancelled', reversal_id = ?, cancelled_at = ? "
                "WHERE program_id = ? AND member_id = ? AND id = ? AND status = 'completed'",
                {reversal.value, at.micros_since_epoch, program.value, member.value, id.value}));
  if (db_.changes() != 1) {
    return Status(ErrorCode::kInternal, "redemption " + format_id(id) + " was not completed");
  }
  return {};
}

Result<std::optional<Redemption>> RewardStore::find_redemption(ProgramId program, MemberId member,
                                                               RedemptionId id) {
  std::optional<Redemption> out;
  BadText bad;
  LOYALTY_RETURN_IF_ERROR(
      db_.query(std::string("SELECT ") + kRedemptionColumns +
                    " FROM redemptions WHERE program_id = ? AND member_id = ? AND id = ?",
                {program.value, member.value, id.value},
                [&](const Row& r) { out = read_redemption(r, bad); }));
  LOYALTY_RETURN_IF_ERROR(bad.status("redemptions.reward_type"));
  return out;
}

Result<std::vector<Redemption>> RewardStore::list_redemptions(ProgramId program, MemberId member,
                                                              RedemptionId before, int limit) {
  std::vector<Redemption> out;
  BadText bad;
  const int64_t upper = before.valid() ? before.value : INT64_MAX;
  LOYALTY_RETURN_IF_ERROR(
      db_.query(std::string("SELECT ") + kRedemptionColumns +
                    " FROM redemptions WHERE program_id = ? AND member_id = ? AND id < ? "
                    "ORDER BY id DESC LIMIT ?",
                {program.value, member.value, upper, int64_t{limit}},
                [&](const Row& r) { out.push_back(read_redemption(r, bad)); }));
  LOYALTY_RETURN_IF_ERROR(bad.status("redemptions.reward_type"));
  return out;
}

Result<CouponId> RewardStore::insert_coupon(const Coupon& c) {
  const std::string sql =
      "INSERT INTO coupons (program_id, member_id, redemption_id, code_hash, code_hint, "
      "reward_id, reward_type, amount_minor, percent, max_discount_minor, min_order_minor, sku, "
      "status, order_ref, release_on_cancel, expires_at, created_at, consumed_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)";
  LOYALTY_ASSIGN_OR_RETURN(
      int64_t id,
      insert_returning_id(
          db_, sql,
          {c.program_id.value, c.member_id.value, c.redemption_id.value, c.code_hash, c.code_hint,
           c.reward_id, to_string(c.terms.type), c.terms.amount_minor, int64_t{c.terms.percent},
           c.terms.max_discount_minor, c.terms.min_order_minor, c.terms.sku, to_string(c.status),
           c.order_ref, c.release_on_cancel, instant_value(c.expires_at),
           c.created_at.micros_since_epoch}));
  return CouponId{id};
}

Result<std::optional<Coupon>> RewardStore::find_coupon_by_hash(std::string_view code_hash) {
  std::optional<Coupon> out;
  BadText bad;
  LOYALTY_RETURN_IF_ERROR(
      db_.query(std::string("SELECT ") + kCouponColumns + " FROM coupons WHERE code_hash = ?",
                {code_hash}, [&](const Row& r) { out = read_coupon(r, bad); }));
  LOYALTY_RETURN_IF_ERROR(bad.status("coupons"));
  return out;
}

Result<std::optional<Coupon>> RewardStore::find_coupon(ProgramId program, CouponId id) {
  std::optional<Coupon> out;
  BadText bad;
  LOYALTY_RETURN_IF_ERROR(db_.query(
      std::string("SELECT ") + kCouponColumns + " FROM coupons WHERE program_id = ? AND id = ?",
      {program.value, id.value}, [&](const Row& r) { out = read_coupon(r, bad); }));
  LOYALTY_RETURN_IF_ERROR(bad.status("coupons"));
  return out;
}

Status RewardStore::update_coupon_use(const Coupon& c, CouponStatus from) {
  LOYALTY_RETURN_IF_ERROR(
      db_.query("UPDATE coupons SET status = ?, order_ref = ?, consumed_at = ? "
                "WHERE program_id = ? AND id = ? AND status = ?",
                {to_string(c.status), c.order_ref, instant_value(c.consumed_at), c.program_id.value,
                 c.id.value, to_string(from)}));
  if (db_.changes() != 1) {
    return Status(ErrorCode::kRetryable,
                  "coupon " + format_id(c.id) + " changed in another transaction");
  }
  return {};
}

Status RewardStore::update_coupon_holder(const Coupon& c, CouponStatus from) {
  LOYALTY_RETURN_IF_ERROR(
      db_.query("UPDATE coupons SET status = ?, member_id = ?, code_hash = ?, code_hint = ? "
                "WHERE program_id = ? AND id = ? AND status = ?",
                {to_string(c.status), c.member_id.value, c.code_hash, c.code_hint,
                 c.program_id.value, c.id.value, to_string(from)}));
  if (db_.changes() != 1) {
    return Status(ErrorCode::kRetryable,
                  "coupon " + format_id(c.id) + " changed in another transaction");
  }
  return {};
}

Result<std::vector<Coupon>> RewardStore::coupons_of_order(ProgramId program,
                                                          std::string_view order_ref) {
  std::vector<Coupon> out;
  BadText bad;
  if (order_ref.empty()) return out;
  LOYALTY_RETURN_IF_ERROR(db_.query(
      std::string("SELECT ") + kCouponColumns +
          " FROM coupons WHERE program_id = ? AND order_ref = ? ORDER BY id",
      {program.value, order_ref}, [&](const Row& r) { out.push_back(read_coupon(r, bad)); }));
  LOYALTY_RETURN_IF_ERROR(bad.status("coupons"));
  return out;
}

Result<std::vector<CauseTotal>> RewardStore::donation_totals(ProgramId program, Instant from,
                                                             Instant to) {
  std::vector<CauseTotal> out;
  LOYALTY_RETURN_IF_ERROR(
      db_.query("SELECT cause_id, MAX(cause_name), COUNT(*), SUM(points), SUM(amount_minor) "
                "FROM redemptions WHERE program_id = ? AND cause_id <> '' AND status = 'completed' "
                "AND created_at >= ? AND created_at < ? GROUP BY cause_id ORDER BY cause_id",
                {program.value, from.micros_since_epoch, to.micros_since_epoch}, [&](const Row& r) {
                  out.push_back(CauseTotal{std::string(r.get_text(0)), std::string(r.get_text(1)),
                                           r.get_int(2), r.get_int(3), r.get_int(4)});
                }));
  return out;
}

}  // namespace loyalty::store

// GiftStore: the gifts table (migration 20).
#include "store/gifts_store.h"

#include <charconv>
#include <cstdint>

#include "common/assert.h"
#include "store/sql_helpers.h"

namespace loyalty::store {
namespace {

using detail::BadText;
using detail::insert_returning_id;
using detail::instant_value;
using detail::opt_instant;

constexpr const char* kGiftColumns =
    "id, program_id, giver_id, kind, status, points, redemption_id, coupon_id, recipient_email, "
    "recipient_key, message, token_hash, recipient_id, period_key, lots, send_posting_id, "
    "settle_posting_id, expired_points, created_at, expires_at, settled_at, actor";

SqlValue id_or_null(int64_t id) { return id > 0 ? SqlValue(id) : SqlValue(); }

Gift read_gift(const Row& r, BadText& bad) {
  Gift g;
  g.id = GiftId{r.get_int(0)};
  g.program_id = ProgramId{r.get_int(1)};
  g.giver_id = MemberId{r.get_int(2)};
  g.kind =
      bad.check(parse_gift_kind(r.get_text(3)), "gifts.kind", r.get_text(3), GiftKind::kPoints);
  g.status = bad.check(parse_gift_status(r.get_text(4)), "gifts.status", r.get_text(4),
                       GiftStatus::kCancelled);
  g.points = Points{r.get_int(5)};
  g.redemption_id = RedemptionId{r.get_optional_int(6).value_or(0)};
  g.coupon_id = CouponId{r.get_optional_int(7).value_or(0)};
  g.recipient_email = std::string(r.get_text(8));
  g.recipient_key = std::string(r.get_text(9));
  g.message = std::string(r.get_text(10));
  g.token_hash = std::string(r.get_text(11));
  g.recipient_id = MemberId{r.get_optional_int(12).value_or(0)};
  g.period_key = std::string(r.get_text(13));
  g.lots = bad.check(decode_gift_lots(r.get_text(14)), "gifts.lots", r.get_text(14),
                     std::vector<GiftLot>{});
  g.send_posting = PostingId{r.get_optional_int(15).value_or(0)};
  g.settle_posting = PostingId{r.get_optional_int(16).value_or(0)};
  g.expired_points = Points{r.get_int(17)};
  g.created_at = Instant{r.get_int(18)};
  g.expires_at = Instant{r.get_int(19)};
  g.settled_at = opt_instant(r, 20);
  g.actor = std::string(r.get_text(21));
  return g;
}

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

std::string encode_gift_lots(const std::vector<GiftLot>& lots) {
  std::string out;
  for (const GiftLot& l : lots) {
    if (!out.empty()) out += ',';
    out += std::to_string(l.lot.value) + ':' + std::to_string(l.points.value) + ':';
    if (l.expires_at) out += std::to_string(l.expires_at->micros_since_epoch);
  }
  return out;
}

std::optional<std::vector<GiftLot>> decode_gift_lots(std::string_view text) {
  std::vector<GiftLot> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const size_t a = item.find(':');
    if (a == std::string_view::npos) return std::nullopt;
    const size_t b = item.find(':', a + 1);
    if (b == std::string_view::npos) return std::nullopt;
    auto lot = parse_int(item.substr(0, a));
    auto points = parse_int(item.substr(a + 1, b - a - 1));
    if (!lot || !points || *lot <= 0 || *points <= 0) return std::nullopt;
    GiftLot g{LotId{*lot}, Points{*points}, std::nullopt};
    if (b + 1 < item.size()) {
      auto at = parse_int(item.substr(b + 1));
      if (!at) return std::nullopt;
      g.expires_at = Instant{*at};
    }
    out.push_back(g);
  }
  return out;
}

Result<GiftId> GiftStore::insert_gift(const Gift& g) {
  const std::string lots = encode_gift_lots(g.lots);
  const std::string sql =
      "INSERT INTO gifts (program_id, giver_id, kind, status, points, redemption_id, coupon_id, "
      "recipient_email, recipient_key, message, token_hash, recipient_id, period_key, lots, "
      "send_posting_id, settle_posting_id, expired_points, created_at, expires_at, settled_at, "
      "actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  LOYALTY_ASSIGN_OR_RETURN(int64_t id, insert_returning_id(db_, sql,
                                                           {g.program_id.value,
                                                            g.giver_id.value,
                                                            to_string(g.kind),
                                                            to_string(g.status),
                                                            g.points.value,
                                                            id_or_null(g.redemption_id.value),
                                                            id_or_null(g.coupon_id.value),
                                                            g.recipient_email,
                                                            g.recipient_key,
                                                            g.message,
                                                            g.token_hash,
                                                            id_or_null(g.recipient_id.value),
                                                            g.period_key,
                                                            lots,
                                                            id_or_null(g.send_posting.value),
                                                            id_or_null(g.settle_posting.value),
                                                            g.expired_points.value,
                                                            g.created_at.micros_since_epoch,
                                                            g.expires_at.micros_since_epoch,
                                                            instant_value(g.settled_at),
                                                            g.actor}));
  return GiftId{id};
}

Result<std::optional<Gift>> GiftStore::find_gift(ProgramId program, GiftId id) {
  std::optional<Gift> out;
  BadText bad;
  LOYALTY_RETURN_IF_ERROR(db_.query(
      std::string("SELECT ") + kGiftColumns + " FROM gifts WHERE program_id = ? AND id = ?",
      {program.value, id.value}, [&](const Row& r) { out = read_gift(r, bad); }));
  LOYALTY_RETURN_IF_ERROR(bad.status());
  return out;
}

Result<std::optional<Gift>> GiftStore::find_by_token(std::string_view token_hash) {
  std::optional<Gift> out;
  BadText bad;
  LOYALTY_RETURN_IF_ERROR(
      db_.query(std::string("SELECT ") + kGiftColumns + " FROM gifts WHERE token_hash = ?",
                {token_hash}, [&](const Row& r) { out = read_gift(r, bad); }));
  LOYALTY_RETURN_IF_ERROR(bad.status());
  return out;
}

Status GiftStore::settle_gift(const Gift& g, GiftStatus from) {
  LOYALTY_RETURN_IF_ERROR(db_.query(
      "UPDATE gifts SET status = ?, recipient_id = ?, settle_posting_id = ?, expired_points = ?, "
      "settled_at = ? WHERE program_id = ? AND id = ? AND status = ?",
      {to_string(g.status), id_or_null(g.recipient_id.value), id_or_null(g.settle_posting.value),
       g.expired_points.value, instant_value(g.settled_at), g.program_id.value, g.id.value,
       to_string(from)}));
  if (db_.changes() != 1) {
    return Status(ErrorCode::kRetryable,
                  "gift " + format_id(g.id) + " changed in another transaction");
  }
  return {};
}

Result<std::vector<Gift>> GiftStore::gifts_of_member(ProgramId program, MemberId member,
                                                     GiftId before, int limit) {
  std::vector<Gift> out;
  BadText bad;
  const int64_t below = before.valid() ? before.value : INT64_MAX;
  LOYALTY_RETURN_IF_ERROR(db_.query(
      std::string("SELECT ") + kGiftColumns +
          " FROM gifts WHERE program_id = ? AND (giver_id = ? OR recipient_id = ?) AND id < ? "
          "ORDER BY id DESC LIMIT ?",
      {program.value, member.value, member.value, below, int64_t{limit}},
      [&](const Row& r) { out.push_back(read_gift(r, bad)); }));
  LOYALTY_RETURN_IF_ERROR(bad.status());
  return out;
}

Result<GiftUsage> GiftStore::usage(ProgramId program, MemberId giver, std::string_view period_key) {
  GiftUsage out;
  LOYALTY_RETURN_IF_ERROR(
      db_.query("SELECT COUNT(*), COALESCE(SUM(points), 0) FROM gifts "
                "WHERE program_id = ? AND giver_id = ? AND period_key = ?",
                {program.value, giver.value, period_key}, [&](const Row& r) {
                  out.gifts = r.get_int(0);
                  out.points = r.get_int(1);
                }));
  return out;
}

Result<std::vector<Gift>> GiftStore::pending_for_email(ProgramId program,
                                                       std::string_view recipient_key) {
  std::vector<Gift> out;
  BadText bad;
  LOYALTY_RETURN_IF_ERROR(db_.query(
      std::string("SELECT ") + kGiftColumns +
          " FROM gifts WHERE program_id = ? AND recipient_key = ? AND status = 'pending' "
          "ORDER BY id",
      {program.value, recipient_key}, [&](const Row& r) { out.push_back(read_gift(r, bad)); }));
  LOYALTY_RETURN_IF_ERROR(bad.status());
  return out;
}

Result<std::vector<Gift>> GiftStore::due_pending(ProgramId program, Instant now, int limit) {
  std::vector<Gift> out;
  BadText bad;
  LOYALTY_RETURN_IF_ERROR(
      db_.query(std::string("SELECT ") + kGiftColumns +
                    " FROM gifts WHERE program_id = ? AND status = 'pending' AND expires_at <= ? "
                    "ORDER BY expires_at, id LIMIT ?",
                {program.value, now.micros_since_epoch, int64_t{limit}},
                [&](const Row& r) { out.push_back(read_gift(r, bad)); }));
  LOYALTY_RETURN_IF_ERROR(bad.status());
  return out;
}

}  // namespace loyalty::store

// The rewards tables (migration 14, docs/rewards.md): reward stock, redemptions
// and coupons, over a StoreSession's connection. Writes run in the caller's
// transaction (the engine's writer); reads in any.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/time.h"
#include "domain/rewards.h"
#include "store/store.h"

namespace loyalty::store {

struct RedemptionTag {
  static constexpr std::string_view kPrefix = "rdm_";
};
using RedemptionId = Id<RedemptionTag>;
struct CouponTag {
  static constexpr std::string_view kPrefix = "cpn_";
};
using CouponId = Id<CouponTag>;

enum class RedemptionStatus { kCompleted, kCancelled };
const char* to_string(RedemptionStatus s);

struct Redemption {
  RedemptionId id;
  ProgramId program_id;
  MemberId member_id;
  std::string reward_id;
  RewardType reward_type = RewardType::kFixedDiscount;
  std::string reward_name;
  int64_t points = 0;
  int64_t amount_minor = 0;  // the money value (0 for types without one)
  std::string cause_id;      // charity donations
  std::string cause_name;
  PostingId posting_id;   // the debit
  PostingId reversal_id;  // the cancellation's reversal; invalid while completed
  RedemptionStatus status = RedemptionStatus::kCompleted;
  std::string period_key;   // the member limit's period at redemption ("" = none)
  CouponId coupon_id;       // invalid when no coupon was issued
  bool took_stock = false;  // took a unit of reward_stock (returned on cancellation)
  int config_version = 0;
  Instant created_at;
  std::optional<Instant> cancelled_at;
};

// kGifted: on its way to a friend (docs/gifting.md): unusable until the gift
// is claimed (a new code, the friend's) or comes back (issued again).
enum class CouponStatus { kIssued, kConsumed, kCancelled, kGifted };
const char* to_string(CouponStatus s);

struct Coupon {
  CouponId id;
  ProgramId program_id;
  MemberId member_id;
  RedemptionId redemption_id;
  std::string code_hash;  // SHA-256 hex of the normalized code
  std::string code_hint;  // its last 4 characters, for display
  std::string reward_id;
  CouponTerms terms;
  CouponStatus status = CouponStatus::kIssued;
  std::string order_ref;  // the shop's order id it was consumed with ("" = none)
  bool release_on_cancel = true;
  std::optional<Instant> expires_at;
  Instant created_at;
  std::optional<Instant> consumed_at;
};

// A member's redemptions of one reward that count against its limits.
struct RewardUsage {
  int64_t in_period = 0;
  int64_t lifetime = 0;
};

// Donations to one cause in a period (GET /v1/programs/{id}/donations).
struct CauseTotal {
  std::string cause_id;
  std::string cause_name;  // the name donated under (the greatest, if it was renamed)
  int64_t donations = 0;
  int64_t points = 0;
  int64_t amount_minor = 0;
};

class RewardStore {
 public:
  explicit RewardStore(StoreSession& session) : db_(session.connection()) {}

  // Units taken (by redemptions not cancelled), per reward id with any.
  Result<std::map<std::string, int64_t>> stock_taken(ProgramId program);
  // Takes one unit when fewer than `stock` are taken; false when none is left.
  // One conditional UPDATE (row-locked on PostgreSQL), so two writers never
  // take the last unit twice.
  Result<bool> take_stock(ProgramId program, std::string_view reward_id, int64_t stock);
  Status return_stock(ProgramId program, std::string_view reward_id);

  // The member's completed redemptions per reward: in each reward's
  // `period_keys` entry (its current period) and ever.
  Result<std::map<std::string, RewardUsage>> member_usage(
      ProgramId program, MemberId member, const std::map<std::string, std::string>& period_keys);

  Result<RedemptionId> insert_redemption(const Redemption& r);
  Status set_redemption_coupon(ProgramId program, MemberId member, RedemptionId id,
                               CouponId coupon);
  Status mark_redemption_cancelled(ProgramId program, MemberId member, RedemptionId id,
                                   PostingId reversal, Instant at);
  Result<std::optional<Redemption>> find_redemption(ProgramId program, MemberId member,
                                                    RedemptionId id);
  // Newest first, id < before (0 = from the newest).
  Result<std::vector<Redemption>> list_redemptions(ProgramId program, MemberId member,
                                                   RedemptionId before, int limit);

  // kConflict when the code's hash exists (the caller draws another code).
  Result<CouponId> insert_coupon(const Coupon& c);
  // By hash, whatever the program (the caller tells another program's coupon apart).
  Result<std::optional<Coupon>> find_coupon_by_hash(std::string_view code_hash);
  Result<std::optional<Coupon>> find_coupon(ProgramId program, CouponId id);
  // Writes status, order_ref and consumed_at, if the stored status still is
  // `from`; kRetryable when another transaction changed it first (PostgreSQL:
  // the batch reruns and sees the change).
  Status update_coupon_use(const Coupon& c, CouponStatus from);
  Result<std::vector<Coupon>> coupons_of_order(ProgramId program, std::string_view order_ref);
  // Writes status, member_id, code_hash and code_hint (a gift: the coupon
  // changes hands and code) if the stored status still is `from`; kRetryable
  // otherwise. kConflict when the new code's hash exists.
  Status update_coupon_holder(const Coupon& c, CouponStatus from);

  // Donations (completed charity redemptions) created in [from, to), per cause.
  Result<std::vector<CauseTotal>> donation_totals(ProgramId program, Instant from, Instant to);

 private:
  SqlConnection& db_;
};

}  // namespace loyalty::store

// The gifts table (migration 20, docs/gifting.md), over a StoreSession's
// connection. Writes run in the caller's transaction (the engine's writer);
// reads in any.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/time.h"
#include "domain/gifting.h"
#include "domain/ledger.h"
#include "store/rewards_store.h"
#include "store/store.h"

namespace loyalty::store {

struct GiftTag {
  static constexpr std::string_view kPrefix = "gft_";
};
using GiftId = Id<GiftTag>;

// What a gift of points took from one of the giver's lots.
struct GiftLot {
  LotId lot;
  Points points;
  std::optional<Instant> expires_at;  // the lot's
  friend bool operator==(const GiftLot&, const GiftLot&) = default;
};

struct Gift {
  GiftId id;
  ProgramId program_id;
  MemberId giver_id;
  GiftKind kind = GiftKind::kPoints;
  GiftStatus status = GiftStatus::kPending;
  Points points;                // a gift of points; 0 for a reward
  RedemptionId redemption_id;   // a reward: the giver's redemption
  CouponId coupon_id;           // a reward: its coupon
  std::string recipient_email;  // as the giver typed it
  std::string recipient_key;    // gift_email_key of it
  std::string message;
  std::string token_hash;     // gift_token_digest of the claim token
  MemberId recipient_id;      // who claimed it; invalid until claimed
  std::string period_key;     // the limits' period it was sent in
  std::vector<GiftLot> lots;  // a gift of points, in the order taken
  PostingId send_posting;     // the hold posting of a gift of points
  PostingId settle_posting;   // the claim or return posting
  Points expired_points;      // went to expiry on a claim or return
  Instant created_at;
  Instant expires_at;  // the end of the claim window
  std::optional<Instant> settled_at;
  std::string actor;
};

class GiftStore {
 public:
  explicit GiftStore(StoreSession& session) : db_(session.connection()) {}

  // kConflict when the token's digest exists (the caller draws another token).
  Result<GiftId> insert_gift(const Gift& g);
  Result<std::optional<Gift>> find_gift(ProgramId program, GiftId id);
  // By token digest, whatever the program (the caller tells another
  // program's gift apart).
  Result<std::optional<Gift>> find_by_token(std::string_view token_hash);
  // Writes status, recipient_id, settle_posting, expired_points and
  // settled_at if the stored status still is `from`; kRetryable when another
  // transaction changed it first.
  Status settle_gift(const Gift& g, GiftStatus from);
  // Gifts the member sent or claimed, newest first, id < before (0 = from
  // the newest), at most `limit`.
  Result<std::vector<Gift>> gifts_of_member(ProgramId program, MemberId member, GiftId before,
                                            int limit);
  // What the giver sent in the period `period_key` (any status).
  Result<GiftUsage> usage(ProgramId program, MemberId giver, std::string_view period_key);
  // Pending gifts to this recipient key, oldest first.
  Result<std::vector<Gift>> pending_for_email(ProgramId program, std::string_view recipient_key);
  // Pending gifts whose claim window ended at or before now, soonest first.
  Result<std::vector<Gift>> due_pending(ProgramId program, Instant now, int limit);

 private:
  SqlConnection& db_;
};

// The lots column (migration 20): "LOT:POINTS:EXPIRES_AT" joined by ','.
std::string encode_gift_lots(const std::vector<GiftLot>& lots);
std::optional<std::vector<GiftLot>> decode_gift_lots(std::string_view text);

}  // namespace loyalty::store

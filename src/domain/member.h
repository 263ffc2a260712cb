// Members: the shoppers enrolled in a program.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/ids.h"
#include "common/result.h"
#include "common/time.h"

namespace loyalty {

enum class MemberStatus { kActive, kBlocked };
const char* to_string(MemberStatus s);
std::optional<MemberStatus> parse_member_status(std::string_view s);

// Marketing consent per channel; nullopt = never asked.
struct MarketingConsent {
  std::optional<bool> email;
  std::optional<bool> sms;
  std::optional<bool> push;
  friend bool operator==(const MarketingConsent&, const MarketingConsent&) = default;
};

struct Member {
  ProgramId program_id;
  MemberId id;
  std::string external_id;
  std::string email;  // stored lower-cased
  std::string first_name;
  std::string last_name;
  std::optional<LocalDate> birthday;
  std::string attributes_json = "{}";  // a JSON object of scalars, canonical
  MarketingConsent consent;
  MemberStatus status = MemberStatus::kActive;
  Instant created_at;
  Instant updated_at;
  // Order statistics (member_order_stats in domain/order.h, summed over the
  // member's orders): kept by the store as orders change, never written by
  // insert_member/update_member.
  int64_t orders_count = 0;
  int64_t total_spent_minor = 0;  // program currency
};

inline constexpr size_t kMaxExternalIdLength = 255;
inline constexpr size_t kMaxEmailLength = 254;
inline constexpr size_t kMaxNameLength = 100;
inline constexpr size_t kMaxAttributes = 50;
inline constexpr size_t kMaxAttributesJsonBytes = 8192;

Status validate_external_id(std::string_view id);
// Lower-cases and checks the shape local@domain.tld; returns the normalized form.
Result<std::string> normalize_email(std::string_view email);

}  // namespace loyalty

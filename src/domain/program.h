// A loyalty program: the merchant-level settings the ledger depends on.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/ids.h"
#include "common/result.h"
#include "common/time.h"

namespace loyalty {

enum class NegativeBalancePolicy {
  kForbid,  // no member balance may go below zero (default)
  kAllow,   // reversals and adjustments may leave a debt that later credits settle
};

struct TransferPolicy {
  bool enabled = true;
  int64_t min_points = 1;
  int64_t max_points = 0;          // per transfer; 0 = no limit
  int64_t daily_limit_points = 0;  // sent by one member in any 24 h; 0 = no limit
};

struct Program {
  ProgramId id;
  std::string name;
  std::string currency;  // ISO 4217, upper case
  std::string timezone;  // IANA name
  std::string points_name = "points";
  // Liability valuation: `value_minor` minor currency units per `value_points` points.
  int64_t point_value_minor = 1;
  int64_t point_value_points = 1;
  NegativeBalancePolicy negative_balance = NegativeBalancePolicy::kForbid;
  TransferPolicy transfers;
  Instant created_at;
  Instant updated_at;
};

// Limits on program fields, checked by validate_program.
inline constexpr size_t kMaxProgramNameLength = 200;
inline constexpr size_t kMaxPointsNameLength = 50;

// Checks every field of a program (name, currency, time zone, valuation, limits).
Status validate_program(const Program& program);
// Minor-unit exponent of an ISO 4217 currency (2 for USD, 0 for JPY), or nullopt
// for a code we do not know.
std::optional<int> currency_exponent(std::string_view code);
bool is_valid_timezone(std::string_view name);
// Money value of `points` under the program's valuation, rounded half away from zero.
int64_t points_value_minor(const Program& program, int64_t points);

const char* to_string(NegativeBalancePolicy p);
std::optional<NegativeBalancePolicy> parse_negative_balance_policy(std::string_view s);

}  // namespace loyalty

// What rule expressions read: plain, non-owning views filled by the caller.
//
// Nothing here owns memory: every string_view and span must stay valid while an
// expression is evaluated against the Context. The orders and events code
// fills these from its own records; the rules library never copies them.
// All money fields are int64 minor units of the PROGRAM's currency (the one
// whose exponent the expression was compiled with); the caller converts or
// refuses orders in another currency before evaluating.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "common/time.h"

namespace loyalty::rules {

// One entry of a string map (`order.attributes.coupon`). Keys should be unique;
// a lookup returns the first entry with the key.
struct Attribute {
  std::string_view key;
  std::string_view value;
};
using AttributeList = std::span<const Attribute>;

struct ItemView {
  std::string_view sku;
  std::string_view name;
  std::string_view category;
  int64_t quantity = 0;
  int64_t unit_price_minor = 0;
  int64_t total_minor = 0;  // quantity * unit_price minus the item's discount
  AttributeList attributes;
};

struct OrderView {
  std::string_view id;
  int64_t total_minor = 0;
  int64_t subtotal_minor = 0;
  int64_t discount_minor = 0;
  int64_t shipping_minor = 0;
  int64_t tax_minor = 0;
  int64_t eligible_spend_minor = 0;  // set by evaluate_order from the eligible-spend policy
  std::string_view currency;
  std::string_view channel;
  Instant placed_at;
  std::span<const ItemView> items;
  int64_t item_count = 0;
  bool is_first_order = false;
  AttributeList attributes;
};

struct EventView {
  std::string_view type;
  Instant occurred_at;
  AttributeList attributes;
};

struct MemberView {
  std::string_view id;
  std::string_view external_id;
  std::string_view email;
  std::string_view status;
  std::string_view tier;  // empty when the member has no tier
  Instant enrolled_at;
  std::optional<LocalDate> birthday;
  AttributeList attributes;
  int64_t lifetime_earned_points = 0;
  int64_t available_points = 0;
  int64_t orders_count = 0;
  int64_t total_spent_minor = 0;
};

struct ProgramView {
  std::string_view id;
  std::string_view currency;
  std::string_view timezone;
};

// The roots an expression may name. Which ones are allowed is decided at
// compile time by the Environment; which ones are present at evaluation by the
// Context (every root the expression uses must be non-null there).
enum class Root : uint8_t { kOrder, kItem, kEvent, kMember, kProgram, kNow };
const char* root_name(Root root);

struct Context {
  const OrderView* order = nullptr;
  const ItemView* item = nullptr;  // the item of a per-item rule
  const EventView* event = nullptr;
  const MemberView* member = nullptr;
  const ProgramView* program = nullptr;
  Instant now;
};

}  // namespace loyalty::rules

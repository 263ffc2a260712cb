// The fields each root exposes to expressions, with their types.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "domain/rules/context.h"
#include "domain/rules/types.h"

namespace loyalty::rules::detail {

enum class Field : uint8_t {
  kOrderId,
  kOrderTotal,
  kOrderSubtotal,
  kOrderDiscount,
  kOrderShipping,
  kOrderTax,
  kOrderEligibleSpend,
  kOrderCurrency,
  kOrderChannel,
  kOrderPlacedAt,
  kOrderItems,
  kOrderItemCount,
  kOrderIsFirstOrder,
  kOrderAttributes,
  kItemSku,
  kItemName,
  kItemCategory,
  kItemQuantity,
  kItemUnitPrice,
  kItemTotal,
  kItemAttributes,
  kEventType,
  kEventOccurredAt,
  kEventAttributes,
  kMemberId,
  kMemberExternalId,
  kMemberEmail,
  kMemberStatus,
  kMemberTier,
  kMemberEnrolledAt,
  kMemberBirthday,
  kMemberAttributes,
  kMemberLifetimeEarned,
  kMemberAvailable,
  kMemberOrdersCount,
  kMemberTotalSpent,
  kProgramId,
  kProgramCurrency,
  kProgramTimezone,
};

struct FieldInfo {
  std::string_view name;
  Type type;
  Field field;
  bool optional;  // may be absent: reading it when absent is EvalError::kAbsent
};

// The fields of a root; kItem gives the item fields (also those of a macro's variable).
// kNow has none (now is itself an instant).
std::span<const FieldInfo> fields_of(Root root);

}  // namespace loyalty::rules::detail

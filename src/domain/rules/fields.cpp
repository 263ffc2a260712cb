#include "domain/rules/fields.h"

namespace loyalty::rules::detail {
namespace {

constexpr FieldInfo kOrderFields[] = {
    {"id", Type::kString, Field::kOrderId, false},
    {"total", Type::kMoney, Field::kOrderTotal, false},
    {"subtotal", Type::kMoney, Field::kOrderSubtotal, false},
    {"discount", Type::kMoney, Field::kOrderDiscount, false},
    {"shipping", Type::kMoney, Field::kOrderShipping, false},
    {"tax", Type::kMoney, Field::kOrderTax, false},
    {"eligible_spend", Type::kMoney, Field::kOrderEligibleSpend, false},
    {"currency", Type::kString, Field::kOrderCurrency, false},
    {"channel", Type::kString, Field::kOrderChannel, false},
    {"placed_at", Type::kInstant, Field::kOrderPlacedAt, false},
    {"items", Type::kItemList, Field::kOrderItems, false},
    {"item_count", Type::kInt, Field::kOrderItemCount, false},
    {"is_first_order", Type::kBool, Field::kOrderIsFirstOrder, false},
    {"attributes", Type::kAttributes, Field::kOrderAttributes, false},
};

constexpr FieldInfo kItemFields[] = {
    {"sku", Type::kString, Field::kItemSku, false},
    {"name", Type::kString, Field::kItemName, false},
    {"category", Type::kString, Field::kItemCategory, false},
    {"quantity", Type::kInt, Field::kItemQuantity, false},
    {"unit_price", Type::kMoney, Field::kItemUnitPrice, false},
    {"total", Type::kMoney, Field::kItemTotal, false},
    {"attributes", Type::kAttributes, Field::kItemAttributes, false},
};

constexpr FieldInfo kEventFields[] = {
    {"type", Type::kString, Field::kEventType, false},
    {"occurred_at", Type::kInstant, Field::kEventOccurredAt, false},
    {"attributes", Type::kAttributes, Field::kEventAttributes, false},
};

constexpr FieldInfo kMemberFields[] = {
    {"id", Type::kString, Field::kMemberId, false},
    {"external_id", Type::kString, Field::kMemberExternalId, false},
    {"email", Type::kString, Field::kMemberEmail, false},
    {"status", Type::kString, Field::kMemberStatus, false},
    {"tier", Type::kString, Field::kMemberTier, false},
    {"enrolled_at", Type::kInstant, Field::kMemberEnrolledAt, false},
    {"birthday", Type::kDate, Field::kMemberBirthday, true},
    {"attributes", Type::kAttributes, Field::kMemberAttributes, false},
    {"lifetime_earned", Type::kInt, Field::kMemberLifetimeEarned, false},
    {"available", Type::kInt, Field::kMemberAvailable, false},
    {"orders_count", Type::kInt, Field::kMemberOrdersCount, false},
    {"total_spent", Type::kMoney, Field::kMemberTotalSpent, false},
};

constexpr FieldInfo kProgramFields[] = {
    {"id", Type::kString, Field::kProgramId, false},
    {"currency", Type::kString, Field::kProgramCurrency, false},
    {"timezone", Type::kString, Field::kProgramTimezone, false},
};

}  // namespace

std::span<const FieldInfo> fields_of(Root root) {
  switch (root) {
    case Root::kOrder:
      return kOrderFields;
    case Root::kItem:
      return kItemFields;
    case Root::kEvent:
      return kEventFields;
    case Root::kMember:
      return kMemberFields;
    case Root::kProgram:
      return kProgramFields;
    case Root::kNow:
      break;
  }
  return {};
}

}  // namespace loyalty::rules::detail

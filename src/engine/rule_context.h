// The rules' view (domain/rules/context.h) of stored records: what an earn
// rule's expressions read about a member, the program and an order, on every
// path that evaluates rules (orders becoming paid or claimed, custom events,
// signup, birthdays, anniversaries). One definition, so that every path sees
// the same fields: docs/rules.md lists them.
//
// The views point into the records given and into strings these classes own:
// keep both alive, and in place, while expressions are evaluated (the classes
// can be neither copied nor moved for that reason).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "domain/ledger.h"
#include "domain/member.h"
#include "domain/order.h"
#include "domain/program.h"
#include "domain/rules/context.h"

namespace loyalty::engine {

// A stored attributes object (canonical JSON of scalar values: members, orders,
// order items) as the rules' string map: strings as they are, numbers as their
// JSON text ("12", "1.5"), booleans as "true" / "false". A null value is left
// out, so has() is false for it.
class RuleAttributes {
 public:
  RuleAttributes() = default;
  RuleAttributes(const RuleAttributes&) = delete;
  RuleAttributes& operator=(const RuleAttributes&) = delete;

  // Replaces the contents. kInternal (nothing kept) when `json` is not an
  // object of scalars: the store only holds what the API decoders wrote.
  Status parse(std::string_view json);
  rules::AttributeList list() const { return views_; }

 private:
  std::vector<std::pair<std::string, std::string>> owned_;
  std::vector<rules::Attribute> views_;  // into owned_
};

// The member and program roots. `balance` may be null when no rule reads the
// member's points (they then read as 0). `tier` is the member's tier id now
// ("" without one: tier_for_earning in engine/tier_commands.h), the same on
// every path, so member.tier reads alike in order, event, signup, birthday and
// anniversary rules (docs/tiers.md).
class MemberContext {
 public:
  MemberContext() = default;
  MemberContext(const MemberContext&) = delete;
  MemberContext& operator=(const MemberContext&) = delete;

  Status fill(const Program& program, const Member& member, const Balance* balance,
              std::string_view tier);

  rules::MemberView member;
  rules::ProgramView program;

 private:
  std::string member_id_;
  std::string program_id_;
  std::string tier_;
  RuleAttributes attributes_;
};

// The order root and its items, with their attributes. Every field but
// is_first_order (the caller knows whether earlier orders exist) and
// eligible_spend_minor (computed by evaluate_order).
class OrderContext {
 public:
  OrderContext() = default;
  OrderContext(const OrderContext&) = delete;
  OrderContext& operator=(const OrderContext&) = delete;

  Status fill(const Order& order);

  rules::OrderView order;

 private:
  std::vector<rules::ItemView> items_;
  RuleAttributes attributes_;
  std::vector<RuleAttributes> item_attributes_;  // sized once: views point into it
};

}  // namespace loyalty::engine

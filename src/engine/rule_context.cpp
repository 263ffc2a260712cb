#include "engine/rule_context.h"

#include <fmt/format.h>
#include <simdjson.h>

#include "common/assert.h"

namespace loyalty::engine {

Status RuleAttributes::parse(std::string_view json) {
  owned_.clear();
  views_.clear();
  if (json == "{}") return {};  // most records: nothing to parse
  auto corrupt = [&](std::string_view why) {
    owned_.clear();
    return Status(ErrorCode::kInternal, fmt::format("stored attributes are {}: {:.64}", why, json));
  };
  // One parser per thread (the engine's writer, tests): it keeps its buffers.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(simdjson::padded_string(json)).get(object)) {
    return corrupt("not a JSON object");
  }
  for (auto [key, value] : object) {
    std::string text;
    switch (value.type()) {
      case simdjson::dom::element_type::STRING:
        text = std::string(value.get_string().value_unsafe());
        break;
      case simdjson::dom::element_type::INT64:
        text = std::to_string(value.get_int64().value_unsafe());
        break;
      case simdjson::dom::element_type::UINT64:
        text = std::to_string(value.get_uint64().value_unsafe());
        break;
      case simdjson::dom::element_type::DOUBLE:
        // The text the API decoders stored (and GET returns): shortest round trip.
        text = fmt::format("{}", value.get_double().value_unsafe());
        break;
      case simdjson::dom::element_type::BOOL:
        text = value.get_bool().value_unsafe() ? "true" : "false";
        break;
      case simdjson::dom::element_type::NULL_VALUE:
        continue;
      default:
        return corrupt("not an object of scalars");
    }
    owned_.emplace_back(std::string(key), std::move(text));
  }
  // Views last: owned_ no longer moves.
  views_.reserve(owned_.size());
  for (const auto& [k, v] : owned_) views_.push_back(rules::Attribute{k, v});
  return {};
}

Status MemberContext::fill(const Program& program_record, const Member& m, const Balance* balance,
                           std::string_view tier) {
  LOYALTY_ASSERT(m.program_id == program_record.id);
  member_id_ = format_id(m.id);
  program_id_ = format_id(program_record.id);
  LOYALTY_RETURN_IF_ERROR(attributes_.parse(m.attributes_json));
  member = rules::MemberView{};
  member.id = member_id_;
  member.external_id = m.external_id;
  member.email = m.email;
  member.status = to_string(m.status);
  member.enrolled_at = m.created_at;
  member.birthday = m.birthday;
  tier_ = tier;
  member.tier = tier_;
  member.attributes = attributes_.list();
  if (balance != nullptr) {
    member.lifetime_earned_points = balance->lifetime_earned.value;
    member.available_points = balance->available.value;
  }
  member.orders_count = m.orders_count;
  member.total_spent_minor = m.total_spent_minor;
  program = rules::ProgramView{program_id_, program_record.currency, program_record.timezone};
  return {};
}

Status OrderContext::fill(const Order& o) {
  items_.assign(o.items.size(), rules::ItemView{});
  item_attributes_ = std::vector<RuleAttributes>(o.items.size());
  int64_t units = 0;
  for (size_t k = 0; k < o.items.size(); ++k) {
    const OrderItem& i = o.items[k];
    LOYALTY_RETURN_IF_ERROR(item_attributes_[k].parse(i.attributes_json));
    items_[k] = rules::ItemView{i.sku,
                                i.name,
                                i.category,
                                i.quantity,
                                i.unit_price_minor,
                                i.net_minor,
                                item_attributes_[k].list()};
    units += i.quantity;
  }
  LOYALTY_RETURN_IF_ERROR(attributes_.parse(o.attributes_json));
  order = rules::OrderView{};
  order.id = o.external_id;
  order.total_minor = o.total_minor;
  order.subtotal_minor = o.subtotal_minor;
  order.discount_minor = o.discount_minor;
  order.shipping_minor = o.shipping_minor;
  order.tax_minor = o.tax_minor;
  order.currency = o.currency;
  order.channel = o.channel;
  order.placed_at = o.placed_at;
  order.items = items_;
  order.item_count = units;
  order.attributes = attributes_.list();
  return {};
}

}  // namespace loyalty::engine

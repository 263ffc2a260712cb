// Request bodies of the orders API (docs/orders.md). Money is integer minor
// units of the order's currency in fields named `*_minor`, like everywhere in
// the API.
#include <fmt/format.h>

#include "api/decode_support.h"
#include "api/decoders.h"
#include "domain/order.h"
#include "http/json_decode.h"

namespace loyalty::api {

namespace {

using http::field_error;
using http::JsonObject;
using simdjson::dom::element;

// A money amount: a JSON integer >= 0 (kAmountOutOfRange above kMaxMoneyMinor).
Result<int64_t> as_money(element e, std::string_view field) {
  LOYALTY_ASSIGN_OR_RETURN(int64_t v, http::as_int(e, field, INT64_MIN, INT64_MAX));
  if (v < 0) return field_error(field, "must not be negative (an amount in minor units)");
  if (v > kMaxMoneyMinor) {
    return Status(ErrorCode::kAmountOutOfRange,
                  fmt::format("{}: must be at most {}", field, kMaxMoneyMinor));
  }
  return v;
}

Result<int64_t> optional_money(const JsonObject& o, std::string_view name) {
  auto e = o.get(name);
  if (!e) return int64_t{0};
  return as_money(*e, o.path_of(name));
}

Result<int64_t> as_quantity(element e, std::string_view field) {
  LOYALTY_ASSIGN_OR_RETURN(int64_t v, http::as_int(e, field, INT64_MIN, INT64_MAX));
  if (v <= 0) return field_error(field, "must be a positive integer");
  if (v > kMaxItemQuantity) {
    return field_error(field, fmt::format("must be at most {}", kMaxItemQuantity));
  }
  return v;
}

Result<std::string> optional_text(const JsonObject& o, std::string_view name, size_t max_chars) {
  LOYALTY_ASSIGN_OR_RETURN(std::optional<std::string> text, o.optional_string(name, max_chars));
  return text.value_or("");
}

Result<std::string> decode_currency(const JsonObject& o) {
  LOYALTY_ASSIGN_OR_RETURN(std::string currency, o.required_string("currency", 3, 3));
  for (char c : currency) {
    if (c < 'A' || c > 'Z') {
      return field_error("currency", "must be an ISO 4217 code in capitals, such as USD");
    }
  }
  return currency;
}

Result<simdjson::dom::array> required_array(const JsonObject& o, std::string_view name,
                                            size_t max_size) {
  auto e = o.get(name);
  if (!e || e->is_null()) return field_error(name, "is required");
  simdjson::dom::array array;
  if (e->get(array)) {
    return field_error(name, std::string("must be an array, not ") + http::json_type_name(*e));
  }
  if (array.size() == 0) return field_error(name, "must hold at least one element");
  if (array.size() > max_size) {
    return field_error(name, fmt::format("must hold at most {} elements", max_size));
  }
  return array;
}

Result<OrderItem> decode_item(element e, const std::string& path) {
  LOYALTY_ASSIGN_OR_RETURN(
      JsonObject o, JsonObject::from_element(e, path + ".",
                                             {"sku", "name", "category", "quantity",
                                              "unit_price_minor", "discount_minor", "attributes"}));
  OrderItem item;
  LOYALTY_ASSIGN_OR_RETURN(item.sku, o.required_string("sku", kMaxSkuLength));
  LOYALTY_ASSIGN_OR_RETURN(item.name, optional_text(o, "name", kMaxItemNameLength));
  LOYALTY_ASSIGN_OR_RETURN(item.category, optional_text(o, "category", kMaxCategoryLength));
  auto quantity = o.get("quantity");
  if (!quantity || quantity->is_null()) return field_error(path + ".quantity", "is required");
  LOYALTY_ASSIGN_OR_RETURN(item.quantity, as_quantity(*quantity, path + ".quantity"));
  auto price = o.get("unit_price_minor");
  if (!price || price->is_null()) return field_error(path + ".unit_price_minor", "is required");
  LOYALTY_ASSIGN_OR_RETURN(item.unit_price_minor, as_money(*price, path + ".unit_price_minor"));
  LOYALTY_ASSIGN_OR_RETURN(item.discount_minor, optional_money(o, "discount_minor"));
  if (auto attributes = o.get("attributes"); attributes && !attributes->is_null()) {
    LOYALTY_ASSIGN_OR_RETURN(item.attributes_json,
                             canonical_attributes_of(*attributes, path + ".attributes"));
  }
  return item;
}

Result<std::optional<LocalDate>> optional_date(const JsonObject& o, std::string_view name) {
  LOYALTY_ASSIGN_OR_RETURN(auto text, o.optional_string(name, 10, 1));
  if (!text) return std::optional<LocalDate>();
  auto date = parse_local_date(*text);
  if (!date) return field_error(name, "must be a date YYYY-MM-DD");
  return std::optional<LocalDate>(*date);
}

Result<std::string> decode_event_id(const JsonObject& o) {
  return o.required_string("event_id", kMaxPlatformEventIdLength);
}

}  // namespace

Result<engine::CreateOrder> decode_create_order(std::string_view body, ProgramId program,
                                                std::string_view request_fingerprint) {
  LOYALTY_ASSIGN_OR_RETURN(
      JsonObject o,
      http::parse_object(body, {"external_id", "member_id", "member_external_id", "customer",
                                "currency", "channel", "placed_at", "status", "paid_at", "event_id",
                                "items", "discount_minor", "shipping_minor", "tax_minor",
                                "attributes", kReferralCodeField, kReferralSignalsField}));
  engine::CreateOrder command;
  LOYALTY_ASSIGN_OR_RETURN(command.referral, decode_referral_attach(o));
  command.program_id = program;
  Order& order = command.order;
  order.request_fingerprint = std::string(request_fingerprint);
  LOYALTY_ASSIGN_OR_RETURN(order.external_id,
                           o.required_string("external_id", kMaxOrderExternalIdLength));
  // Whose order: a member (id or external id), else a guest customer.
  if (o.has("member_id") && o.has("member_external_id")) {
    return field_error("member_id", "give member_id or member_external_id, not both");
  }
  if (o.has("member_id")) {
    LOYALTY_ASSIGN_OR_RETURN(std::string text, o.required_string("member_id", 32));
    auto id = parse_id<MemberTag>(text);
    if (!id) return field_error("member_id", "must be a member id such as mem_42");
    command.customer.member_id = *id;
  }
  LOYALTY_ASSIGN_OR_RETURN(command.customer.member_external_id,
                           optional_text(o, "member_external_id", kMaxExternalIdLength));
  LOYALTY_ASSIGN_OR_RETURN(auto customer, o.optional_object("customer", {"external_id", "email"}));
  if (customer) {
    LOYALTY_ASSIGN_OR_RETURN(command.customer.customer_external_id,
                             optional_text(*customer, "external_id", kMaxExternalIdLength));
    LOYALTY_ASSIGN_OR_RETURN(std::string email, optional_text(*customer, "email", kMaxEmailLength));
    if (!email.empty()) {
      auto normalized = normalize_email(email);
      if (!normalized.ok()) {
        return field_error("customer.email", "must be an email address such as ada@example.com");
      }
      command.customer.customer_email = std::move(normalized).value();
    }
  }
  LOYALTY_ASSIGN_OR_RETURN(order.currency, decode_currency(o));
  LOYALTY_ASSIGN_OR_RETURN(order.channel, optional_text(o, "channel", kMaxChannelLength));
  LOYALTY_ASSIGN_OR_RETURN(auto placed_at, o.optional_instant("placed_at"));
  if (!placed_at) return field_error("placed_at", "is required");
  order.placed_at = *placed_at;
  LOYALTY_ASSIGN_OR_RETURN(auto status, o.optional_string("status", 16));
  if (status) {
    auto parsed = parse_order_status(*status);
    if (!parsed || (*parsed != OrderStatus::kPlaced && *parsed != OrderStatus::kPaid)) {
      return field_error("status", "must be \"placed\" or \"paid\" for a new order");
    }
    command.status = *parsed;
  }
  LOYALTY_ASSIGN_OR_RETURN(command.paid_at, o.optional_instant("paid_at"));
  if (command.paid_at && command.status != OrderStatus::kPaid) {
    return field_error("paid_at", "applies only to an order created with status \"paid\"");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto event_id,
                           o.optional_string("event_id", kMaxPlatformEventIdLength, 1));
  command.event_id = event_id.value_or("");
  LOYALTY_ASSIGN_OR_RETURN(simdjson::dom::array items, required_array(o, "items", kMaxOrderItems));
  size_t index = 0;
  for (element e : items) {
    LOYALTY_ASSIGN_OR_RETURN(OrderItem item, decode_item(e, fmt::format("items[{}]", index++)));
    order.items.push_back(std::move(item));
  }
  LOYALTY_ASSIGN_OR_RETURN(order.discount_minor, optional_money(o, "discount_minor"));
  LOYALTY_ASSIGN_OR_RETURN(order.shipping_minor, optional_money(o, "shipping_minor"));
  LOYALTY_ASSIGN_OR_RETURN(order.tax_minor, optional_money(o, "tax_minor"));
  if (auto attributes = o.get("attributes"); attributes && !attributes->is_null()) {
    LOYALTY_ASSIGN_OR_RETURN(order.attributes_json,
                             canonical_attributes_of(*attributes, "attributes"));
  }
  // Totals, limits and amounts in relation to each other.
  Order checked = order;
  LOYALTY_RETURN_IF_ERROR(validate_new_order(checked));
  return command;
}

Result<engine::UpdateOrderStatus> decode_order_status(std::string_view body, ProgramId program,
                                                      OrderId order) {
  LOYALTY_ASSIGN_OR_RETURN(JsonObject o,
                           http::parse_object(body, {"event_id", "status", "occurred_at", "carrier",
                                                     "tracking_number", "promised_delivery_date"}));
  engine::UpdateOrderStatus command{program, order, {}};
  StatusChange& c = command.change;
  LOYALTY_ASSIGN_OR_RETURN(c.event_id, decode_event_id(o));
  LOYALTY_ASSIGN_OR_RETURN(std::string status, o.required_string("status", 16));
  auto parsed = parse_order_status(status);
  if (!parsed || *parsed == OrderStatus::kPlaced) {
    return field_error("status", "must be one of paid, shipped, delivered, cancelled, returned");
  }
  c.status = *parsed;
  LOYALTY_ASSIGN_OR_RETURN(c.occurred_at, o.optional_instant("occurred_at"));
  LOYALTY_ASSIGN_OR_RETURN(c.carrier, o.optional_string("carrier", kMaxCarrierLength));
  LOYALTY_ASSIGN_OR_RETURN(c.tracking_number,
                           o.optional_string("tracking_number", kMaxTrackingNumberLength));
  LOYALTY_ASSIGN_OR_RETURN(c.promised_delivery_date, optional_date(o, "promised_delivery_date"));
  bool shipping = c.status == OrderStatus::kShipped || c.status == OrderStatus::kDelivered;
  if (!shipping && (c.carrier || c.tracking_number || c.promised_delivery_date)) {
    return field_error(c.carrier           ? "carrier"
                       : c.tracking_number ? "tracking_number"
                                           : "promised_delivery_date",
                       "applies only to shipped and delivered");
  }
  return command;
}

Result<engine::RefundOrder> decode_order_refund(std::string_view body, ProgramId program,
                                                OrderId order) {
  LOYALTY_ASSIGN_OR_RETURN(
      JsonObject o,
      http::parse_object(body, {"event_id", "items", "amount_minor", "occurred_at", "reason"}));
  engine::RefundOrder command{program, order, {}};
  RefundChange& c = command.change;
  LOYALTY_ASSIGN_OR_RETURN(c.event_id, decode_event_id(o));
  LOYALTY_ASSIGN_OR_RETURN(c.occurred_at, o.optional_instant("occurred_at"));
  LOYALTY_ASSIGN_OR_RETURN(c.reason, optional_text(o, "reason", kMaxReasonLength));
  bool has_items = o.has("items");
  bool has_amount = o.has("amount_minor");
  if (has_items == has_amount) {
    return field_error(has_items ? "amount_minor" : "items",
                       "a refund names either items or amount_minor");
  }
  if (has_amount) {
    LOYALTY_ASSIGN_OR_RETURN(int64_t amount, as_money(*o.get("amount_minor"), "amount_minor"));
    if (amount == 0) return field_error("amount_minor", "must be positive");
    c.amount_minor = amount;
    return command;
  }
  LOYALTY_ASSIGN_OR_RETURN(simdjson::dom::array items, required_array(o, "items", kMaxRefundLines));
  size_t index = 0;
  for (element e : items) {
    std::string path = fmt::format("items[{}]", index++);
    LOYALTY_ASSIGN_OR_RETURN(JsonObject line,
                             JsonObject::from_element(e, path + ".", {"line", "sku", "quantity"}));
    OrderRefundLine r;
    if (line.has("line") == line.has("sku")) {
      return field_error(path, "names the item by either line or sku");
    }
    if (line.has("line")) {
      LOYALTY_ASSIGN_OR_RETURN(int64_t n, http::as_int(*line.get("line"), path + ".line", 1,
                                                       static_cast<int64_t>(kMaxOrderItems)));
      r.line = static_cast<int>(n);
    } else {
      LOYALTY_ASSIGN_OR_RETURN(r.sku, line.required_string("sku", kMaxSkuLength));
    }
    auto quantity = line.get("quantity");
    if (!quantity || quantity->is_null()) return field_error(path + ".quantity", "is required");
    LOYALTY_ASSIGN_OR_RETURN(r.quantity, as_quantity(*quantity, path + ".quantity"));
    c.lines.push_back(std::move(r));
  }
  return command;
}

}  // namespace loyalty::api

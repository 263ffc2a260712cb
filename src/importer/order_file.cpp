#include "importer/order_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

#include "domain/expiry.h"
#include "domain/member.h"
#include "domain/order.h"
#include "http/json_decode.h"

namespace loyalty::importer {

// An order as a file states it, before checks.
struct RawItem {
  std::string sku, name, category;
  std::optional<int64_t> quantity, unit_price_minor, discount_minor;
  std::string attributes_json;
};
struct RawOrder {
  int64_t line = 0;
  std::string external_id, customer_external_id, customer_email, currency, channel, status;
  std::string carrier, tracking_number, attributes_json;
  std::optional<LocalDate> promised_delivery_date;
  std::optional<Instant> placed_at, paid_at, shipped_at, delivered_at, cancelled_at, returned_at,
      refunded_at;
  std::optional<int64_t> total_minor, discount_minor, shipping_minor, tax_minor, refunded_minor;
  std::vector<RawItem> items;
};

namespace {

Status invalid(std::string message) {
  return Status(ErrorCode::kInvalidRequest, std::move(message));
}

// ---- Values ----

Result<std::optional<int64_t>> parse_int(std::string_view text, std::string_view field) {
  if (text.empty()) return std::optional<int64_t>();
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return invalid(fmt::format("{}: must be an integer, not '{}'", field, text));
  }
  return std::optional<int64_t>(v);
}

// RFC 3339, or a date YYYY-MM-DD: the start of that day in the program's zone.
Result<std::optional<Instant>> parse_instant(std::string_view text, std::string_view field,
                                             const ReadContext& context) {
  if (text.empty()) return std::optional<Instant>();
  if (text.size() == 10) {
    if (auto date = parse_local_date(text)) {
      return std::optional<Instant>(start_of_local_day(*date, context.timezone));
    }
  }
  if (auto t = parse_rfc3339(text)) return std::optional<Instant>(*t);
  return invalid(
      fmt::format("{}: must be an RFC 3339 timestamp or a date YYYY-MM-DD, not '{}'", field, text));
}

// ---- CSV ----

// The CSV columns (docs/import.md).
enum Column : int {
  kExternalId,
  kCustomerExternalId,
  kCustomerEmail,
  kCurrency,
  kChannel,
  kStatus,
  kPlacedAt,
  kPaidAt,
  kShippedAt,
  kDeliveredAt,
  kCancelledAt,
  kReturnedAt,
  kRefundedAt,
  kRefundedMinor,
  kTotalMinor,
  kDiscountMinor,
  kShippingMinor,
  kTaxMinor,
  kCarrier,
  kTrackingNumber,
  kPromisedDeliveryDate,
  kSku,
  kName,
  kCategory,
  kQuantity,
  kUnitPriceMinor,
  kItemDiscountMinor,
  kColumnCount
};
constexpr std::array<std::string_view, kColumnCount> kColumnNames = {"external_id",
                                                                     "customer_external_id",
                                                                     "customer_email",
                                                                     "currency",
                                                                     "channel",
                                                                     "status",
                                                                     "placed_at",
                                                                     "paid_at",
                                                                     "shipped_at",
                                                                     "delivered_at",
                                                                     "cancelled_at",
                                                                     "returned_at",
                                                                     "refunded_at",
                                                                     "refunded_minor",
                                                                     "total_minor",
                                                                     "discount_minor",
                                                                     "shipping_minor",
                                                                     "tax_minor",
                                                                     "carrier",
                                                                     "tracking_number",
                                                                     "promised_delivery_date",
                                                                     "sku",
                                                                     "name",
                                                                     "category",
                                                                     "quantity",
                                                                     "unit_price_minor",
                                                                     "item_discount_minor"};

// Splits one CSV line (RFC 4180 quoting; a quoted field may not span lines).
Result<std::vector<std::string>> split_csv(std::string_view line) {
  std::vector<std::string> fields(1);
  size_t i = 0;
  bool quoted_field = false;
  while (i < line.size()) {
    char c = line[i];
    if (c == '"' && fields.back().empty() && !quoted_field) {
      quoted_field = true;
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            fields.back() += '"';
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        fields.back() += line[i++];
      }
      if (!closed) return invalid("a quoted field is not closed on its line");
      if (i < line.size() && line[i] != ',') {
        return invalid(fmt::format("unexpected '{}' after a quoted field", line[i]));
      }
      continue;
    }
    if (c == ',') {
      fields.emplace_back();
      quoted_field = false;
    } else {
      fields.back() += c;
    }
    ++i;
  }
  return fields;
}

// ---- Building the record ----

std::string status_event_id(OrderStatus s) { return std::string("import:") + to_string(s); }

struct Step {
  OrderStatus status;
  const char* field;
  std::optional<Instant> at;
};

}  // namespace

const char* to_string(FileFormat format) {
  switch (format) {
    case FileFormat::kCsv:
      return "csv";
    case FileFormat::kNdjson:
      return "ndjson";
    case FileFormat::kCdnow:
      return "cdnow";
  }
  return "?";
}

Result<FileFormat> detect_format(std::string_view path, std::string_view option) {
  if (option == "csv") return FileFormat::kCsv;
  if (option == "ndjson" || option == "jsonl") return FileFormat::kNdjson;
  if (option == "cdnow") return FileFormat::kCdnow;
  if (!option.empty()) {
    return invalid(fmt::format("--format: must be csv, ndjson or cdnow, not '{}'", option));
  }
  if (path.ends_with(".csv")) return FileFormat::kCsv;
  if (path.ends_with(".ndjson") || path.ends_with(".jsonl")) return FileFormat::kNdjson;
  return invalid(fmt::format(
      "cannot tell the format of '{}' by its extension (.csv, .ndjson, .jsonl): give --format",
      path));
}

Result<std::unique_ptr<OrderFileReader>> OrderFileReader::open(const std::string& path,
                                                               FileFormat format,
                                                               ReadContext context) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return Status(ErrorCode::kNotFound, "cannot open " + path);
  uint64_t size = 0;
  if (std::fseek(file, 0, SEEK_END) == 0) {
    long end = std::ftell(file);
    size = end > 0 ? static_cast<uint64_t>(end) : 0;
    std::rewind(file);
  }
  return std::unique_ptr<OrderFileReader>(
      new OrderFileReader(file, format, std::move(context), size));
}

OrderFileReader::OrderFileReader(std::FILE* file, FileFormat format, ReadContext context,
                                 uint64_t size)
    : file_(file), format_(format), context_(std::move(context)), file_size_(size) {
  static constexpr size_t kReadBuffer = 1 << 20;
  std::setvbuf(file_, nullptr, _IOFBF, kReadBuffer);
}

OrderFileReader::~OrderFileReader() { std::fclose(file_); }

bool OrderFileReader::read_line(std::string* line) {
  line->clear();
  int c = 0;
  bool any = false;
  while ((c = std::getc(file_)) != EOF) {
    any = true;
    ++bytes_read_;
    if (c == '\n') break;
    if (line->size() <= kMaxLineBytes) line->push_back(static_cast<char>(c));
  }
  if (!any) return false;
  ++line_number_;
  if (!line->empty() && line->back() == '\r') line->pop_back();
  return true;
}

OrderFileReader::Next OrderFileReader::next(engine::ImportRecord* record, LineError* error) {
  switch (format_) {
    case FileFormat::kCsv:
      return next_csv(record, error);
    case FileFormat::kNdjson:
      return next_ndjson(record, error);
    case FileFormat::kCdnow:
      return next_cdnow(record, error);
  }
  return Next::kEnd;
}

OrderFileReader::Next OrderFileReader::next_cdnow(engine::ImportRecord* record, LineError* error) {
  while (read_line(&line_)) {
    // "customer [sample] yyyymmdd cds dollars": whitespace-separated words.
    std::vector<std::string_view> w;
    std::string_view rest = line_;
    while (!rest.empty()) {
      size_t start = rest.find_first_not_of(" \t");
      if (start == std::string_view::npos) break;
      rest.remove_prefix(start);
      size_t end = rest.find_first_of(" \t");
      w.push_back(rest.substr(0, end));
      rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    }
    if (w.empty()) continue;
    if (w[0] == "customer_id") continue;  // a header
    RawOrder raw;
    raw.line = line_number_;
    auto bad = [&](std::string message) {
      *error = LineError{line_number_, std::move(message)};
      return Next::kError;
    };
    if (w.size() != 4 && w.size() != 5) {
      return bad(
          fmt::format("expected 4 words 'customer yyyymmdd cds dollars', found {}", w.size()));
    }
    const std::string_view date = w[w.size() - 3];
    std::optional<LocalDate> day;
    if (date.size() == 8) {
      day = parse_local_date(
          fmt::format("{}-{}-{}", date.substr(0, 4), date.substr(4, 2), date.substr(6, 2)));
    }
    if (!day) return bad(fmt::format("date: must be yyyymmdd, not '{}'", date));
    int64_t cds = 0;
    std::string_view cds_text = w[w.size() - 2];
    auto [cds_end, cds_ec] =
        std::from_chars(cds_text.data(), cds_text.data() + cds_text.size(), cds);
    if (cds_ec != std::errc() || cds_end != cds_text.data() + cds_text.size() || cds < 0) {
      return bad(fmt::format("cds: must be a count, not '{}'", cds_text));
    }
    // Dollars exactly into cents: digits, optionally '.' and up to two more.
    std::string_view dollars = w.back();
    size_t dot = dollars.find('.');
    std::string_view whole = dollars.substr(0, dot);
    std::string_view frac = dot == std::string_view::npos ? "" : dollars.substr(dot + 1);
    int64_t units = 0;
    int64_t cents = 0;
    bool ok =
        !whole.empty() && frac.size() <= 2 &&
        std::all_of(whole.begin(), whole.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        std::all_of(frac.begin(), frac.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        whole.size() <= 12;
    if (ok) {
      std::from_chars(whole.data(), whole.data() + whole.size(), units);
      if (!frac.empty()) std::from_chars(frac.data(), frac.data() + frac.size(), cents);
      if (frac.size() == 1) cents *= 10;
    }
    if (!ok) return bad(fmt::format("dollars: must be an amount such as 12.34, not '{}'", dollars));
    raw.external_id = fmt::format("cdnow-{}", line_number_);
    raw.customer_external_id = std::string(w[0]);
    raw.status = "paid";
    raw.placed_at = start_of_local_day(*day, context_.timezone);
    raw.paid_at = raw.placed_at;
    RawItem item;
    item.sku = "cds";
    item.name = fmt::format("{} CDs", cds);
    item.category = "music";
    item.quantity = 1;
    item.unit_price_minor = units * 100 + cents;
    raw.items.push_back(std::move(item));
    return finish(raw, record, error);
  }
  return Next::kEnd;
}

OrderFileReader::Next OrderFileReader::next_csv(engine::ImportRecord* record, LineError* error) {
  auto bad = [&](int64_t line, std::string message) {
    *error = LineError{line, std::move(message)};
    return Next::kError;
  };
  if (!header_read_) {
    header_read_ = true;
    if (!read_line(&line_)) return Next::kEnd;
    auto names = split_csv(line_);
    if (!names.ok()) return bad(line_number_, names.status().message());
    columns_.assign(names->size(), -1);
    bool has_external_id = false;
    for (size_t k = 0; k < names->size(); ++k) {
      const std::string& name = (*names)[k];
      auto it = std::find(kColumnNames.begin(), kColumnNames.end(), name);
      if (it == kColumnNames.end()) {
        // Every later row would be misread: the file cannot be imported.
        columns_.clear();
        return bad(line_number_,
                   fmt::format("unknown column '{}' (docs/import.md lists them)", name));
      }
      int column = static_cast<int>(it - kColumnNames.begin());
      if (std::find(columns_.begin(), columns_.end(), column) != columns_.end()) {
        columns_.clear();
        return bad(line_number_, fmt::format("column '{}' is given twice", name));
      }
      columns_[k] = column;
      has_external_id = has_external_id || column == kExternalId;
    }
    if (!has_external_id) {
      columns_.clear();
      return bad(line_number_, "the header has no external_id column");
    }
  }
  if (columns_.empty()) return Next::kEnd;  // a bad header: nothing can be read
  if (pending_error_) {
    *error = std::move(*pending_error_);
    pending_error_.reset();
    return Next::kError;
  }
  // The order's first row: read ahead by the previous call, or the next line.
  std::vector<std::string> first;
  int64_t first_line = 0;
  if (have_pending_row_) {
    first = std::move(pending_row_);
    first_line = pending_line_;
    have_pending_row_ = false;
  } else {
    while (true) {
      if (!read_line(&line_)) return Next::kEnd;
      if (line_.empty()) continue;
      auto row = split_csv(line_);
      if (!row.ok()) return bad(line_number_, row.status().message());
      if (row->size() != columns_.size()) {
        return bad(line_number_, fmt::format("expected {} fields as in the header, found {}",
                                             columns_.size(), row->size()));
      }
      first = std::move(row).value();
      first_line = line_number_;
      break;
    }
  }
  auto cell = [&](const std::vector<std::string>& row, Column c) -> std::string_view {
    for (size_t k = 0; k < columns_.size(); ++k) {
      if (columns_[k] == c) return row[k];
    }
    return {};
  };
  RawOrder raw;
  raw.line = first_line;
  auto read_item = [&](const std::vector<std::string>& row) -> Status {
    if (cell(row, kSku).empty() && cell(row, kQuantity).empty() &&
        cell(row, kUnitPriceMinor).empty()) {
      return {};  // a row without a line item (an order given by its total)
    }
    RawItem item;
    item.sku = std::string(cell(row, kSku));
    item.name = std::string(cell(row, kName));
    item.category = std::string(cell(row, kCategory));
    LOYALTY_ASSIGN_OR_RETURN(item.quantity, parse_int(cell(row, kQuantity), "quantity"));
    LOYALTY_ASSIGN_OR_RETURN(item.unit_price_minor,
                             parse_int(cell(row, kUnitPriceMinor), "unit_price_minor"));
    LOYALTY_ASSIGN_OR_RETURN(item.discount_minor,
                             parse_int(cell(row, kItemDiscountMinor), "item_discount_minor"));
    raw.items.push_back(std::move(item));
    return {};
  };
  auto read_order = [&](const std::vector<std::string>& row) -> Status {
    raw.external_id = std::string(cell(row, kExternalId));
    raw.customer_external_id = std::string(cell(row, kCustomerExternalId));
    raw.customer_email = std::string(cell(row, kCustomerEmail));
    raw.currency = std::string(cell(row, kCurrency));
    raw.channel = std::string(cell(row, kChannel));
    raw.status = std::string(cell(row, kStatus));
    raw.carrier = std::string(cell(row, kCarrier));
    raw.tracking_number = std::string(cell(row, kTrackingNumber));
    const std::pair<Column, std::optional<Instant>*> instants[] = {
        {kPlacedAt, &raw.placed_at},       {kPaidAt, &raw.paid_at},
        {kShippedAt, &raw.shipped_at},     {kDeliveredAt, &raw.delivered_at},
        {kCancelledAt, &raw.cancelled_at}, {kReturnedAt, &raw.returned_at},
        {kRefundedAt, &raw.refunded_at}};
    for (const auto& [column, out] : instants) {
      LOYALTY_ASSIGN_OR_RETURN(*out,
                               parse_instant(cell(row, column), kColumnNames[column], context_));
    }
    const std::pair<Column, std::optional<int64_t>*> amounts[] = {
        {kTotalMinor, &raw.total_minor},
        {kDiscountMinor, &raw.discount_minor},
        {kShippingMinor, &raw.shipping_minor},
        {kTaxMinor, &raw.tax_minor},
        {kRefundedMinor, &raw.refunded_minor}};
    for (const auto& [column, out] : amounts) {
      LOYALTY_ASSIGN_OR_RETURN(*out, parse_int(cell(row, column), kColumnNames[column]));
    }
    std::string_view promised = cell(row, kPromisedDeliveryDate);
    if (!promised.empty()) {
      raw.promised_delivery_date = parse_local_date(promised);
      if (!raw.promised_delivery_date) {
        return invalid(
            fmt::format("promised_delivery_date: must be a date YYYY-MM-DD, not '{}'", promised));
      }
    }
    return read_item(row);
  };
  Status st = read_order(first);
  // Further rows of the same order: its other lines.
  while (read_line(&line_)) {
    if (line_.empty()) continue;
    auto row = split_csv(line_);
    if (!row.ok() || row->size() != columns_.size()) {
      // A bad row: reported as its own line by the next call.
      pending_error_ = LineError{
          line_number_, !row.ok() ? row.status().message()
                                  : fmt::format("expected {} fields as in the header, found {}",
                                                columns_.size(), row->size())};
      break;
    }
    if (cell(*row, kExternalId) != raw.external_id) {
      pending_row_ = std::move(row).value();
      pending_line_ = line_number_;
      have_pending_row_ = true;
      break;
    }
    if (st.ok()) st = read_item(*row);
  }
  if (!st.ok()) return bad(first_line, st.message());
  return finish(raw, record, error);
}

OrderFileReader::Next OrderFileReader::next_ndjson(engine::ImportRecord* record, LineError* error) {
  while (read_line(&line_)) {
    if (line_.find_first_not_of(" \t") == std::string::npos) continue;
    auto bad = [&](const Status& st) {
      *error = LineError{line_number_, st.message()};
      return Next::kError;
    };
    if (line_.size() > kMaxLineBytes) {
      return bad(invalid(fmt::format("the line is longer than {} bytes", kMaxLineBytes)));
    }
    RawOrder raw;
    raw.line = line_number_;
    auto decode = [&]() -> Status {
      LOYALTY_ASSIGN_OR_RETURN(
          http::JsonObject o,
          http::parse_object(line_, {"external_id",     "member_external_id",
                                     "customer",        "currency",
                                     "channel",         "placed_at",
                                     "status",          "paid_at",
                                     "shipped_at",      "delivered_at",
                                     "cancelled_at",    "returned_at",
                                     "refunded_at",     "refunded_minor",
                                     "total_minor",     "items",
                                     "discount_minor",  "shipping_minor",
                                     "tax_minor",       "carrier",
                                     "tracking_number", "promised_delivery_date",
                                     "attributes"}));
      auto text = [&](std::string_view name, size_t max) -> Result<std::string> {
        LOYALTY_ASSIGN_OR_RETURN(auto v, o.optional_string(name, max));
        return v.value_or("");
      };
      LOYALTY_ASSIGN_OR_RETURN(raw.external_id, text("external_id", kMaxOrderExternalIdLength));
      LOYALTY_ASSIGN_OR_RETURN(raw.customer_external_id,
                               text("member_external_id", kMaxExternalIdLength));
      LOYALTY_ASSIGN_OR_RETURN(auto customer,
                               o.optional_object("customer", {"external_id", "email"}));
      if (customer) {
        if (!raw.customer_external_id.empty() && customer->has("external_id")) {
          return http::field_error("customer.external_id",
                                   "give member_external_id or customer.external_id, not both");
        }
        LOYALTY_ASSIGN_OR_RETURN(auto id,
                                 customer->optional_string("external_id", kMaxExternalIdLength));
        if (id) raw.customer_external_id = *id;
        LOYALTY_ASSIGN_OR_RETURN(auto email, customer->optional_string("email", kMaxEmailLength));
        raw.customer_email = email.value_or("");
      }
      LOYALTY_ASSIGN_OR_RETURN(raw.currency, text("currency", 3));
      LOYALTY_ASSIGN_OR_RETURN(raw.channel, text("channel", kMaxChannelLength));
      LOYALTY_ASSIGN_OR_RETURN(raw.status, text("status", 16));
      LOYALTY_ASSIGN_OR_RETURN(raw.carrier, text("carrier", kMaxCarrierLength));
      LOYALTY_ASSIGN_OR_RETURN(raw.tracking_number,
                               text("tracking_number", kMaxTrackingNumberLength));
      const std::pair<std::string_view, std::optional<Instant>*> instants[] = {
          {"placed_at", &raw.placed_at},       {"paid_at", &raw.paid_at},
          {"shipped_at", &raw.shipped_at},     {"delivered_at", &raw.delivered_at},
          {"cancelled_at", &raw.cancelled_at}, {"returned_at", &raw.returned_at},
          {"refunded_at", &raw.refunded_at}};
      for (const auto& [name, out] : instants) {
        LOYALTY_ASSIGN_OR_RETURN(auto value, o.optional_string(name, 64));
        if (value) {
          LOYALTY_ASSIGN_OR_RETURN(*out, parse_instant(*value, name, context_));
          if (!*out) return http::field_error(name, "must not be empty");
        }
      }
      const std::pair<std::string_view, std::optional<int64_t>*> amounts[] = {
          {"total_minor", &raw.total_minor},
          {"discount_minor", &raw.discount_minor},
          {"shipping_minor", &raw.shipping_minor},
          {"tax_minor", &raw.tax_minor},
          {"refunded_minor", &raw.refunded_minor}};
      for (const auto& [name, out] : amounts) {
        LOYALTY_ASSIGN_OR_RETURN(*out, o.optional_int(name, INT64_MIN, INT64_MAX));
      }
      LOYALTY_ASSIGN_OR_RETURN(auto promised, o.optional_string("promised_delivery_date", 10));
      if (promised) {
        raw.promised_delivery_date = parse_local_date(*promised);
        if (!raw.promised_delivery_date) {
          return http::field_error("promised_delivery_date", "must be a date YYYY-MM-DD");
        }
      }
      if (auto attributes = o.get("attributes"); attributes && !attributes->is_null()) {
        raw.attributes_json = simdjson::minify(*attributes);
      }
      if (auto items = o.get("items"); items && !items->is_null()) {
        simdjson::dom::array array;
        if (items->get(array)) {
          return http::field_error(
              "items", std::string("must be an array, not ") + http::json_type_name(*items));
        }
        if (array.size() > kMaxOrderItems) {
          return http::field_error("items",
                                   fmt::format("must hold at most {} elements", kMaxOrderItems));
        }
        size_t index = 0;
        for (simdjson::dom::element e : array) {
          std::string path = fmt::format("items[{}]", index++);
          LOYALTY_ASSIGN_OR_RETURN(
              http::JsonObject io,
              http::JsonObject::from_element(e, path + ".",
                                             {"sku", "name", "category", "quantity",
                                              "unit_price_minor", "discount_minor", "attributes"}));
          RawItem item;
          LOYALTY_ASSIGN_OR_RETURN(auto sku, io.optional_string("sku", kMaxSkuLength));
          item.sku = sku.value_or("");
          LOYALTY_ASSIGN_OR_RETURN(auto name, io.optional_string("name", kMaxItemNameLength));
          item.name = name.value_or("");
          LOYALTY_ASSIGN_OR_RETURN(auto category,
                                   io.optional_string("category", kMaxCategoryLength));
          item.category = category.value_or("");
          LOYALTY_ASSIGN_OR_RETURN(item.quantity,
                                   io.optional_int("quantity", INT64_MIN, INT64_MAX));
          LOYALTY_ASSIGN_OR_RETURN(item.unit_price_minor,
                                   io.optional_int("unit_price_minor", INT64_MIN, INT64_MAX));
          LOYALTY_ASSIGN_OR_RETURN(item.discount_minor,
                                   io.optional_int("discount_minor", INT64_MIN, INT64_MAX));
          if (auto a = io.get("attributes"); a && !a->is_null()) {
            item.attributes_json = simdjson::minify(*a);
          }
          raw.items.push_back(std::move(item));
        }
      }
      return {};
    };
    Status st = decode();
    if (!st.ok()) return bad(st);
    return finish(raw, record, error);
  }
  return Next::kEnd;
}

// Checks the order as a whole and builds the record.
OrderFileReader::Next OrderFileReader::finish(RawOrder& raw, engine::ImportRecord* record,
                                              LineError* error) {
  auto bad = [&](std::string message) {
    *error = LineError{raw.line, std::move(message)};
    return Next::kError;
  };
  if (raw.external_id.empty()) return bad("external_id: is required");
  if (raw.external_id.size() > kMaxOrderExternalIdLength) {
    return bad(fmt::format("external_id: at most {} characters", kMaxOrderExternalIdLength));
  }
  if (raw.currency.empty()) raw.currency = context_.currency;
  if (raw.currency != context_.currency) {
    return bad(fmt::format("currency: the order is in {} but the program counts in {}",
                           raw.currency, context_.currency));
  }
  if (!raw.placed_at) {
    if (!raw.paid_at) return bad("placed_at: is required");
    raw.placed_at = raw.paid_at;
  }
  std::optional<OrderStatus> status;
  if (!raw.status.empty()) {
    status = parse_order_status(raw.status);
    if (!status) {
      return bad(fmt::format(
          "status: must be placed, paid, shipped, delivered, cancelled or returned, not '{}'",
          raw.status));
    }
  } else {
    // The furthest status the instants tell.
    status = raw.returned_at    ? OrderStatus::kReturned
             : raw.cancelled_at ? OrderStatus::kCancelled
             : raw.delivered_at ? OrderStatus::kDelivered
             : raw.shipped_at   ? OrderStatus::kShipped
             : raw.paid_at      ? OrderStatus::kPaid
                                : OrderStatus::kPlaced;
  }
  const bool paid = *status == OrderStatus::kPaid || *status == OrderStatus::kShipped ||
                    *status == OrderStatus::kDelivered || *status == OrderStatus::kReturned ||
                    (*status == OrderStatus::kCancelled && raw.paid_at.has_value());
  if (*status == OrderStatus::kPlaced && raw.paid_at) {
    return bad("paid_at: the status is placed");
  }
  if (paid && !raw.paid_at) raw.paid_at = raw.placed_at;
  // The steps after payment, in order; the status is the last one.
  std::vector<Step> steps;
  const Step all[] = {{OrderStatus::kShipped, "shipped_at", raw.shipped_at},
                      {OrderStatus::kDelivered, "delivered_at", raw.delivered_at},
                      {OrderStatus::kCancelled, "cancelled_at", raw.cancelled_at},
                      {OrderStatus::kReturned, "returned_at", raw.returned_at}};
  for (const Step& step : all) {
    if (step.status == *status) {
      if (!step.at)
        return bad(
            fmt::format("{}: is required when the status is {}", step.field, to_string(*status)));
      steps.push_back(step);
    } else if (step.at) {
      // Shipped and delivered may come before a return, shipped before a
      // delivery or a cancellation; nothing else goes with another status.
      bool before = (step.status == OrderStatus::kShipped &&
                     (*status == OrderStatus::kDelivered || *status == OrderStatus::kCancelled ||
                      *status == OrderStatus::kReturned)) ||
                    (step.status == OrderStatus::kDelivered && *status == OrderStatus::kReturned);
      if (!before) {
        return bad(fmt::format("{}: does not go with status {}", step.field, to_string(*status)));
      }
      steps.push_back(step);
    }
  }
  std::sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) {
    return static_cast<int>(a.status) < static_cast<int>(b.status);
  });
  // Each instant no earlier than the one before; the transitions allowed.
  OrderStatus from = paid ? OrderStatus::kPaid : OrderStatus::kPlaced;
  Instant previous = raw.paid_at.value_or(*raw.placed_at);
  const char* previous_field = raw.paid_at ? "paid_at" : "placed_at";
  if (raw.paid_at && *raw.paid_at < *raw.placed_at) return bad("paid_at: before placed_at");
  for (const Step& step : steps) {
    if (*step.at < previous) return bad(fmt::format("{}: before {}", step.field, previous_field));
    Status transition = check_transition(from, step.status);
    if (!transition.ok()) return bad(fmt::format("{}: {}", step.field, transition.message()));
    from = step.status;
    previous = *step.at;
    previous_field = step.field;
  }
  const bool shipping = !raw.carrier.empty() || !raw.tracking_number.empty() ||
                        raw.promised_delivery_date.has_value();
  if (shipping && !raw.shipped_at && !raw.delivered_at) {
    return bad("carrier: needs shipped_at or delivered_at");
  }
  // Lines, or one line for the whole total.
  engine::ImportRecord out;
  out.line = raw.line;
  Order& order = out.create.order;
  order.external_id = raw.external_id;
  order.currency = raw.currency;
  order.channel = raw.channel;
  order.placed_at = *raw.placed_at;
  if (!raw.attributes_json.empty()) order.attributes_json = raw.attributes_json;
  order.discount_minor = raw.discount_minor.value_or(0);
  order.shipping_minor = raw.shipping_minor.value_or(0);
  order.tax_minor = raw.tax_minor.value_or(0);
  order.request_fingerprint = "import";
  for (size_t k = 0; k < raw.items.size(); ++k) {
    RawItem& r = raw.items[k];
    std::string path = fmt::format("items[{}]", k);
    if (r.sku.empty()) return bad(path + ".sku: is required");
    if (!r.quantity) return bad(path + ".quantity: is required");
    if (!r.unit_price_minor) return bad(path + ".unit_price_minor: is required");
    OrderItem item;
    item.sku = std::move(r.sku);
    item.name = std::move(r.name);
    item.category = std::move(r.category);
    item.quantity = *r.quantity;
    item.unit_price_minor = *r.unit_price_minor;
    item.discount_minor = r.discount_minor.value_or(0);
    if (!r.attributes_json.empty()) item.attributes_json = std::move(r.attributes_json);
    order.items.push_back(std::move(item));
  }
  if (order.items.empty()) {
    if (!raw.total_minor) return bad("items: give the order's items or its total_minor");
    // One line: what the total paid for beyond shipping and tax.
    OrderItem item;
    item.sku = "total";
    item.quantity = 1;
    item.unit_price_minor =
        *raw.total_minor - order.shipping_minor - order.tax_minor + order.discount_minor;
    if (*raw.total_minor < 0 || item.unit_price_minor < 0) {
      return bad("total_minor: must be at least shipping_minor + tax_minor - discount_minor");
    }
    order.items.push_back(std::move(item));
  }
  Order checked = order;
  if (Status st = validate_new_order(checked); !st.ok()) return bad(st.message());
  if (raw.total_minor && checked.total_minor != *raw.total_minor) {
    return bad(fmt::format("total_minor: {} but the items add up to {}", *raw.total_minor,
                           checked.total_minor));
  }
  // No instant after now.
  for (const auto& [field, at] :
       {std::pair{"placed_at", raw.placed_at}, std::pair{"paid_at", raw.paid_at},
        std::pair{"shipped_at", raw.shipped_at}, std::pair{"delivered_at", raw.delivered_at},
        std::pair{"cancelled_at", raw.cancelled_at}, std::pair{"returned_at", raw.returned_at},
        std::pair{"refunded_at", raw.refunded_at}}) {
    if (at && *at > context_.now) {
      return bad(fmt::format("{}: {} is in the future (the import runs as of {})", field,
                             format_rfc3339(*at), format_rfc3339(context_.now)));
    }
  }
  out.create.status = paid ? OrderStatus::kPaid : OrderStatus::kPlaced;
  if (paid) out.create.paid_at = raw.paid_at;
  out.created_at = paid ? *raw.paid_at : *raw.placed_at;
  for (const Step& step : steps) {
    StatusChange change;
    change.status = step.status;
    change.event_id = status_event_id(step.status);
    change.occurred_at = step.at;
    const bool first_shipping = step.status == OrderStatus::kShipped ||
                                (step.status == OrderStatus::kDelivered && !raw.shipped_at);
    if (first_shipping && shipping) {
      if (!raw.carrier.empty()) change.carrier = raw.carrier;
      if (!raw.tracking_number.empty()) change.tracking_number = raw.tracking_number;
      change.promised_delivery_date = raw.promised_delivery_date;
    }
    out.changes.push_back(std::move(change));
  }
  if (raw.refunded_minor && *raw.refunded_minor != 0) {
    if (!paid) return bad("refunded_minor: an unpaid order has nothing to refund");
    if (*raw.refunded_minor < 0) return bad("refunded_minor: must not be negative");
    if (*raw.refunded_minor > checked.total_minor) {
      return bad(fmt::format("refunded_minor: {} is more than the order's total {}",
                             *raw.refunded_minor, checked.total_minor));
    }
    Instant at = raw.refunded_at.value_or(previous);
    if (at < *raw.paid_at) return bad("refunded_at: before paid_at");
    RefundChange refund;
    refund.event_id = "import:refund";
    refund.occurred_at = at;
    refund.amount_minor = *raw.refunded_minor;
    refund.reason = "imported";
    out.refund = std::move(refund);
  } else if (raw.refunded_at) {
    return bad("refunded_at: needs refunded_minor");
  }
  out.customer_external_id = std::move(raw.customer_external_id);
  if (!out.customer_external_id.empty()) {
    if (Status st = validate_external_id(out.customer_external_id); !st.ok()) {
      return bad("customer_external_id: " + st.message());
    }
  }
  if (!raw.customer_email.empty()) {
    auto email = normalize_email(raw.customer_email);
    if (!email.ok()) return bad("customer_email: must be an email address such as ada@example.com");
    out.customer_email = std::move(email).value();
  }
  // A customer's orders in time order.
  if (!out.customer_external_id.empty()) {
    auto [it, inserted] =
        latest_.try_emplace(out.customer_external_id, Latest{out.created_at, out.line});
    if (!inserted) {
      if (out.created_at < it->second.at) {
        return bad(fmt::format(
            "the order is earlier than this customer's order on line {}: a customer's orders "
            "must come in time order",
            it->second.line));
      }
      it->second = Latest{out.created_at, out.line};
    }
  }
  *record = std::move(out);
  return Next::kRecord;
}

}  // namespace loyalty::importer

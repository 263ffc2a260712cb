// Fuzz target: every request-body decoder of the API.
//
// The first byte picks the decoder, the rest is the body. Properties checked
// beyond "does not crash": a decoder that succeeds returns values within the
// documented limits (points in range, canonical attributes re-decode to
// themselves), and a failure is always a client error, never kInternal.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/decoders.h"
#include "domain/points.h"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

template <typename T>
void check_failure_kind(const loyalty::Result<T>& r) {
  if (!r.ok()) {
    auto code = r.status().code();
    check(code == loyalty::ErrorCode::kInvalidRequest ||
          code == loyalty::ErrorCode::kAmountOutOfRange);
    check(!r.status().message().empty());
  }
}

bool points_in_range(int64_t p) {
  return p >= -loyalty::kMaxPointsPerPosting && p <= loyalty::kMaxPointsPerPosting;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace loyalty;
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  ProgramId program{1};
  MemberId member{2};
  switch (data[0] % 15) {
    case 0:
      check_failure_kind(api::decode_create_program(body));
      break;
    case 1:
      check_failure_kind(api::decode_program_patch(body));
      break;
    case 2:
      check_failure_kind(api::decode_create_api_key(body, program));
      break;
    case 3: {
      auto r = api::decode_enroll_member(body, program);
      check_failure_kind(r);
      if (r.ok()) {
        auto again = api::canonical_attributes(r->member.attributes_json);
        check(again.ok() && *again == r->member.attributes_json);
      }
      break;
    }
    case 4:
      check_failure_kind(api::decode_member_patch(body));
      break;
    case 5: {
      auto r = api::decode_credit(body, program, member, "key_1");
      check_failure_kind(r);
      if (r.ok()) check(r->request.points.value > 0 && points_in_range(r->request.points.value));
      break;
    }
    case 6: {
      auto r = api::decode_debit(body, program, member, "key_1");
      check_failure_kind(r);
      if (r.ok()) check(r->request.points.value > 0 && points_in_range(r->request.points.value));
      break;
    }
    case 7: {
      auto r = api::decode_adjustment(body, program, member, "key_1");
      check_failure_kind(r);
      if (r.ok()) check(r->request.points.value != 0 && points_in_range(r->request.points.value));
      break;
    }
    case 8:
      check_failure_kind(api::decode_transfer(body, program, "key_1"));
      break;
    case 9:
      check_failure_kind(api::decode_reversal(body, program, PostingId{3}, "key_1"));
      break;
    case 10:
      check_failure_kind(api::canonical_attributes(body));
      break;
    case 11: {
      auto r = api::decode_record_event(body, program, "key_1");
      check_failure_kind(r);
      if (r.ok()) {
        // Within the limits, exactly one way to name the member, keys sorted and unique.
        check(!r->external_id.empty() && !r->type.empty());
        check(r->member_id.valid() != !r->member_external_id.empty());
        check(r->attributes.size() <= engine::kMaxEventAttributes);
        for (size_t i = 1; i < r->attributes.size(); ++i) {
          check(r->attributes[i - 1].first < r->attributes[i].first);
        }
      }
      break;
    }
    case 12: {
      auto r = api::decode_create_order(body, program, "fingerprint");
      check_failure_kind(r);
      if (r.ok()) {
        // A decoded order is within every limit and its totals add up.
        Order o = r->order;
        check(validate_new_order(o).ok());
        check(!o.items.empty() && o.items.size() <= kMaxOrderItems);
        check(o.total_minor >= 0 &&
              o.total_minor <= o.subtotal_minor + o.shipping_minor + o.tax_minor);
        check(!(r->customer.member_id.valid() && !r->customer.member_external_id.empty()));
      }
      break;
    }
    case 13: {
      auto r = api::decode_order_status(body, program, OrderId{4});
      check_failure_kind(r);
      if (r.ok()) check(!r->change.event_id.empty() && r->change.status != OrderStatus::kPlaced);
      break;
    }
    case 14: {
      auto r = api::decode_order_refund(body, program, OrderId{4});
      check_failure_kind(r);
      if (r.ok()) {
        // Exactly one of lines and amount, each positive.
        check(r->change.lines.empty() == r->change.amount_minor.has_value());
        if (r->change.amount_minor) check(*r->change.amount_minor > 0);
        for (const OrderRefundLine& l : r->change.lines) check(l.quantity > 0);
      }
      break;
    }
  }
  return 0;
}

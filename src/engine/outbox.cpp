#include "engine/outbox.h"

#include "common/json_writer.h"

namespace loyalty::engine::events {

Points posting_points(const Posting& posting) {
  // The contra entry says it for every single-member kind: issuance (credit),
  // redemption (debit), expiry; vesting moves pending to available.
  Points total{0};
  for (const Entry& e : posting.entries) {
    if (e.member != posting.member) continue;
    switch (posting.kind) {
      case PostingKind::kCredit:
        if (e.account == Account::kIssuance) total -= e.amount;
        break;
      case PostingKind::kDebit:
        if (e.account == Account::kRedemption) total += e.amount;
        break;
      case PostingKind::kExpiry:
        if (e.account == Account::kExpiry) total += e.amount;
        break;
      case PostingKind::kVesting:
        if (e.account == Account::kPending) total -= e.amount;
        break;
      default:
        if (e.account == Account::kAvailable || e.account == Account::kPending) total += e.amount;
        break;
    }
  }
  return total;
}

std::string posting_payload(const Posting& posting, Points points, std::string_view extra_json) {
  JsonWriter w;
  w.begin_object()
      .field("member_id", format_id(posting.member))
      .field("posting_id", format_id(posting.id))
      .field("points", points.value)
      .field("source", posting.source)
      .field("occurred_at", format_rfc3339(posting.created_at));
  std::string out = w.take();
  out += extra_json;
  out += '}';
  return out;
}

Status emit_posting_event(store::StoreSession& store, std::string_view type, const Posting& posting,
                          std::string_view extra_json) {
  std::string payload = posting_payload(posting, posting_points(posting), extra_json);
  auto id = store.append_outbox_event(posting.program_id, posting.member, type, payload,
                                      posting.created_at);
  return id.ok() ? Status() : id.status();
}

}  // namespace loyalty::engine::events

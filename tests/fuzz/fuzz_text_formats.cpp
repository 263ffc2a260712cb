// Fuzz target: the text formats read from requests outside JSON bodies —
// RFC 3339 instants, local dates, prefixed ids, base64url cursors. Each value
// that parses must format back to a string that parses to the same value.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/crypto.h"
#include "common/ids.h"
#include "common/time.h"

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace loyalty;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto t = parse_rfc3339(text)) {
    auto again = parse_rfc3339(format_rfc3339(*t));
    check(again.has_value() && *again == *t);
  }
  if (auto d = parse_local_date(text)) {
    check(format_local_date(*d) == text);
  }
  if (auto id = parse_id<MemberTag>(text)) {
    check(id->valid() && format_id(*id) == text);
  }
  if (auto decoded = base64url_decode(text)) {
    auto again = base64url_decode(base64url_encode(*decoded));
    check(again.has_value() && *again == *decoded);
  }
  return 0;
}

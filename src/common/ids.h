// Typed identifiers and their public spelling.
//
// Inside the process every id is an int64 assigned by the store. Over the API
// it is a string with a type prefix ("mem_42", "pst_7") so that an id of one
// kind can never be passed where another is meant, and JavaScript clients never
// meet integers above 2^53.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace loyalty {

template <typename Tag>
struct Id {
  int64_t value = 0;
  constexpr bool valid() const { return value > 0; }
  friend constexpr auto operator<=>(Id, Id) = default;
};

struct ProgramTag {
  static constexpr std::string_view kPrefix = "prg_";
};
struct MemberTag {
  static constexpr std::string_view kPrefix = "mem_";
};
struct PostingTag {
  static constexpr std::string_view kPrefix = "pst_";
};
struct LotTag {
  static constexpr std::string_view kPrefix = "lot_";
};
struct ApiKeyTag {
  static constexpr std::string_view kPrefix = "key_";
};
struct OrderTag {
  static constexpr std::string_view kPrefix = "ord_";
};

using ProgramId = Id<ProgramTag>;
using MemberId = Id<MemberTag>;
using PostingId = Id<PostingTag>;
using LotId = Id<LotTag>;
using ApiKeyId = Id<ApiKeyTag>;
using OrderId = Id<OrderTag>;

template <typename Tag>
std::string format_id(Id<Tag> id) {
  return std::string(Tag::kPrefix) + std::to_string(id.value);
}

// Parses "mem_42" into MemberId{42}; nullopt on a wrong prefix, no digits,
// leading zeros, or overflow.
template <typename Tag>
std::optional<Id<Tag>> parse_id(std::string_view text) {
  if (text.substr(0, Tag::kPrefix.size()) != Tag::kPrefix) return std::nullopt;
  std::string_view digits = text.substr(Tag::kPrefix.size());
  if (digits.empty() || digits.size() > 18 || digits[0] == '0') return std::nullopt;
  int64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return Id<Tag>{v};
}

}  // namespace loyalty

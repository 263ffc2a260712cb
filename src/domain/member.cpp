#include "domain/member.h"

namespace loyalty {

const char* to_string(MemberStatus s) { return s == MemberStatus::kBlocked ? "blocked" : "active"; }

std::optional<MemberStatus> parse_member_status(std::string_view s) {
  if (s == "active") return MemberStatus::kActive;
  if (s == "blocked") return MemberStatus::kBlocked;
  return std::nullopt;
}

Status validate_external_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxExternalIdLength) {
    return Status(ErrorCode::kInvalidRequest, "external_id must be 1 to 255 characters");
  }
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7F) {
      return Status(ErrorCode::kInvalidRequest, "external_id must not contain control characters");
    }
  }
  return {};
}

Result<std::string> normalize_email(std::string_view email) {
  auto bad = [&] {
    return Status(ErrorCode::kInvalidRequest,
                  "email must look like name@example.com (at most 254 characters)");
  };
  if (email.size() < 3 || email.size() > kMaxEmailLength) return bad();
  size_t at = email.find('@');
  if (at == std::string_view::npos || at == 0 ||
      email.find('@', at + 1) != std::string_view::npos) {
    return bad();
  }
  std::string_view domain = email.substr(at + 1);
  size_t dot = domain.rfind('.');
  if (domain.empty() || dot == std::string_view::npos || dot == 0 || dot + 1 == domain.size()) {
    return bad();
  }
  std::string out;
  out.reserve(email.size());
  for (unsigned char c : email) {
    if (c <= 0x20 || c == 0x7F) return bad();
    out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  return out;
}

}  // namespace loyalty

#include "http/media_type.h"

#include <cctype>

namespace loyalty::http {

std::string_view media_type_of(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  while (!type.empty() && type.front() == ' ') type.remove_prefix(1);
  return type;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool is_json_media_type(std::string_view content_type) {
  return iequals(media_type_of(content_type), "application/json");
}

bool is_config_media_type(std::string_view content_type) {
  std::string_view type = media_type_of(content_type);
  return iequals(type, "application/json") || iequals(type, "application/yaml") ||
         iequals(type, "text/yaml") || iequals(type, "application/x-yaml");
}

}  // namespace loyalty::http

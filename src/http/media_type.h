// Content-Type values: the media type without its parameters, compared
// case-insensitively (RFC 9110 section 8.3.1).
#pragma once

#include <string_view>

namespace loyalty::http {

// "Application/JSON ; charset=utf-8" -> "Application/JSON".
std::string_view media_type_of(std::string_view content_type);
bool iequals(std::string_view a, std::string_view b);
// "application/json", with any parameters, in any case.
bool is_json_media_type(std::string_view content_type);
// A configuration document's media types: JSON, or YAML as application/yaml,
// text/yaml (RFC 9512) or the older application/x-yaml.
bool is_config_media_type(std::string_view content_type);

}  // namespace loyalty::http

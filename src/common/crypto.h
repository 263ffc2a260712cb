// Hashing and randomness (OpenSSL): API key hashes, request fingerprints,
// secret generation, and cursor encoding.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace loyalty {

// Lower-case hex SHA-256 of data.
std::string sha256_hex(std::string_view data);
// A secret of `chars` characters from the base58 alphabet (no 0/O/I/l), drawn
// from the operating system's CSPRNG; aborts if the CSPRNG fails.
std::string random_base58(size_t chars);
// Compares in time independent of where the inputs differ.
bool constant_time_equal(std::string_view a, std::string_view b);
std::string base64url_encode(std::string_view data);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace loyalty

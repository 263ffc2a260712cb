// Hashing and randomness (OpenSSL): API key hashes, request fingerprints,
// secret generation, and cursor encoding.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace loyalty {

// Lower-case hex SHA-256 of data.
std::string sha256_hex(std::string_view data);
// A secret of `chars` characters from the base58 alphabet (no 0/O/I/l), drawn
// from the operating system's CSPRNG; aborts if the CSPRNG fails.
std::string random_base58(size_t chars);
// Fills `out` from the operating system's CSPRNG; aborts if the CSPRNG fails.
void random_bytes(std::span<uint8_t> out);
// The first value `from_random` makes of 64 fresh CSPRNG bytes: codes drawn by
// rejection sampling (coupons, referral codes, gift card codes and PINs) return
// nullopt when the bytes ran out, and get new ones.
template <typename F>
std::string draw_random_text(F&& from_random) {
  while (true) {
    std::array<uint8_t, 64> bytes{};
    random_bytes(bytes);
    std::optional<std::string> text = from_random(std::span<const uint8_t>(bytes));
    if (text) return *std::move(text);
  }
}
// Compares in time independent of where the inputs differ.
bool constant_time_equal(std::string_view a, std::string_view b);
std::string base64url_encode(std::string_view data);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace loyalty

// API key authentication and authorization.
//
// A request carries `Authorization: Bearer <secret>`. The secret is hashed
// (SHA-256) and looked up; the key found determines the program of every
// resource the request may touch. Scopes are checked per route.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"
#include "store/store.h"

namespace loyalty::http {

// How long a looked-up key is trusted without asking the store again. A revoke
// through this process takes effect at once (forget()); one through another
// process (another node) within this time.
inline constexpr std::chrono::milliseconds kApiKeyCacheTtl{2000};
// Cached keys; beyond this the cache starts over (bounded memory).
inline constexpr size_t kMaxCachedApiKeys = 10'000;
// Longer bearer tokens are rejected before hashing.
inline constexpr size_t kMaxBearerTokenLength = 256;

// A per-process cache of keys found by hash. Only keys that exist are cached,
// so random tokens cannot fill it. Thread-safe.
class ApiKeyCache {
 public:
  // The key whose secret hashes to key_hash, from the cache or the session;
  // nullopt when no key has that hash.
  Result<std::optional<store::ApiKey>> lookup(const std::string& key_hash,
                                              store::StoreSession& session);
  // Drops the key from the cache (after it was revoked).
  void forget(ApiKeyId id);

 private:
  struct Entry {
    store::ApiKey key;
    std::chrono::steady_clock::time_point fetched_at;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> by_hash_;
  uint64_t generation_ = 0;  // bumped by forget()
};

// The token of an `Authorization: Bearer <token>` header value; nullopt when
// the header is not a bearer credential (scheme matched case-insensitively).
std::optional<std::string_view> bearer_token(std::string_view authorization);

// The SHA-256 of the last bearer token one connection presented. A keep-alive
// client sends the same key with every request, so the connection hashes it
// once (SHA-256 is ~6,000 instructions, a third of a balance read's own work).
// It lives as long as the connection, which holds the token in its request
// buffer anyway; it is never shared between connections.
struct TokenHashMemo {
  std::string token;
  std::string hash;
};

// Authenticates an API key request: kUnauthenticated when the header is
// missing, malformed, or names an unknown or revoked key. `memo` (optional)
// is the calling connection's.
Result<store::ApiKey> authenticate_api_key(std::string_view authorization, ApiKeyCache& cache,
                                           store::StoreSession& session,
                                           TokenHashMemo* memo = nullptr);

// True when the key holds `scope` or "*".
bool has_scope(const store::ApiKey& key, std::string_view scope);

}  // namespace loyalty::http

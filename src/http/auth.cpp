#include "http/auth.h"

#include <cctype>

#include "common/crypto.h"

namespace loyalty::http {

Result<std::optional<store::ApiKey>> ApiKeyCache::lookup(const std::string& key_hash,
                                                         store::StoreSession& session) {
  auto now = std::chrono::steady_clock::now();
  uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    generation = generation_;
    auto it = by_hash_.find(key_hash);
    if (it != by_hash_.end() && now - it->second.fetched_at < kApiKeyCacheTtl) {
      return std::optional<store::ApiKey>(it->second.key);
    }
  }
  // Asked outside the lock: a slow store must not serialize every request.
  LOYALTY_ASSIGN_OR_RETURN(std::optional<store::ApiKey> found,
                           session.find_api_key_by_hash(key_hash));
  std::lock_guard lock(mu_);
  if (!found) {
    by_hash_.erase(key_hash);
    return found;
  }
  // A revoke that completed while we asked the store may have been read
  // before it committed: do not cache what we found then.
  if (generation != generation_) return found;
  if (by_hash_.size() >= kMaxCachedApiKeys) by_hash_.clear();
  by_hash_[key_hash] = Entry{*found, now};
  return found;
}

void ApiKeyCache::forget(ApiKeyId id) {
  std::lock_guard lock(mu_);
  ++generation_;
  for (auto it = by_hash_.begin(); it != by_hash_.end();) {
    it = it->second.key.id == id ? by_hash_.erase(it) : std::next(it);
  }
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) {
      return std::nullopt;
    }
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty() || token.size() > kMaxBearerTokenLength) return std::nullopt;
  return token;
}

Result<store::ApiKey> authenticate_api_key(std::string_view authorization, ApiKeyCache& cache,
                                           store::StoreSession& session, TokenHashMemo* memo) {
  if (authorization.empty()) {
    return Status(ErrorCode::kUnauthenticated,
                  "missing API key: send the header 'Authorization: Bearer <api key>'");
  }
  auto token = bearer_token(authorization);
  if (!token) {
    return Status(ErrorCode::kUnauthenticated,
                  "the Authorization header must be 'Bearer <api key>'");
  }
  std::string computed;
  const std::string* hash = nullptr;
  if (memo != nullptr && !memo->hash.empty() && constant_time_equal(memo->token, *token)) {
    hash = &memo->hash;
  } else {
    computed = sha256_hex(*token);
    hash = &computed;
    if (memo != nullptr) {
      memo->token = std::string(*token);
      memo->hash = computed;
    }
  }
  LOYALTY_ASSIGN_OR_RETURN(std::optional<store::ApiKey> key, cache.lookup(*hash, session));
  // One message for unknown and revoked keys: a caller learns nothing about
  // which secrets once existed.
  if (!key || key->revoked_at) {
    return Status(ErrorCode::kUnauthenticated, "the API key is unknown or revoked");
  }
  return std::move(*key);
}

bool has_scope(const store::ApiKey& key, std::string_view scope) {
  for (const std::string& s : key.scopes) {
    if (s == "*" || s == scope) return true;
  }
  return false;
}

}  // namespace loyalty::http

#include "http/problem.h"

#include <array>
#include <vector>

#include "common/assert.h"
#include "common/json_writer.h"
#include "domain/config_document.h"

namespace loyalty::http {

namespace {

// Indexed by ErrorCode; the order must follow the enum (checked in problem_type).
constexpr std::array<ProblemType, 47> kCodeProblems = {{
    {200, "ok", "OK", "Not an error."},
    {400, "invalid-request", "Invalid request",
     "The request is malformed: invalid JSON, a field of the wrong type, an unknown field, a "
     "missing required field, or a value outside its allowed range. `errors` names the field. "
     "Fix the request; retrying it unchanged fails again."},
    {401, "unauthenticated", "Unauthenticated",
     "The request has no API key, or the key is unknown or revoked. Send `Authorization: Bearer "
     "<api key>`."},
    {403, "forbidden", "Forbidden",
     "The API key is valid but lacks the scope this operation needs, or the operation is "
     "disabled on this instance."},
    {404, "not-found", "Not found",
     "No such resource in the program of the API key (resources of other programs are never "
     "visible), or no such route."},
    {422, "idempotency-key-reused", "Idempotency key reused with a different request",
     "The Idempotency-Key was already used for a request with another method, path or body. "
     "Use a new key for a new request."},
    {409, "conflict", "Conflict",
     "The request conflicts with the current state, e.g. the external_id is already enrolled."},
    {422, "member-blocked", "Member blocked",
     "The member is blocked: it cannot earn, spend or transfer points until unblocked."},
    {422, "transfer-to-self", "Transfer to self", "A member cannot transfer points to itself."},
    {422, "transfers-disabled", "Transfers disabled",
     "Member-to-member transfers are disabled in this program's settings."},
    {422, "transfer-limit-exceeded", "Transfer limit exceeded",
     "The transfer is below the program's minimum, above its maximum, or over the sender's daily "
     "limit."},
    {409, "already-reversed", "Already reversed", "The posting has been reversed already."},
    {422, "not-reversible", "Not reversible",
     "This posting cannot be reversed (a reversal, or a posting made by the system such as "
     "expiry or vesting), or reversing it would need points the member no longer has."},
    {422, "insufficient-points", "Insufficient points",
     "The member's available balance is lower than the points requested."},
    {422, "amount-out-of-range", "Amount out of range",
     "The amount is above the largest amount one posting may move, or the balance would "
     "overflow."},
    {422, "invalid-config", "Invalid program configuration",
     "The configuration document fails validation. `errors` lists each problem with its path in "
     "the document, its line and column, and what was expected. The program keeps its current "
     "configuration."},
    {422, "currency-mismatch", "Currency mismatch",
     "The order's currency is not the program's currency."},
    {409, "invalid-order-transition", "Invalid order status change",
     "The order cannot move to this status from its current one (e.g. delivered back to paid, or "
     "any change after it was cancelled)."},
    {422, "refund-exceeds-paid", "Refund exceeds what was paid",
     "The refund is larger than the amount (or the item quantity) paid and not yet refunded."},
    {422, "unknown-event-type", "Unknown event type",
     "No earn rule of the program's configuration handles this custom event type."},
    {422, "unknown-tier", "Unknown tier",
     "The tier is not one of the tiers of the program's active configuration."},
    {422, "unknown-plan", "Unknown plan",
     "The paid-membership plan is not one of the plans of the program's active configuration "
     "(`paid_membership.plans`, docs/tiers.md)."},
    {422, "payment-mismatch", "Payment does not match the plan",
     "The reported payment's amount or currency is not the plan's price per period. The detail "
     "gives both."},
    {422, "checkout-limit", "Outside the checkout limits",
     "Points at checkout are not enabled in the program's configuration, or the points are "
     "below its `min_points` or pay more than its `max_order_share_percent` of the order total "
     "(docs/checkout.md)."},
    {422, "capture-exceeds-hold", "Capture exceeds the hold",
     "The capture asks for more than the hold holds (points, or money on a gift card hold). "
     "Capture at most what is held; the rest is released."},
    {409, "hold-not-open", "Hold not open",
     "The hold was already captured, released, or it expired: it can be captured or released "
     "only once, while it is open."},
    {422, "reward-unavailable", "Reward unavailable",
     "The reward is inactive, or outside its availability window (`available_from` / "
     "`available_until`). The detail says which (docs/rewards.md)."},
    {422, "reward-not-eligible", "Not eligible for the reward",
     "The reward is restricted to other tiers (\"Gold only\"), or the member does not meet its "
     "condition."},
    {409, "out-of-stock", "Out of stock", "The reward's stock is exhausted."},
    {422, "redemption-limit-reached", "Redemption limit reached",
     "The member reached the reward's per-member limit for the period or for their lifetime."},
    {409, "coupon-not-usable", "Coupon not usable",
     "The coupon was consumed (by another order), cancelled with its redemption, or it expired. "
     "The detail says which."},
    {422, "coupon-not-applicable", "Coupon not applicable to the cart",
     "The cart does not meet the coupon's terms: below its minimum order, without its product, "
     "or without shipping to waive."},
    {409, "not-cancellable", "Redemption not cancellable",
     "The redemption was already cancelled, or its coupon was already used."},
    {422, "unknown-referral-code", "Unknown referral code",
     "No active referral code like this exists in the program (codes are compared in upper "
     "case without spaces). Nothing was written; send the request again without the code, or "
     "with the right one (docs/referrals.md)."},
    {422, "referral-not-allowed", "Referral not allowed",
     "The referral cannot be made: the code is the member's own, the member is an existing "
     "customer the program's policy does not let be referred (already ordered, or "
     "`allow_existing_customers: false`), or the program has no referrals. Nothing was "
     "written."},
    {409, "referral-not-reviewable", "Referral not reviewable",
     "Only a held referral can be approved, and only a held or pending one rejected; this one "
     "is in another state."},
    {429, "too-many-attempts", "Too many attempts",
     "Too many gift card code or PIN checks failed for this API key or this card within the "
     "window (docs/gift-cards.md). Wait for the Retry-After delay (seconds) before trying again."},
    {422, "gift-card-rejected", "Gift card rejected",
     "No gift card of this program has this code, or the PIN is wrong. The two are not told "
     "apart, and every failure counts toward the attempt limits."},
    {409, "gift-card-not-usable", "Gift card not usable",
     "The gift card is not activated yet, was disabled, or expired. The detail says which."},
    {422, "insufficient-balance", "Insufficient gift card balance",
     "The gift card's available balance (what is not held) is below the amount asked."},
    {422, "gift-not-allowed", "Gift not allowed",
     "The gift cannot be sent: the program has no gifting (or gifts points only), the points are "
     "outside the program's smallest and largest gift, or the redemption has no unused coupon "
     "to give (docs/gifting.md). Nothing was written."},
    {422, "gift-to-self", "Gift to oneself",
     "The recipient email is the giver's own (compared in lower case, Gmail-style dots and "
     "+tags removed), or the giver tried to claim their own gift. Nothing was written."},
    {422, "gift-limit-reached", "Gift limit reached",
     "The giver reached the program's limit of gifts or gifted points for the period "
     "(`gifting.limits`). Nothing was written."},
    {409, "gift-not-claimable", "Gift not claimable",
     "The gift was claimed, returned to its giver (its claim window passed) or cancelled "
     "already; the detail says which."},
    {503, "unavailable", "Service unavailable",
     "The server is draining, its queue is full or the store is unreachable. Retry after the "
     "Retry-After delay with the same Idempotency-Key."},
    {503, "retryable", "Temporary failure",
     "A transient storage conflict. Retry with the same Idempotency-Key."},
    {500, "internal-error", "Internal error",
     "An unexpected error. It is logged with the request id (X-Request-Id)."},
}};

constexpr std::array<ProblemType, 4> kHttpProblems = {{
    {405, "method-not-allowed", "Method not allowed",
     "The route exists but not with this method; the Allow header lists the methods it takes."},
    {413, "payload-too-large", "Payload too large", "The request body exceeds the size limit."},
    {415, "unsupported-media-type", "Unsupported media type",
     "A request body must be JSON, sent with `Content-Type: application/json`; a program "
     "configuration document may also be YAML (`application/yaml` or `text/yaml`)."},
    {400, "bad-request", "Bad request",
     "The HTTP request itself is malformed (headers, framing or the request target)."},
}};

bool is_field_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '[' || c == ']';
}

}  // namespace

const ProblemType& problem_type(ErrorCode code) {
  static_assert(static_cast<size_t>(ErrorCode::kInternal) + 1 == kCodeProblems.size());
  size_t index = static_cast<size_t>(code);
  LOYALTY_ASSERT(index > 0 && index < kCodeProblems.size());
  return kCodeProblems[index];
}

const ProblemType& problem_type(HttpProblem problem) {
  return kHttpProblems[static_cast<size_t>(problem)];
}

std::span<const ProblemType> all_problem_types() {
  static const std::vector<ProblemType> kAll = [] {
    std::vector<ProblemType> all(kCodeProblems.begin() + 1, kCodeProblems.end());
    all.insert(all.end(), kHttpProblems.begin(), kHttpProblems.end());
    return all;
  }();
  return kAll;
}

const ProblemType* find_problem_type(std::string_view slug) {
  for (const ProblemType& t : all_problem_types()) {
    if (t.slug == slug) return &t;
  }
  return nullptr;
}

std::optional<FieldError> field_error_of(const Status& status) {
  if (status.code() != ErrorCode::kInvalidRequest) return std::nullopt;
  std::string_view message = status.message();
  size_t colon = message.find(": ");
  if (colon == 0 || colon == std::string_view::npos) return std::nullopt;
  for (char c : message.substr(0, colon)) {
    if (!is_field_char(c)) return std::nullopt;
  }
  return FieldError{std::string(message.substr(0, colon)), std::string(message.substr(colon + 2))};
}

std::optional<int64_t> retry_after_seconds_of(const Status& status) {
  if (status.code() != ErrorCode::kTooManyAttempts) return std::nullopt;
  constexpr std::string_view kPrefix = "(retry after ";
  constexpr std::string_view kSuffix = " seconds)";
  std::string_view message = status.message();
  if (!message.ends_with(kSuffix)) return std::nullopt;
  size_t start = message.rfind(kPrefix);
  if (start == std::string_view::npos) return std::nullopt;
  std::string_view digits = message.substr(
      start + kPrefix.size(), message.size() - kSuffix.size() - start - kPrefix.size());
  if (digits.empty() || digits.size() > 9) return std::nullopt;
  int64_t seconds = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    seconds = seconds * 10 + (c - '0');
  }
  return seconds;
}

Response problem_response(const ProblemType& type, std::string_view detail,
                          std::string_view instance) {
  JsonWriter w;
  w.begin_object()
      .field("type", std::string("/problems/") + std::string(type.slug))
      .field("title", type.title)
      .field("status", type.status)
      .field("detail", detail)
      .field("instance", instance);
  w.end_object();
  Response r;
  r.status = type.status;
  r.content_type = "application/problem+json";
  r.body = w.take();
  return r;
}

Response problem_response(const Status& status, std::string_view instance) {
  const ProblemType& type = problem_type(status.code());
  std::string_view detail = status.message();
  if (status.code() == ErrorCode::kInternal) {
    detail = "an internal error occurred; the server log has the details under the request id";
  }
  // An invalid configuration's message is a summary line, then one line per
  // error (domain/config_document.h): each becomes an entry of `errors`.
  std::vector<ConfigError> config_errors = config_errors_of(status);
  if (status.code() == ErrorCode::kInvalidConfig) detail = detail.substr(0, detail.find('\n'));
  JsonWriter w;
  w.begin_object()
      .field("type", std::string("/problems/") + std::string(type.slug))
      .field("title", type.title)
      .field("status", type.status)
      .field("detail", detail)
      .field("instance", instance);
  if (auto field = field_error_of(status)) {
    w.key("errors").begin_array().begin_object();
    w.field("field", field->field).field("message", field->message);
    w.end_object().end_array();
  }
  if (!config_errors.empty()) {
    w.key("errors").begin_array();
    for (const ConfigError& e : config_errors) {
      w.begin_object()
          .field("path", e.path)
          .field("line", e.line)
          .field("column", e.column)
          .field("message", e.message)
          .end_object();
    }
    w.end_array();
  }
  w.end_object();
  Response r;
  r.status = type.status;
  r.content_type = "application/problem+json";
  r.body = w.take();
  if (status.code() == ErrorCode::kUnavailable || status.code() == ErrorCode::kRetryable) {
    r.headers.emplace_back("Retry-After", "1");
  }
  if (auto seconds = retry_after_seconds_of(status)) {
    r.headers.emplace_back("Retry-After", std::to_string(*seconds));
  }
  return r;
}

}  // namespace loyalty::http

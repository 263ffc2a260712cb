#include "api/routes.h"

namespace loyalty::api {

http::Router build_router() {
  using http::AuthMode;
  constexpr AuthMode kKey = AuthMode::kApiKey;
  constexpr AuthMode kNone = AuthMode::kNone;
  return http::Router({
      // Programs.
      {"POST", "/v1/programs", AuthMode::kAdminToken, "", create_program},
      {"GET", "/v1/programs/{id}", kKey, "program:read", get_program},
      {"PATCH", "/v1/programs/{id}", kKey, "program:write", patch_program},
      // Program configuration.
      {"PUT", "/v1/programs/{id}/config", kKey, "program:write", put_program_config,
       http::BodyKind::kConfigDocument},
      {"POST", "/v1/programs/{id}/config:validate", kKey, "program:read", validate_program_config,
       http::BodyKind::kConfigDocument},
      {"GET", "/v1/programs/{id}/config", kKey, "program:read", get_program_config},
      {"GET", "/v1/programs/{id}/config/versions", kKey, "program:read",
       list_program_config_versions},
      // API keys.
      {"POST", "/v1/api-keys", kKey, "keys:write", create_api_key},
      {"GET", "/v1/api-keys", kKey, "program:read", list_api_keys},
      {"DELETE", "/v1/api-keys/{id}", kKey, "keys:write", revoke_api_key},
      // Members.
      {"POST", "/v1/members", kKey, "members:write", enroll_member},
      {"GET", "/v1/members", kKey, "members:read", list_members},
      {"GET", "/v1/members/{id}", kKey, "members:read", get_member},
      {"PATCH", "/v1/members/{id}", kKey, "members:write", patch_member},
      {"POST", "/v1/members/{id}/block", kKey, "members:write", block_member},
      {"POST", "/v1/members/{id}/unblock", kKey, "members:write", unblock_member},
      // Ledger.
      {"POST", "/v1/members/{id}/credits", kKey, "ledger:write", credit_member},
      {"POST", "/v1/members/{id}/debits", kKey, "ledger:write", debit_member},
      {"POST", "/v1/members/{id}/adjustments", kKey, "ledger:write", adjust_member},
      {"POST", "/v1/transfers", kKey, "ledger:write", transfer_points},
      {"POST", "/v1/postings/{id}/reversal", kKey, "ledger:write", reverse_posting},
      {"GET", "/v1/postings/{id}", kKey, "ledger:read", get_posting},
      {"GET", "/v1/members/{id}/postings", kKey, "ledger:read", list_member_postings},
      {"GET", "/v1/members/{id}/lots", kKey, "ledger:read", list_member_lots},
      {"GET", "/v1/members/{id}/balance", kKey, "ledger:read", get_member_balance},
      // Custom events (docs/earning.md).
      {"POST", "/v1/events", kKey, "ledger:write", record_event},
      {"GET", "/v1/members/{id}/events", kKey, "ledger:read", list_member_events},
      // Tiers (docs/tiers.md).
      {"GET", "/v1/members/{id}/tier", kKey, "members:read", get_member_tier},
      {"PUT", "/v1/members/{id}/tier", kKey, "members:write", put_member_tier},
      {"GET", "/v1/members/{id}/tier/history", kKey, "members:read", list_member_tier_history},
      {"GET", "/v1/vip/members", kKey, "members:read", list_vip_members},
      // Paid membership (docs/tiers.md).
      {"GET", "/v1/members/{id}/paid-membership", kKey, "members:read", get_paid_membership},
      {"POST", "/v1/members/{id}/paid-membership/payments", kKey, "members:write",
       post_paid_membership_payment},
      {"POST", "/v1/members/{id}/paid-membership:cancel", kKey, "members:write",
       post_paid_membership_cancel},
      // Referrals (docs/referrals.md). Reviews are "{id}:approve" and
      // "{id}:reject" in the last segment.
      {"GET", "/v1/members/{id}/referrals", kKey, "members:read", get_member_referrals},
      {"POST", "/v1/members/{id}/referral-code", kKey, "members:write",
       ensure_member_referral_code},
      {"POST", "/v1/members/{id}/referral-invitations", kKey, "members:write", invite_referral},
      {"POST", "/v1/members/{id}/referral", kKey, "members:write", attach_member_referral},
      {"GET", "/v1/referrals", kKey, "members:read", list_referrals},
      {"GET", "/v1/referrals/{id}", kKey, "members:read", get_referral},
      {"POST", "/v1/referrals/{id}", kKey, "members:write", referral_action},
      {"GET", "/v1/reports/referrals", kKey, "program:read", referral_report},
      // Points at checkout (docs/checkout.md).
      {"POST", "/v1/members/{id}/checkout/quote", kKey, "ledger:read", quote_checkout},
      {"POST", "/v1/members/{id}/holds", kKey, "ledger:write", create_hold},
      {"GET", "/v1/members/{id}/holds", kKey, "ledger:read", list_member_holds},
      {"GET", "/v1/holds/{id}", kKey, "ledger:read", get_hold},
      {"POST", "/v1/holds/{id}:capture", kKey, "ledger:write", capture_hold},
      {"POST", "/v1/holds/{id}:release", kKey, "ledger:write", release_hold},
      // Outbox (until delivery lands: docs/events.md).
      {"GET", "/v1/outbox", kKey, "program:read", list_outbox_events},
      // Orders and order tracking (docs/orders.md).
      {"POST", "/v1/orders", kKey, "orders:write", create_order},
      {"GET", "/v1/orders", kKey, "orders:read", find_orders},
      {"GET", "/v1/orders/{id}", kKey, "orders:read", get_order},
      {"POST", "/v1/orders/{id}/status", kKey, "orders:write", update_order_status},
      {"POST", "/v1/orders/{id}/refunds", kKey, "orders:write", refund_order},
      {"GET", "/v1/members/{id}/orders", kKey, "orders:read", list_member_orders},
      {"POST", "/v1/members/{id}/orders:claim", kKey, "orders:write", claim_member_orders},
      {"GET", "/v1/reports/carriers", kKey, "orders:read", carrier_report},
      // Rewards, redemptions and coupons (docs/rewards.md). Actions are
      // "{id}:cancel", "{code}:validate", "{code}:consume" in the last segment.
      {"GET", "/v1/members/{id}/rewards", kKey, "members:read", list_member_rewards},
      {"POST", "/v1/members/{id}/redemptions", kKey, "ledger:write", create_redemption},
      {"GET", "/v1/members/{id}/redemptions", kKey, "ledger:read", list_member_redemptions},
      {"GET", "/v1/members/{id}/redemptions/{rid}", kKey, "ledger:read", get_member_redemption},
      {"POST", "/v1/members/{id}/redemptions/{rid}", kKey, "ledger:write", redemption_action},
      {"POST", "/v1/coupons/{code}", kKey, "orders:write", coupon_action},
      {"GET", "/v1/programs/{id}/donations", kKey, "program:read", program_donations},
      // Gift cards (docs/gift-cards.md). Codes and PINs only in bodies.
      {"POST", "/v1/gift-cards", kKey, "orders:write", issue_gift_card},
      {"POST", "/v1/gift-cards:import", kKey, "program:write", import_gift_cards},
      {"POST", "/v1/gift-cards:activate", kKey, "orders:write", activate_gift_card},
      {"POST", "/v1/gift-cards:check", kKey, "orders:read", check_gift_card},
      {"POST", "/v1/gift-cards/holds", kKey, "orders:write", create_gift_card_hold},
      {"POST", "/v1/gift-cards/holds/{id}:capture", kKey, "orders:write", capture_gift_card_hold},
      {"POST", "/v1/gift-cards/holds/{id}:release", kKey, "orders:write", release_gift_card_hold},
      {"GET", "/v1/gift-cards/{id}", kKey, "orders:read", get_gift_card},
      {"POST", "/v1/gift-cards/{id}:disable", kKey, "program:write", disable_gift_card},
      {"POST", "/v1/gift-cards/{id}:enable", kKey, "program:write", enable_gift_card},
      {"GET", "/v1/members/{id}/gift-cards", kKey, "members:read", list_member_gift_cards},
      // Gifting (docs/gifting.md). Tokens only in bodies; "{id}:cancel".
      {"POST", "/v1/members/{id}/gifts", kKey, "ledger:write", send_gift},
      {"GET", "/v1/members/{id}/gifts", kKey, "ledger:read", list_member_gifts},
      {"POST", "/v1/gifts:claim", kKey, "ledger:write", claim_gift},
      {"POST", "/v1/gifts:lookup", kKey, "members:read", lookup_gift},
      {"GET", "/v1/gifts/{id}", kKey, "ledger:read", get_gift},
      {"POST", "/v1/gifts/{id}", kKey, "ledger:write", gift_action},
      // Operations and documentation.
      {"GET", "/healthz", kNone, "", healthz},
      {"GET", "/readyz", kNone, "", readyz},
      {"GET", "/metrics", kNone, "", metrics},
      {"GET", "/openapi.json", kNone, "", openapi_document},
      {"GET", "/schemas/program-config.json", kNone, "", program_config_schema},
      {"GET", "/docs", kNone, "", docs_page},
      {"GET", "/problems/{slug}", kNone, "", problem_page},
  });
}

}  // namespace loyalty::api

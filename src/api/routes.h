// The REST API's routing table: every endpoint, its auth mode and scope.
#pragma once

#include "http/router.h"

namespace loyalty::api {

// The router of every endpoint loyaltyd serves (api/openapi.json documents
// exactly these; a test checks both ways).
http::Router build_router();

// Handlers, one group per resource file.
void create_program(http::RequestContext& ctx, const http::Responder& respond);
void get_program(http::RequestContext& ctx, const http::Responder& respond);
void patch_program(http::RequestContext& ctx, const http::Responder& respond);

void put_program_config(http::RequestContext& ctx, const http::Responder& respond);
void validate_program_config(http::RequestContext& ctx, const http::Responder& respond);
void get_program_config(http::RequestContext& ctx, const http::Responder& respond);
void list_program_config_versions(http::RequestContext& ctx, const http::Responder& respond);

void create_api_key(http::RequestContext& ctx, const http::Responder& respond);
void list_api_keys(http::RequestContext& ctx, const http::Responder& respond);
void revoke_api_key(http::RequestContext& ctx, const http::Responder& respond);

void enroll_member(http::RequestContext& ctx, const http::Responder& respond);
void list_members(http::RequestContext& ctx, const http::Responder& respond);
void get_member(http::RequestContext& ctx, const http::Responder& respond);
void patch_member(http::RequestContext& ctx, const http::Responder& respond);
void block_member(http::RequestContext& ctx, const http::Responder& respond);
void unblock_member(http::RequestContext& ctx, const http::Responder& respond);

void credit_member(http::RequestContext& ctx, const http::Responder& respond);
void debit_member(http::RequestContext& ctx, const http::Responder& respond);
void adjust_member(http::RequestContext& ctx, const http::Responder& respond);
void transfer_points(http::RequestContext& ctx, const http::Responder& respond);
void reverse_posting(http::RequestContext& ctx, const http::Responder& respond);
void get_posting(http::RequestContext& ctx, const http::Responder& respond);
void list_member_postings(http::RequestContext& ctx, const http::Responder& respond);
void list_member_lots(http::RequestContext& ctx, const http::Responder& respond);
void get_member_balance(http::RequestContext& ctx, const http::Responder& respond);

void record_event(http::RequestContext& ctx, const http::Responder& respond);
void list_member_events(http::RequestContext& ctx, const http::Responder& respond);
// Tiers (api/tiers.cpp).
void get_member_tier(http::RequestContext& ctx, const http::Responder& respond);
void put_member_tier(http::RequestContext& ctx, const http::Responder& respond);
void list_member_tier_history(http::RequestContext& ctx, const http::Responder& respond);
void list_vip_members(http::RequestContext& ctx, const http::Responder& respond);
void post_paid_membership_payment(http::RequestContext& ctx, const http::Responder& respond);
void post_paid_membership_cancel(http::RequestContext& ctx, const http::Responder& respond);
void get_paid_membership(http::RequestContext& ctx, const http::Responder& respond);
// Referrals (referrals.cpp).
void get_member_referrals(http::RequestContext& ctx, const http::Responder& respond);
void ensure_member_referral_code(http::RequestContext& ctx, const http::Responder& respond);
void invite_referral(http::RequestContext& ctx, const http::Responder& respond);
void attach_member_referral(http::RequestContext& ctx, const http::Responder& respond);
void list_referrals(http::RequestContext& ctx, const http::Responder& respond);
void get_referral(http::RequestContext& ctx, const http::Responder& respond);
void referral_action(http::RequestContext& ctx, const http::Responder& respond);
void referral_report(http::RequestContext& ctx, const http::Responder& respond);

void list_outbox_events(http::RequestContext& ctx, const http::Responder& respond);

// Points at checkout (api/checkout.cpp).
void quote_checkout(http::RequestContext& ctx, const http::Responder& respond);
void create_hold(http::RequestContext& ctx, const http::Responder& respond);
void list_member_holds(http::RequestContext& ctx, const http::Responder& respond);
void get_hold(http::RequestContext& ctx, const http::Responder& respond);
void capture_hold(http::RequestContext& ctx, const http::Responder& respond);
void release_hold(http::RequestContext& ctx, const http::Responder& respond);

void create_order(http::RequestContext& ctx, const http::Responder& respond);
void find_orders(http::RequestContext& ctx, const http::Responder& respond);
void get_order(http::RequestContext& ctx, const http::Responder& respond);
void update_order_status(http::RequestContext& ctx, const http::Responder& respond);
void refund_order(http::RequestContext& ctx, const http::Responder& respond);
void list_member_orders(http::RequestContext& ctx, const http::Responder& respond);
void claim_member_orders(http::RequestContext& ctx, const http::Responder& respond);
void carrier_report(http::RequestContext& ctx, const http::Responder& respond);

// Rewards (api/rewards.cpp, docs/rewards.md).
void list_member_rewards(http::RequestContext& ctx, const http::Responder& respond);
void create_redemption(http::RequestContext& ctx, const http::Responder& respond);
void list_member_redemptions(http::RequestContext& ctx, const http::Responder& respond);
void get_member_redemption(http::RequestContext& ctx, const http::Responder& respond);
void redemption_action(http::RequestContext& ctx, const http::Responder& respond);
void coupon_action(http::RequestContext& ctx, const http::Responder& respond);
void program_donations(http::RequestContext& ctx, const http::Responder& respond);

// Gift cards (api/gift_cards.cpp, docs/gift-cards.md).
void issue_gift_card(http::RequestContext& ctx, const http::Responder& respond);
void import_gift_cards(http::RequestContext& ctx, const http::Responder& respond);
void activate_gift_card(http::RequestContext& ctx, const http::Responder& respond);
void check_gift_card(http::RequestContext& ctx, const http::Responder& respond);
void create_gift_card_hold(http::RequestContext& ctx, const http::Responder& respond);
void capture_gift_card_hold(http::RequestContext& ctx, const http::Responder& respond);
void release_gift_card_hold(http::RequestContext& ctx, const http::Responder& respond);
void get_gift_card(http::RequestContext& ctx, const http::Responder& respond);
void disable_gift_card(http::RequestContext& ctx, const http::Responder& respond);
void enable_gift_card(http::RequestContext& ctx, const http::Responder& respond);
void list_member_gift_cards(http::RequestContext& ctx, const http::Responder& respond);

// Gifting (api/gifts.cpp, docs/gifting.md).
void send_gift(http::RequestContext& ctx, const http::Responder& respond);
void list_member_gifts(http::RequestContext& ctx, const http::Responder& respond);
void get_gift(http::RequestContext& ctx, const http::Responder& respond);
void gift_action(http::RequestContext& ctx, const http::Responder& respond);
void claim_gift(http::RequestContext& ctx, const http::Responder& respond);
void lookup_gift(http::RequestContext& ctx, const http::Responder& respond);

void healthz(http::RequestContext& ctx, const http::Responder& respond);
void readyz(http::RequestContext& ctx, const http::Responder& respond);
void metrics(http::RequestContext& ctx, const http::Responder& respond);
void openapi_document(http::RequestContext& ctx, const http::Responder& respond);
void program_config_schema(http::RequestContext& ctx, const http::Responder& respond);
void docs_page(http::RequestContext& ctx, const http::Responder& respond);
void problem_page(http::RequestContext& ctx, const http::Responder& respond);

}  // namespace loyalty::api

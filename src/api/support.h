// What every resource handler shares: answering, reading in a transaction,
// submitting a write to the engine, and pagination.
#pragma once

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/json_writer.h"
#include "common/result.h"
#include "engine/engine.h"
#include "http/handler.h"

namespace loyalty::api {

// Page sizes of list endpoints (query parameter `limit`).
inline constexpr int kDefaultPageLimit = 50;
inline constexpr int kMaxPageLimit = 200;

// Sends a problem response for a failed Status (kInternal is logged with the
// request id; its details never reach the client).
void respond_error(const http::RequestContext& ctx, const http::Responder& respond,
                   const Status& status);
void respond_json(const http::Responder& respond, int status, std::string body);

// Runs `read` on the I/O thread's session inside begin_read()/commit(), so the
// queries of one response see one snapshot, and sends its response or problem.
void respond_read(const http::RequestContext& ctx, const http::Responder& respond,
                  const std::function<Result<http::Response>(store::StoreSession&)>& read);

// A write: the engine command and how to answer its success.
struct Write {
  engine::CommandBody body;
  int success_status = 200;
  // The success body. `stored` is true when it is rendered for the idempotency
  // record (kept in the database and replayed): secrets must then be left out.
  std::function<std::string(const engine::Outcome&, bool stored)> encode;
  // Runs on the I/O thread after a success, before the response is sent.
  std::function<void(const engine::Outcome&)> on_success;
  // A natural idempotency key (e.g. "event:" + the client's event id) used
  // instead of the Idempotency-Key header, fingerprinted the same way.
  std::optional<std::string> natural_idempotency_key;
  // The success status per outcome when it varies (an order replayed from its
  // platform's event id is 200, not 201); success_status when unset.
  std::function<int(const engine::Outcome&)> status_of;
};

// Submits the write with the request's Idempotency-Key (fingerprint:
// sha256_hex(method + " " + path + "\n" + body)) and answers on the
// connection's executor once the engine completes it: the success response,
// the stored response with `Idempotent-Replayed: true`, or a problem.
void submit_write(const http::RequestContext& ctx, const http::Responder& respond, Write write);

// The `limit` query parameter: kDefaultPageLimit when absent, else 1..kMaxPageLimit.
Result<int> page_limit(const http::QueryParams& query);

// Cursors are base64url of the last id of a page ("mem_42"); opaque to clients.
std::string encode_cursor_text(std::string_view id_text);
std::optional<std::string> decode_cursor_text(std::string_view cursor);
template <typename Tag>
std::string encode_cursor(Id<Tag> last) {
  return encode_cursor_text(format_id(last));
}
// The id in the `cursor` query parameter; Id{0} when absent; kInvalidRequest
// when it is not one of ours.
template <typename Tag>
Result<Id<Tag>> decode_cursor(const http::QueryParams& query) {
  auto cursor = query.get("cursor");
  if (!cursor) return Id<Tag>{};
  auto text = decode_cursor_text(*cursor);
  auto id = text ? parse_id<Tag>(*text) : std::nullopt;
  if (!id) return Status(ErrorCode::kInvalidRequest, "cursor: is not a cursor from this list");
  return *id;
}

// The page a list request asks for: `limit` (page_limit) and the id in
// `cursor` (decode_cursor; Id{0} from the start).
template <typename Tag>
struct CursorPage {
  int limit = 0;
  Id<Tag> cursor;
};
template <typename Tag>
Result<CursorPage<Tag>> cursor_page(const http::QueryParams& query) {
  LOYALTY_ASSIGN_OR_RETURN(int limit, page_limit(query));
  LOYALTY_ASSIGN_OR_RETURN(Id<Tag> cursor, decode_cursor<Tag>(query));
  return CursorPage<Tag>{limit, cursor};
}

// Writes {"data": [<each item>], "next_cursor": ...}. `items` holds up to
// limit + 1 elements (one more than a page tells whether a next page exists).
template <typename T, typename WriteItem, typename IdOf>
std::string list_json(const std::vector<T>& items, int limit, WriteItem write_item, IdOf id_of) {
  JsonWriter w;
  w.begin_object().key("data").begin_array();
  size_t shown = std::min(items.size(), static_cast<size_t>(limit));
  for (size_t i = 0; i < shown; ++i) write_item(w, items[i]);
  w.end_array();
  if (items.size() > shown && shown > 0) {
    w.field("next_cursor", encode_cursor(id_of(items[shown - 1])));
  } else {
    w.field_null("next_cursor");
  }
  w.end_object();
  return w.take();
}

// The actor recorded on writes: the API key's id ("key_7").
std::string actor_of(const http::RequestContext& ctx);
ProgramId program_of(const http::RequestContext& ctx);

// A path parameter as an id of this kind; nullopt (-> 404) when malformed.
template <typename Tag>
std::optional<Id<Tag>> path_id(const http::RequestContext& ctx, size_t index) {
  return parse_id<Tag>(ctx.param(index));
}
// The program of the path (`/v1/programs/{id}/...`), which must be the key's
// own: any other id is nullopt (-> 404), whether or not such a program exists.
std::optional<ProgramId> own_program(const http::RequestContext& ctx);
// "{id}:{action}" in one path segment (POST /v1/coupons/{code}:validate).
std::optional<std::pair<std::string_view, std::string_view>> split_action(std::string_view segment);
// The 404 answer for an id that does not exist in the key's program.
Status not_found(std::string_view kind, std::string_view id);

}  // namespace loyalty::api

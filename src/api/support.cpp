#include "api/support.h"

#include <spdlog/spdlog.h>

#include "common/crypto.h"
#include "http/problem.h"

namespace loyalty::api {

void respond_error(const http::RequestContext& ctx, const http::Responder& respond,
                   const Status& status) {
  if (status.code() == ErrorCode::kInternal) {
    spdlog::error("request_id={} route_error={}", ctx.request_id, status.message());
  }
  http::Response r = http::problem_response(status, ctx.path);
  if (status.code() == ErrorCode::kUnauthenticated) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"loyaltyd\"");
  }
  respond->send(std::move(r));
}

void respond_json(const http::Responder& respond, int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  respond->send(std::move(r));
}

void respond_read(const http::RequestContext& ctx, const http::Responder& respond,
                  const std::function<Result<http::Response>(store::StoreSession&)>& read) {
  auto session = ctx.services->sessions->current();
  if (!session.ok()) return respond_error(ctx, respond, session.status());
  store::StoreSession& s = **session;
  if (Status st = s.begin_read(); !st.ok()) return respond_error(ctx, respond, st);
  Result<http::Response> response = read(s);
  if (!response.ok()) {
    (void)s.rollback();  // a read has nothing to undo; the first error is the one to report
    if (response.status().code() == ErrorCode::kUnavailable)
      ctx.services->sessions->discard_current();
    return respond_error(ctx, respond, response.status());
  }
  if (Status st = s.commit(); !st.ok()) {
    if (st.code() == ErrorCode::kUnavailable) ctx.services->sessions->discard_current();
    return respond_error(ctx, respond, st);
  }
  respond->send(std::move(response).value());
}

void submit_write(const http::RequestContext& ctx, const http::Responder& respond, Write write) {
  engine::Command command;
  command.body = std::move(write.body);
  if (ctx.idempotency_key || write.natural_idempotency_key) {
    std::string request;
    request.reserve(ctx.method.size() + ctx.path.size() + ctx.body.size() + 2);
    request.append(ctx.method).append(" ").append(ctx.path).append("\n").append(ctx.body);
    command.idempotency =
        engine::Idempotency{write.natural_idempotency_key ? *write.natural_idempotency_key
                                                          : std::string(*ctx.idempotency_key),
                            sha256_hex(request)};
  }
  int status = write.success_status;
  auto encode = write.encode;
  auto status_of = write.status_of;
  command.render = [status, status_of, encode](const engine::Outcome& outcome) {
    return engine::StoredResponse{status_of ? status_of(outcome) : status, encode(outcome, true)};
  };
  // The context's views die with the request; the completion keeps copies.
  auto on_success = std::move(write.on_success);
  std::string path(ctx.path);
  std::string request_id(ctx.request_id);
  ctx.services->engine->submit(
      std::move(command),
      [respond, status, status_of = std::move(status_of), encode = std::move(encode),
       on_success = std::move(on_success), path = std::move(path),
       request_id = std::move(request_id)](engine::Outcome outcome) mutable {
        // Runs on the engine's writer thread, once: encoding happens on the I/O
        // thread so the writer only ever hands over (moving, not copying, what
        // the answer needs).
        respond->post([respond, status, status_of = std::move(status_of),
                       encode = std::move(encode), on_success = std::move(on_success),
                       path = std::move(path), request_id = std::move(request_id),
                       outcome = std::move(outcome)] {
          http::Response r;
          if (outcome.replay) {
            r.status = outcome.replay->status_code;
            r.body = outcome.replay->body;
            r.headers.emplace_back("Idempotent-Replayed", "true");
          } else if (outcome.status.ok()) {
            if (on_success) on_success(outcome);
            r.status = status_of ? status_of(outcome) : status;
            r.body = encode(outcome, false);
          } else {
            if (outcome.status.code() == ErrorCode::kInternal) {
              spdlog::error("request_id={} engine_error={}", request_id, outcome.status.message());
            }
            r = http::problem_response(outcome.status, path);
          }
          respond->send(std::move(r));
        });
      });
}

Result<int> page_limit(const http::QueryParams& query) {
  auto text = query.get("limit");
  if (!text) return kDefaultPageLimit;
  int limit = 0;
  bool digits = !text->empty() && text->size() <= 3;
  for (char c : *text) {
    digits = digits && c >= '0' && c <= '9';
    limit = limit * 10 + (c - '0');
  }
  if (!digits || limit < 1 || limit > kMaxPageLimit) {
    return Status(ErrorCode::kInvalidRequest,
                  "limit: must be an integer between 1 and " + std::to_string(kMaxPageLimit));
  }
  return limit;
}

std::string encode_cursor_text(std::string_view id_text) { return base64url_encode(id_text); }

std::optional<std::string> decode_cursor_text(std::string_view cursor) {
  if (cursor.empty() || cursor.size() > 64) return std::nullopt;
  return base64url_decode(cursor);
}

std::string actor_of(const http::RequestContext& ctx) {
  return ctx.key != nullptr ? format_id(ctx.key->id) : std::string("admin");
}

ProgramId program_of(const http::RequestContext& ctx) {
  return ctx.key != nullptr ? ctx.key->program_id : ProgramId{};
}

std::optional<ProgramId> own_program(const http::RequestContext& ctx) {
  auto id = path_id<ProgramTag>(ctx, 0);
  if (!id || *id != program_of(ctx)) return std::nullopt;
  return id;
}

Status not_found(std::string_view kind, std::string_view id) {
  return Status(ErrorCode::kNotFound, std::string("no ") + std::string(kind) + " '" +
                                          std::string(id) + "' in this program");
}

std::optional<std::pair<std::string_view, std::string_view>> split_action(
    std::string_view segment) {
  size_t colon = segment.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  return std::make_pair(segment.substr(0, colon), segment.substr(colon + 1));
}

}  // namespace loyalty::api

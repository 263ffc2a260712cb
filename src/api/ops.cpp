// Operations and documentation: /healthz, /readyz, /metrics, /openapi.json,
// /docs and the problem type pages under /problems/.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/routes.h"
#include "api/support.h"
#include "http/metrics.h"
#include "http/problem.h"

namespace loyalty::assets {
const std::vector<std::pair<std::string_view, std::string_view>>& files();
}  // namespace loyalty::assets

namespace loyalty::api {

namespace {

std::optional<std::string_view> asset(std::string_view name) {
  for (const auto& [file, content] : assets::files()) {
    if (file == name) return content;
  }
  return std::nullopt;
}

void send_asset(http::RequestContext& ctx, const http::Responder& respond, std::string_view name,
                std::string_view content_type) {
  auto content = asset(name);
  if (!content) {
    return respond_error(
        ctx, respond,
        Status(ErrorCode::kInternal, std::string("asset missing: ") + std::string(name)));
  }
  http::Response r;
  r.content_type = std::string(content_type);
  r.body = std::string(*content);
  respond->send(std::move(r));
}

std::string html_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace

void healthz(http::RequestContext& ctx, const http::Responder& respond) {
  respond_json(respond, 200, R"({"status":"ok"})");
}

void readyz(http::RequestContext& ctx, const http::Responder& respond) {
  if (ctx.services->draining && ctx.services->draining()) {
    return respond_error(ctx, respond,
                         Status(ErrorCode::kUnavailable, "the server is shutting down"));
  }
  // A trivial read proves the store answers.
  auto session = ctx.services->sessions->current();
  if (!session.ok()) return respond_error(ctx, respond, session.status());
  auto version = (*session)->schema_version();
  if (!version.ok()) {
    return respond_error(
        ctx, respond,
        Status(ErrorCode::kUnavailable, "the store is unreachable: " + version.status().message()));
  }
  respond_json(respond, 200, R"({"status":"ready"})");
}

void metrics(http::RequestContext& ctx, const http::Responder& respond) {
  http::Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = ctx.services->metrics->render(ctx.services->engine->stats());
  respond->send(std::move(r));
}

void openapi_document(http::RequestContext& ctx, const http::Responder& respond) {
  send_asset(ctx, respond, "openapi.json", "application/json");
}

void program_config_schema(http::RequestContext& ctx, const http::Responder& respond) {
  send_asset(ctx, respond, "program-config.schema.json", "application/schema+json");
}

void docs_page(http::RequestContext& ctx, const http::Responder& respond) {
  send_asset(ctx, respond, "docs.html", "text/html; charset=utf-8");
}

void problem_page(http::RequestContext& ctx, const http::Responder& respond) {
  const http::ProblemType* type = http::find_problem_type(ctx.param(0));
  if (type == nullptr) {
    return respond_error(ctx, respond, Status(ErrorCode::kNotFound, "no such problem type"));
  }
  std::string title = html_escape(type->title);
  std::string body = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
                     title + "</title></head>\n<body><h1>" + title + "</h1>\n<p>HTTP status " +
                     std::to_string(type->status) + ". Problem type <code>/problems/" +
                     html_escape(type->slug) + "</code>.</p>\n<p>" +
                     html_escape(type->description) +
                     "</p>\n<p><a href=\"/docs\">API documentation</a></p></body></html>\n";
  http::Response r;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  respond->send(std::move(r));
}

}  // namespace loyalty::api

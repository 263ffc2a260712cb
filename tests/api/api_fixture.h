// The API test fixture: a real Engine on a temporary SQLite file and a real
// Server on 127.0.0.1 with an ephemeral port, driven over HTTP.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>

#include "api/http_client.h"
#include "cli/verify.h"
#include "engine/engine.h"
#include "http/server.h"
#include "jobs/scheduler.h"
#include "store/store.h"

namespace loyalty::testing {

inline constexpr const char* kAdminToken = "test-admin-token-0123456789";

struct ProgramHandle {
  std::string id;   // "prg_1"
  std::string key;  // the secret of its all-scopes key
  std::string key_id;
};

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    static std::atomic<int> counter{0};
    db_path_ = "/tmp/loyalty_api_test_" + std::to_string(::getpid()) + "_" +
               std::to_string(counter.fetch_add(1)) + ".db";
    remove_db();
    db_url_ = "sqlite:" + db_path_;
    auto engine = engine::Engine::start(db_url_, clock_);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    engine_ = std::move(engine).value();
    http::ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.io_threads = 2;
    options.admin_token = admin_token();
    configure(options);
    auto server = http::Server::start(options, *engine_, clock_, db_url_);
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server).value();
    client_ = std::make_unique<HttpClient>("127.0.0.1", server_->port());
  }

  void TearDown() override {
    client_.reset();
    if (server_) server_->shutdown(std::chrono::seconds(5));
    server_.reset();
    if (engine_) engine_->stop();
    engine_.reset();
    remove_db();
  }

  virtual std::string admin_token() const { return kAdminToken; }
  virtual void configure(http::ServerOptions&) {}

  HttpClient& client() { return *client_; }
  std::unique_ptr<HttpClient> new_client() {
    return std::make_unique<HttpClient>("127.0.0.1", server_->port());
  }

  static Headers auth(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }
  static Headers auth(const std::string& key, const std::string& idempotency_key) {
    return {{"Authorization", "Bearer " + key}, {"Idempotency-Key", idempotency_key}};
  }

  ProgramHandle create_program(const std::string& name = "Shop", const std::string& extra_json = "",
                               const std::string& timezone = "Europe/Berlin") {
    std::string body = R"({"name":")" + name + R"(","currency":"USD","timezone":")" + timezone +
                       "\"" + extra_json + "}";
    HttpResponse r = client().post("/v1/programs", body, auth(kAdminToken));
    EXPECT_EQ(r.status, 201) << r.body;
    Json j(r.body);
    return ProgramHandle{j.str("/program/id"), j.str("/api_key/secret"), j.str("/api_key/id")};
  }

  // Stores a new configuration version (JSON, or YAML when `yaml`); expects 201.
  void put_config(const ProgramHandle& p, const std::string& document, bool yaml = false) {
    Headers headers = auth(p.key);
    if (yaml) headers.emplace_back("Content-Type", "application/yaml");
    HttpResponse r = client().request("PUT", "/v1/programs/" + p.id + "/config", document, headers);
    EXPECT_EQ(r.status, 201) << r.body;
  }

  std::string enroll(const ProgramHandle& p, const std::string& external_id,
                     const std::string& email = "") {
    std::string mail = email.empty() ? external_id + "@example.com" : email;
    HttpResponse r = client().post(
        "/v1/members", R"({"external_id":")" + external_id + R"(","email":")" + mail + R"("})",
        auth(p.key));
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).str("/id");
  }

  HttpResponse credit(const ProgramHandle& p, const std::string& member, int64_t points) {
    return client().post("/v1/members/" + member + "/credits",
                         R"({"points":)" + std::to_string(points) + R"(,"reason":"test"})",
                         auth(p.key));
  }

  int64_t available(const ProgramHandle& p, const std::string& member) {
    HttpResponse r = client().get("/v1/members/" + member + "/balance", auth(p.key));
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body).num("/available");
  }

  // `loyaltyd verify`'s checks on the store find nothing.
  void expect_store_verified() {
    auto session = store::open_session(db_url_);
    ASSERT_TRUE(session.ok()) << session.status().message();
    auto report = cli::verify_store(**session);
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_TRUE(report->problems.empty()) << cli::format_report(*report);
  }

  // Runs one scheduled job (a `loyaltyd jobs run --job` name) once, now.
  jobs::JobRunCounts run_job(std::string_view name) {
    auto reader = store::open_session(db_url_);
    EXPECT_TRUE(reader.ok()) << reader.status().message();
    auto selection = jobs::parse_job_selection(name);
    EXPECT_TRUE(selection.ok()) << selection.status().message();
    if (!reader.ok() || !selection.ok()) return {};
    auto counts = jobs::run_jobs_once(**reader, *engine_, clock_, *selection);
    EXPECT_TRUE(counts.ok()) << counts.status().message();
    return counts.ok() ? *counts : jobs::JobRunCounts{};
  }

  // Events of this type in the program's outbox (its first 200).
  int count_outbox_events(const ProgramHandle& p, const std::string& type) {
    HttpResponse r = client().get("/v1/outbox?limit=200", auth(p.key));
    EXPECT_EQ(r.status, 200) << r.body;
    int n = 0;
    size_t pos = 0;
    const std::string needle = "\"type\":\"" + type + "\"";
    while ((pos = r.body.find(needle, pos)) != std::string::npos) {
      ++n;
      pos += needle.size();
    }
    return n;
  }

  // The problem type slug of a problem response ("insufficient-points").
  static std::string problem_slug(const HttpResponse& r) {
    std::string type = Json(r.body).str("/type");
    return type.substr(type.rfind('/') + 1);
  }

  void remove_db() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db_path_ + suffix).c_str());
  }

  ManualClock clock_{Instant::from_seconds(1'717'200'000)};  // 2024-06-01T00:00:00Z
  std::string db_path_;
  std::string db_url_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<HttpClient> client_;
};

}  // namespace loyalty::testing

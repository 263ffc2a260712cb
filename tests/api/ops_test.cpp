// Operations endpoints, documentation, and the OpenAPI document against the router.
#include <set>

#include "api/api_fixture.h"
#include "api/routes.h"
#include "http/problem.h"

namespace loyalty::assets {
const std::vector<std::pair<std::string_view, std::string_view>>& files();
}

namespace loyalty::testing {
namespace {

class OpsApi : public ApiTest {};

TEST_F(OpsApi, HealthAndReadiness) {
  HttpResponse health = client().get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, R"({"status":"ok"})");
  HttpResponse ready = client().get("/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
}

TEST_F(OpsApi, MetricsCountRequestsAndBatches) {
  ProgramHandle p = create_program();
  std::string m = enroll(p, "m1");
  ASSERT_EQ(credit(p, m, 5).status, 201);
  ASSERT_EQ(client().get("/v1/nothing").status, 404);
  HttpResponse r = client().get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& t = r.body;
  EXPECT_NE(
      t.find("loyaltyd_http_requests_total{method=\"POST\",route=\"/v1/members/{id}/credits\","
             "status=\"201\"} 1\n"),
      std::string::npos)
      << t;
  EXPECT_NE(
      t.find("loyaltyd_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1\n"),
      std::string::npos);
  EXPECT_NE(t.find("loyaltyd_http_request_duration_seconds_count{route=\"/v1/members\"} 1\n"),
            std::string::npos);
  EXPECT_NE(t.find("# TYPE loyaltyd_engine_batch_commands histogram"), std::string::npos);
  EXPECT_NE(t.find("loyaltyd_engine_commands_total 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("loyaltyd_engine_failed_commands_total 0\n"), std::string::npos);
  EXPECT_NE(t.find("loyaltyd_engine_queue_depth 0\n"), std::string::npos);
  EXPECT_NE(t.find("loyaltyd_engine_batch_commands_count 3\n"), std::string::npos);
}

TEST_F(OpsApi, ShutdownStopsListening) {
  auto server = server_.get();
  std::thread drain([server] { server->shutdown(std::chrono::seconds(5)); });
  drain.join();
  // After shutdown nothing listens any more.
  HttpClient late("127.0.0.1", server_->port());
  EXPECT_ANY_THROW(late.get("/readyz"));
}

TEST_F(OpsApi, DocsAndProblemPagesResolve) {
  HttpResponse docs = client().get("/docs");
  EXPECT_EQ(docs.status, 200);
  EXPECT_EQ(docs.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(docs.body.find("/openapi.json"), std::string::npos);
  EXPECT_EQ(docs.body.find("http://"), std::string::npos);  // no CDN: the machine is offline
  EXPECT_EQ(docs.body.find("https://"), std::string::npos);
  HttpResponse spec = client().get("/openapi.json");
  EXPECT_EQ(spec.status, 200);
  EXPECT_EQ(Json(spec.body).str("/openapi"), "3.1.0");
  for (const http::ProblemType& type : http::all_problem_types()) {
    HttpResponse page = client().get("/problems/" + std::string(type.slug));
    EXPECT_EQ(page.status, 200) << type.slug;
    EXPECT_NE(page.body.find(std::string(type.title)), std::string::npos);
  }
  EXPECT_EQ(client().get("/problems/nonsense").status, 404);
}

TEST(OpenApi, DocumentsExactlyTheRoutesOfTheRouter) {
  std::string_view spec;
  for (const auto& [name, content] : assets::files()) {
    if (name == "openapi.json") spec = content;
  }
  ASSERT_FALSE(spec.empty());
  Json doc(spec);
  std::set<std::string> documented;
  simdjson::dom::object paths;
  ASSERT_FALSE(doc.at("/paths").get(paths));
  for (auto [path, item] : paths) {
    simdjson::dom::object operations;
    ASSERT_FALSE(item.get(operations));
    for (auto [method, op] : operations) {
      std::string m(method);
      if (m == "parameters" || m == "summary" || m == "description") continue;
      for (char& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.insert(m + " " + std::string(path));
      // Every operation has an id, a summary and responses.
      std::string_view text;
      EXPECT_FALSE(op["operationId"].get(text)) << m << " " << path;
      EXPECT_FALSE(op["summary"].get(text)) << m << " " << path;
      simdjson::dom::object responses;
      EXPECT_FALSE(op["responses"].get(responses)) << m << " " << path;
    }
  }
  std::set<std::string> routed;
  http::Router router = api::build_router();
  for (const http::Route& r : router.routes()) {
    routed.insert(std::string(r.method) + " " + std::string(r.pattern));
  }
  EXPECT_EQ(documented, routed);
}

TEST(OpenApi, EveryReferencedSchemaExists) {
  std::string_view spec;
  for (const auto& [name, content] : assets::files()) {
    if (name == "openapi.json") spec = content;
  }
  Json doc(spec);
  std::string text(spec);
  size_t pos = 0;
  int refs = 0;
  while ((pos = text.find("\"$ref\"", pos)) != std::string::npos) {
    size_t start = text.find('"', text.find(':', pos)) + 1;
    size_t end = text.find('"', start);
    std::string ref = text.substr(start, end - start);
    ASSERT_EQ(ref.substr(0, 2), "#/") << ref;
    EXPECT_TRUE(doc.has(ref.substr(1))) << "dangling $ref " << ref;
    pos = end;
    ++refs;
  }
  EXPECT_GT(refs, 20);
}

}  // namespace
}  // namespace loyalty::testing

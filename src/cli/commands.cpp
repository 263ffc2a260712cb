#include "cli/commands.h"

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/verify.h"
#include "common/json_writer.h"
#include "engine/engine.h"
#include "http/server.h"
#include "jobs/scheduler.h"

namespace loyalty::assets {
const std::vector<std::pair<std::string_view, std::string_view>>& files();
}  // namespace loyalty::assets

namespace loyalty::cli {
namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "loyaltyd: %s\n", message.c_str());
  return 1;
}

void setup_logging() {
  // One line per event, key=value after the message, UTC timestamps; stderr so
  // stdout stays clean for JSON printed by commands.
  auto logger = spdlog::stderr_logger_mt("loyaltyd");
  logger->set_pattern("ts=%Y-%m-%dT%H:%M:%S.%fZ level=%l %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
  const char* level = std::getenv("LOYALTYD_LOG_LEVEL");
  spdlog::set_level(level ? spdlog::level::from_str(level) : spdlog::level::info);
}

// Creates the demo program with a few members and points; returns the key.
Result<engine::ProgramCreated> create_demo(engine::Engine& engine) {
  engine::CreateProgram create;
  create.program.name = "Demo Shop";
  create.program.currency = "USD";
  create.program.timezone = "America/New_York";
  create.program.points_name = "Stars";
  create.key_name = "demo";
  auto out = engine.execute(engine::Command{create, std::nullopt, nullptr});
  if (!out.status.ok()) return out.status;
  auto created = std::get<engine::ProgramCreated>(out.value);
  // Its configuration (examples/demo-program.yaml, embedded) is version 1.
  std::string_view document;
  for (const auto& [name, content] : assets::files()) {
    if (name == "demo-program.yaml") document = content;
  }
  engine::PutConfig config{created.program.id, std::string(document), ConfigFormat::kYaml,
                           "system"};
  auto configured = engine.execute(engine::Command{config, std::nullopt, nullptr});
  if (!configured.status.ok()) return configured.status;
  struct DemoMember {
    const char* external_id;
    const char* email;
    const char* first_name;
    int64_t points;
  };
  for (const DemoMember& d : {DemoMember{"cust-1001", "alice@example.com", "Alice", 1250},
                              DemoMember{"cust-1002", "bob@example.com", "Bob", 300},
                              DemoMember{"cust-1003", "carol@example.com", "Carol", 0}}) {
    engine::EnrollMember enroll;
    enroll.member.program_id = created.program.id;
    enroll.member.external_id = d.external_id;
    enroll.member.email = d.email;
    enroll.member.first_name = d.first_name;
    auto m = engine.execute(engine::Command{enroll, std::nullopt, nullptr});
    if (!m.status.ok()) return m.status;
    if (d.points > 0) {
      engine::Credit credit;
      credit.program_id = created.program.id;
      credit.member_id = std::get<Member>(m.value).id;
      credit.request.points = Points{d.points};
      credit.request.reason = "welcome to the demo";
      credit.request.source = "demo";
      credit.request.actor = "system";
      auto c = engine.execute(engine::Command{credit, std::nullopt, nullptr});
      if (!c.status.ok()) return c.status;
    }
  }
  return created;
}

bool parse_listen(const std::string& listen, std::string* host, uint16_t* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = listen.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  std::string p = listen.substr(colon + 1);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  int v = std::stoi(p);
  if (v > 65535) return false;
  *port = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

int run_serve(const ServeOptions& options) {
  setup_logging();
  http::ServerOptions server_options;
  if (!parse_listen(options.listen, &server_options.host, &server_options.port)) {
    return fail("--listen must be HOST:PORT, got '" + options.listen + "'");
  }
  if (options.io_threads < 1 || options.io_threads > 64) {
    return fail("--io-threads must be between 1 and 64");
  }
  server_options.io_threads = options.io_threads;
  if (const char* token = std::getenv("LOYALTYD_ADMIN_TOKEN")) server_options.admin_token = token;

  // Block the stop signals in every thread; this thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  SystemClock clock;
  auto engine = engine::Engine::start(options.db_url, clock);
  if (!engine.ok()) return fail("cannot open the store: " + engine.status().message());

  std::optional<engine::ProgramCreated> demo;
  if (options.demo) {
    auto reader = store::open_session(options.db_url);
    if (!reader.ok()) return fail(reader.status().message());
    int64_t programs = 0;
    Status st = (*reader)->connection().query(
        "SELECT COUNT(*) FROM programs", {}, [&](const store::Row& r) { programs = r.get_int(0); });
    if (!st.ok()) return fail(st.message());
    if (programs == 0) {
      auto created = create_demo(**engine);
      if (!created.ok())
        return fail("cannot create the demo program: " + created.status().message());
      demo = *created;
    }
  }

  auto server = http::Server::start(server_options, **engine, clock, options.db_url);
  if (!server.ok()) return fail("cannot start the HTTP server: " + server.status().message());
  jobs::JobOptions job_options;
  job_options.node = jobs::default_node_id();
  jobs::Scheduler scheduler(options.db_url, **engine, clock,
                            std::chrono::milliseconds(options.jobs_interval_ms), job_options);
  scheduler.start();

  std::string base = "http://" + server_options.host + ":" + std::to_string((*server)->port());
  std::printf("loyaltyd is serving on %s\n", base.c_str());
  std::printf("  API docs:     %s/docs\n", base.c_str());
  std::printf("  OpenAPI:      %s/openapi.json\n", base.c_str());
  std::printf("  health:       %s/healthz  metrics: %s/metrics\n", base.c_str(), base.c_str());
  std::printf("  database:     %s\n", options.db_url.c_str());
  if (demo) {
    std::printf("  demo program: %s (\"%s\")\n", format_id(demo->program.id).c_str(),
                demo->program.name.c_str());
    std::printf("  demo API key (shown once, keep it): %s\n", demo->key.secret.c_str());
    std::printf("  try: curl -H 'Authorization: Bearer %s' %s/v1/members\n",
                demo->key.secret.c_str(), base.c_str());
  }
  std::fflush(stdout);
  spdlog::info("msg=started listen={} db_kind={}", base,
               options.db_url.starts_with("sqlite:") ? "sqlite" : "postgresql");

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("msg=draining signal={}", sig);
  (*server)->shutdown(std::chrono::seconds(10));
  scheduler.stop();
  (*engine)->stop();  // executes and commits everything queued
  spdlog::info("msg=stopped");
  return 0;
}

int run_program_create(const ProgramCreateOptions& o) {
  SystemClock clock;
  auto engine = engine::Engine::start(o.db_url, clock);
  if (!engine.ok()) return fail("cannot open the store: " + engine.status().message());
  engine::CreateProgram create;
  create.program.name = o.name;
  create.program.currency = o.currency;
  create.program.timezone = o.timezone;
  create.program.points_name = o.points_name;
  auto out = (*engine)->execute(engine::Command{create, std::nullopt, nullptr});
  if (!out.status.ok()) return fail(out.status.message());
  const auto& created = std::get<engine::ProgramCreated>(out.value);
  JsonWriter w;
  w.begin_object()
      .field("program_id", format_id(created.program.id))
      .field("api_key", created.key.secret)
      .field("api_key_id", format_id(created.key.key.id))
      .field("name", created.program.name)
      .field("currency", created.program.currency)
      .field("timezone", created.program.timezone)
      .end_object();
  std::printf("%s\n", w.str().c_str());
  return 0;
}

int run_verify(const std::string& db_url) {
  auto session = store::open_session(db_url);
  if (!session.ok()) return fail("cannot open the store: " + session.status().message());
  auto version = (*session)->schema_version();
  if (!version.ok()) return fail("not a loyaltyd store (no schema): " + version.status().message());
  auto report = verify_store(**session);
  if (!report.ok()) return fail("verify failed to read the store: " + report.status().message());
  std::fputs(format_report(*report).c_str(), stdout);
  return report->problems.empty() ? 0 : 1;
}

int run_migrate(const std::string& db_url) {
  auto session = store::open_session(db_url);
  if (!session.ok()) return fail("cannot open the store: " + session.status().message());
  Status st = (*session)->migrate();
  if (!st.ok()) return fail(st.message());
  auto version = (*session)->schema_version();
  std::printf("schema version %d\n", version.ok() ? *version : -1);
  return 0;
}

int run_jobs(const std::string& db_url, const std::string& job) {
  auto selection = jobs::parse_job_selection(job);
  if (!selection.ok()) return fail(selection.status().message());
  SystemClock clock;
  auto engine = engine::Engine::start(db_url, clock);
  if (!engine.ok()) return fail("cannot open the store: " + engine.status().message());
  auto reader = store::open_session(db_url);
  if (!reader.ok()) return fail(reader.status().message());
  jobs::JobOptions options;
  options.node = jobs::default_node_id();
  auto counts = jobs::run_jobs_once(**reader, **engine, clock, *selection, options);
  if (!counts.ok()) return fail(counts.status().message());
  std::printf("%s\n", jobs::to_json(*counts).c_str());
  return 0;
}

}  // namespace loyalty::cli

// The CLI subcommands, callable from tests as functions. Each returns the
// process exit code and prints errors as one line on stderr.
#pragma once

#include <string>

namespace loyalty::cli {

struct ServeOptions {
  std::string db_url;
  std::string listen = "127.0.0.1:8080";
  int io_threads = 2;
  bool demo = false;
  int jobs_interval_ms = 1000;
};

struct ProgramCreateOptions {
  std::string db_url;
  std::string name;
  std::string currency;
  std::string timezone;
  std::string points_name = "points";
};

// `config validate`: a program configuration document checked as the server
// would for a program with this currency and time zone.
struct ConfigValidateOptions {
  std::string file;
  std::string currency = "USD";
  std::string timezone = "UTC";
};

int run_serve(const ServeOptions& options);
int run_program_create(const ProgramCreateOptions& options);
int run_verify(const std::string& db_url);
int run_migrate(const std::string& db_url);
// Exit 0 when valid, 1 when not (one line per error on stderr), 2 for bad options.
int run_config_validate(const ConfigValidateOptions& options);
// `job`: vesting, expiry, birthdays, anniversaries or all (jobs::parse_job_selection).
int run_jobs(const std::string& db_url, const std::string& job = "all");

}  // namespace loyalty::cli

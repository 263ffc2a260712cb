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

int run_serve(const ServeOptions& options);
int run_program_create(const ProgramCreateOptions& options);
int run_verify(const std::string& db_url);
int run_migrate(const std::string& db_url);
int run_jobs(const std::string& db_url);

}  // namespace loyalty::cli

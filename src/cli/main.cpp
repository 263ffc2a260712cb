// loyaltyd: the command-line entry point.
//
//   loyaltyd serve   --db URL [--listen HOST:PORT] [--demo]
//   loyaltyd program create --db URL --name NAME --currency USD --timezone Europe/Berlin
//   loyaltyd verify  --db URL
//   loyaltyd migrate --db URL
//   loyaltyd jobs run --db URL
//       [--job
//       vesting|expiry|birthdays|anniversaries|tiers|holds|paid_memberships|referrals|gifts|all]
//   loyaltyd config validate FILE [--currency USD] [--timezone UTC]
//   loyaltyd import orders FILE --db URL --program ID [--format csv|ndjson|cdnow]
//            [--create-members] [--skip-invalid] [--quiet] [--as-of T] [--batch-size N]
//
// Errors print one line to stderr and exit non-zero.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/import_command.h"

int main(int argc, char** argv) {
  CLI::App app{"loyaltyd: a self-hosted loyalty and rewards engine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "loyaltyd 0.1.0");

  loyalty::cli::ServeOptions serve;
  auto* serve_cmd = app.add_subcommand("serve", "Run the HTTP API server");
  serve_cmd->add_option("--db", serve.db_url, "sqlite:PATH or postgresql://...")->required();
  serve_cmd->add_option("--listen", serve.listen, "HOST:PORT to listen on")
      ->default_val("127.0.0.1:8080");
  serve_cmd->add_option("--io-threads", serve.io_threads, "HTTP I/O threads")->default_val(2);
  serve_cmd->add_flag("--demo", serve.demo,
                      "Create a demo program with members on first start and print its key");
  serve_cmd
      ->add_option("--jobs-interval-ms", serve.jobs_interval_ms,
                   "How often due vesting/expiry work is looked for")
      ->default_val(1000);

  loyalty::cli::ProgramCreateOptions create;
  auto* program_cmd = app.add_subcommand("program", "Manage programs");
  program_cmd->require_subcommand(1);
  auto* create_cmd =
      program_cmd->add_subcommand("create", "Create a program and its first API key");
  create_cmd->add_option("--db", create.db_url, "sqlite:PATH or postgresql://...")->required();
  create_cmd->add_option("--name", create.name, "Program name")->required();
  create_cmd->add_option("--currency", create.currency, "ISO 4217 currency")->required();
  create_cmd->add_option("--timezone", create.timezone, "IANA time zone")->required();
  create_cmd->add_option("--points-name", create.points_name, "What points are called")
      ->default_val("points");

  std::string db_url;
  auto* verify_cmd = app.add_subcommand("verify", "Check every ledger invariant; exit 1 on any");
  verify_cmd->add_option("--db", db_url, "sqlite:PATH or postgresql://...")->required();
  auto* migrate_cmd = app.add_subcommand("migrate", "Apply schema migrations");
  migrate_cmd->add_option("--db", db_url, "sqlite:PATH or postgresql://...")->required();
  auto* jobs_cmd = app.add_subcommand("jobs", "Run background jobs once");
  jobs_cmd->require_subcommand(1);
  auto* jobs_run =
      jobs_cmd->add_subcommand("run", "Run due scheduled work once and print what it did");
  jobs_run->add_option("--db", db_url, "sqlite:PATH or postgresql://...")->required();
  std::string job = "all";
  jobs_run
      ->add_option("--job", job,
                   "vesting, expiry, birthdays, anniversaries, tiers, holds, "
                   "paid_memberships, referrals, gifts or all")
      ->default_val("all");

  loyalty::cli::ConfigValidateOptions config_validate;
  auto* config_cmd = app.add_subcommand("config", "Program configuration documents");
  config_cmd->require_subcommand(1);
  auto* config_validate_cmd = config_cmd->add_subcommand(
      "validate", "Validate a configuration document (YAML or JSON) offline");
  config_validate_cmd->add_option("FILE", config_validate.file, "The document")->required();
  config_validate_cmd
      ->add_option("--currency", config_validate.currency, "The program's ISO 4217 currency")
      ->default_val("USD");
  config_validate_cmd
      ->add_option("--timezone", config_validate.timezone, "The program's IANA time zone")
      ->default_val("UTC");

  loyalty::cli::ImportOrdersOptions import_orders;
  auto* import_cmd = app.add_subcommand("import", "Bulk import (docs/import.md)");
  import_cmd->require_subcommand(1);
  auto* import_orders_cmd =
      import_cmd->add_subcommand("orders", "Import an order history: CSV, NDJSON or the CDNOW log");
  import_orders_cmd->add_option("FILE", import_orders.file, "The file")->required();
  import_orders_cmd->add_option("--db", import_orders.db_url, "sqlite:PATH or postgresql://...")
      ->required();
  import_orders_cmd->add_option("--program", import_orders.program, "Program id (prg_...)")
      ->required();
  import_orders_cmd->add_option("--format", import_orders.format,
                                "csv, ndjson or cdnow (default: by the file's extension)");
  import_orders_cmd->add_flag("--create-members", import_orders.create_members,
                              "Enroll customers who are not members (else: guest orders)");
  import_orders_cmd->add_flag("--skip-invalid", import_orders.skip_invalid,
                              "Report bad lines and go on (default: stop at the first)");
  import_orders_cmd->add_flag("--quiet", import_orders.quiet, "No progress output");
  import_orders_cmd->add_option("--as-of", import_orders.as_of,
                                "The import's now, RFC 3339 (default: the current time)");
  import_orders_cmd->add_option("--batch-size", import_orders.batch_size, "Orders per transaction")
      ->default_val(5000);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    std::fprintf(stderr, "loyaltyd: %s (see --help)\n", what.c_str());
    return 2;
  }

  if (serve_cmd->parsed()) return loyalty::cli::run_serve(serve);
  if (create_cmd->parsed()) return loyalty::cli::run_program_create(create);
  if (verify_cmd->parsed()) return loyalty::cli::run_verify(db_url);
  if (migrate_cmd->parsed()) return loyalty::cli::run_migrate(db_url);
  if (config_validate_cmd->parsed()) return loyalty::cli::run_config_validate(config_validate);
  if (jobs_run->parsed()) return loyalty::cli::run_jobs(db_url, job);
  if (import_orders_cmd->parsed()) return loyalty::cli::run_import_orders(import_orders);
  return 2;
}

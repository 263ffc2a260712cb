// `loyaltyd import orders FILE`: bulk import of a shop's order history
// (docs/import.md). Callable from tests; returns the exit code.
#pragma once

#include <string>

namespace loyalty::cli {

struct ImportOrdersOptions {
  std::string file;
  std::string db_url;
  std::string program;  // "prg_1"
  std::string format;   // csv, ndjson, cdnow; "" = by the extension
  // The import's "now" (RFC 3339): no order may be later, and vesting and
  // expiry are caught up to it at the end. "" = the current time.
  std::string as_of;
  bool create_members = false;  // enroll unknown customers (else: guest orders)
  bool skip_invalid = false;    // report bad lines and go on (else: stop at the first)
  bool quiet = false;           // no progress output
  int batch_size = 5000;        // orders per transaction
};

inline constexpr int kMinImportBatch = 1;
inline constexpr int kMaxImportBatch = 100'000;

// Exit 0 when every line was imported or was a duplicate; 1 when a line was
// invalid or failed (each reported as FILE:LINE: what), or on any other error.
int run_import_orders(const ImportOrdersOptions& options);

}  // namespace loyalty::cli

// Reading an order history file for `loyaltyd import orders` (docs/import.md):
// CSV (one row per order line; consecutive rows with the same external_id are
// one order), NDJSON (one JSON object per line: the POST /v1/orders body plus
// the status instants) or the CDNOW purchase log (`customer yyyymmdd cds
// dollars`). Each order becomes an engine::ImportRecord, checked here as far as
// a record can be checked alone (fields, amounts, limits, statuses and their
// order in time), so the writer rarely meets a bad one.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "common/time.h"
#include "engine/engine.h"

namespace loyalty::importer {

enum class FileFormat { kCsv, kNdjson, kCdnow };
const char* to_string(FileFormat format);
// `format_option` ("csv", "ndjson", "cdnow"; "" = by the extension: .csv,
// .ndjson, .jsonl).
Result<FileFormat> detect_format(std::string_view path, std::string_view format_option);

// Longest line a file may have (a CSV row or one NDJSON order).
inline constexpr size_t kMaxLineBytes = 1 << 20;

// What records are checked against.
struct ReadContext {
  std::string currency;  // the program's: an order in another is refused
  std::string timezone;  // the program's: a bare date YYYY-MM-DD starts there
  Instant now;           // no instant of an order may be later
};

// A line that is not a valid order, "LINE: what".
struct LineError {
  int64_t line = 0;
  std::string message;
};

class OrderFileReader {
 public:
  static Result<std::unique_ptr<OrderFileReader>> open(const std::string& path, FileFormat format,
                                                       ReadContext context);
  ~OrderFileReader();
  OrderFileReader(const OrderFileReader&) = delete;
  OrderFileReader& operator=(const OrderFileReader&) = delete;

  enum class Next { kRecord, kError, kEnd };
  // The next order of the file into *record, or the reason the next one is
  // bad into *error (reading goes on after it), or the end.
  Next next(engine::ImportRecord* record, LineError* error);

  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t file_size() const { return file_size_; }

 private:
  OrderFileReader(std::FILE* file, FileFormat format, ReadContext context, uint64_t size);
  bool read_line(std::string* line);
  Next next_csv(engine::ImportRecord* record, LineError* error);
  Next next_ndjson(engine::ImportRecord* record, LineError* error);
  Next next_cdnow(engine::ImportRecord* record, LineError* error);
  Next finish(struct RawOrder& raw, engine::ImportRecord* record, LineError* error);

  std::FILE* file_;
  FileFormat format_;
  ReadContext context_;
  uint64_t file_size_ = 0;
  uint64_t bytes_read_ = 0;
  int64_t line_number_ = 0;  // of the last line read
  std::string line_;
  // CSV: the header's columns, and a row read ahead (the next order's first).
  std::vector<int> columns_;  // column index -> field, -1 for none
  bool header_read_ = false;
  bool have_pending_row_ = false;
  std::vector<std::string> pending_row_;
  int64_t pending_line_ = 0;
  std::optional<LineError> pending_error_;  // a bad row met while reading ahead
  // Each customer's latest order instant and its line: a customer's orders
  // must come in time order (their points expire and vest in that order).
  struct Latest {
    Instant at;
    int64_t line = 0;
  };
  std::unordered_map<std::string, Latest> latest_;
};

}  // namespace loyalty::importer

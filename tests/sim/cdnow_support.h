// The CDNOW purchase log (tests/data/cdnow) and the simple program it is
// replayed under (issue 3): 1 point per dollar (floor), points pending for a
// 30-day return window after payment, 12-month rolling expiry. Shared by the
// engine replay (cdnow_replay_test.cpp), the bulk import
// (cdnow_import_test.cpp) and the HTTP replay of the sample
// (tests/api/cdnow_http_test.cpp), which must all reach the totals of the
// independent computation below.
//
// The expected totals come from an independent computation written here from
// those three sentences, not from the engine's code: per customer, walk the
// orders in date order; when an order comes 12 months or more after the
// previous one, everything earned before has expired; at the end instant,
// points of orders within the last 30 days are pending, the rest vested, and
// all of it expired if the last order is 12 months old.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "common/time.h"
#include "domain/expiry.h"

#ifndef LOYALTY_TEST_DATA_DIR
#error "LOYALTY_TEST_DATA_DIR must name tests/data"
#endif

namespace loyalty::sim {

inline std::string cdnow_path() {
  return std::string(LOYALTY_TEST_DATA_DIR) + "/cdnow/CDNOW_master.txt";
}
// Orders in the log, and the day after the last purchase (the end instant).
inline constexpr size_t kCdnowOrders = 69'659;
inline constexpr size_t kCdnowCustomers = 23'570;
inline constexpr LocalDate kCdnowEnd{1998, 7, 1};

struct CdnowOrder {
  std::string customer;
  LocalDate date;
  int64_t cds = 0;
  int64_t cents = 0;
};

// Lines "customer [sample-id] YYYYMMDD cds dollars"; the dollar value is parsed
// exactly into cents.
inline std::vector<CdnowOrder> read_cdnow(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::vector<CdnowOrder> orders;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    if (w.size() < 4 || w[0] == "customer_id") continue;
    CdnowOrder o;
    o.customer = w[0];
    const std::string& d = w[w.size() - 3];
    o.date =
        LocalDate{std::stoi(d.substr(0, 4)), std::stoi(d.substr(4, 2)), std::stoi(d.substr(6, 2))};
    o.cds = std::stoll(w[w.size() - 2]);
    const std::string& dollars = w.back();
    size_t dot = dollars.find('.');
    std::string whole = dollars.substr(0, dot);
    std::string frac = dot == std::string::npos ? "" : dollars.substr(dot + 1);
    frac = (frac + "00").substr(0, 2);
    o.cents = std::stoll(whole) * 100 + std::stoll(frac);
    orders.push_back(o);
  }
  return orders;
}

inline Instant midnight_utc(const LocalDate& d) {
  auto t = parse_rfc3339(format_local_date(d) + "T00:00:00Z");
  return *t;
}
inline LocalDate plus_one_year(const LocalDate& d) { return LocalDate{d.year + 1, d.month, d.day}; }

struct Totals {
  int64_t earned = 0;
  int64_t vested = 0;
  int64_t expired = 0;
  int64_t pending = 0;
  int64_t members_with_points = 0;
  friend bool operator==(const Totals&, const Totals&) = default;
};
// For EXPECT_EQ(got, want): every field by name.
inline void PrintTo(const Totals& t, std::ostream* out) {
  *out << "{earned " << t.earned << ", vested " << t.vested << ", expired " << t.expired
       << ", pending " << t.pending << ", members with points " << t.members_with_points << "}";
}

// The independent computation (see the top of the file).
inline Totals expected_totals(const std::vector<CdnowOrder>& orders, const LocalDate& end) {
  std::map<std::string, std::vector<const CdnowOrder*>> by_customer;
  for (const CdnowOrder& o : orders) by_customer[o.customer].push_back(&o);
  Totals t;
  const Instant end_at = midnight_utc(end);
  for (auto& [customer, list] : by_customer) {
    std::stable_sort(list.begin(), list.end(),
                     [](const auto* a, const auto* b) { return a->date < b->date; });
    int64_t held = 0;  // earned and not expired
    LocalDate last{};
    for (const CdnowOrder* o : list) {
      if (held > 0 && !(o->date < plus_one_year(last))) {
        t.expired += held;
        held = 0;
      }
      int64_t points = o->cents / 100;
      t.earned += points;
      held += points;
      last = o->date;
    }
    if (held > 0 && !(end < plus_one_year(last))) {
      t.expired += held;
      held = 0;
    }
    int64_t pending = 0;
    for (const CdnowOrder* o : list) {
      if (held > 0 && midnight_utc(o->date) + Duration::from_days(30) > end_at) {
        pending += o->cents / 100;
      }
    }
    t.pending += pending;
    if (held - pending > 0) ++t.members_with_points;
  }
  t.vested = t.earned - t.pending;
  return t;
}

inline constexpr const char* kCdnowProgramConfig = R"(
earning:
  rounding: floor
  return_window_days: 30
  vest_from: paid
expiry:
  mode: rolling
  months: 12
  warn_days_before: 0
earn_rules:
  - id: spend
    name: 1 point per dollar
    trigger: order
    kind: spend
    points_per_unit: 1
)";

}  // namespace loyalty::sim

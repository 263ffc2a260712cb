#include "common/time.h"

#include <chrono>
#include <cstdio>

#include <date/date.h>

namespace loyalty {
namespace {

bool read_digits(std::string_view s, size_t pos, size_t count, int* out) {
  if (pos + count > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < count; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::string format_rfc3339(Instant t) {
  using namespace std::chrono;
  sys_time<microseconds> tp{microseconds{t.micros_since_epoch}};
  auto day = floor<days>(tp);
  date::year_month_day ymd{day};
  auto tod = date::make_time(tp - day);
  int year = int(ymd.year());
  int64_t micros = tod.subseconds().count();
  if (year < 0 || year > 9999) {
    char buf[48];
    if (micros == 0) {
      std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", year, unsigned(ymd.month()),
                    unsigned(ymd.day()), int(tod.hours().count()), int(tod.minutes().count()),
                    int(tod.seconds().count()));
    } else {
      std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06lldZ", year,
                    unsigned(ymd.month()), unsigned(ymd.day()), int(tod.hours().count()),
                    int(tod.minutes().count()), int(tod.seconds().count()),
                    static_cast<long long>(micros));
    }
    return buf;
  }
  // Every response carries timestamps: digits by hand rather than snprintf.
  char buf[28] = "0000-00-00T00:00:00.000000Z";
  auto put = [&buf](size_t at, int64_t value, int width) {
    for (int i = width - 1; i >= 0; --i) {
      buf[at + static_cast<size_t>(i)] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  put(0, year, 4);
  put(5, unsigned(ymd.month()), 2);
  put(8, unsigned(ymd.day()), 2);
  put(11, tod.hours().count(), 2);
  put(14, tod.minutes().count(), 2);
  put(17, tod.seconds().count(), 2);
  if (micros == 0) {
    buf[19] = 'Z';
    return std::string(buf, 20);
  }
  put(20, micros, 6);
  return std::string(buf, 27);
}

std::optional<Instant> parse_rfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  int y, mo, d, h, mi, se;
  if (s.size() < 20) return std::nullopt;
  if (!read_digits(s, 0, 4, &y) || s[4] != '-' || !read_digits(s, 5, 2, &mo) || s[7] != '-' ||
      !read_digits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !read_digits(s, 11, 2, &h) || s[13] != ':' || !read_digits(s, 14, 2, &mi) || s[16] != ':' ||
      !read_digits(s, 17, 2, &se)) {
    return std::nullopt;
  }
  if (y < 1970 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(mo)},
                           date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  size_t pos = 19;
  int64_t frac_us = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t digits = 0;
    int64_t scale = 100000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 6) {
        frac_us += (s[pos] - '0') * scale;
        scale /= 10;
      }
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) return std::nullopt;
  }
  if (pos >= s.size()) return std::nullopt;
  int64_t offset_s = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!read_digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !read_digits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_s = (int64_t{oh} * 3600 + int64_t{om} * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  if (se == 60) se = 59;  // leap second: clamp, instants are POSIX time
  int64_t days_since_epoch = date::sys_days{ymd}.time_since_epoch().count();
  int64_t secs = days_since_epoch * 86400 + int64_t{h} * 3600 + int64_t{mi} * 60 + se - offset_s;
  // The offset may carry a 1970 or 9999 local time across the range's edge;
  // only instants that format back to a four-digit year are accepted.
  constexpr int64_t kFirstSecondOfYear10000 = 253'402'300'800;
  if (secs < 0 || secs >= kFirstSecondOfYear10000) return std::nullopt;
  return Instant{secs * 1'000'000 + frac_us};
}

std::optional<LocalDate> parse_local_date(std::string_view s) {
  int y, m, d;
  if (s.size() != 10 || !read_digits(s, 0, 4, &y) || s[4] != '-' || !read_digits(s, 5, 2, &m) ||
      s[7] != '-' || !read_digits(s, 8, 2, &d)) {
    return std::nullopt;
  }
  date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(m)},
                           date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || y < 1900) return std::nullopt;
  return LocalDate{y, m, d};
}

std::string format_local_date(const LocalDate& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year, d.month, d.day);
  return buf;
}

Instant SystemClock::now() const {
  using namespace std::chrono;
  return Instant{duration_cast<microseconds>(system_clock::now().time_since_epoch()).count()};
}

}  // namespace loyalty

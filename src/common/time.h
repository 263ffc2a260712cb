// Instants, durations and the injected clock.
//
// Instants are UTC microseconds since the Unix epoch. Domain code never reads
// the system clock: it receives `now` from a Clock owned by the shell, so a test
// can run a year of a program in milliseconds with a ManualClock.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace loyalty {

struct Duration {
  int64_t micros = 0;
  static constexpr Duration from_seconds(int64_t s) { return Duration{s * 1'000'000}; }
  static constexpr Duration from_days(int64_t d) { return Duration{d * 86'400'000'000}; }
  friend constexpr auto operator<=>(Duration, Duration) = default;
};

struct Instant {
  int64_t micros_since_epoch = 0;

  static constexpr Instant from_micros(int64_t us) { return Instant{us}; }
  static constexpr Instant from_seconds(int64_t s) { return Instant{s * 1'000'000}; }
  friend constexpr auto operator<=>(Instant, Instant) = default;
  friend constexpr Instant operator+(Instant t, Duration d) {
    return Instant{t.micros_since_epoch + d.micros};
  }
  friend constexpr Instant operator-(Instant t, Duration d) {
    return Instant{t.micros_since_epoch - d.micros};
  }
  friend constexpr Duration operator-(Instant a, Instant b) {
    return Duration{a.micros_since_epoch - b.micros_since_epoch};
  }
};

// RFC 3339 in UTC with microseconds when they are not zero: 2024-03-01T12:00:00Z,
// 2024-03-01T12:00:00.250000Z.
std::string format_rfc3339(Instant t);
// Accepts RFC 3339 with a 'Z' or a numeric offset, optional fraction (up to 9
// digits, truncated to microseconds). The instant in UTC must lie in the years
// 1970..9999, so that it formats back to the same text shape.
std::optional<Instant> parse_rfc3339(std::string_view text);

// A calendar date without a time zone (birthdays): YYYY-MM-DD.
struct LocalDate {
  int year = 0;
  int month = 0;
  int day = 0;
  friend constexpr auto operator<=>(const LocalDate&, const LocalDate&) = default;
};
std::optional<LocalDate> parse_local_date(std::string_view text);
std::string format_local_date(const LocalDate& d);

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Instant now() const override;
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Instant start) : now_us_(start.micros_since_epoch) {}
  Instant now() const override { return Instant{now_us_.load()}; }
  void set(Instant t) { now_us_.store(t.micros_since_epoch); }
  void advance(Duration d) { now_us_.fetch_add(d.micros); }

 private:
  std::atomic<int64_t> now_us_;
};

}  // namespace loyalty

// core/time.h — instants in UTC, parsing and formatting, and the Clock seam for tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <touchpoint/core/result.h>

namespace touchpoint {

// Milliseconds since the Unix epoch, UTC.
using Millis = std::int64_t;

inline constexpr Millis kMillisPerSecond = 1000;
inline constexpr Millis kMillisPerDay = 86'400'000;

// Parses an ISO 8601 date-time ("2024-03-01T08:30:00+08:00", "...Z", "...123Z",
// "2024-03-01 08:30:00" = UTC, "2024-03-01" = midnight UTC), or epoch seconds / milliseconds
// (a number below 1e11 is seconds, above is milliseconds). Fails with kInvalidArgument.
Result<Millis> ParseTimestamp(std::string_view text);

// Epoch seconds or milliseconds given as a number (same rule as above).
Millis EpochNumberToMillis(double value);

// "2024-03-01T00:30:00.000Z"
std::string FormatTimestamp(Millis t);

// "2024-03-01"
std::string FormatDate(Millis t);

// Days from the civil date (proleptic Gregorian), Howard Hinnant's algorithm.
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d);
// Its inverse: the civil date (y, m 1..12, d 1..31) of a day number (0 = 1970-01-01).
void CivilFromDays(std::int64_t days, std::int64_t& y, unsigned& m, unsigned& d);

// A source of the current time. Implementations must be thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Millis Now() const = 0;
};

// The wall clock. Thread-safe.
class SystemClock final : public Clock {
 public:
  Millis Now() const override;
  static const SystemClock& Instance();
};

}  // namespace touchpoint

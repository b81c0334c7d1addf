// calendar/time_zone.h — IANA time zones read from the system's compiled zoneinfo (TZif files,
// Debian's `tzdata`), without std::chrono::tzdb (libstdc++ 12 has none).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>

namespace touchpoint::calendar {

// Seconds since the Unix epoch, UTC (the calendar's instants are whole seconds).
using UnixSeconds = std::int64_t;

// A time zone: UTC offsets over time. Immutable after loading; safe to share between threads.
class TimeZone {
 public:
  // Loads the IANA zone `name` ("Asia/Shanghai", "Europe/Berlin", "UTC") from $TZDIR, else
  // /usr/share/zoneinfo. Transitions after the file's last one follow its POSIX TZ footer, and are
  // generated up to the year 2200. Fails with kInvalidArgument naming the zone when it is not a
  // valid name or no such zone is installed.
  static Result<TimeZone> Load(std::string_view name);
  // Parses the bytes of a TZif file (versions 1–4). kInvalidArgument when malformed.
  static Result<TimeZone> FromTzif(std::string name, std::string_view bytes);
  // A zone with one fixed offset (seconds east of UTC).
  static TimeZone Fixed(std::string name, int offset_seconds);

  const std::string& name() const { return name_; }
  // The offset east of UTC, in seconds, in force at `t`.
  int OffsetAt(UnixSeconds t) const;
  // The instant at which the local wall clock shows `local` (seconds since 1970-01-01T00:00 local).
  // A wall time skipped by a DST change counts as the same time after the change (02:30 in a
  // 02:00→03:00 gap is 03:30); a repeated wall time is its first occurrence.
  UnixSeconds LocalToUtc(UnixSeconds local) const;

 private:
  TimeZone() = default;
  std::string name_;
  int initial_offset_ = 0;                 // before the first transition
  std::vector<UnixSeconds> transitions_;   // ascending
  std::vector<int> offsets_;               // offsets_[i] is in force from transitions_[i]
};

}  // namespace touchpoint::calendar

#include <touchpoint/core/time.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>

#include <touchpoint/core/strings.h>

namespace touchpoint {
namespace {

bool ReadDigits(std::string_view s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  pos += n;
  return true;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

}  // namespace

void CivilFromDays(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += (m <= 2);
}

std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

Millis EpochNumberToMillis(double value) {
  if (std::fabs(value) < 1e11) return static_cast<Millis>(std::llround(value * 1000.0));
  return static_cast<Millis>(std::llround(value));
}

Result<Millis> ParseTimestamp(std::string_view s) {
  s = TrimView(s, kAsciiBlank);
  if (s.empty()) return Status::InvalidArgument("empty timestamp");

  // Pure number: epoch seconds or milliseconds.
  bool numeric = true;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || c == '.' || (i == 0 && c == '-'))) {
      numeric = false;
      break;
    }
  }
  if (numeric) {
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) {
      return Status::InvalidArgument("timestamp is not a valid number");
    }
    return EpochNumberToMillis(v);
  }

  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  Millis frac_ms = 0;
  auto bad = [&]() {
    return Status::InvalidArgument("timestamp is not ISO 8601 (expected e.g. 2024-03-01T08:30:00Z)");
  };
  if (!ReadDigits(s, pos, 4, year)) return bad();
  if (pos >= s.size() || s[pos] != '-') return bad();
  ++pos;
  if (!ReadDigits(s, pos, 2, month)) return bad();
  if (pos >= s.size() || s[pos] != '-') return bad();
  ++pos;
  if (!ReadDigits(s, pos, 2, day)) return bad();
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) {
    return Status::InvalidArgument("timestamp has an impossible date");
  }
  int offset_minutes = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return bad();
    ++pos;
    if (!ReadDigits(s, pos, 2, hour)) return bad();
    if (pos >= s.size() || s[pos] != ':') return bad();
    ++pos;
    if (!ReadDigits(s, pos, 2, minute)) return bad();
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!ReadDigits(s, pos, 2, second)) return bad();
      if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
        ++pos;
        int digits = 0;
        Millis frac = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          if (digits < 3) frac = frac * 10 + (s[pos] - '0');
          ++digits;
          ++pos;
        }
        if (digits == 0) return bad();
        for (int i = digits; i < 3; ++i) frac *= 10;
        frac_ms = frac;
      }
    }
    if (hour > 23 || minute > 59 || second > 60) {
      return Status::InvalidArgument("timestamp has an impossible time of day");
    }
    if (pos < s.size()) {
      char c = s[pos];
      if (c == 'Z' || c == 'z') {
        ++pos;
      } else if (c == '+' || c == '-') {
        int sign = c == '-' ? -1 : 1;
        ++pos;
        int oh = 0, om = 0;
        if (!ReadDigits(s, pos, 2, oh)) return bad();
        if (pos < s.size() && s[pos] == ':') ++pos;
        if (pos < s.size() && !ReadDigits(s, pos, 2, om)) return bad();
        if (oh > 18 || om > 59) return bad();
        offset_minutes = sign * (oh * 60 + om);
      } else {
        return bad();
      }
    }
    if (pos != s.size()) return bad();
  }
  const std::int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  Millis t = days * kMillisPerDay + (hour * 3600LL + minute * 60LL + second) * 1000LL + frac_ms;
  t -= static_cast<Millis>(offset_minutes) * 60'000;
  return t;
}

std::string FormatTimestamp(Millis t) {
  std::int64_t days = t >= 0 ? t / kMillisPerDay : (t - kMillisPerDay + 1) / kMillisPerDay;
  Millis rem = t - days * kMillisPerDay;
  std::int64_t y;
  unsigned m, d;
  CivilFromDays(days, y, m, d);
  const auto hh = static_cast<int>(rem / 3'600'000);
  const auto mm = static_cast<int>(rem / 60'000 % 60);
  const auto ss = static_cast<int>(rem / 1000 % 60);
  const auto ms = static_cast<int>(rem % 1000);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<long long>(y),
                m, d, hh, mm, ss, ms);
  return buf;
}

std::string FormatDate(Millis t) { return FormatTimestamp(t).substr(0, 10); }

Millis SystemClock::Now() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const SystemClock& SystemClock::Instance() {
  static const SystemClock clock;
  return clock;
}

}  // namespace touchpoint

#include <touchpoint/calendar/time_zone.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <touchpoint/core/time.h>

namespace touchpoint::calendar {
namespace {

constexpr int kLastGeneratedYear = 2200;

std::int64_t ReadBig(std::string_view bytes, size_t pos, int width) {
  std::uint64_t v = 0;
  for (int i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[pos + static_cast<size_t>(i)]);
  if (width == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

struct TzifHeader {
  int version = 0;
  std::int64_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

bool ReadHeader(std::string_view bytes, size_t pos, TzifHeader* h) {
  if (pos + 44 > bytes.size() || bytes.substr(pos, 4) != "TZif") return false;
  const char v = bytes[pos + 4];
  h->version = v == 0 ? 1 : v - '0';
  h->isutcnt = ReadBig(bytes, pos + 20, 4);
  h->isstdcnt = ReadBig(bytes, pos + 24, 4);
  h->leapcnt = ReadBig(bytes, pos + 28, 4);
  h->timecnt = ReadBig(bytes, pos + 32, 4);
  h->typecnt = ReadBig(bytes, pos + 36, 4);
  h->charcnt = ReadBig(bytes, pos + 40, 4);
  return h->isutcnt >= 0 && h->isstdcnt >= 0 && h->leapcnt >= 0 && h->timecnt >= 0 && h->typecnt > 0 &&
         h->charcnt >= 0;
}

size_t DataSize(const TzifHeader& h, int time_size) {
  return static_cast<size_t>(h.timecnt * time_size + h.timecnt + h.typecnt * 6 + h.charcnt +
                             h.leapcnt * (time_size + 4) + h.isstdcnt + h.isutcnt);
}

// A POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3"): the rule after the last transition.
struct PosixRule {
  int std_offset = 0;  // east of UTC
  bool has_dst = false;
  int dst_offset = 0;
  struct Date {
    char kind = 'M';  // 'M' month.week.day, 'J' Julian 1..365 without Feb 29, 'N' zero-based day
    int month = 0, week = 0, weekday = 0, day = 0;
    int time = 7200;  // local seconds after midnight
  } start, end;
};

class PosixParser {
 public:
  explicit PosixParser(std::string_view s) : s_(s) {}
  bool Parse(PosixRule* rule) {
    if (!Name()) return false;
    int off = 0;
    if (!Offset(&off)) return false;
    rule->std_offset = -off;
    if (pos_ == s_.size()) return true;
    if (!Name()) return false;
    rule->has_dst = true;
    rule->dst_offset = rule->std_offset + 3600;
    if (pos_ < s_.size() && s_[pos_] != ',') {
      if (!Offset(&off)) return false;
      rule->dst_offset = -off;
    }
    if (pos_ == s_.size()) {  // no rule given: the US rule POSIX defaults to
      rule->start = {'M', 3, 2, 0, 0, 7200};
      rule->end = {'M', 11, 1, 0, 0, 7200};
      return true;
    }
    if (s_[pos_++] != ',' || !DateRule(&rule->start)) return false;
    if (pos_ >= s_.size() || s_[pos_++] != ',' || !DateRule(&rule->end)) return false;
    return pos_ == s_.size();
  }

 private:
  bool Name() {
    if (pos_ < s_.size() && s_[pos_] == '<') {
      const size_t close = s_.find('>', pos_);
      if (close == std::string_view::npos) return false;
      pos_ = close + 1;
      return true;
    }
    const size_t begin = pos_;
    while (pos_ < s_.size() && ((s_[pos_] >= 'A' && s_[pos_] <= 'Z') || (s_[pos_] >= 'a' && s_[pos_] <= 'z'))) ++pos_;
    return pos_ - begin >= 3;
  }
  bool Number(int* out) {
    const size_t begin = pos_;
    int v = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') v = v * 10 + (s_[pos_++] - '0');
    *out = v;
    return pos_ > begin;
  }
  // [+-]hh[:mm[:ss]] in seconds.
  bool Offset(int* out) {
    int sign = 1;
    if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) sign = s_[pos_++] == '-' ? -1 : 1;
    int h = 0, m = 0, sec = 0;
    if (!Number(&h)) return false;
    if (pos_ < s_.size() && s_[pos_] == ':') {
      ++pos_;
      if (!Number(&m)) return false;
      if (pos_ < s_.size() && s_[pos_] == ':') {
        ++pos_;
        if (!Number(&sec)) return false;
      }
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    return true;
  }
  bool DateRule(PosixRule::Date* d) {
    if (pos_ >= s_.size()) return false;
    if (s_[pos_] == 'M') {
      ++pos_;
      d->kind = 'M';
      if (!Number(&d->month) || pos_ >= s_.size() || s_[pos_++] != '.') return false;
      if (!Number(&d->week) || pos_ >= s_.size() || s_[pos_++] != '.') return false;
      if (!Number(&d->weekday)) return false;
      if (d->month < 1 || d->month > 12 || d->week < 1 || d->week > 5 || d->weekday > 6) return false;
    } else if (s_[pos_] == 'J') {
      ++pos_;
      d->kind = 'J';
      if (!Number(&d->day) || d->day < 1 || d->day > 365) return false;
    } else {
      d->kind = 'N';
      if (!Number(&d->day) || d->day > 365) return false;
    }
    d->time = 7200;
    if (pos_ < s_.size() && s_[pos_] == '/') {
      ++pos_;
      if (!Offset(&d->time)) return false;
    }
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

bool IsLeapYear(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Days since the epoch of the rule's date in `year`.
std::int64_t RuleDay(const PosixRule::Date& d, std::int64_t year) {
  const std::int64_t jan1 = DaysFromCivil(year, 1, 1);
  if (d.kind == 'J') {
    std::int64_t day = jan1 + d.day - 1;
    if (IsLeapYear(year) && d.day >= 60) ++day;
    return day;
  }
  if (d.kind == 'N') return jan1 + d.day;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const int month_days = d.month == 2 && IsLeapYear(year) ? 29 : kDays[d.month - 1];
  const std::int64_t first = DaysFromCivil(year, static_cast<unsigned>(d.month), 1);
  const int first_weekday = static_cast<int>(((first + 4) % 7 + 7) % 7);  // 0 = Sunday
  int day = 1 + (d.weekday - first_weekday + 7) % 7 + (d.week - 1) * 7;
  while (day > month_days) day -= 7;
  return first + day - 1;
}

bool ValidZoneName(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '/' || name.find("..") != std::string_view::npos) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' || c == '_' ||
           c == '-' || c == '+';
  });
}

}  // namespace

TimeZone TimeZone::Fixed(std::string name, int offset_seconds) {
  TimeZone z;
  z.name_ = std::move(name);
  z.initial_offset_ = offset_seconds;
  return z;
}

Result<TimeZone> TimeZone::FromTzif(std::string name, std::string_view bytes) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("zone: time zone file of \"" + name + "\" is malformed (" + why + ")");
  };
  TzifHeader h1;
  if (!ReadHeader(bytes, 0, &h1)) return bad("no TZif header");
  TzifHeader h = h1;
  size_t pos = 44;
  int time_size = 4;
  if (h1.version >= 2) {
    pos += DataSize(h1, 4);
    if (!ReadHeader(bytes, pos, &h)) return bad("no second TZif header");
    pos += 44;
    time_size = 8;
  }
  const size_t data_size = DataSize(h, time_size);
  if (pos + data_size > bytes.size()) return bad("truncated");
  std::vector<UnixSeconds> times(static_cast<size_t>(h.timecnt));
  for (size_t i = 0; i < times.size(); ++i) times[i] = ReadBig(bytes, pos + i * static_cast<size_t>(time_size), time_size);
  const size_t idx_pos = pos + static_cast<size_t>(h.timecnt * time_size);
  const size_t type_pos = idx_pos + static_cast<size_t>(h.timecnt);
  std::vector<int> type_offsets(static_cast<size_t>(h.typecnt));
  std::vector<bool> type_dst(static_cast<size_t>(h.typecnt));
  for (size_t i = 0; i < type_offsets.size(); ++i) {
    type_offsets[i] = static_cast<int>(ReadBig(bytes, type_pos + i * 6, 4));
    type_dst[i] = bytes[type_pos + i * 6 + 4] != 0;
  }
  TimeZone z;
  z.name_ = std::move(name);
  // Before the first transition: the first standard-time type (RFC 8536 §3.2), else type 0.
  z.initial_offset_ = type_offsets[0];
  for (size_t i = 0; i < type_offsets.size(); ++i) {
    if (!type_dst[i]) {
      z.initial_offset_ = type_offsets[i];
      break;
    }
  }
  for (size_t i = 0; i < times.size(); ++i) {
    const auto type = static_cast<unsigned char>(bytes[idx_pos + i]);
    if (type >= type_offsets.size()) return bad("transition type out of range");
    if (!z.transitions_.empty() && times[i] <= z.transitions_.back()) return bad("transitions out of order");
    z.transitions_.push_back(times[i]);
    z.offsets_.push_back(type_offsets[type]);
  }
  // The footer: the rule for instants after the last transition.
  if (h1.version >= 2) {
    const size_t footer = pos + data_size;
    if (footer < bytes.size() && bytes[footer] == '\n') {
      const size_t end = bytes.find('\n', footer + 1);
      if (end != std::string_view::npos && end > footer + 1) {
        PosixRule rule;
        if (PosixParser(bytes.substr(footer + 1, end - footer - 1)).Parse(&rule)) {
          const UnixSeconds last = z.transitions_.empty() ? INT64_MIN : z.transitions_.back();
          if (!rule.has_dst) {
            if (z.transitions_.empty()) {
              z.initial_offset_ = rule.std_offset;
            } else if (z.offsets_.back() != rule.std_offset) {
              return bad("footer disagrees with the last transition");
            }
          } else {
            std::int64_t first_year = 1970;
            if (!z.transitions_.empty()) {
              const std::int64_t days = z.transitions_.back() / 86400;
              // Civil year of the last transition, cheaply: count up from 1970.
              std::int64_t y = 1970;
              while (DaysFromCivil(y + 1, 1, 1) <= days) ++y;
              first_year = y;
            }
            for (std::int64_t y = first_year; y <= kLastGeneratedYear; ++y) {
              const UnixSeconds start =
                  RuleDay(rule.start, y) * 86400 + rule.start.time - rule.std_offset;
              const UnixSeconds end_t = RuleDay(rule.end, y) * 86400 + rule.end.time - rule.dst_offset;
              std::pair<UnixSeconds, int> changes[2] = {{start, rule.dst_offset}, {end_t, rule.std_offset}};
              if (end_t < start) std::swap(changes[0], changes[1]);
              for (const auto& [t, off] : changes) {
                if (t <= last || (!z.transitions_.empty() && t <= z.transitions_.back())) continue;
                z.transitions_.push_back(t);
                z.offsets_.push_back(off);
              }
            }
          }
        }
      }
    }
  }
  return z;
}

Result<TimeZone> TimeZone::Load(std::string_view name) {
  if (name == "UTC" || name == "Etc/UTC" || name == "Z") return Fixed(std::string(name), 0);
  if (!ValidZoneName(name)) {
    return Status::InvalidArgument("zone: \"" + std::string(name) + "\" is not an IANA time zone name");
  }
  const char* env = std::getenv("TZDIR");
  const std::string dir = env != nullptr && *env != '\0' ? env : "/usr/share/zoneinfo";
  std::ifstream in(dir + "/" + std::string(name), std::ios::binary);
  if (!in) {
    return Status::InvalidArgument("zone: unknown time zone \"" + std::string(name) + "\" (not in " + dir +
                                   "; is the tzdata package installed?)");
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  const std::string bytes = buf.str();
  if (bytes.size() < 4 || bytes.compare(0, 4, "TZif") != 0) {
    return Status::InvalidArgument("zone: unknown time zone \"" + std::string(name) + "\"");
  }
  return FromTzif(std::string(name), bytes);
}

int TimeZone::OffsetAt(UnixSeconds t) const {
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
  if (it == transitions_.begin()) return initial_offset_;
  return offsets_[static_cast<size_t>(it - transitions_.begin() - 1)];
}

UnixSeconds TimeZone::LocalToUtc(UnixSeconds local) const {
  const int before = OffsetAt(local - 86400);
  const int after = OffsetAt(local + 86400);
  if (before == after) return local - before;
  const UnixSeconds a = local - before;
  const UnixSeconds b = local - after;
  const bool a_ok = OffsetAt(a) == before;
  const bool b_ok = OffsetAt(b) == after;
  if (a_ok && b_ok) return std::min(a, b);
  if (a_ok) return a;
  if (b_ok) return b;
  return a;  // in a gap: the wall time read with the offset before the change
}

}  // namespace touchpoint::calendar

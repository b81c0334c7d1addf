#include <touchpoint/calendar/calendar.h>

#include <algorithm>
#include <cstdio>
#include <unordered_map>
#include <utility>

#include <touchpoint/core/strings.h>
#include <touchpoint/core/time.h>

namespace touchpoint::calendar {
namespace {

constexpr std::int64_t kDaySeconds = 86400;
constexpr const char* kWeekdayKeys[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

bool ReadDigits(std::string_view s, size_t* pos, size_t n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  *pos += n;
  return true;
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// "HH:MM" (or "HH:MM:SS") → seconds after midnight; 24:00 allowed.
bool ParseClock(std::string_view s, int* out) {
  size_t pos = 0;
  int h = 0, m = 0, sec = 0;
  if (!ReadDigits(s, &pos, 2, &h) || pos >= s.size() || s[pos++] != ':' || !ReadDigits(s, &pos, 2, &m)) {
    return false;
  }
  if (pos < s.size()) {
    if (s[pos++] != ':' || !ReadDigits(s, &pos, 2, &sec) || pos != s.size()) return false;
  }
  if (m > 59 || sec > 59 || h > 24 || (h == 24 && (m != 0 || sec != 0))) return false;
  *out = h * 3600 + m * 60 + sec;
  return true;
}

Status CheckIntervals(const std::vector<WorkInterval>& list, const std::string& field) {
  for (size_t i = 0; i < list.size(); ++i) {
    const WorkInterval& a = list[i];
    if (a.open < 0 || a.close > kDaySeconds || a.open >= a.close) {
      return Status::InvalidArgument(field + "[" + std::to_string(i) + "]: " + FormatWorkInterval(a) +
                                     " is empty or outside 00:00-24:00");
    }
    for (size_t j = 0; j < i; ++j) {
      const WorkInterval& b = list[j];
      if (a.open < b.close && b.open < a.close) {
        return Status::InvalidArgument(field + "[" + std::to_string(i) + "]: " + FormatWorkInterval(a) +
                                       " overlaps " + FormatWorkInterval(b));
      }
    }
  }
  return Status::Ok();
}

std::vector<WorkInterval> Sorted(std::vector<WorkInterval> list) {
  std::sort(list.begin(), list.end(), [](const WorkInterval& a, const WorkInterval& b) { return a.open < b.open; });
  return list;
}

}  // namespace

// ---- dates, instants, minutes ----

Result<Date> ParseDate(std::string_view text, std::string_view field) {
  size_t pos = 0;
  int y = 0, m = 0, d = 0;
  auto bad = [&] {
    return Status::InvalidArgument(std::string(field) + ": malformed date " + Quote(text) +
                                   " (expected YYYY-MM-DD)");
  };
  if (!ReadDigits(text, &pos, 4, &y) || pos >= text.size() || text[pos++] != '-' ||
      !ReadDigits(text, &pos, 2, &m) || pos >= text.size() || text[pos++] != '-' ||
      !ReadDigits(text, &pos, 2, &d) || pos != text.size()) {
    return bad();
  }
  if (m < 1 || m > 12 || d < 1) return bad();
  const std::int64_t days = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  std::int64_t yy;
  unsigned mm, dd;
  CivilFromDays(days, yy, mm, dd);
  if (static_cast<int>(mm) != m || static_cast<int>(dd) != d) return bad();  // 02-30 and the like
  return Date{days};
}

std::string FormatDate(Date date) {
  std::int64_t y;
  unsigned m, d;
  CivilFromDays(date.days, y, m, d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  return buf;
}

int YearOf(Date date) {
  std::int64_t y;
  unsigned m, d;
  CivilFromDays(date.days, y, m, d);
  return static_cast<int>(y);
}

int WeekdayOf(Date date) { return static_cast<int>(((date.days + 3) % 7 + 7) % 7); }

Result<UnixSeconds> ParseInstant(std::string_view text, std::string_view field) {
  text = TrimView(text, kAsciiBlank);
  auto bad = [&](const char* why) {
    return Status::InvalidArgument(std::string(field) + ": " + Quote(text) + " is not an ISO 8601 instant (" +
                                   why + ", e.g. 2026-02-13T09:00:00+08:00 or 2026-02-13T01:00:00Z)");
  };
  if (text.size() < 16 || text[4] != '-' || (text[10] != 'T' && text[10] != 't' && text[10] != ' ')) {
    return bad("expected a date and a time");
  }
  const char last = text.back();
  const bool has_offset = last == 'Z' || last == 'z' || text.find_first_of("+-", 11) != std::string_view::npos;
  if (!has_offset) return bad("the offset or Z is missing");
  auto millis = ParseTimestamp(text);
  if (!millis.ok()) return bad(millis.status().message().c_str());
  return FloorDiv(*millis, 1000);
}

std::string FormatInstant(UnixSeconds t) {
  const std::int64_t days = FloorDiv(t, kDaySeconds);
  const std::int64_t rem = t - days * kDaySeconds;
  std::int64_t y;
  unsigned m, d;
  CivilFromDays(days, y, m, d);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02dZ", static_cast<long long>(y), m, d,
                static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60));
  return buf;
}

Result<std::int64_t> ParseMinutes(std::string_view text) {
  text = TrimView(text, kAsciiBlank);
  auto bad = [&] {
    return Status::InvalidArgument("minutes: " + Quote(text) + " is not a non-negative decimal number of minutes");
  };
  if (text.empty()) return bad();
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (whole.empty() && frac.empty()) return bad();
  if (whole.size() > 12 || frac.size() > 12) return bad();
  std::int64_t w = 0, f = 0, scale = 1;
  for (char c : whole) {
    if (c < '0' || c > '9') return bad();
    w = w * 10 + (c - '0');
  }
  if (dot != std::string_view::npos && frac.empty()) return bad();
  for (char c : frac) {
    if (c < '0' || c > '9') return bad();
    f = f * 10 + (c - '0');
    scale *= 10;
  }
  return w * 60 + f * 60 / scale;
}

std::string FormatMinutes(std::int64_t seconds) {
  const bool negative = seconds < 0;
  const std::int64_t n = (negative ? -seconds : seconds) * 500;  // minutes × 10^4 × 3
  const std::int64_t ten_thousandths = n / 3 + (n % 3 == 2 ? 1 : 0);
  std::string out = (negative ? "-" : "") + std::to_string(ten_thousandths / 10000);
  std::int64_t frac = ten_thousandths % 10000;
  if (frac != 0) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04lld", static_cast<long long>(frac));
    std::string digits = buf;
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out;
}

Result<WorkInterval> ParseWorkInterval(std::string_view text, std::string_view field) {
  const std::string_view t = TrimView(text, kAsciiBlank);
  size_t sep = t.find("–");  // en dash
  size_t sep_len = 3;
  if (sep == std::string_view::npos) {
    sep = t.find('-');
    sep_len = 1;
  }
  WorkInterval iv;
  if (sep == std::string_view::npos || !ParseClock(TrimView(t.substr(0, sep), kAsciiBlank), &iv.open) ||
      !ParseClock(TrimView(t.substr(sep + sep_len), kAsciiBlank), &iv.close)) {
    return Status::InvalidArgument(std::string(field) + ": " + Quote(text) +
                                   " is not a working interval HH:MM-HH:MM (e.g. 09:00-12:00)");
  }
  if (iv.open >= iv.close) {
    return Status::InvalidArgument(std::string(field) + ": " + Quote(text) + " closes before it opens");
  }
  return iv;
}

std::string FormatWorkInterval(const WorkInterval& iv) {
  auto clock = [](int s) {
    char buf[16];
    if (s % 60 != 0) {
      std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    } else {
      std::snprintf(buf, sizeof buf, "%02d:%02d", s / 3600, s / 60 % 60);
    }
    return std::string(buf);
  };
  return clock(iv.open) + "-" + clock(iv.close);
}

// ---- validation ----

Status Validate(const CalendarSpec& spec) {
  if (spec.name.empty() || spec.name.size() > 64 ||
      !std::all_of(spec.name.begin(), spec.name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
               c == '.';
      }) ||
      spec.name.front() == '.') {
    return Status::InvalidArgument("name: " + Quote(spec.name) +
                                   " is not a calendar name (letters, digits, '_', '-', '.')");
  }
  if (spec.zone.empty()) return Status::InvalidArgument("zone: missing (an IANA name such as Asia/Shanghai)");
  bool any = false;
  for (size_t d = 0; d < 7; ++d) {
    TP_RETURN_IF_ERROR(CheckIntervals(spec.week[d], std::string("week.") + kWeekdayKeys[d]));
    any = any || !spec.week[d].empty();
  }
  if (!any) return Status::InvalidArgument("week: no working hours on any weekday");
  std::unordered_map<std::int64_t, size_t> holiday_at;
  for (size_t i = 0; i < spec.holidays.size(); ++i) holiday_at.emplace(spec.holidays[i].date.days, i);
  for (size_t i = 0; i < spec.makeup_days.size(); ++i) {
    const MakeupDay& m = spec.makeup_days[i];
    const std::string field = "makeup_days[" + std::to_string(i) + "]";
    TP_RETURN_IF_ERROR(CheckIntervals(m.hours, field + ".hours"));
    if (auto it = holiday_at.find(m.date.days); it != holiday_at.end()) {
      return Status::InvalidArgument(field + ".date: " + FormatDate(m.date) + " is also listed as a holiday (holidays[" +
                                     std::to_string(it->second) + "])");
    }
  }
  return Status::Ok();
}

// ---- the compiled calendar ----

Result<Calendar> Calendar::Build(CalendarSpec spec, const BuildOptions& options) {
  TP_RETURN_IF_ERROR(Validate(spec));
  TP_ASSIGN_OR_RETURN(TimeZone zone, TimeZone::Load(spec.zone));
  return Build(std::move(spec), std::move(zone), options);
}

Result<Calendar> Calendar::Build(CalendarSpec spec, TimeZone zone, const BuildOptions& options) {
  TP_RETURN_IF_ERROR(Validate(spec));
  if (options.first_year > options.last_year || options.first_year < 1900 || options.last_year > 2199) {
    return Status::InvalidArgument("calendar years must lie within 1900-2199");
  }
  for (auto& day : spec.week) day = Sorted(std::move(day));
  for (auto& m : spec.makeup_days) m.hours = Sorted(std::move(m.hours));
  std::sort(spec.list_years.begin(), spec.list_years.end());
  spec.list_years.erase(std::unique(spec.list_years.begin(), spec.list_years.end()), spec.list_years.end());

  Calendar c;
  const std::int64_t first = DaysFromCivil(options.first_year, 1, 1);
  const std::int64_t end = DaysFromCivil(options.last_year + 1, 1, 1);
  c.first_day_ = Date{first};
  c.first_year_ = options.first_year;
  c.last_year_ = options.last_year;
  std::unordered_map<std::int64_t, const MakeupDay*> makeup;
  for (const MakeupDay& m : spec.makeup_days) makeup.emplace(m.date.days, &m);
  std::unordered_map<std::int64_t, bool> holiday;
  for (const Holiday& h : spec.holidays) holiday.emplace(h.date.days, true);
  const std::vector<WorkInterval>* default_makeup = nullptr;
  for (size_t d = 0; d < 7 && default_makeup == nullptr; ++d) {
    if (!spec.week[d].empty()) default_makeup = &spec.week[d];
  }
  c.day_index_.reserve(static_cast<size_t>(end - first + 1));
  c.starts_.reserve(static_cast<size_t>(end - first));
  c.ends_.reserve(static_cast<size_t>(end - first));
  c.cum_end_.reserve(static_cast<size_t>(end - first));
  std::int64_t cum = 0;
  for (std::int64_t day = first; day < end; ++day) {
    c.day_index_.push_back(static_cast<std::uint32_t>(c.starts_.size()));
    const std::vector<WorkInterval>* hours = &spec.week[static_cast<size_t>(WeekdayOf(Date{day}))];
    if (auto it = makeup.find(day); it != makeup.end()) {
      if (!it->second->hours.empty()) {
        hours = &it->second->hours;
      } else if (hours->empty()) {
        hours = default_makeup;
      }
    } else if (holiday.count(day) != 0) {
      continue;
    }
    for (const WorkInterval& iv : *hours) {
      UnixSeconds s = zone.LocalToUtc(day * kDaySeconds + iv.open);
      const UnixSeconds e = zone.LocalToUtc(day * kDaySeconds + iv.close);
      if (!c.ends_.empty() && s < c.ends_.back()) s = c.ends_.back();  // a DST fold
      if (e <= s) continue;
      cum += e - s;
      c.starts_.push_back(s);
      c.ends_.push_back(e);
      c.cum_end_.push_back(cum);
    }
  }
  c.day_index_.push_back(static_cast<std::uint32_t>(c.starts_.size()));
  c.range_begin_ = zone.LocalToUtc(first * kDaySeconds);
  c.range_end_ = zone.LocalToUtc(end * kDaySeconds);
  c.spec_ = std::move(spec);
  c.zone_ = std::move(zone);
  return c;
}

Status Calendar::CheckRange(UnixSeconds t, std::string_view what) const {
  if (t < range_begin_ || t > range_end_) {
    return Status::InvalidArgument(std::string(what) + ": " + FormatInstant(t) + " lies outside the years " +
                                   std::to_string(first_year_) + "-" + std::to_string(last_year_) +
                                   " that calendar " + spec_.name + " covers");
  }
  return Status::Ok();
}

std::int64_t Calendar::Position(UnixSeconds t) const {
  const auto it = std::upper_bound(starts_.begin(), starts_.end(), t);
  if (it == starts_.begin()) return 0;
  const auto i = static_cast<size_t>(it - starts_.begin() - 1);
  return t < ends_[i] ? cum_end_[i] - (ends_[i] - t) : cum_end_[i];
}

UnixSeconds Calendar::InstantAt(std::int64_t position) const {
  const auto it = std::lower_bound(cum_end_.begin(), cum_end_.end(), position);
  const auto i = static_cast<size_t>(it - cum_end_.begin());
  return ends_[i] - (cum_end_[i] - position);
}

namespace {

struct Span {
  std::int64_t a, b;
};

// Pauses as business-time spans, clipped to [lo, hi], sorted by start. Small inputs stay on the
// stack of the caller through `buffer`.
template <typename PositionFn>
Status PauseSpans(std::span<const Pause> pauses, UnixSeconds lo, UnixSeconds hi, PositionFn position,
                  std::vector<Span>* out) {
  for (size_t i = 0; i < pauses.size(); ++i) {
    const Pause& p = pauses[i];
    if (p.to < p.from) {
      return Status::InvalidArgument("pause[" + std::to_string(i) + "]: " + FormatInstant(p.to) + " is before " +
                                     FormatInstant(p.from));
    }
    const UnixSeconds a = std::max(p.from, lo);
    const UnixSeconds b = std::min(p.to, hi);
    if (b <= a) continue;
    const std::int64_t pa = position(a);
    const std::int64_t pb = position(b);
    if (pb > pa) out->push_back({pa, pb});
  }
  if (out->size() > 1) std::sort(out->begin(), out->end(), [](const Span& x, const Span& y) { return x.a < y.a; });
  return Status::Ok();
}

}  // namespace

Result<UnixSeconds> Calendar::Due(UnixSeconds start, std::int64_t business_seconds,
                                  std::span<const Pause> pauses) const {
  if (business_seconds < 0) return Status::InvalidArgument("minutes: must not be negative");
  TP_RETURN_IF_ERROR(CheckRange(start, "start"));
  if (business_seconds == 0) {
    for (size_t i = 0; i < pauses.size(); ++i) {
      if (pauses[i].to < pauses[i].from) return Status::InvalidArgument("pause[" + std::to_string(i) + "]: ends before it starts");
    }
    return start;
  }
  std::int64_t pos = Position(start);
  std::int64_t remaining = business_seconds;
  if (!pauses.empty()) {
    thread_local std::vector<Span> spans;
    spans.clear();
    TP_RETURN_IF_ERROR(PauseSpans(pauses, start, range_end_, [this](UnixSeconds t) { return Position(t); }, &spans));
    for (const Span& s : spans) {
      if (s.b <= pos) continue;
      if (s.a > pos) {
        const std::int64_t gap = s.a - pos;
        if (gap >= remaining) break;
        remaining -= gap;
      }
      pos = s.b;
    }
  }
  const std::int64_t target = pos + remaining;
  if (cum_end_.empty() || target > cum_end_.back()) {
    return Status::InvalidArgument("due: the target lies beyond the years that calendar " + spec_.name + " covers");
  }
  return InstantAt(target);
}

Result<std::int64_t> Calendar::BusinessSeconds(UnixSeconds from, UnixSeconds to, std::span<const Pause> pauses) const {
  if (from > to) {
    return Status::InvalidArgument("from: " + FormatInstant(from) + " is after to " + FormatInstant(to));
  }
  TP_RETURN_IF_ERROR(CheckRange(from, "from"));
  TP_RETURN_IF_ERROR(CheckRange(to, "to"));
  const std::int64_t p_from = Position(from);
  std::int64_t total = Position(to) - p_from;
  if (!pauses.empty()) {
    thread_local std::vector<Span> spans;
    spans.clear();
    TP_RETURN_IF_ERROR(PauseSpans(pauses, from, to, [this](UnixSeconds t) { return Position(t); }, &spans));
    std::int64_t covered_to = p_from;
    for (const Span& s : spans) {
      const std::int64_t a = std::max(s.a, covered_to);
      if (s.b > a) {
        total -= s.b - a;
        covered_to = s.b;
      }
    }
  }
  return total;
}

bool Calendar::IsWorkingDay(Date date) const {
  const std::int64_t i = date.days - first_day_.days;
  if (i >= 0 && i + 1 < static_cast<std::int64_t>(day_index_.size())) {
    return day_index_[static_cast<size_t>(i + 1)] > day_index_[static_cast<size_t>(i)];
  }
  for (const MakeupDay& m : spec_.makeup_days) {
    if (m.date == date) return true;
  }
  for (const Holiday& h : spec_.holidays) {
    if (h.date == date) return false;
  }
  return !spec_.week[static_cast<size_t>(WeekdayOf(date))].empty();
}

std::vector<Pause> Calendar::WorkingIntervals(Date date) const {
  std::vector<Pause> out;
  const std::int64_t i = date.days - first_day_.days;
  if (i < 0 || i + 1 >= static_cast<std::int64_t>(day_index_.size())) return out;
  for (std::uint32_t k = day_index_[static_cast<size_t>(i)]; k < day_index_[static_cast<size_t>(i + 1)]; ++k) {
    out.push_back({starts_[k], ends_[k]});
  }
  return out;
}

Date Calendar::LocalDate(UnixSeconds t) const { return Date{FloorDiv(t + zone_.OffsetAt(t), kDaySeconds)}; }

Result<Date> Calendar::WorkingDaysAfter(Date date, int n) const {
  if (n < 0) return Status::InvalidArgument("n: must not be negative");
  const std::int64_t days = static_cast<std::int64_t>(day_index_.size()) - 1;
  std::int64_t i = date.days - first_day_.days;
  if (i < 0 || i >= days) {
    return Status::InvalidArgument("date: " + FormatDate(date) + " lies outside the years that calendar " + spec_.name +
                                   " covers");
  }
  for (int left = n; left > 0;) {
    if (++i >= days) {
      return Status::InvalidArgument("days: the answer lies beyond the years that calendar " + spec_.name + " covers");
    }
    if (day_index_[static_cast<size_t>(i + 1)] > day_index_[static_cast<size_t>(i)]) --left;
  }
  return Date{first_day_.days + i};
}

Result<UnixSeconds> Calendar::CloseOfWorkingDayAfter(UnixSeconds t, int n) const {
  TP_RETURN_IF_ERROR(CheckRange(t, "start"));
  TP_ASSIGN_OR_RETURN(Date day, WorkingDaysAfter(LocalDate(t), n));
  const std::vector<Pause> intervals = WorkingIntervals(day);
  if (intervals.empty()) {
    return Status::InvalidArgument("date: " + FormatDate(day) + " is not a working day of calendar " + spec_.name);
  }
  return intervals.back().to;
}

bool Calendar::HasHolidayList(int year) const {
  if (spec_.list_years.empty()) return true;
  return std::binary_search(spec_.list_years.begin(), spec_.list_years.end(), year);
}

std::vector<int> Calendar::YearsWithoutList(UnixSeconds from, UnixSeconds to) const {
  std::vector<int> out;
  if (to < from) std::swap(from, to);
  for (int y = YearOf(LocalDate(from)), last = YearOf(LocalDate(to)); y <= last; ++y) {
    if (!HasHolidayList(y)) out.push_back(y);
  }
  return out;
}

}  // namespace touchpoint::calendar

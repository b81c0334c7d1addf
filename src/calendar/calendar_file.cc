#include <touchpoint/calendar/calendar_file.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

namespace touchpoint::calendar {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kWeekdayKeys[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

Status Bad(const std::string& field, const std::string& why) { return Status::InvalidArgument(field + ": " + why); }

Result<std::string> GetString(const Json& j, const std::string& field) {
  if (!j.is_string()) return Bad(field, "must be a string");
  return j.get<std::string>();
}

Result<std::vector<WorkInterval>> GetIntervals(const Json& j, const std::string& field) {
  if (!j.is_array()) return Bad(field, "must be a list of intervals such as [\"09:00-12:00\", \"13:30-18:00\"]");
  std::vector<WorkInterval> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string f = field + "[" + std::to_string(i) + "]";
    TP_ASSIGN_OR_RETURN(std::string text, GetString(j[i], f));
    TP_ASSIGN_OR_RETURN(WorkInterval iv, ParseWorkInterval(text, f));
    out.push_back(iv);
  }
  return out;
}

Status CheckKeys(const Json& obj, const std::string& field, std::initializer_list<const char*> allowed) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const bool ok = std::any_of(allowed.begin(), allowed.end(), [&](const char* k) { return it.key() == k; });
    if (!ok) return Bad(field.empty() ? it.key() : field + "." + it.key(), "unknown field");
  }
  return Status::Ok();
}

Result<CalendarSpec> ParseCalendar(const Json& root, std::string_view default_name) {
  TP_RETURN_IF_ERROR(
      CheckKeys(root, "", {"name", "description", "zone", "week", "holidays", "makeup_days", "holiday_years"}));
  CalendarSpec spec;
  spec.name = std::string(default_name);
  if (root.contains("name")) {
    TP_ASSIGN_OR_RETURN(spec.name, GetString(root["name"], "name"));
  }
  if (!root.contains("zone")) return Bad("zone", "missing (an IANA name such as Asia/Shanghai)");
  TP_ASSIGN_OR_RETURN(spec.zone, GetString(root["zone"], "zone"));
  if (!root.contains("week")) return Bad("week", "missing (working hours per weekday: mon … sun)");
  const Json& week = root["week"];
  if (!week.is_object()) return Bad("week", "must be a table of weekdays (mon … sun)");
  TP_RETURN_IF_ERROR(CheckKeys(week, "week", {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}));
  for (size_t d = 0; d < 7; ++d) {
    if (week.contains(kWeekdayKeys[d])) {
      TP_ASSIGN_OR_RETURN(spec.week[d], GetIntervals(week[kWeekdayKeys[d]], std::string("week.") + kWeekdayKeys[d]));
    }
  }
  std::set<int> years;
  if (root.contains("holidays")) {
    const Json& list = root["holidays"];
    if (!list.is_array()) return Bad("holidays", "must be a list");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string f = "holidays[" + std::to_string(i) + "]";
      const Json& h = list[i];
      if (h.is_string()) {
        TP_ASSIGN_OR_RETURN(Date d, ParseDate(h.get<std::string>(), f));
        spec.holidays.push_back({d, ""});
        years.insert(YearOf(d));
        continue;
      }
      if (!h.is_object()) return Bad(f, "must be a date or a table with date (or from and to) and name");
      TP_RETURN_IF_ERROR(CheckKeys(h, f, {"date", "from", "to", "name"}));
      std::string name;
      if (h.contains("name")) {
          TP_ASSIGN_OR_RETURN(name, GetString(h["name"], f + ".name"));
        }
      Date from, to;
      if (h.contains("date")) {
        if (h.contains("from") || h.contains("to")) return Bad(f, "give either date or from and to");
        TP_ASSIGN_OR_RETURN(std::string text, GetString(h["date"], f + ".date"));
        TP_ASSIGN_OR_RETURN(from, ParseDate(text, f + ".date"));
        to = from;
      } else {
        if (!h.contains("from") || !h.contains("to")) return Bad(f + ".date", "missing (or from and to)");
        TP_ASSIGN_OR_RETURN(std::string a, GetString(h["from"], f + ".from"));
        TP_ASSIGN_OR_RETURN(std::string b, GetString(h["to"], f + ".to"));
        TP_ASSIGN_OR_RETURN(from, ParseDate(a, f + ".from"));
        TP_ASSIGN_OR_RETURN(to, ParseDate(b, f + ".to"));
        if (to < from) return Bad(f + ".to", "is before from");
        if (to.days - from.days > 366) return Bad(f + ".to", "a holiday spans at most a year");
      }
      for (Date d = from; d <= to; d.days++) {
        spec.holidays.push_back({d, name});
        years.insert(YearOf(d));
      }
    }
  }
  if (root.contains("makeup_days")) {
    const Json& list = root["makeup_days"];
    if (!list.is_array()) return Bad("makeup_days", "must be a list");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string f = "makeup_days[" + std::to_string(i) + "]";
      const Json& m = list[i];
      MakeupDay day;
      if (m.is_string()) {
        TP_ASSIGN_OR_RETURN(day.date, ParseDate(m.get<std::string>(), f));
      } else if (m.is_object()) {
        TP_RETURN_IF_ERROR(CheckKeys(m, f, {"date", "name", "hours"}));
        if (!m.contains("date")) return Bad(f + ".date", "missing");
        TP_ASSIGN_OR_RETURN(std::string text, GetString(m["date"], f + ".date"));
        TP_ASSIGN_OR_RETURN(day.date, ParseDate(text, f + ".date"));
        if (m.contains("name")) {
          TP_ASSIGN_OR_RETURN(day.name, GetString(m["name"], f + ".name"));
        }
        if (m.contains("hours")) {
          TP_ASSIGN_OR_RETURN(day.hours, GetIntervals(m["hours"], f + ".hours"));
        }
      } else {
        return Bad(f, "must be a date or a table with date, name and optional hours");
      }
      years.insert(YearOf(day.date));
      spec.makeup_days.push_back(std::move(day));
    }
  }
  if (root.contains("holiday_years")) {
    const Json& list = root["holiday_years"];
    if (!list.is_array()) return Bad("holiday_years", "must be a list of years");
    years.clear();
    for (size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_number_integer() || list[i].get<int>() < 1900 || list[i].get<int>() > 2199) {
        return Bad("holiday_years[" + std::to_string(i) + "]", "must be a year such as 2026");
      }
      years.insert(list[i].get<int>());
    }
  }
  spec.list_years.assign(years.begin(), years.end());
  TP_RETURN_IF_ERROR(Validate(spec));
  return spec;
}

Result<HolidayList> ParseHolidayCn(const Json& root) {
  HolidayList list;
  if (!root["year"].is_number_integer() || root["year"].get<int>() < 1900 || root["year"].get<int>() > 2199) {
    return Bad("year", "must be a year such as 2026");
  }
  list.year = root["year"].get<int>();
  const Json& days = root["days"];
  if (!days.is_array()) return Bad("days", "must be a list");
  std::set<std::int64_t> seen;
  for (size_t i = 0; i < days.size(); ++i) {
    const std::string f = "days[" + std::to_string(i) + "]";
    const Json& d = days[i];
    if (!d.is_object()) return Bad(f, "must be a table with name, date and isOffDay");
    std::string name;
    if (d.contains("name")) {
          TP_ASSIGN_OR_RETURN(name, GetString(d["name"], f + ".name"));
        }
    if (!d.contains("date")) return Bad(f + ".date", "missing");
    TP_ASSIGN_OR_RETURN(std::string text, GetString(d["date"], f + ".date"));
    TP_ASSIGN_OR_RETURN(Date date, ParseDate(text, f + ".date"));
    if (!d.contains("isOffDay") || !d["isOffDay"].is_boolean()) return Bad(f + ".isOffDay", "must be true or false");
    if (!seen.insert(date.days).second) return Bad(f + ".date", FormatDate(date) + " is listed twice");
    if (d["isOffDay"].get<bool>()) {
      list.holidays.push_back({date, name});
    } else {
      list.makeup_days.push_back({date, name, {}});
    }
  }
  return list;
}

}  // namespace

Result<CalendarDocument> ParseCalendarDocument(std::string_view text, FileFormat format,
                                               std::string_view default_name) {
  Json root;
  if (format == FileFormat::kToml) {
    try {
      const toml::table table = toml::parse(text);
      std::ostringstream json;
      json << toml::json_formatter{table};
      root = Json::parse(json.str());
    } catch (const toml::parse_error& e) {
      std::ostringstream where;
      where << "TOML line " << e.source().begin.line << ": " << e.description();
      return Status::InvalidArgument(where.str());
    } catch (const std::exception& e) {
      return Status::InvalidArgument(std::string("TOML: ") + e.what());
    }
  } else {
    try {
      root = Json::parse(text);
    } catch (const Json::parse_error& e) {
      return Status::InvalidArgument(std::string("JSON: ") + e.what());
    }
  }
  if (!root.is_object()) return Status::InvalidArgument("the calendar file must hold an object");
  CalendarDocument doc;
  if (root.contains("days") && root.contains("year") && !root.contains("zone")) {
    TP_ASSIGN_OR_RETURN(doc.holiday_list, ParseHolidayCn(root));
  } else {
    TP_ASSIGN_OR_RETURN(doc.calendar, ParseCalendar(root, default_name));
  }
  return doc;
}

Result<CalendarDocument> ReadCalendarFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("calendar file " + path + " cannot be read");
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string stem = path;
  if (const size_t slash = stem.find_last_of('/'); slash != std::string::npos) stem = stem.substr(slash + 1);
  if (const size_t dot = stem.find_last_of('.'); dot != std::string::npos && dot > 0) stem = stem.substr(0, dot);
  const bool toml = path.size() >= 5 && path.compare(path.size() - 5, 5, ".toml") == 0;
  auto doc = ParseCalendarDocument(buf.str(), toml ? FileFormat::kToml : FileFormat::kJson, stem);
  if (!doc.ok()) return doc.status().WithContext(path);
  return doc;
}

void ApplyHolidayList(const HolidayList& list, CalendarSpec* spec) {
  std::set<std::int64_t> listed;
  for (const Holiday& h : list.holidays) listed.insert(h.date.days);
  for (const MakeupDay& m : list.makeup_days) listed.insert(m.date.days);
  auto replaced = [&](Date d) { return YearOf(d) == list.year || listed.count(d.days) != 0; };
  std::erase_if(spec->holidays, [&](const Holiday& h) { return replaced(h.date); });
  std::erase_if(spec->makeup_days, [&](const MakeupDay& m) { return replaced(m.date); });
  spec->holidays.insert(spec->holidays.end(), list.holidays.begin(), list.holidays.end());
  spec->makeup_days.insert(spec->makeup_days.end(), list.makeup_days.begin(), list.makeup_days.end());
  std::sort(spec->holidays.begin(), spec->holidays.end(), [](const Holiday& a, const Holiday& b) { return a.date < b.date; });
  std::sort(spec->makeup_days.begin(), spec->makeup_days.end(),
            [](const MakeupDay& a, const MakeupDay& b) { return a.date < b.date; });
  std::erase(spec->list_years, list.year);
  if (!list.holidays.empty() || !list.makeup_days.empty()) spec->list_years.push_back(list.year);
  std::sort(spec->list_years.begin(), spec->list_years.end());
}

std::string CalendarToJson(const CalendarSpec& spec) {
  Json root;
  root["name"] = spec.name;
  root["zone"] = spec.zone;
  Json week = Json::object();
  for (size_t d = 0; d < 7; ++d) {
    Json list = Json::array();
    for (const WorkInterval& iv : spec.week[d]) list.push_back(FormatWorkInterval(iv));
    week[kWeekdayKeys[d]] = list;
  }
  root["week"] = week;
  std::vector<Holiday> holidays = spec.holidays;
  std::sort(holidays.begin(), holidays.end(), [](const Holiday& a, const Holiday& b) { return a.date < b.date; });
  Json hs = Json::array();
  for (size_t i = 0; i < holidays.size();) {
    size_t j = i + 1;
    while (j < holidays.size() && holidays[j].date.days == holidays[j - 1].date.days + 1 &&
           holidays[j].name == holidays[i].name) {
      ++j;
    }
    Json h;
    if (j - i == 1) {
      h["date"] = FormatDate(holidays[i].date);
    } else {
      h["from"] = FormatDate(holidays[i].date);
      h["to"] = FormatDate(holidays[j - 1].date);
    }
    if (!holidays[i].name.empty()) h["name"] = holidays[i].name;
    hs.push_back(h);
    i = j;
  }
  root["holidays"] = hs;
  std::vector<MakeupDay> makeup = spec.makeup_days;
  std::sort(makeup.begin(), makeup.end(), [](const MakeupDay& a, const MakeupDay& b) { return a.date < b.date; });
  Json ms = Json::array();
  for (const MakeupDay& m : makeup) {
    Json j;
    j["date"] = FormatDate(m.date);
    if (!m.name.empty()) j["name"] = m.name;
    if (!m.hours.empty()) {
      Json hours = Json::array();
      for (const WorkInterval& iv : m.hours) hours.push_back(FormatWorkInterval(iv));
      j["hours"] = hours;
    }
    ms.push_back(j);
  }
  root["makeup_days"] = ms;
  root["holiday_years"] = spec.list_years;
  // One line per weekday, holiday and make-up day: readable in `calendar show` and in diffs.
  auto compact = [](const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); };
  std::string out = "{\n";
  size_t k = 0;
  for (auto it = root.begin(); it != root.end(); ++it, ++k) {
    out += "  " + compact(it.key()) + ": ";
    const Json& v = it.value();
    if ((v.is_object() || v.is_array()) && !v.empty() && it.key() != "holiday_years") {
      const bool obj = v.is_object();
      out += obj ? "{\n" : "[\n";
      size_t i = 0;
      for (auto e = v.begin(); e != v.end(); ++e, ++i) {
        out += "    " + (obj ? compact(e.key()) + ": " : std::string()) + compact(e.value());
        out += i + 1 < v.size() ? ",\n" : "\n";
      }
      out += obj ? "  }" : "  ]";
    } else {
      out += compact(v);
    }
    out += k + 1 < root.size() ? ",\n" : "\n";
  }
  return out + "}\n";
}

}  // namespace touchpoint::calendar

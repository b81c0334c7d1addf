#include <touchpoint/insight/funnel_store.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include <touchpoint/store/event_log.h>
#include <touchpoint/store/identity_repository.h>

#include "insight/store_scan_internal.h"

namespace touchpoint::insight {
namespace {

using nlohmann::json;

// The property `by` of a stored event's body (properties.<by>), as text; "(none)" when absent.
std::string PropertyOf(const std::string& body, const std::string& by) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return "(none)";
  auto props = j.find("properties");
  if (props == j.end() || !props->is_object()) return "(none)";
  auto v = props->find(by);
  if (v == props->end() || v->is_null()) return "(none)";
  if (v->is_string()) return v->get<std::string>();
  return v->dump();
}

const char* ModeName(FunnelMode m) {
  switch (m) {
    case FunnelMode::kOrdered: return "ordered";
    case FunnelMode::kStrict: return "strict";
    case FunnelMode::kAnyOrder: return "any";
  }
  return "ordered";
}

}  // namespace

Result<FunnelQuery> ParseFunnelQuery(std::string_view steps, std::string_view mode, std::string_view window_days,
                                     std::string_view by, std::string_view from, std::string_view to) {
  FunnelQuery q;
  size_t start = 0;
  while (start <= steps.size() && !steps.empty()) {
    size_t end = steps.find(',', start);
    if (end == std::string_view::npos) end = steps.size();
    std::string_view step = steps.substr(start, end - start);
    if (step.empty()) return Status::InvalidArgument("steps: an empty step name (steps are comma-separated event names)");
    q.spec.steps.emplace_back(step);
    start = end + 1;
  }
  if (q.spec.steps.size() < 2) {
    return Status::InvalidArgument("steps: name at least two event names, comma-separated (e.g. view,cart,order)");
  }
  if (mode.empty() || mode == "ordered") {
    q.spec.mode = FunnelMode::kOrdered;
  } else if (mode == "strict") {
    q.spec.mode = FunnelMode::kStrict;
  } else if (mode == "any") {
    q.spec.mode = FunnelMode::kAnyOrder;
  } else {
    return Status::InvalidArgument("mode: unknown mode \"" + std::string(mode) + "\"; valid: ordered, strict, any");
  }
  if (!window_days.empty()) {
    double days = 0;
    auto [ptr, ec] = std::from_chars(window_days.data(), window_days.data() + window_days.size(), days);
    if (ec != std::errc() || ptr != window_days.data() + window_days.size() || !(days > 0) || days > 3650) {
      return Status::InvalidArgument("window: \"" + std::string(window_days) +
                                     "\" is not a number of days between 0 and 3650 (e.g. 14 or 0.5)");
    }
    q.spec.window = static_cast<Millis>(std::llround(days * 86'400'000.0));
  }
  q.by = std::string(by);
  TP_ASSIGN_OR_RETURN(q.from, internal::ParseTimeBound("from", from));
  TP_ASSIGN_OR_RETURN(q.to, internal::ParseTimeBound("to", to));
  if (q.from != 0 && q.to != 0 && q.to <= q.from) return Status::InvalidArgument("to: must be after from");
  return q;
}

Result<std::vector<FunnelGroup>> FunnelOverStore(store::Store& store, const FunnelQuery& query) {
  TP_ASSIGN_OR_RETURN(FunnelReport report, FunnelReport::Create(query.spec, !query.by.empty()));
  const std::unordered_set<std::string> steps(query.spec.steps.begin(), query.spec.steps.end());
  const bool strict = query.spec.mode == FunnelMode::kStrict;
  // A merged customer's events count for the customer it was merged into (the chain followed
  // once per id and remembered).
  internal::PersonRoots roots(store.Get<store::IdentityRepository>());
  // Each person's events in log order; only the steps (and, in strict mode, a blank for any other
  // event: it breaks a strict sequence).
  std::unordered_map<std::int64_t, FunnelPath> paths;
  Status failed;
  TP_RETURN_IF_ERROR(store.Get<store::EventLog>().ScanFrom(1, [&](store::EventRecord&& e) {
    if (e.kind != store::EventKind::kTrack && e.kind != store::EventKind::kPage) return true;
    if (query.from != 0 && e.timestamp < query.from) return true;
    if (query.to != 0 && e.timestamp >= query.to) return true;
    const bool is_step = steps.count(e.name) > 0;
    if (!is_step && !strict) return true;
    auto who = roots.Of(e.customer);
    if (!who.ok()) {
      failed = who.status();
      return false;
    }
    FunnelEvent fe;
    fe.at = e.timestamp;
    if (is_step) {
      fe.name = std::move(e.name);
      if (!query.by.empty()) fe.breakdown = PropertyOf(e.body, query.by);
    }
    paths[*who].push_back(std::move(fe));
    return true;
  }));
  TP_RETURN_IF_ERROR(failed);
  for (auto& [id, path] : paths) {
    // The log is in arrival order; a person's events are evaluated in time order (equal times
    // keep arrival order).
    std::stable_sort(path.begin(), path.end(), [](const FunnelEvent& a, const FunnelEvent& b) { return a.at < b.at; });
    report.Add(path);
  }
  return report.Groups();
}

std::string FunnelJson(const FunnelQuery& query, const std::vector<FunnelGroup>& groups) {
  json j = {{"steps", query.spec.steps},
            {"mode", ModeName(query.spec.mode)},
            {"window_days", static_cast<double>(query.spec.window) / 86'400'000.0},
            {"groups", json::array()}};
  if (!query.by.empty()) j["by"] = query.by;
  if (query.from != 0) j["from"] = FormatTimestamp(query.from);
  if (query.to != 0) j["to"] = FormatTimestamp(query.to);
  for (const FunnelGroup& g : groups) {
    json steps = json::array();
    for (const FunnelStep& s : g.steps) {
      steps.push_back({{"name", s.name},
                       {"count", s.count},
                       {"conversion_from_previous", s.conversion_from_previous},
                       {"conversion_from_first", s.conversion_from_first},
                       {"drop_off", s.drop_off},
                       {"seconds_from_previous", internal::SummaryJson(s.seconds_from_previous)}});
    }
    j["groups"].push_back({{"breakdown", g.breakdown.empty() ? "all" : g.breakdown},
                           {"steps", steps},
                           {"seconds_to_convert", internal::SummaryJson(g.seconds_to_convert)}});
  }
  return j.dump();
}

std::string FunnelTable(const FunnelQuery& query, const std::vector<FunnelGroup>& groups) {
  auto num = [](const std::optional<double>& v) -> std::string {
    if (!v) return "";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", *v);
    return buf;
  };
  std::vector<std::vector<std::string>> lines;
  lines.push_back({"GROUP", "STEP", "PEOPLE", "FROM PREV", "FROM FIRST", "DROP-OFF", "MEDIAN S"});
  for (const FunnelGroup& g : groups) {
    for (const FunnelStep& s : g.steps) {
      char prev[16], first[16];
      std::snprintf(prev, sizeof prev, "%.1f%%", 100 * s.conversion_from_previous);
      std::snprintf(first, sizeof first, "%.1f%%", 100 * s.conversion_from_first);
      lines.push_back({g.breakdown.empty() ? "all" : g.breakdown, s.name, std::to_string(s.count), prev, first,
                       std::to_string(s.drop_off), num(s.seconds_from_previous.median)});
    }
  }
  char window[32];
  std::snprintf(window, sizeof window, "%g", static_cast<double>(query.spec.window) / 86'400'000.0);
  return std::string("funnel (") + ModeName(query.spec.mode) + ", window " + window + " days)\n" +
         internal::AlignedTable(lines);
}

}  // namespace touchpoint::insight

#include <touchpoint/insight/journey_store.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include <touchpoint/store/activity_repository.h>
#include <touchpoint/store/event_log.h>
#include <touchpoint/store/identity_repository.h>

#include "insight/store_scan_internal.h"

namespace touchpoint::insight {
namespace {

using nlohmann::ordered_json;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

// What an event of the log is, for stage matching: a track event its name; a page or screen view
// "page" and its name. Empty for other kinds.
void MatchNames(const store::EventRecord& e, std::string_view* first, std::string_view* second) {
  *first = {};
  *second = {};
  if (e.kind == store::EventKind::kTrack) {
    *first = e.name;
  } else if (e.kind == store::EventKind::kPage) {
    *first = "page";
    if (!e.name.empty()) *second = e.name;
  }
}

std::string Percent(const std::optional<double>& v) {
  if (!v) return "";
  char b[16];
  std::snprintf(b, sizeof b, "%.1f%%", 100 * *v);
  return b;
}

std::string Fixed(const std::optional<double>& v, const char* fmt) {
  if (!v) return "";
  char b[32];
  std::snprintf(b, sizeof b, fmt, *v);
  return b;
}

// A duration in seconds as the table shows it: "45s", "3.2h", "2.5d".
std::string Duration(const std::optional<double>& seconds) {
  if (!seconds) return "";
  char b[32];
  if (*seconds < 120) {
    std::snprintf(b, sizeof b, "%.0fs", *seconds);
  } else if (*seconds < 7200) {
    std::snprintf(b, sizeof b, "%.1fm", *seconds / 60);
  } else if (*seconds < 172800) {
    std::snprintf(b, sizeof b, "%.1fh", *seconds / 3600);
  } else {
    std::snprintf(b, sizeof b, "%.1fd", *seconds / 86400);
  }
  return b;
}

const JourneyStage* StageNamed(const JourneySpec& spec, const std::string& name) {
  for (const auto& s : spec.stages) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace

JourneySpec DefaultJourney() {
  JourneySpec j;
  j.name = "purchase";
  j.stages = {{"browse", {"page", "Product Viewed"}, std::nullopt},
              {"checkout", {"Order Completed"}, std::nullopt},
              {"delivery", {"Order Shipped", "Order Delivered"}, std::nullopt},
              {"after_sales", {"Message Received"}, std::nullopt}};
  return j;
}

std::vector<JourneySpec> KnownJourneys(std::vector<JourneySpec> configured) {
  JourneySpec builtin = DefaultJourney();
  if (FindJourney(configured, builtin.name) == nullptr) configured.push_back(std::move(builtin));
  return configured;
}

const JourneySpec* FindJourney(const std::vector<JourneySpec>& known, std::string_view name) {
  for (const auto& j : known) {
    if (j.name == name) return &j;
  }
  return nullptr;
}

std::string JourneyNames(const std::vector<JourneySpec>& known) {
  std::string out;
  for (const auto& j : known) out += (out.empty() ? "" : ", ") + j.name;
  return out;
}

Result<JourneySpec> ParseJourneyStages(std::string_view name, std::string_view stages, std::string_view targets) {
  JourneySpec spec;
  spec.name = std::string(Trim(name));
  if (spec.name.empty()) spec.name = "journey";
  if (Trim(stages).empty()) {
    return Status::InvalidArgument(
        "stages: none given; write stage=event,event;stage=event (e.g. browse=page;order=Order Completed)");
  }
  for (std::string_view part : Split(stages, ';')) {
    part = Trim(part);
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("stages: \"" + std::string(part) +
                                     "\" has no '='; write stage=event,event (e.g. order=Order Completed)");
    }
    JourneyStage st;
    st.name = std::string(Trim(part.substr(0, eq)));
    if (st.name.empty()) return Status::InvalidArgument("stages: \"" + std::string(part) + "\" has no stage name");
    for (std::string_view ev : Split(part.substr(eq + 1), ',')) {
      ev = Trim(ev);
      if (ev.empty()) return Status::InvalidArgument("stages: stage " + st.name + " lists an empty event name");
      st.events.emplace_back(ev);
    }
    spec.stages.push_back(std::move(st));
  }
  if (!Trim(targets).empty()) {
    for (std::string_view part : Split(targets, ',')) {
      part = Trim(part);
      const size_t eq = part.find('=');
      const std::string stage(Trim(part.substr(0, eq)));
      auto it = std::find_if(spec.stages.begin(), spec.stages.end(),
                             [&](const JourneyStage& s) { return s.name == stage; });
      if (eq == std::string_view::npos || it == spec.stages.end()) {
        return Status::InvalidArgument("targets: \"" + std::string(part) +
                                       "\" is not stage=hours for a stage of the journey (e.g. delivery=72)");
      }
      const std::string_view hours = Trim(part.substr(eq + 1));
      double h = 0;
      auto [ptr, ec] = std::from_chars(hours.data(), hours.data() + hours.size(), h);
      if (ec != std::errc() || ptr != hours.data() + hours.size() || !(h > 0)) {
        return Status::InvalidArgument("targets: \"" + std::string(hours) + "\" for stage " + stage +
                                       " is not a positive number of hours");
      }
      it->target_dwell_seconds = h * 3600;
    }
  }
  // The report's own checks (two stages, an event in two stages…), with its messages.
  TP_RETURN_IF_ERROR(JourneyReport::Create(spec).status());
  return spec;
}

Result<JourneyQuery> MakeJourneyQuery(JourneySpec spec, std::string_view from, std::string_view to) {
  JourneyQuery q;
  TP_RETURN_IF_ERROR(JourneyReport::Create(spec).status());
  q.spec = std::move(spec);
  TP_ASSIGN_OR_RETURN(q.from, internal::ParseTimeBound("from", from));
  TP_ASSIGN_OR_RETURN(q.to, internal::ParseTimeBound("to", to));
  if (q.from != 0 && q.to != 0 && q.to <= q.from) return Status::InvalidArgument("to: must be after from");
  return q;
}

Result<JourneyResult> JourneyOverStore(store::Store& store, const JourneyQuery& query) {
  TP_ASSIGN_OR_RETURN(JourneyReport report, JourneyReport::Create(query.spec));
  std::unordered_set<std::string> stage_events;
  for (const auto& s : query.spec.stages) stage_events.insert(s.events.begin(), s.events.end());
  auto in_range = [&](Millis t) { return (query.from == 0 || t >= query.from) && (query.to == 0 || t < query.to); };

  internal::PersonRoots roots(store.Get<store::IdentityRepository>());
  std::unordered_map<std::int64_t, std::vector<JourneyEvent>> paths;
  Status failed;
  auto add = [&](CustomerId customer, JourneyEvent&& ev) {
    auto who = roots.Of(customer);
    if (!who.ok()) {
      failed = who.status();
      return false;
    }
    paths[*who].push_back(std::move(ev));
    return true;
  };

  // 1. Stage events from the log (only those a stage names).
  TP_RETURN_IF_ERROR(store.Get<store::EventLog>().ScanFrom(1, [&](store::EventRecord&& e) {
    if (!in_range(e.timestamp)) return true;
    std::string_view a, b;
    MatchNames(e, &a, &b);
    std::string_view hit;
    if (!a.empty() && stage_events.count(std::string(a)) > 0) {
      hit = a;
    } else if (!b.empty() && stage_events.count(std::string(b)) > 0) {
      hit = b;
    }
    if (hit.empty()) return true;
    JourneyEvent ev;
    ev.name = std::string(hit);
    ev.at = e.timestamp;
    return add(e.customer, std::move(ev));
  }));
  TP_RETURN_IF_ERROR(failed);
  // 2. The customer's own messages: their sentiment counts for the stage they are in then. They
  // come after the log's events of the same instant (stable sort below), so a message counts for
  // the stage its own event entered.
  store::ActivityRepository& activity = store.Get<store::ActivityRepository>();
  TP_RETURN_IF_ERROR(activity.ScanMessages([&](store::MessageRecord&& m) {
    if (!failed.ok() || !in_range(m.timestamp) || m.author != "customer" || m.sentiment_label.empty()) return;
    JourneyEvent ev;
    ev.at = m.timestamp;
    ev.negative = m.sentiment_label == "negative";
    add(m.customer, std::move(ev));
  }));
  TP_RETURN_IF_ERROR(failed);
  // 3. Survey answers: for the stage they are tagged with, else the current one.
  TP_RETURN_IF_ERROR(activity.ScanSurveys([&](store::SurveyRecord&& s) {
    if (!failed.ok() || !in_range(s.timestamp)) return;
    JourneyEvent ev;
    ev.at = s.timestamp;
    if (s.csat >= 1 && s.csat <= 5) {
      ev.satisfaction = (s.csat - 1) / 4.0;
    } else if (s.nps >= 0 && s.nps <= 10) {
      ev.satisfaction = s.nps / 10.0;
    } else {
      return;
    }
    ev.touchpoint = std::move(s.touchpoint);
    add(s.customer, std::move(ev));
  }));
  TP_RETURN_IF_ERROR(failed);

  JourneyResult result;
  result.people = static_cast<std::int64_t>(paths.size());
  for (auto& [id, path] : paths) {
    std::stable_sort(path.begin(), path.end(), [](const JourneyEvent& x, const JourneyEvent& y) { return x.at < y.at; });
    report.Add(path);
  }
  result.stages = report.WorstFirst();
  return result;
}

std::string JourneyJson(const JourneyQuery& query, const JourneyResult& result) {
  ordered_json j = {{"journey", query.spec.name}};
  if (query.from != 0) j["from"] = FormatTimestamp(query.from);
  if (query.to != 0) j["to"] = FormatTimestamp(query.to);
  j["people"] = result.people;
  j["stages"] = ordered_json::array();
  for (const TouchpointStats& t : result.stages) {
    const JourneyStage* st = StageNamed(query.spec, t.stage);
    ordered_json s = {{"stage", t.stage}};
    if (st != nullptr) s["events"] = st->events;
    s["volume"] = t.volume;
    s["dwell_seconds"] = internal::SummaryJson(t.dwell_seconds);
    if (st != nullptr && st->target_dwell_seconds) s["target_dwell_seconds"] = *st->target_dwell_seconds;
    if (t.drop_off) s["drop_off"] = *t.drop_off;
    if (t.satisfaction) s["satisfaction"] = *t.satisfaction;
    s["answers"] = t.answers;
    if (t.negative_share) s["negative_share"] = *t.negative_share;
    s["messages"] = t.messages;
    if (t.score) s["score"] = *t.score;
    j["stages"].push_back(std::move(s));
  }
  return j.dump();
}

std::string JourneyTable(const JourneyQuery& query, const JourneyResult& result) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"STAGE", "SCORE", "PEOPLE", "DROP-OFF", "MEDIAN DWELL", "SATISFACTION", "ANSWERS", "NEGATIVE",
                  "MESSAGES"});
  for (const TouchpointStats& t : result.stages) {
    rows.push_back({t.stage, Fixed(t.score, "%.1f"), std::to_string(t.volume), Percent(t.drop_off),
                    Duration(t.dwell_seconds.median), Percent(t.satisfaction), std::to_string(t.answers),
                    Percent(t.negative_share), std::to_string(t.messages)});
  }
  std::string out = "journey " + query.spec.name + " (" + std::to_string(result.people) +
                    " people; worst touchpoint first)\n";
  return out + internal::AlignedTable(rows);
}

}  // namespace touchpoint::insight

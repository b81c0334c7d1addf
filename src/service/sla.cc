#include <touchpoint/service/sla.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <utility>

#include <nlohmann/json.hpp>

namespace touchpoint::service {
namespace {

using Json = nlohmann::ordered_json;

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
}

bool KnownAction(std::string_view a) {
  return a == "notify_assignee" || a == "notify_supervisor" || a == "notify_manager" || a == "raise_priority";
}

// Whole seconds, fractions truncated (as the calendar's MINUTES); the epsilon keeps 2/60 minutes
// at 2 s despite binary floating point.
std::int64_t Seconds(double minutes) { return static_cast<std::int64_t>(std::floor(minutes * 60.0 + 1e-6)); }

std::string MinutesLabel(double minutes) {
  if (minutes == std::floor(minutes)) return std::to_string(static_cast<std::int64_t>(minutes));
  std::string s = std::to_string(minutes);
  while (!s.empty() && s.back() == '0') s.pop_back();
  return s;
}

Json GoalJson(const SlaGoal& g) { return Json{{"minutes", g.minutes}, {"warning_minutes", g.warning_minutes}}; }

Status ReadStrings(const Json& j, const char* key, std::string_view field, std::vector<std::string>* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) return Status::InvalidArgument(std::string(field) + ": expected an array of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) return Status::InvalidArgument(std::string(field) + ": expected an array of strings");
    out->push_back(v.get<std::string>());
  }
  return Status::Ok();
}

Status ReadNumber(const Json& j, const char* key, std::string_view field, double* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_number()) return Status::InvalidArgument(std::string(field) + ": expected a number");
  *out = it->get<double>();
  return Status::Ok();
}

Status ReadGoal(const Json& j, const char* key, SlaGoal* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return Status::InvalidArgument(std::string(key) + ": expected an object");
  for (auto f = it->begin(); f != it->end(); ++f) {
    if (f.key() != "minutes" && f.key() != "warning_minutes") {
      return Status::InvalidArgument(std::string(key) + "." + f.key() + ": unknown field");
    }
  }
  TP_RETURN_IF_ERROR(ReadNumber(*it, "minutes", std::string(key) + ".minutes", &out->minutes));
  return ReadNumber(*it, "warning_minutes", std::string(key) + ".warning_minutes", &out->warning_minutes);
}

}  // namespace

std::vector<SlaLadderStep> DefaultLadder() {
  return {SlaLadderStep{"warning", 0, {"notify_assignee"}},
          SlaLadderStep{"breach", 0, {"notify_supervisor", "raise_priority"}},
          SlaLadderStep{"breach", 60, {"notify_manager"}}};
}

SlaPolicy BaselinePolicy() {
  SlaPolicy p;
  p.name = "baseline";
  p.position = std::numeric_limits<std::int64_t>::max();
  p.first_response = SlaGoal{24 * 60, 60};
  p.next_response = SlaGoal{24 * 60, 60};
  p.ladder = DefaultLadder();
  return p;
}

Status ValidatePolicy(const SlaPolicy& p) {
  if (p.name.empty() || p.name.size() > 64) return Status::InvalidArgument("name: 1 to 64 characters");
  for (char c : p.name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) return Status::InvalidArgument("name: letters, digits, '_', '-' and '.' only");
  }
  for (auto [name, g] : {std::pair<const char*, const SlaGoal*>{"first_response", &p.first_response},
                         {"next_response", &p.next_response},
                         {"resolution", &p.resolution}}) {
    if (!(g->minutes >= 0) || g->minutes > 525'600) {
      return Status::InvalidArgument(std::string(name) + ".minutes: expected 0 to 525600");
    }
    if (!(g->warning_minutes >= 0) || (g->warning_minutes > 0 && g->warning_minutes >= g->minutes)) {
      return Status::InvalidArgument(std::string(name) + ".warning_minutes: expected 0 or less than minutes");
    }
  }
  for (size_t i = 0; i < p.ladder.size(); ++i) {
    const SlaLadderStep& s = p.ladder[i];
    const std::string field = "ladder[" + std::to_string(i) + "]";
    if (s.at != "warning" && s.at != "breach") return Status::InvalidArgument(field + ".at: expected warning or breach");
    if (!(s.after_minutes >= 0)) return Status::InvalidArgument(field + ".after_minutes: expected 0 or more");
    if (s.actions.empty()) return Status::InvalidArgument(field + ".actions: at least one");
    for (const std::string& a : s.actions) {
      if (!KnownAction(a)) {
        return Status::InvalidArgument(field + ".actions: unknown action '" + a +
                                       "' (notify_assignee, notify_supervisor, notify_manager, raise_priority)");
      }
    }
  }
  return Status::Ok();
}

std::string PolicyToJson(const SlaPolicy& p) {
  Json j;
  j["name"] = p.name;
  j["position"] = p.position;
  j["when"] = Json{{"priorities", p.when.priorities}, {"types", p.when.types},   {"channels", p.when.channels},
                   {"tiers", p.when.tiers},           {"segments", p.when.segments}, {"queues", p.when.queues}};
  j["calendar"] = p.calendar;
  j["first_response"] = GoalJson(p.first_response);
  j["next_response"] = GoalJson(p.next_response);
  j["resolution"] = GoalJson(p.resolution);
  j["ladder"] = Json::array();
  for (const SlaLadderStep& s : p.ladder) {
    j["ladder"].push_back(Json{{"at", s.at}, {"after_minutes", s.after_minutes}, {"actions", s.actions}});
  }
  return j.dump();
}

Result<SlaPolicy> PolicyFromJson(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("policy: expected a JSON object");
  static constexpr std::string_view kFields[] = {"name", "position", "when", "calendar", "first_response",
                                                 "next_response", "resolution", "ladder"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (std::find(std::begin(kFields), std::end(kFields), it.key()) == std::end(kFields)) {
      return Status::InvalidArgument(it.key() + ": unknown field");
    }
  }
  SlaPolicy p;
  if (!j.contains("name") || !j["name"].is_string()) return Status::InvalidArgument("name: required (a string)");
  p.name = j["name"].get<std::string>();
  if (j.contains("position")) {
    if (!j["position"].is_number_integer()) return Status::InvalidArgument("position: expected an integer");
    p.position = j["position"].get<std::int64_t>();
  }
  if (j.contains("calendar") && !j["calendar"].is_null()) {
    if (!j["calendar"].is_string()) return Status::InvalidArgument("calendar: expected a string");
    p.calendar = j["calendar"].get<std::string>();
  }
  if (j.contains("when") && !j["when"].is_null()) {
    const Json& w = j["when"];
    if (!w.is_object()) return Status::InvalidArgument("when: expected an object");
    for (auto it = w.begin(); it != w.end(); ++it) {
      const std::string& k = it.key();
      std::vector<std::string>* out = k == "priorities" ? &p.when.priorities
                                      : k == "types"    ? &p.when.types
                                      : k == "channels" ? &p.when.channels
                                      : k == "tiers"    ? &p.when.tiers
                                      : k == "segments" ? &p.when.segments
                                      : k == "queues"   ? &p.when.queues
                                                        : nullptr;
      if (out == nullptr) return Status::InvalidArgument("when." + k + ": unknown condition");
      TP_RETURN_IF_ERROR(ReadStrings(w, k.c_str(), "when." + k, out));
    }
  }
  TP_RETURN_IF_ERROR(ReadGoal(j, "first_response", &p.first_response));
  TP_RETURN_IF_ERROR(ReadGoal(j, "next_response", &p.next_response));
  TP_RETURN_IF_ERROR(ReadGoal(j, "resolution", &p.resolution));
  if (j.contains("ladder") && !j["ladder"].is_null()) {
    if (!j["ladder"].is_array()) return Status::InvalidArgument("ladder: expected an array");
    size_t i = 0;
    for (const Json& s : j["ladder"]) {
      const std::string field = "ladder[" + std::to_string(i++) + "]";
      if (!s.is_object()) return Status::InvalidArgument(field + ": expected an object");
      SlaLadderStep step;
      step.at = s.value("at", std::string("breach"));
      TP_RETURN_IF_ERROR(ReadNumber(s, "after_minutes", field + ".after_minutes", &step.after_minutes));
      TP_RETURN_IF_ERROR(ReadStrings(s, "actions", field + ".actions", &step.actions));
      p.ladder.push_back(std::move(step));
    }
  }
  TP_RETURN_IF_ERROR(ValidatePolicy(p));
  return p;
}

const SlaPolicy* MatchPolicy(std::span<const SlaPolicy> policies, const store::TicketRecord& t,
                             const CustomerFacts& customer) {
  for (const SlaPolicy& p : policies) {
    const SlaConditions& w = p.when;
    if (!Contains(w.priorities, t.priority) || !Contains(w.types, t.type) || !Contains(w.channels, t.channel) ||
        !Contains(w.queues, t.queue) || !Contains(w.tiers, customer.tier)) {
      continue;
    }
    if (!w.segments.empty()) {
      bool any = false;
      for (const std::string& s : customer.segments) any = any || Contains(w.segments, s);
      if (!any) continue;
    }
    return &p;
  }
  return nullptr;
}

Result<std::vector<SlaDue>> ComputeDues(const SlaPolicy& policy, const calendar::Calendar* cal,
                                        const store::TicketRecord& ticket, const TicketSpans& spans) {
  std::vector<SlaDue> out;
  const std::vector<SlaLadderStep> ladder = policy.ladder.empty() ? DefaultLadder() : policy.ladder;
  auto add = [&](std::string_view target, std::int64_t cycle, const SlaGoal& goal, Millis start,
                 std::span<const PauseSpan> pauses) -> Status {
    if (goal.minutes <= 0) return Status::Ok();
    const std::int64_t target_s = Seconds(goal.minutes);
    TP_ASSIGN_OR_RETURN(std::optional<Millis> due, DueAfter(start, target_s, pauses, cal));
    if (!due) return Status::Ok();  // paused: no due time until the pause ends
    Millis warning_at = 0;
    if (goal.warning_minutes > 0) {
      TP_ASSIGN_OR_RETURN(std::optional<Millis> w,
                          DueAfter(start, std::max<std::int64_t>(0, target_s - Seconds(goal.warning_minutes)), pauses, cal));
      warning_at = w.value_or(0);
    }
    // The kinds of this target, each with its actions from the ladder.
    std::map<std::pair<Millis, std::string>, std::vector<std::string>> kinds;
    if (warning_at > 0) kinds[{warning_at, "warning"}];
    kinds[{*due, "breach"}];
    for (const SlaLadderStep& step : ladder) {
      if (step.at == "warning" && warning_at == 0) continue;
      const std::int64_t base = step.at == "warning" ? target_s - Seconds(goal.warning_minutes) : target_s;
      std::string kind = step.at;
      Millis at = step.at == "warning" ? warning_at : *due;
      if (step.after_minutes > 0) {
        kind += "+" + MinutesLabel(step.after_minutes);
        TP_ASSIGN_OR_RETURN(std::optional<Millis> a,
                            DueAfter(start, std::max<std::int64_t>(0, base) + Seconds(step.after_minutes), pauses, cal));
        if (!a) continue;
        at = *a;
      }
      auto& actions = kinds[{at, kind}];
      for (const std::string& a : step.actions) {
        if (std::find(actions.begin(), actions.end(), a) == actions.end()) actions.push_back(a);
      }
    }
    for (auto& [key, actions] : kinds) {
      out.push_back(SlaDue{std::string(target), key.second, cycle, key.first, *due, warning_at, std::move(actions)});
    }
    return Status::Ok();
  };
  if (spans.first_response && spans.first_response->running()) {
    TP_RETURN_IF_ERROR(add(kFirstResponse, 0, policy.first_response, spans.first_response->start, spans.pauses));
  }
  if (!spans.next_responses.empty() && spans.next_responses.back().running()) {
    TP_RETURN_IF_ERROR(add(kNextResponse, static_cast<std::int64_t>(spans.next_responses.size()), policy.next_response,
                           spans.next_responses.back().start, spans.pauses));
  }
  if (spans.resolution && spans.resolution->running()) {
    if (spans.resolution_since_reopen) {
      TP_RETURN_IF_ERROR(add(kResolution, ticket.reopen_count, policy.resolution,
                             spans.resolution_since_reopen->start, spans.pauses));
    } else {
      TP_RETURN_IF_ERROR(add(kResolution, 0, policy.resolution, spans.resolution->start, spans.pauses));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const SlaDue& a, const SlaDue& b) { return a.at < b.at; });
  return out;
}

}  // namespace touchpoint::service

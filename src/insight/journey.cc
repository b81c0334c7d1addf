#include <touchpoint/insight/journey.h>

#include <algorithm>
#include <map>
#include <utility>

namespace touchpoint::insight {

Result<JourneyReport> JourneyReport::Create(JourneySpec spec) {
  if (spec.stages.size() < 2) return Status::InvalidArgument("stages: a journey needs at least two");
  std::map<std::string, size_t> owner;
  for (size_t s = 0; s < spec.stages.size(); ++s) {
    const auto& st = spec.stages[s];
    const std::string where = "stages[" + std::to_string(s) + "]";
    if (st.name.empty()) return Status::InvalidArgument(where + ".name: empty");
    if (st.events.empty()) return Status::InvalidArgument(where + " (" + st.name + ").events: none");
    for (const auto& e : st.events) {
      auto [it, fresh] = owner.emplace(e, s);
      if (!fresh) {
        return Status::InvalidArgument(where + " (" + st.name + ").events: \"" + e + "\" is also in stage " +
                                       spec.stages[it->second].name);
      }
    }
    if (st.target_dwell_seconds && !(*st.target_dwell_seconds > 0)) {
      return Status::InvalidArgument(where + " (" + st.name + ").target_dwell_seconds: must be positive");
    }
  }
  for (double w : {spec.satisfaction_weight, spec.sentiment_weight, spec.continuation_weight, spec.speed_weight}) {
    if (!(w >= 0)) return Status::InvalidArgument("weights: must not be negative");
  }
  return JourneyReport(std::move(spec), std::move(owner));
}

JourneyReport::JourneyReport(JourneySpec spec, std::map<std::string, size_t> stage_of)
    : spec_(std::move(spec)), stage_of_(std::move(stage_of)), acc_(spec_.stages.size()) {}

int JourneyReport::StageOf(const std::string& event) const {
  const auto it = stage_of_.find(event);
  return it == stage_of_.end() ? -1 : static_cast<int>(it->second);
}

void JourneyReport::Add(std::span<const JourneyEvent> path) {
  const size_t n = spec_.stages.size();
  std::vector<std::optional<Millis>> entered(n);
  int current = -1;
  for (const auto& e : path) {
    const int s = StageOf(e.name);
    if (s >= 0) {
      current = s;
      if (!entered[static_cast<size_t>(s)]) entered[static_cast<size_t>(s)] = e.at;
    }
    if (e.satisfaction) {
      int target = current;
      if (!e.touchpoint.empty()) {
        target = -1;
        for (size_t t = 0; t < n; ++t) {
          if (spec_.stages[t].name == e.touchpoint) target = static_cast<int>(t);
        }
      }
      if (target >= 0) {
        acc_[static_cast<size_t>(target)].satisfaction_sum += std::clamp(*e.satisfaction, 0.0, 1.0);
        acc_[static_cast<size_t>(target)].answers += 1;
      }
    }
    if (e.negative && current >= 0) {
      acc_[static_cast<size_t>(current)].messages += 1;
      acc_[static_cast<size_t>(current)].negative += *e.negative ? 1 : 0;
    }
  }
  for (size_t s = 0; s < n; ++s) {
    if (!entered[s]) continue;
    Acc& a = acc_[s];
    a.volume += 1;
    // The next later stage entered after this one.
    std::optional<Millis> next;
    for (size_t t = s + 1; t < n; ++t) {
      if (entered[t] && *entered[t] >= *entered[s] && (!next || *entered[t] < *next)) next = entered[t];
    }
    if (next) {
      a.moved_on += 1;
      a.dwell.push_back(static_cast<double>(*next - *entered[s]) / 1000.0);
    }
  }
}

std::vector<TouchpointStats> JourneyReport::Stages() const {
  std::vector<TouchpointStats> out;
  const size_t n = spec_.stages.size();
  for (size_t s = 0; s < n; ++s) {
    const Acc& a = acc_[s];
    TouchpointStats t;
    t.stage = spec_.stages[s].name;
    t.volume = a.volume;
    t.dwell_seconds = SummarizeDurations(a.dwell);
    if (s + 1 < n && a.volume > 0) t.drop_off = 1.0 - static_cast<double>(a.moved_on) / static_cast<double>(a.volume);
    t.answers = a.answers;
    if (a.answers > 0) t.satisfaction = a.satisfaction_sum / static_cast<double>(a.answers);
    t.messages = a.messages;
    if (a.messages > 0) t.negative_share = static_cast<double>(a.negative) / static_cast<double>(a.messages);
    double sum = 0, weights = 0;
    auto add = [&](double w, double component) {
      sum += w * component;
      weights += w;
    };
    if (t.satisfaction) add(spec_.satisfaction_weight, *t.satisfaction);
    if (t.negative_share) add(spec_.sentiment_weight, 1 - *t.negative_share);
    if (t.drop_off) add(spec_.continuation_weight, 1 - *t.drop_off);
    if (spec_.stages[s].target_dwell_seconds && t.dwell_seconds.median && *t.dwell_seconds.median > 0) {
      add(spec_.speed_weight, std::min(1.0, *spec_.stages[s].target_dwell_seconds / *t.dwell_seconds.median));
    } else if (spec_.stages[s].target_dwell_seconds && t.dwell_seconds.median) {
      add(spec_.speed_weight, 1.0);  // moved on at once
    }
    if (weights > 0) t.score = 100 * sum / weights;
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<TouchpointStats> JourneyReport::WorstFirst() const {
  auto v = Stages();
  std::stable_sort(v.begin(), v.end(), [](const TouchpointStats& a, const TouchpointStats& b) {
    if (a.score.has_value() != b.score.has_value()) return a.score.has_value();
    return a.score.has_value() && *a.score < *b.score;
  });
  return v;
}

}  // namespace touchpoint::insight

#include <touchpoint/insight/funnel.h>

#include <algorithm>
#include <set>
#include <utility>

namespace touchpoint::insight {
namespace {

// The attempt from start index `i`: the steps it reaches and their times. Returns true when no
// later start can reach more steps than this one (so the search may stop): in ordered mode, when
// the path ran out before the next step. (Each greedy step of a later start is at or after this
// one's, so the step missing after this one's is missing after that one's too.)
bool Attempt(const FunnelSpec& spec, std::span<const FunnelEvent> path, size_t i, std::vector<Millis>* times) {
  times->clear();
  const Millis deadline = path[i].at + spec.window;
  switch (spec.mode) {
    case FunnelMode::kOrdered: {
      times->push_back(path[i].at);
      size_t j = i + 1;
      for (size_t s = 1; s < spec.steps.size(); ++s) {
        while (j < path.size() && path[j].at <= deadline && path[j].name != spec.steps[s]) ++j;
        if (j >= path.size()) return true;
        if (path[j].at > deadline) return false;
        times->push_back(path[j].at);
        ++j;
      }
      return false;
    }
    case FunnelMode::kStrict: {
      for (size_t s = 0; s < spec.steps.size(); ++s) {
        const size_t j = i + s;
        if (j >= path.size() || path[j].name != spec.steps[s] || path[j].at > deadline) return false;
        times->push_back(path[j].at);
      }
      return false;
    }
    case FunnelMode::kAnyOrder: {
      std::vector<bool> seen(spec.steps.size(), false);
      for (size_t j = i; j < path.size() && path[j].at <= deadline; ++j) {
        for (size_t s = 0; s < spec.steps.size(); ++s) {
          if (!seen[s] && path[j].name == spec.steps[s]) {
            seen[s] = true;
            times->push_back(path[j].at);
            break;
          }
        }
        if (times->size() == spec.steps.size()) return false;
      }
      return false;
    }
  }
  return false;
}

bool Starts(const FunnelSpec& spec, const FunnelEvent& e) {
  if (spec.mode != FunnelMode::kAnyOrder) return e.name == spec.steps[0];
  return std::find(spec.steps.begin(), spec.steps.end(), e.name) != spec.steps.end();
}

}  // namespace

FunnelOutcome EvaluateFunnel(const FunnelSpec& spec, std::span<const FunnelEvent> path) {
  FunnelOutcome best;
  std::vector<Millis> times;
  for (size_t i = 0; i < path.size(); ++i) {
    if (!Starts(spec, path[i])) continue;
    const bool last = Attempt(spec, path, i, &times);
    if (static_cast<int>(times.size()) > best.reached) {  // strictly more: the earliest attempt wins ties
      best.reached = static_cast<int>(times.size());
      best.times = times;
      best.breakdown = path[i].breakdown;
      if (best.reached == static_cast<int>(spec.steps.size())) break;
    }
    if (last) break;
  }
  return best;
}

Result<FunnelReport> FunnelReport::Create(FunnelSpec spec, bool by_breakdown) {
  if (spec.steps.size() < 2) return Status::InvalidArgument("steps: a funnel needs at least two steps");
  for (size_t i = 0; i < spec.steps.size(); ++i) {
    if (spec.steps[i].empty()) return Status::InvalidArgument("steps[" + std::to_string(i) + "]: empty event name");
  }
  if (spec.mode == FunnelMode::kAnyOrder) {
    std::set<std::string> distinct(spec.steps.begin(), spec.steps.end());
    if (distinct.size() != spec.steps.size()) {
      return Status::InvalidArgument("steps: an any-order funnel cannot name a step twice");
    }
  }
  if (spec.window <= 0) return Status::InvalidArgument("window: must be positive");
  return FunnelReport(std::move(spec), by_breakdown);
}

FunnelReport::Acc& FunnelReport::Group(const std::string& breakdown) {
  for (auto& g : groups_) {
    if (g.breakdown == breakdown) return g;
  }
  Acc a;
  a.breakdown = breakdown;
  a.counts.assign(spec_.steps.size(), 0);
  a.gaps.resize(spec_.steps.size());
  groups_.push_back(std::move(a));
  return groups_.back();
}

void FunnelReport::Add(std::span<const FunnelEvent> path) {
  const FunnelOutcome o = EvaluateFunnel(spec_, path);
  if (o.reached == 0) return;
  auto add = [&](Acc& g) {
    for (int s = 0; s < o.reached; ++s) {
      g.counts[static_cast<size_t>(s)] += 1;
      if (s > 0) {
        g.gaps[static_cast<size_t>(s)].push_back(static_cast<double>(o.times[static_cast<size_t>(s)] - o.times[static_cast<size_t>(s) - 1]) / 1000.0);
      }
    }
    if (o.reached == static_cast<int>(spec_.steps.size())) {
      g.total.push_back(static_cast<double>(o.times.back() - o.times.front()) / 1000.0);
    }
  };
  add(Group(""));
  if (by_breakdown_) add(Group(o.breakdown.empty() ? std::string("(none)") : o.breakdown));
}

std::vector<FunnelGroup> FunnelReport::Groups() const {
  std::vector<FunnelGroup> out;
  for (const auto& g : groups_) {
    FunnelGroup fg;
    fg.breakdown = g.breakdown;
    for (size_t s = 0; s < spec_.steps.size(); ++s) {
      FunnelStep st;
      st.name = spec_.steps[s];
      st.count = g.counts[s];
      if (s == 0) {
        st.conversion_from_previous = g.counts[0] > 0 ? 1 : 0;
      } else {
        st.conversion_from_previous = g.counts[s - 1] > 0 ? static_cast<double>(g.counts[s]) / static_cast<double>(g.counts[s - 1]) : 0;
        st.drop_off = g.counts[s - 1] - g.counts[s];
      }
      st.conversion_from_first = g.counts[0] > 0 ? static_cast<double>(g.counts[s]) / static_cast<double>(g.counts[0]) : 0;
      st.seconds_from_previous = SummarizeDurations(g.gaps[s]);
      fg.steps.push_back(std::move(st));
    }
    fg.seconds_to_convert = SummarizeDurations(g.total);
    out.push_back(std::move(fg));
  }
  if (out.empty()) {  // nobody entered: the steps with zero counts
    FunnelGroup fg;
    for (const auto& name : spec_.steps) {
      FunnelStep st;
      st.name = name;
      fg.steps.push_back(std::move(st));
    }
    out.push_back(std::move(fg));
  }
  return out;
}

}  // namespace touchpoint::insight

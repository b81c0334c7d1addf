#include <touchpoint/insight/scorecard.h>

#include <algorithm>
#include <cstdio>
#include <set>

namespace touchpoint::insight {
namespace {

using Dir = ScorecardMetric::Direction;

std::string Num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

bool Meets(Dir d, double value, double target) { return d == Dir::kAtLeast ? value >= target : value <= target; }

double Attainment(Dir d, double value, double target) {
  if (d == Dir::kAtLeast) return std::clamp(value / target, 0.0, 1.0);
  if (value <= 0) return 1.0;
  return std::clamp(target / value, 0.0, 1.0);
}

}  // namespace

ScorecardSpec DefaultScorecard() {
  ScorecardSpec s;
  s.dimensions = {
      {"satisfaction", 30, {{"personalised_service_score", Dir::kAtLeast, 4.5, 1}, {"csat", Dir::kAtLeast, 0.9, 1}}},
      {"efficiency", 25, {{"first_response_hours", Dir::kAtMost, 2, 1}, {"plan_delivery_working_days", Dir::kAtMost, 3, 1}}},
      {"resource_use", 20, {{"handling_minutes", Dir::kAtMost, 15, 1}, {"tickets_per_working_day", Dir::kAtLeast, 20, 1}}},
      {"innovation", 25, {{"accepted_suggestions_per_month", Dir::kAtLeast, 1, 1}, {"knowledge_articles_per_month", Dir::kAtLeast, 2, 1}}},
  };
  s.levels = {
      {"basic", 0, {{"script_compliance", Dir::kAtLeast, 0.98}, {"basic_resolution", Dir::kAtLeast, 0.9}}},
      {"advanced", 75, {}},
      {"expert", 90, {}},
  };
  return s;
}

Status ValidateScorecard(const ScorecardSpec& spec) {
  if (spec.dimensions.empty()) return Status::InvalidArgument("dimensions: a scorecard needs at least one");
  std::set<std::string> seen;
  for (size_t d = 0; d < spec.dimensions.size(); ++d) {
    const auto& dim = spec.dimensions[d];
    const std::string where = "dimensions[" + std::to_string(d) + "] (" + dim.name + ")";
    if (dim.name.empty()) return Status::InvalidArgument(where + ".name: empty");
    if (!(dim.weight > 0)) return Status::InvalidArgument(where + ".weight: must be positive");
    if (dim.metrics.empty()) return Status::InvalidArgument(where + ".metrics: none");
    for (size_t m = 0; m < dim.metrics.size(); ++m) {
      const auto& met = dim.metrics[m];
      const std::string mw = where + ".metrics[" + std::to_string(m) + "]";
      if (met.id.empty()) return Status::InvalidArgument(mw + ".id: empty");
      if (!seen.insert(met.id).second) return Status::InvalidArgument(mw + ".id: " + met.id + " is in two dimensions");
      if (!(met.target > 0)) return Status::InvalidArgument(mw + ".target: must be positive");
      if (!(met.weight > 0)) return Status::InvalidArgument(mw + ".weight: must be positive");
    }
  }
  for (size_t l = 1; l < spec.levels.size(); ++l) {
    if (spec.levels[l].min_score < spec.levels[l - 1].min_score) {
      return Status::InvalidArgument("levels[" + std::to_string(l) + "].min_score: levels go from the lowest up");
    }
  }
  return Status::Ok();
}

Scorecard ScoreAgent(const ScorecardSpec& spec, const std::map<std::string, MetricValue>& values) {
  Scorecard card;
  double weight_with_data = 0;
  for (const auto& dim : spec.dimensions) {
    DimensionScore ds;
    ds.name = dim.name;
    double sum = 0, weights = 0;
    for (const auto& m : dim.metrics) {
      MetricEvidence e;
      e.id = m.id;
      e.target = m.target;
      e.direction = m.direction == Dir::kAtLeast ? "at least" : "at most";
      auto it = values.find(m.id);
      if (it != values.end()) {
        e.value = it->second.value;
        e.samples = it->second.samples;
        e.attainment = Attainment(m.direction, it->second.value, m.target);
        e.met = Meets(m.direction, it->second.value, m.target);
        sum += m.weight * *e.attainment;
        weights += m.weight;
      }
      ds.metrics.push_back(std::move(e));
    }
    if (weights > 0) {
      ds.score = 100 * sum / weights;
      ds.weight = dim.weight;
      weight_with_data += dim.weight;
    }
    card.dimensions.push_back(std::move(ds));
  }
  if (weight_with_data > 0) {
    double total = 0;
    for (auto& ds : card.dimensions) {
      if (!ds.score) continue;
      ds.weight /= weight_with_data;
      total += ds.weight * *ds.score;
    }
    card.total = total;
  }
  // Levels are cumulative: each needs the ones below it.
  for (const auto& level : spec.levels) {
    std::vector<std::string> unmet;
    if (!card.total || *card.total < level.min_score) {
      unmet.push_back("score " + (card.total ? Num(*card.total) : std::string("(no data)")) + " < " + Num(level.min_score));
    }
    for (const auto& g : level.gates) {
      auto it = values.find(g.metric);
      if (it == values.end()) {
        unmet.push_back(g.metric + " (no data)");
      } else if (!Meets(g.direction, it->second.value, g.target)) {
        unmet.push_back(g.metric + " " + Num(it->second.value) + (g.direction == Dir::kAtLeast ? " < " : " > ") +
                        Num(g.target));
      }
    }
    if (!unmet.empty()) {
      card.unmet_gates = std::move(unmet);
      break;
    }
    card.level = level.name;
  }
  return card;
}

}  // namespace touchpoint::insight

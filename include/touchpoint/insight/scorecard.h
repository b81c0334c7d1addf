// insight/scorecard.h — agent scorecards (issue 16 item 6): weighted dimensions built from named
// metrics with targets, and levels (basic / advanced / expert) with a minimum score and gates,
// all data (DefaultScorecard() is the documents' version; the config can replace it).
//
// Scoring (docs/measurement.md, "Scorecards"):
//  - a metric's attainment is value/target for "at least" targets and target/value for "at most"
//    ones, capped to [0, 1] (a response time of 0 meets an at-most target);
//  - a dimension's score is 100 × the weighted mean attainment of its metrics that have data;
//  - the total is the weighted mean of the dimensions that have data (weights renormalised, and
//    the missing dimensions named in the evidence, so a missing figure never counts as 0);
//  - the level is the highest whose minimum score the total reaches and whose gates are all met.
// Every number comes with its evidence: value, target, attainment, met, and the sample size.
//
// Pure; thread-compatible.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>

namespace touchpoint::insight {

struct ScorecardMetric {
  std::string id;  // a KPI id (csat_mean, frt_hours, …) or any named figure the caller supplies
  enum class Direction { kAtLeast, kAtMost };
  Direction direction = Direction::kAtLeast;
  double target = 0;
  double weight = 1;
};

struct ScorecardDimension {
  std::string name;
  double weight = 0;  // share of the total (any scale; normalised)
  std::vector<ScorecardMetric> metrics;
};

struct ScorecardGate {
  std::string metric;
  ScorecardMetric::Direction direction = ScorecardMetric::Direction::kAtLeast;
  double target = 0;
};

struct ScorecardLevel {
  std::string name;
  double min_score = 0;
  std::vector<ScorecardGate> gates;
};

struct ScorecardSpec {
  std::vector<ScorecardDimension> dimensions;
  std::vector<ScorecardLevel> levels;  // lowest first
};

// The documents' scorecard: satisfaction 30 % (personalised-service score ≥ 4.5 of 5, CSAT ≥
// 90 %), efficiency 25 % (first response ≤ 2 h, plan delivered ≤ 3 working days), resource use
// 20 % (handling time ≤ 15 min, tickets per working day ≥ 20), innovation 25 % (accepted
// improvement suggestions ≥ 1 a month, knowledge articles ≥ 2 a month); levels basic (script
// compliance ≥ 98 % and basic resolution ≥ 90 %), advanced (score ≥ 75), expert (score ≥ 90).
ScorecardSpec DefaultScorecard();

// kInvalidArgument naming the field: no dimension, a non-positive weight or target, a metric in
// two dimensions, levels not ordered by min_score.
Status ValidateScorecard(const ScorecardSpec& spec);

struct MetricValue {
  double value = 0;
  std::int64_t samples = 0;  // what the value was computed from (tickets, surveys…)
};

struct MetricEvidence {
  std::string id;
  std::optional<double> value;  // absent: no data
  double target = 0;
  std::string direction;  // "at least" | "at most"
  std::optional<double> attainment;
  bool met = false;
  std::int64_t samples = 0;
};
struct DimensionScore {
  std::string name;
  double weight = 0;  // normalised over the dimensions with data
  std::optional<double> score;  // 0..100; absent: no data
  std::vector<MetricEvidence> metrics;
};
struct Scorecard {
  std::optional<double> total;  // 0..100; absent when no dimension has data
  std::string level;            // "" when none is reached
  std::vector<std::string> unmet_gates;  // of the next level up, e.g. "script_compliance 0.95 < 0.98"
  std::vector<DimensionScore> dimensions;
};

// Scores one agent (or team) from their metric values. REQUIRES: ValidateScorecard(spec).ok().
Scorecard ScoreAgent(const ScorecardSpec& spec, const std::map<std::string, MetricValue>& values);

}  // namespace touchpoint::insight

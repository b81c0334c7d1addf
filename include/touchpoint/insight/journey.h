// insight/journey.h — journeys and touchpoint scores (issue 16 item 3): a journey is ordered
// stages, each a set of event names (or ticket states the caller turns into events); per stage
// (touchpoint) the volume, dwell time, drop-off, satisfaction and negative-sentiment share, and a
// score combining them, worst first.
//
// Per person, over their events in time order (docs/measurement.md, "Journeys"):
//  - a person **enters** a stage at the first event of that stage; the **current** stage at any
//    time is the stage of the latest stage event so far;
//  - **dwell** in a stage runs from entering it to entering the next later stage the person
//    entered afterwards (people who never moved on have no dwell there);
//  - **drop-off** of a stage: the share of people who entered it and never entered a later one
//    (the last stage has none);
//  - a survey answer counts for the stage it is tagged with (`touchpoint`), else the current
//    stage; a message's sentiment counts for the current stage;
//  - **score** = 100 × the weighted mean of the components that have data: satisfaction (0.4;
//    the answer normalised to 0..1), 1 − negative share (0.2), 1 − drop-off (0.2; not for the
//    last stage), speed = min(1, target dwell / median dwell) (0.2; only with a target).
//
// Pure; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/kpi_stats.h>

namespace touchpoint::insight {

struct JourneyStage {
  std::string name;
  std::vector<std::string> events;
  std::optional<double> target_dwell_seconds;
};

struct JourneySpec {
  std::string name;
  std::vector<JourneyStage> stages;  // in journey order
  double satisfaction_weight = 0.4;
  double sentiment_weight = 0.2;
  double continuation_weight = 0.2;
  double speed_weight = 0.2;
};

struct JourneyEvent {
  std::string name;
  Millis at = 0;
  std::optional<bool> negative;       // a message: was its sentiment negative?
  std::optional<double> satisfaction;  // a survey answer normalised to 0..1
  std::string touchpoint;             // the stage a survey is tagged with (empty: current stage)
};

struct TouchpointStats {
  std::string stage;
  std::int64_t volume = 0;
  DurationSummary dwell_seconds;
  std::optional<double> drop_off;       // absent for the last stage and when nobody entered
  std::optional<double> satisfaction;   // mean, 0..1
  std::int64_t answers = 0;
  std::optional<double> negative_share;
  std::int64_t messages = 0;
  std::optional<double> score;          // 0..100; absent when no component has data
};

class JourneyReport {
 public:
  // kInvalidArgument naming the field: fewer than two stages, an empty stage, an event in two
  // stages, negative weights.
  static Result<JourneyReport> Create(JourneySpec spec);
  // One person's events. REQUIRES: sorted by `at`.
  void Add(std::span<const JourneyEvent> path);
  // Per stage in journey order.
  std::vector<TouchpointStats> Stages() const;
  // The same, worst score first (stages without a score last).
  std::vector<TouchpointStats> WorstFirst() const;

 private:
  JourneyReport(JourneySpec spec, std::map<std::string, size_t> stage_of);
  int StageOf(const std::string& event) const;
  struct Acc {
    std::int64_t volume = 0;
    std::int64_t moved_on = 0;
    std::vector<double> dwell;
    double satisfaction_sum = 0;
    std::int64_t answers = 0;
    std::int64_t negative = 0;
    std::int64_t messages = 0;
  };
  JourneySpec spec_;
  std::map<std::string, size_t> stage_of_;  // event name → its stage (Create checks each is in one)
  std::vector<Acc> acc_;
};

}  // namespace touchpoint::insight

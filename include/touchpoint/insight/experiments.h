// insight/experiments.h — A/B tests of service flows as stored objects (issue 16 item 5;
// docs/measurement.md "Experiments as stored objects"): create an experiment (validated, each error
// naming its field), start and stop it, assign units to variants (deterministically from the
// stored salt, insight/experiment_assignment.h, logging each unit's first exposure), and read its
// results: per metric and variant the per-unit outcomes joined from the desk's stored KPI facts
// (insight/kpis.h KpiTicketValues), analysed by insight/experiment_stats.h.
//
// How outcomes join (docs/measurement.md has a worked example):
//  - unit ticket: the exposed ticket's value of the metric; customer: the mean of the values of
//    the customer's tickets created at or after the exposure. A unit without a value (no ticket
//    after exposure, no answer yet) is not counted for that metric.
//  - CUPED (pre_period_days > 0): the same metric over the customer's tickets created in
//    [exposure − pre-period, exposure) (for a ticket unit: its customer's other tickets), 0 when
//    there are none.
//  - SRM: the exposures per variant against the weights (χ², warning at p < 0.001).
//  - An arm with fewer than min_units units with a value: that metric is "not enough data",
//    without a lift or p-value.
//  - The correction (holm | bh | none) runs over every metric × variant comparison.
//
// Thread-safe: one call at a time on the store (a mutex). The store must outlive the service.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/thread_annotations.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/experiment_repository.h>
#include <touchpoint/store/store.h>

namespace touchpoint::insight {

// The KPI metric ids an experiment may measure (those with a value per ticket: not nps, deflection).
std::span<const std::string_view> ExperimentMetricIds();
// The better direction of a metric when none is given: decrease for durations, escalation_rate
// and repeat_rate; increase for the rest.
std::string_view DefaultDirection(std::string_view metric);

// What creating an experiment takes (POST /v1/experiments, `touchpoint experiment create`).
struct ExperimentSpec {
  std::string name;
  std::string description;
  std::string unit;                                // customer | ticket
  std::vector<store::ExperimentVariant> variants;  // the first is the control
  double coverage = 1;
  std::vector<store::ExperimentMetric> metrics;    // direction "" → DefaultDirection
  std::int32_t pre_period_days = 0;
  double sequential_tuning = 0;
  double alpha = 0.05;
  std::string correction = "holm";  // none | holm | bh
};

// "control:50,skills:50" (a weight defaults to 1: "a,b" is 50/50).
Result<std::vector<store::ExperimentVariant>> ParseVariants(std::string_view text);
// "art:decrease,csat" (a direction defaults to DefaultDirection).
Result<std::vector<store::ExperimentMetric>> ParseMetrics(std::string_view text);
// The JSON body of POST /v1/experiments: {"name", "description", "unit", "variants": [{"name",
// "weight"}] or "control:50,…", "coverage", "metrics": [{"metric", "direction"}] or "art:decrease,…",
// "pre_period_days", "sequential" (N*), "alpha", "correction"}. kInvalidArgument naming the field;
// unknown fields are refused.
Result<ExperimentSpec> ParseExperimentSpec(std::string_view json);

// The answer of Assign.
struct Assignment {
  bool in_experiment = false;
  std::string variant;  // when in_experiment
  std::string reason;   // when not: "not running (draft)", "outside coverage", …
  bool first_exposure = false;  // this call recorded the exposure
  Millis exposed_at = 0;        // the unit's first exposure (when in_experiment)
};

// One variant's figures of one metric.
struct ExperimentArm {
  std::string variant;
  double units = 0;              // units with a value
  std::optional<double> mean;    // absent without units
  // Against the control (absent for the control, with not enough data, or without variance).
  std::optional<double> lift, ci_low, ci_high, se, p_value, p_adjusted;
  std::string verdict;  // better | worse | inconclusive | not enough data ("" for the control)
};

struct ExperimentMetricResult {
  std::string metric;
  std::string direction;
  std::string kind;     // mean | proportion
  bool enough_data = false;
  bool cuped = false;
  bool sequential = false;
  std::optional<double> theta;
  std::vector<std::string> warnings;
  std::vector<ExperimentArm> arms;  // the control first
};

struct ExperimentResults {
  store::ExperimentRecord experiment;
  Millis as_of = 0;
  double min_units = 0;
  std::vector<std::pair<std::string, std::int64_t>> exposures;  // per variant, in the variants' order
  double srm_p = 1;
  std::vector<std::string> warnings;
  std::vector<ExperimentMetricResult> metrics;
};

class Experiments {
 public:
  struct Options {
    double min_units = 30;  // per arm and metric, below which a metric is "not enough data"
  };
  // `store` and `clock` must outlive the service.
  Experiments(store::Store& store, const Clock& clock, Options options);
  Experiments(store::Store& store, const Clock& clock) : Experiments(store, clock, Options{}) {}
  Experiments(const Experiments&) = delete;
  Experiments& operator=(const Experiments&) = delete;

  // A new draft with a random salt. kInvalidArgument naming the field; kAlreadyExists for a name
  // in use.
  Result<store::ExperimentRecord> Create(const ExperimentSpec& spec, std::string_view actor);
  // `ref`: the id (decimal) or the name. kNotFound.
  Result<store::ExperimentRecord> Find(std::string_view ref);
  Result<std::vector<store::ExperimentRecord>> List();
  // draft → running; running → stopped. kFailedPrecondition otherwise (a stopped experiment never
  // runs again: its units' outcomes after the stop would mix with the test's).
  Result<store::ExperimentRecord> Start(std::int64_t id);
  Result<store::ExperimentRecord> Stop(std::int64_t id);
  // The unit's variant (a customer id or a ticket number, decimal; kInvalidArgument otherwise),
  // recording its first exposure; only running experiments expose.
  Result<Assignment> Assign(std::int64_t id, std::string_view unit);
  // The results as of now.
  Result<ExperimentResults> Results(std::int64_t id);

 private:
  Result<store::ExperimentRecord> FindLocked(std::string_view ref) TP_REQUIRES(mu_);

  std::mutex mu_;
  store::Store& store_;  // used under mu_
  const Clock& clock_;
  Options options_;
};

// The experiment as the API shows it (the salt only when `with_salt`: admins).
std::string ExperimentJson(const store::ExperimentRecord& e, bool with_salt);
std::string ExperimentListJson(std::span<const store::ExperimentRecord> list, bool with_salt);
std::string AssignmentJson(const store::ExperimentRecord& e, std::string_view unit, const Assignment& a);
// {"experiment":{…},"as_of":…,"min_units":…,"exposures":[{"variant","weight","units"}],"srm_p":…,
//  "warnings":[…],"metrics":[{"metric","direction","kind","status","cuped","theta","warnings",
//  "variants":[{"variant","units","mean","lift","ci_low","ci_high","se","p_value","p_adjusted","verdict"}]}]}
std::string ExperimentResultsJson(const ExperimentResults& r);
// The same for a terminal.
std::string ExperimentResultsTable(const ExperimentResults& r);

}  // namespace touchpoint::insight

// store/experiment_repository.h — A/B tests of service flows as stored objects (issue 16 item 5;
// insight/experiments.h is the service over it, docs/measurement.md "Experiments as stored
// objects"): each experiment's definition and life cycle, and its exposures — which unit (a
// customer id or a ticket number, in decimal) first saw which variant, and when.
//
// Assignments are not stored: they are recomputed from the salt (insight/experiment_assignment.h);
// an exposure records that a system acted on one. A unit's first exposure is kept: exposing it
// again changes nothing.
//
// Each method is its own small transaction (like dp_budget_repository.h): the experiments live on
// a connection of their own in the server. Reads see committed data. Safe for one thread at a time
// (as its store).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>

namespace touchpoint::store {

struct ExperimentVariant {
  std::string name;   // a token without commas (insight::Experiments checks it)
  double weight = 0;  // a ratio, > 0
  friend bool operator==(const ExperimentVariant&, const ExperimentVariant&) = default;
};

struct ExperimentMetric {
  std::string metric;     // a KPI metric id (csat, frt, art, fcr, …)
  std::string direction;  // increase | decrease: which way is better
  friend bool operator==(const ExperimentMetric&, const ExperimentMetric&) = default;
};

struct ExperimentRecord {
  std::int64_t id = 0;  // assigned by Create
  std::string name;     // unique
  std::string description;
  std::string unit;                         // customer | ticket
  std::vector<ExperimentVariant> variants;  // the first is the control
  double coverage = 1;                      // share of units in the experiment, (0, 1]
  std::string salt;                         // the assignment's key: never shown to non-admins
  std::vector<ExperimentMetric> metrics;
  std::int32_t pre_period_days = 0;  // CUPED's pre-period (0: none)
  double sequential_tuning = 0;      // N* of sequential mode (0: fixed-horizon)
  double alpha = 0.05;
  std::string correction;  // none | holm | bh, across metrics × variants
  std::string status;      // draft | running | stopped
  Millis created_at = 0;
  Millis started_at = 0;  // 0: never started
  Millis stopped_at = 0;  // 0: not stopped
  std::string created_by;  // the actor ("cli", "key:…", "user:…")
  friend bool operator==(const ExperimentRecord&, const ExperimentRecord&) = default;
};

struct ExposureRecord {
  std::int64_t experiment = 0;
  std::string unit;     // the customer id or ticket number, decimal
  std::string variant;  // the variant's name
  Millis exposed_at = 0;
  friend bool operator==(const ExposureRecord&, const ExposureRecord&) = default;
};

class ExperimentRepository {
 public:
  virtual ~ExperimentRepository() = default;

  // Stores `experiment` (its id is ignored and assigned) and returns it as stored.
  // kAlreadyExists when another experiment has its name.
  virtual Result<ExperimentRecord> Create(const ExperimentRecord& experiment) = 0;
  // Moves experiment `id` from status `from` to `to`, setting started_at (to = running) or
  // stopped_at (to = stopped) to `at`; returns it as stored. kNotFound for an unknown id;
  // kFailedPrecondition, changing nothing, when its status is not `from` (a concurrent change).
  virtual Result<ExperimentRecord> SetStatus(std::int64_t id, const std::string& from, const std::string& to,
                                             Millis at) = 0;
  virtual Result<std::optional<ExperimentRecord>> Find(std::int64_t id) = 0;
  virtual Result<std::optional<ExperimentRecord>> FindByName(const std::string& name) = 0;
  // Every experiment, by id.
  virtual Result<std::vector<ExperimentRecord>> List() = 0;

  // Records `exposure` unless its unit already has one in its experiment; returns the stored one
  // (the first). kNotFound when the experiment does not exist.
  virtual Result<ExposureRecord> Expose(const ExposureRecord& exposure) = 0;
  virtual Result<std::optional<ExposureRecord>> FindExposure(std::int64_t experiment, const std::string& unit) = 0;
  // The experiment's exposures, by exposed_at then unit.
  virtual Status ScanExposures(std::int64_t experiment, const std::function<void(ExposureRecord&&)>& fn) = 0;
  // The exposures of `units` in every experiment whose unit kind is `unit_kind` (a person's
  // customer ids: the subject-rights export), by experiment then unit.
  virtual Result<std::vector<ExposureRecord>> ExposuresOfUnits(const std::string& unit_kind,
                                                               const std::vector<std::string>& units) = 0;
  // Removes those exposures (an erasure); returns how many.
  virtual Result<std::int64_t> EraseExposures(const std::string& unit_kind, const std::vector<std::string>& units) = 0;
};

}  // namespace touchpoint::store

// insight/jobs.h — analytics as jobs: each job reads the activity of live customers through an
// ActivitySource, writes tags through a TagSink and returns a result object. The CLI formats the
// result (cli/analytics_store.cc, cli/predict_store.cc); the server runs a job by name with
// RunJob() on a JobRunner (insight/job_runner.h) and answers with the result's JSON.
//
// insight owns the jobs, not the data: the composition roots (cli, server) adapt their engine
// or store to ActivitySource and TagSink. Jobs only read, so they never need a store's write
// lock; the tags they write go through the sink (in the engine: the write path's queue).
//
// The jobs (parameters in docs/analytics.md, "Jobs"):
//   rfm       RFM layers, headline layers, tiers          (insight/job_rfm.h)
//   ltv       lifetime value                               (insight/job_rfm.h)
//   kmeans    k-means segments over customer features      (insight/job_kmeans.h)
//   churn     churn model trained on a cut-off, risk tags  (insight/job_churn.h)
//   rules     association rules over baskets               (insight/job_rules.h)
//   forecast  hourly contact volume forecast               (insight/job_contacts.h)
//   staffing  Erlang C plan per forecast hour              (insight/job_contacts.h)
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/customer_features.h>

namespace touchpoint::insight {

// What a job needs from the activity; a source may skip whatever is not asked for.
struct ActivityRequest {
  bool orders = false;
  bool order_ids = false;  // with orders: Activity::order_ids
  bool items = false;      // with orders: ActivityOrder::categories / products
  bool messages = false;
  bool seen = false;       // Activity::seen, every live customer
};

// The stored activity of live customers (merged customers already folded into the survivor).
struct Activity {
  std::vector<ActivityOrder> orders;      // every stored order, in store order
  std::vector<std::string> order_ids;     // parallel to orders when asked for, else empty
  std::vector<ActivityMessage> messages;  // every stored message (without its text)
  std::vector<ActivitySeen> seen;         // every live customer with its first event, ascending id
  Millis newest_event = 0;                // the newest event's time (0 = no event)
};

// Where jobs read from. Load may be called from any thread (a JobRunner's worker); an
// implementation must not need the store's write lock.
class ActivitySource {
 public:
  virtual ~ActivitySource() = default;
  // A consistent snapshot with at least what `request` asks for. Fails with the store's status
  // (kUnavailable for an I/O error).
  virtual Result<Activity> Load(const ActivityRequest& request) = 0;
};

// Tags for customers: name → JSON value text (e.g. "rfm_layer" → "\"potential\"").
using CustomerTags = std::vector<std::pair<CustomerId, std::vector<std::pair<std::string, std::string>>>>;

// Where jobs write tags. Write is durable when it returns OK; unknown or merged-away customers
// are skipped by the implementation. Called from the job's thread.
class TagSink {
 public:
  virtual ~TagSink() = default;
  virtual Status Write(const CustomerTags& tags) = 0;
};

// How error messages name a parameter: "k" (JSON, the API) or "--k" (the CLI's flags).
enum class ParamStyle { kJson, kCliFlag };

// What a job gets besides its parameters. Cheap to copy; the pointers must outlive the run.
struct JobContext {
  // Names the data in error messages, "DIR: no orders ingested yet"; empty = no prefix.
  std::string source;
  ParamStyle param_style = ParamStyle::kJson;
  // Optional: when it becomes true the job stops at its next check and fails with
  // kUnavailable "job cancelled" (tags are written all at once at the end, or not at all).
  const std::atomic<bool>* cancel = nullptr;
  // Optional: called with the stage the job enters ("loading", "computing", "writing tags").
  std::function<void(std::string_view stage)> progress;

  bool cancelled() const { return cancel != nullptr && cancel->load(std::memory_order_relaxed); }
  // kUnavailable "job cancelled" when cancelled, else OK.
  Status CheckCancelled() const;
  void Report(std::string_view stage) const {
    if (progress) progress(stage);
  }
  // `name` as this context's style names it: "log_features" or "--log-features".
  std::string Param(std::string_view name) const;
  // "SOURCE: " or "".
  std::string Where() const { return source.empty() ? std::string() : source + ": "; }
};

// rfm, ltv, kmeans, churn, rules, forecast, staffing.
const std::vector<std::string>& JobNames();

// Parses and checks a job's parameters (a JSON object; "" means {}) without running it.
// kNotFound for an unknown job name; kInvalidArgument naming the bad parameter.
Status ValidateJob(std::string_view name, std::string_view params_json);

// Runs the job `name` with `params_json` and returns its result as JSON (the job's ToJson()).
// Errors: kNotFound (unknown job), kInvalidArgument (bad parameters, or data the job cannot
// work with, e.g. no orders yet), kUnavailable (the source or sink failed, or cancelled).
Result<std::string> RunJob(std::string_view name, std::string_view params_json, ActivitySource& source,
                           TagSink& sink, const JobContext& context);

}  // namespace touchpoint::insight

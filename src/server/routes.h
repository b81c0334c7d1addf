// server/routes.h — what route handlers use, and each module's registration function (one
// routes_<module>.cc each; see the top of router.h for adding one).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <touchpoint/core/result.h>
#include <touchpoint/core/status.h>
#include <touchpoint/http/server.h>
#include <touchpoint/pipeline/customer_view.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/server/config.h>
#include <touchpoint/server/node.h>

#include "server/metrics_internal.h"
#include "server/router.h"

namespace touchpoint::insight {
class JobRunner;
class SegmentIndex;
}

namespace spdlog {
class logger;
}

namespace touchpoint::store {
class Store;
}

namespace touchpoint::server {

// The parts of the running server that handlers use. Owned by App; outlives the router and
// every request. Registration only stores a reference: the members may still be null while
// routes are registered (router_test lists the routes without a server).
//
// The differential-privacy ledger (privacy/dp.h) on a store connection of its own: every DP
// release of the API records its epsilon here first. Thread-safe (one spend at a time).
class DpLedger {
 public:
  explicit DpLedger(std::unique_ptr<store::Store> store);
  ~DpLedger();
  DpLedger(const DpLedger&) = delete;
  DpLedger& operator=(const DpLedger&) = delete;
  // kFailedPrecondition when the customers data set's budget would be exceeded.
  Status Spend(std::string_view report, std::int64_t epsilon_micros, std::string_view actor);

 private:
  std::mutex mu_;
  std::unique_ptr<store::Store> store_;  // guarded by mu_
};

// On a follower (server/node.h) only what routes served by any node need is set: config,
// customers, stats, metrics, log, node; engine, jobs and segments are null (the writer's routes
// are forwarded, their handlers never run there).
struct ServerContext {
  const ServerConfig* config = nullptr;
  pipeline::Engine* engine = nullptr;
  Metrics* metrics = nullptr;
  spdlog::logger* log = nullptr;
  insight::JobRunner* jobs = nullptr;
  insight::SegmentIndex* segments = nullptr;  // saved segments over the engine's profiles
  // Customers as this node reads them: the engine's live view, or the database (followers).
  const pipeline::CustomerView* customers = nullptr;
  // Store-wide counts (GET /v1/stats, the store gauges of /metrics): the engine's or the database's.
  std::function<Result<pipeline::EngineStats>()> stats;
  NodeState* node = nullptr;  // role, epoch, the writer's address; write failures go here
  DpLedger* dp = nullptr;     // writer: the DP budget ledger (GET /v1/reports/…)
};

void RegisterOpsRoutes(Router& router, const ServerContext& context);       // routes_ops.cc
void RegisterTrackingRoutes(Router& router, const ServerContext& context);  // routes_tracking.cc
void RegisterCustomerRoutes(Router& router, const ServerContext& context);  // routes_customers.cc
void RegisterJobsRoutes(Router& router, const ServerContext& context);      // routes_jobs.cc
void RegisterSegmentRoutes(Router& router, const ServerContext& context);   // routes_segments.cc

// The post-commit adapter keeping `index`'s counts current: each committed batch's customers go
// to SegmentIndex::OnCustomersChanged (routes_segments.cc). `index` must outlive the engine's hook.
std::shared_ptr<pipeline::CommitObserver> MakeSegmentObserver(insight::SegmentIndex& index);

// Every route of the API: what App serves and what router_test checks against the permission
// matrix and docs/http-api.md. Defined in app.cc.
void RegisterAllRoutes(Router& router, const ServerContext& context);

// Maps a Status from below to an HTTP error: bad input is never a 500.
http::Response ResponseFromStatus(const Status& status);

// A response with a JSON body.
http::Response JsonResponse(int status, std::string body);

}  // namespace touchpoint::server

// server/routes.h — what route handlers use, and each module's registration function (one
// routes_<module>.cc each; see the top of router.h for adding one).
#pragma once

#include <cstdint>
#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include <touchpoint/core/result.h>
#include <touchpoint/core/status.h>
#include <touchpoint/http/query.h>
#include <touchpoint/http/server.h>
#include <touchpoint/pipeline/customer_view.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/privacy/masking.h>
#include <touchpoint/server/config.h>
#include <touchpoint/server/node.h>
#include <touchpoint/service/channels.h>
#include <touchpoint/store/store.h>

#include "server/metrics_internal.h"
#include "server/router.h"

namespace touchpoint::insight {
class JobRunner;
class SegmentIndex;
class KpiRollup;
class Experiments;
}
namespace touchpoint::privacy {
class LoginService;
}

namespace touchpoint::privacy {
class AuditLog;
class Consent;
class CustomerTokens;
class Signer;
}

namespace spdlog {
class logger;
}

namespace touchpoint::store {
class Store;
}
namespace touchpoint::service {
class Desk;
class SlaService;
class DeskEvents;
class SearchIndex;
}

namespace touchpoint::server {

class ReadPool;  // server/read_pool_internal.h

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

// Subject rights on the writer (routes_privacy.cc): the read-only connection exports read
// through (one request at a time), the receipts' signer, the crypto-shredding hook.
struct SubjectRightsContext {
  std::mutex mu;                          // one export at a time on `reader`
  std::unique_ptr<store::Store> reader;   // read-only, beside the writer
  const privacy::Signer* signer = nullptr;  // null without a master key: erasures are refused
  // The encryption keyring's crypto-shredding (privacy::CryptoShredder; wiring::ErasureOptions::shred).
  std::function<Status(std::span<const CustomerId>)> shred;
  std::string backend;                    // "sqlite", "postgres", "memory"
};

// Writer: the desk's channels (routes_channels.cc): the hook the desk calls, and a connection of
// their own for inbound thread hints and files, survey answers and the ticket view's delivery
// states (one request at a time on it).
struct ChannelsContext {
  std::shared_ptr<service::Channels> channels;
  std::mutex mu;
  std::unique_ptr<store::Store> store;  // guarded by mu
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
  const privacy::Masker* masker = nullptr;  // the configured masks ([privacy.masking])
  privacy::LoginService* auth = nullptr;  // logins and sessions (every node has one)
  // The audit log (writer only; null on followers, whose writer routes are forwarded): changes
  // and sensitive reads are recorded here with RecordAudit.
  privacy::AuditLog* audit = nullptr;
  // Followers: reads for requests that must see every acknowledged write (WantsFresh), from the
  // primary database instead of the warm copy or a read replica. Null on a writer: its engine
  // is fresh.
  const pipeline::CustomerView* fresh_customers = nullptr;
  std::function<Result<pipeline::EngineStats>()> fresh_stats;
  DpLedger* dp = nullptr;     // writer: the DP budget ledger (GET /v1/reports/…)
  outbox::Outbox* outbox = nullptr;  // writer with [[webhooks]] or [email]: outgoing deliveries
  // Writer: THE consent check and the consent records (privacy/consent.h), on a connection of its own.
  privacy::Consent* consent = nullptr;
  // Customer self-service tokens (every node; null without a master key: such tokens are then
  // refused, 401, and none can be issued).
  const privacy::CustomerTokens* customer_tokens = nullptr;
  service::Desk* desk = nullptr;  // writer: the service desk (routes_desk.cc)
  service::SlaService* sla = nullptr;  // writer: SLA clocks and complaint tasks (routes_sla.cc)
  SubjectRightsContext* rights = nullptr;  // writer: exports and erasures (POST /v1/privacy/…)
  // Writer, deskflow (routes_deskflow.cc): the desk's events out and live feed, the full-text
  // index, and the repeat-inquiry window ([desk] repeat_window_days).
  service::DeskEvents* desk_events = nullptr;
  const service::SearchIndex* desk_search = nullptr;
  int desk_repeat_window_days = 30;
  ChannelsContext* channels = nullptr;  // writer: the desk's channels (routes_channels.cc)
  const insight::KpiRollup* kpi_rollup = nullptr;  // writer: the KPIs' roll-ups (routes_kpi.cc)
  // Every node: read-only connections for reports that scan the stored events (routes_analytics.cc):
  // the writer's own small pool, a follower's readers.
  ReadPool* analytics = nullptr;
  insight::Experiments* experiments = nullptr;  // writer: experiments on a connection of their own (routes_experiments.cc)
};

// `X-Touchpoint-Consistency: fresh`: the client must see its own writes (docs/http-api.md).
inline constexpr std::string_view kConsistencyHeader = "x-touchpoint-consistency";
inline bool WantsFresh(const http::Request& req) {
  const std::string* v = req.Header(kConsistencyHeader);
  return v != nullptr && *v == "fresh";
}

void RegisterOpsRoutes(Router& router, const ServerContext& context);       // routes_ops.cc
void RegisterTrackingRoutes(Router& router, const ServerContext& context);  // routes_tracking.cc
void RegisterCustomerRoutes(Router& router, const ServerContext& context);  // routes_customers.cc
void RegisterJobsRoutes(Router& router, const ServerContext& context);      // routes_jobs.cc
void RegisterSegmentRoutes(Router& router, const ServerContext& context);   // routes_segments.cc
void RegisterAuthRoutes(Router& router, const ServerContext& context);      // routes_auth.cc

// The session cookie's name, and its value in a request's Cookie header (nullopt without one).
inline constexpr std::string_view kSessionCookie = "tp_session";
std::optional<std::string> SessionCookieValue(const http::Request& request);  // routes_auth.cc
void RegisterAuditRoutes(Router& router, const ServerContext& context);     // routes_audit.cc
void RegisterConsentRoutes(Router& router, const ServerContext& context);   // routes_consent.cc

// The customer `ref` ("kind:value" or a decimal id) names, read through `view` — for a customer
// token's request only the token's own customer (the live customer its id now belongs to): any
// other customer is kNotFound exactly as an unknown one ("no customer with this identifier"), so
// a token cannot learn who else exists. Defined in routes_consent.cc.
Result<pipeline::CustomerData> CustomerForRequest(const pipeline::CustomerView& view, const RouteMatch& match,
                                                  std::string_view ref);
// The post-commit adapter that audits the consent decisions of committed identify calls
// ("consent.change" by "pipeline:identify"). At most once, like every hook consumer: a crash
// between the commit and the hook loses the audit entries, not the decisions (routes_consent.cc).
std::shared_ptr<pipeline::CommitObserver> MakeConsentAuditObserver(privacy::AuditLog& audit, spdlog::logger* log);
void RegisterDeskRoutes(Router& router, const ServerContext& context);      // routes_desk.cc
void RegisterAgentRoutes(Router& router, const ServerContext& context);     // routes_agents.cc
void RegisterPrivacyRoutes(Router& router, const ServerContext& context);   // routes_privacy.cc
void RegisterSlaRoutes(Router& router, const ServerContext& context);       // routes_sla.cc
void RegisterDeskflowRoutes(Router& router, const ServerContext& context);  // routes_deskflow.cc
// A ticket's deskflow members for GET /v1/tickets/{number}, added to `ticket`: repeat,
// repeat_summary, repeat_of, contact_intent, repeat_ordinal, tags, fields (none without a desk, or
// when they cannot be read: that is logged, the ticket still shown). Defined in routes_deskflow.cc.
void AddDeskflowTicketJson(const ServerContext& context, std::int64_t number, nlohmann::ordered_json& ticket);
void RegisterChannelRoutes(Router& router, const ServerContext& context);   // routes_channels.cc
// For routes_desk.cc (defined in routes_channels.cc): the files of an agent's reply (the parsed
// body's "attachments": [{"filename", "content_base64"}]), and what a ticket shows of its
// channels — each message's delivery state and files, the ticket's CSAT surveys — added to its JSON.
Result<std::vector<service::MessageAttachment>> ReplyAttachments(const nlohmann::ordered_json& body);
Status DecorateTicketJson(const ServerContext& context, std::int64_t number,
                          const std::vector<store::TicketMessageRecord>& messages, nlohmann::ordered_json& ticket);
void RegisterKpiRoutes(Router& router, const ServerContext& context);       // routes_kpi.cc
void RegisterAnalyticsRoutes(Router& router, const ServerContext& context); // routes_analytics.cc
void RegisterExperimentRoutes(Router& router, const ServerContext& context);  // routes_experiments.cc

// The query parameters `keys` of `req`, in order ("" when absent); a malformed one is the error
// (400 through ResponseFromStatus).
template <size_t N>
Result<std::array<std::string, N>> QueryParams(const http::Request& req, const std::array<const char*, N>& keys) {
  std::array<std::string, N> values;
  for (size_t i = 0; i < N; ++i) {
    TP_ASSIGN_OR_RETURN(auto v, http::QueryParam(req.query, keys[i]));
    if (v) values[i] = std::move(*v);
  }
  return values;
}

// Who made a request, as the audit log names it: "key:<key prefix>" (the prefix `keys list`
// shows), or "node:<id>/role:<role>" for a request a follower forwarded; never the key itself.
std::string AuditActor(const http::Request& req, const RouteMatch& match);
// Records `action` on `target` by the request's actor in context.audit (when there is one);
// a failure is logged, not returned: the change it records has happened. `details_json` is a
// JSON object of pseudonymous values only (privacy/audit.h).
void RecordAudit(const ServerContext& context, const http::Request& req, const RouteMatch& match, std::string_view action,
                 std::string_view target, std::string_view details_json = "{}");

// The post-commit adapter keeping `index`'s counts current: each committed batch's customers go
// to SegmentIndex::OnCustomersChanged (routes_segments.cc). `index` must outlive the engine's hook.
std::shared_ptr<pipeline::CommitObserver> MakeSegmentObserver(insight::SegmentIndex& index);

// Every route of the API: what App serves and what router_test checks against the permission
// matrix and docs/http-api.md. Defined in app.cc.
void RegisterAllRoutes(Router& router, const ServerContext& context);

// How this request's caller sees personal data (privacy/masking.h): masked, except the fields
// named by `?reveal=phone,email` when `&reason=…` is given and the caller's role is one of
// [privacy] reveal_roles (admin by default). kInvalidArgument for a bad reveal or a missing
// reason, kPermissionDenied for a role that may not reveal (routes answer 400 / 403). Defined in
// reveal.cc.
Result<privacy::MaskPolicy> RequestMaskPolicy(const ServerContext& context, const http::Request& req,
                                              const RouteMatch& match);
// Records a reveal of `policy`'s fields on `target` ("customer:42", "segment:vip") in the audit
// log before the data is sent — with the fields and the reason (its own personal data masked).
// OK when `policy` reveals nothing. kUnavailable when it cannot be recorded (the answer must then
// not be sent: no reveal without its audit entry), and on a follower (no audit log there: send
// reveals to the writer). Defined in reveal.cc.
Status AuditReveal(const ServerContext& context, const http::Request& req, const RouteMatch& match, std::string_view target,
                   const privacy::MaskPolicy& policy);

// Maps a Status from below to an HTTP error: bad input is never a 500.
http::Response ResponseFromStatus(const Status& status);

// A response with a JSON body.
http::Response JsonResponse(int status, std::string body);

}  // namespace touchpoint::server

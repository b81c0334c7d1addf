// The HTTP API: the composition of the engine, the key store and the route table; authentication
// (API keys with a short cache, login sessions by cookie or bearer token, or the cluster secret
// of a forwarding follower) and request metrics. The routes are in routes_<module>.cc; the roles of several nodes in node.cc.
#include <touchpoint/server/app.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <touchpoint/http/server.h>
#include <touchpoint/insight/experiments.h>
#include <touchpoint/insight/job_runner.h>
#include <touchpoint/insight/kpi_facts.h>
#include <touchpoint/insight/kpis.h>
#include <touchpoint/store/kpi_repository.h>
#include <touchpoint/insight/segment_index.h>
#include <touchpoint/outbox/outbox.h>
#include <touchpoint/service/autoclose.h>
#include <touchpoint/service/desk_events.h>
#include <touchpoint/service/repeats.h>
#include <touchpoint/service/search.h>
#include <touchpoint/text/segmenter.h>
#include <touchpoint/service/channels.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/wiring/subject_rights.h>
#include <touchpoint/wiring/wiring.h>
#include <touchpoint/privacy/audit.h>
#include <touchpoint/privacy/auth_events.h>
#include <touchpoint/privacy/consent.h>
#include <touchpoint/privacy/customer_token.h>
#include <touchpoint/privacy/encrypted_store.h>
#include <touchpoint/privacy/keys.h>
#include <touchpoint/privacy/login.h>
#include <touchpoint/privacy/master_key.h>
#include <touchpoint/privacy/passwords.h>
#include <touchpoint/privacy/key_rotation.h>
#include <touchpoint/privacy/retention.h>
#include <touchpoint/privacy/signing.h>
#include <touchpoint/privacy/roles.h>
#include <touchpoint/privacy/sessions.h>
#include <touchpoint/calendar/calendar_file.h>
#include <touchpoint/service/escalation.h>
#include <touchpoint/service/sla.h>
#include <touchpoint/store/sla_repository.h>
#include <touchpoint/store/api_key_repository.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/segment_repository.h>

#include "server/forward_internal.h"
#include "server/metrics_internal.h"
#include "server/read_pool_internal.h"
#include "server/replica_internal.h"
#include "server/router.h"
#include "server/routes.h"

namespace touchpoint::server {
namespace {

using Clock = std::chrono::steady_clock;

std::shared_ptr<spdlog::logger> MakeLogger(const std::string& level) {
  // Not registered globally, so several Apps (tests) can coexist. One line per event:
  // "ts level component msg key=value"; callers never pass identifiers, bodies or keys.
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("server", sink);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %n %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::warn);
  return logger;
}

}  // namespace

void RegisterAllRoutes(Router& router, const ServerContext& context) {
  RegisterOpsRoutes(router, context);
  RegisterTrackingRoutes(router, context);
  RegisterCustomerRoutes(router, context);
  RegisterJobsRoutes(router, context);
  RegisterSegmentRoutes(router, context);
  RegisterAuthRoutes(router, context);
  RegisterAuditRoutes(router, context);
  RegisterConsentRoutes(router, context);
  RegisterDeskRoutes(router, context);
  RegisterAgentRoutes(router, context);  // routing: agents, decisions, queues
  RegisterSlaRoutes(router, context);
  RegisterPrivacyRoutes(router, context);
  RegisterDeskflowRoutes(router, context);
  RegisterChannelRoutes(router, context);
  RegisterKpiRoutes(router, context);
  RegisterAnalyticsRoutes(router, context);
  RegisterExperimentRoutes(router, context);
}

http::Response JsonResponse(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

http::Response ResponseFromStatus(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument: return http::JsonError(400, "invalid_request", s.message());
    case StatusCode::kNotFound: return http::JsonError(404, "not_found", s.message());
    case StatusCode::kAlreadyExists: return http::JsonError(409, "conflict", s.message());
    case StatusCode::kFailedPrecondition: return http::JsonError(409, "failed_precondition", s.message());
    case StatusCode::kPermissionDenied: return http::JsonError(403, "forbidden", s.message());
    case StatusCode::kUnavailable: return http::JsonError(503, "unavailable", s.message());
    case StatusCode::kOk:
    case StatusCode::kInternal: break;
  }
  return http::JsonError(500, "internal", s.message());
}

class App::Impl {
 public:
  Impl() : router([this](const http::Request& req) { return Authenticate(req); }) {}

  ServerConfig config;
  AppRole app_role;
  std::string store_password;  // config.store_password_file's content; set on every store opened
  std::unique_ptr<NodeState> own_node;  // a single App's (the Node owns the others')
  NodeState* node = nullptr;
  std::string host;
  uint16_t requested_port = 0;
  std::shared_ptr<spdlog::logger> log;
  // Saved segments: their own connection, and the index the engine's hook and the jobs' tags keep
  // current (declared before the engine, so that the engine, its hook and the jobs go first).
  std::unique_ptr<store::Store> segments_store;
  std::unique_ptr<insight::SegmentIndex> segments;
  // The audit log on a connection of its own (writer only), checkpointed by its timer and at stop.
  std::unique_ptr<store::Store> audit_store;
  std::unique_ptr<privacy::AuditLog> audit;
  // Consents (writer): THE consent check over a connection of its own.
  std::unique_ptr<store::Store> consent_store;
  std::unique_ptr<privacy::Consent> consent;
  // Customer self-service tokens (every node), keyed from the master key; unset without one.
  std::optional<privacy::CustomerTokens> customer_tokens;
  std::unique_ptr<wiring::OpenedEngine> data;  // the engine (owns the writer's store and its lock) and its consumers
  // Writer: the SLA timer and the complaint loop over the desk (service/sla.h), with the
  // calendars its policies name (declared after `data`: it goes first).
  std::unique_ptr<service::SlaSetup> sla_setup;  // the policies and calendars `sla` points into
  std::unique_ptr<service::SlaService> sla;
  // Analytics jobs: a read-only connection for their scans, their records on a connection of
  // their own, and the runner (stopped before the engine: jobs write tags through it).
  std::unique_ptr<store::Store> job_reader;
  std::unique_ptr<wiring::SerializedJobRepository> job_records;
  std::unique_ptr<wiring::EngineActivitySource> job_source;
  std::unique_ptr<wiring::EngineTagSink> job_sink;
  std::unique_ptr<insight::NotifyingTagSink> job_tags;  // job_sink, then the segments' counts
  std::unique_ptr<insight::JobRunner> jobs;
  // Followers: reads from the database, and the forwarding of everything else to the writer.
  std::unique_ptr<ReadPool> readers;          // the primary: fresh reads, the first seconds
  std::unique_ptr<ReadPool> replica_readers;  // the read replica ([store] read_url), when set
  std::unique_ptr<PooledCustomerView> reader_view;
  // Writer: read-only connections for the reports that scan the stored events (funnels, journeys).
  std::unique_ptr<ReadPool> analytics_readers;
  std::unique_ptr<Replica> replica;  // a follower's warm copy (stores with a change feed)
  std::unique_ptr<Forwarder> forwarder;
  std::unique_ptr<DpLedger> dp_ledger;  // writer: the DP budget's ledger (its own connection)
  // Writer: experiments and their exposures on a connection of their own (insight/experiments.h).
  std::unique_ptr<store::Store> experiments_store;
  std::unique_ptr<insight::Experiments> experiments;
  // Writer: outgoing deliveries ([[webhooks]], [email]) on a connection of their own.
  std::unique_ptr<store::Store> outbox_store;
  std::unique_ptr<outbox::Outbox> outbox;
  // Writer, deskflow: the desk's change listeners (events out and the live feed, the full-text
  // index) and the auto-close of solved tickets (stopped before the desk closes).
  std::shared_ptr<service::DeskEvents> desk_events;
  std::shared_ptr<service::SearchIndex> desk_search;
  std::unique_ptr<service::AutoCloseJob> auto_close;
  // Writer: the desk's spans stored once with every change (insight/kpi_facts.h), measured on the
  // SLA's calendars and targets once the SLA service runs.
  std::shared_ptr<insight::KpiSpanListener> kpi_spans;
  std::unique_ptr<insight::KpiRollup> kpi_rollup;  // kept current by kpi_spans' observer
  std::unique_ptr<ChannelsContext> channels;  // writer: the desk's channels (after the outbox, before the desk ends)
  // Writer: subject rights (exports read through their own read-only connection; receipts are
  // signed with the installation's key) and the retention pass (its own connection).
  std::optional<privacy::Signer> receipt_signer;
  std::unique_ptr<SubjectRightsContext> rights;
  std::unique_ptr<privacy::RetentionJob> retention;
  // Writer: finishes an unfinished master key rotation (`keys rotate-master` killed, or started
  // with the server stopped) in the background, on its own connection.
  std::unique_ptr<privacy::RotationJob> rotation;
  std::unique_ptr<http::Server> http;
  Metrics metrics;
  privacy::Masker masker;  // [privacy.masking]; set before the context
  ServerContext context;  // what the handlers use; filled before the routes are registered
  Router router;          // filled before serving, read-only after

  // Logins and sessions: the password hasher (at most 4 hashes at once) and the login service on
  // a connection of its own.
  std::unique_ptr<privacy::PasswordHasher> hasher;
  std::unique_ptr<privacy::LoginService> login;

  std::mutex keys_mu;
  std::unique_ptr<store::Store> keys;  // guarded by keys_mu; a second connection for key lookups
  struct CachedKey {
    std::optional<privacy::Role> role;  // nullopt: unknown or revoked
    Clock::time_point expires;
  };
  std::unordered_map<std::string, CachedKey> key_cache;  // by key hash; guarded by keys_mu

  std::mutex stop_mu;
  std::condition_variable stopped_cv;
  bool stopping = false;  // guarded by stop_mu
  bool stopped = false;   // guarded by stop_mu

  http::Response Handle(const http::Request& req);
  void Stop();
  // kSingle, kWriter: the engine (fenced at the lease's epoch for a writer), the saved segments
  // and the jobs; fills the context. `master`: the installation's master key (LoadMasterKey),
  // null without one.
  Status OpenWriter(const std::string& url, const store::OpenOptions& side, const privacy::MasterKey* master);
  // kFollower: the read pool and the forwarder; fills the context.
  Status OpenFollower(const std::string& url);
  // Opens the jobs' connections and starts the runner with the configured schedule; with
  // jobs_at_start, runs the scheduled jobs once and waits for them.
  Status StartJobs(const std::string& url, const store::OpenOptions& side);
  // The installation's master key file, read once at start: what keys the customer tokens (every
  // node), the audit log's and erasure receipts' signatures and the suppression list (writer).
  // nullopt when there is none at the default path; kInvalidArgument when the configured file is
  // missing or unusable (readable by others, malformed). Read before the engine loads, so a bad
  // key fails fast.
  Result<std::optional<privacy::MasterKey>> LoadMasterKey() const;
  // Opens the audit log with `signer` and starts its checkpoint timer.
  Status OpenAudit(const std::string& url, const store::OpenOptions& side, std::optional<privacy::Signer> signer);
  // Starts the SLA timer over the desk: policies stored with the CLI, then [[sla.policies]],
  // then the baseline; the calendars they and [sla] calendar name.
  Status StartSla();

 private:
  // The caller, or an error response (401; 403 for a cookie without its CSRF token).
  std::variant<Principal, http::Response> Authenticate(const http::Request& req);
  std::variant<Principal, http::Response> AuthenticateSession(const http::Request& req, const std::string& token,
                                                              Principal::Kind kind);
  // A customer self-service token (privacy/customer_token.h): 401 when forged, malformed or expired.
  std::variant<Principal, http::Response> AuthenticateCustomer(const std::string& token);
  // The key's role; nullopt for an unknown or revoked key; kUnavailable when the key table
  // cannot be read (the database is away): that is no reason to tell a client its key is bad.
  Result<std::optional<privacy::Role>> LookupKey(const std::string& hash);
};

Status App::Impl::StartJobs(const std::string& url, const store::OpenOptions& side) {
  store::OpenOptions reader;
  reader.read_only = true;
  reader.cache_mib = 16;
  reader.password = store_password;
  TP_ASSIGN_OR_RETURN(job_reader, store::Open(url, reader));
  TP_ASSIGN_OR_RETURN(auto records_store, store::Open(url, side));
  job_records = std::make_unique<wiring::SerializedJobRepository>(std::move(records_store));
  job_source = std::make_unique<wiring::EngineActivitySource>(*data->engine, job_reader.get());
  job_sink = std::make_unique<wiring::EngineTagSink>(*data->engine);
  job_tags = std::make_unique<insight::NotifyingTagSink>(
      *job_sink, [this](std::span<const CustomerId> customers) { segments->OnCustomersChanged(customers); });
  insight::JobRunnerOptions options;
  options.source = "the store";
  if (config.jobs_schedule != "off") {
    insight::JobScheduleOptions schedule;
    schedule.jobs = insight::DefaultScheduledJobs();
    TP_ASSIGN_OR_RETURN(schedule.minute_of_day, insight::ParseTimeOfDay(config.jobs_schedule));
    options.schedule = std::move(schedule);
  }
  TP_ASSIGN_OR_RETURN(jobs, insight::JobRunner::Create(*job_records, SystemClock::Instance(),
                                                       insight::BindJobs(*job_source, *job_tags), std::move(options)));
  if (config.jobs_at_start) {
    for (const auto& job : insight::DefaultScheduledJobs()) {
      auto id = jobs->Start(job.name, job.params_json, "start");
      if (!id.ok()) log->warn("job at start not run name={} error={}", job.name, id.status().message());
    }
    jobs->WaitIdle();
    auto recent = jobs->Recent(8);  // kept: a range-for over *temporary would dangle
    if (recent.ok()) {
      for (const auto& record : *recent) {
        if (record.trigger == "start") log->info("job at start name={} state={}", record.name, record.state);
      }
    }
  }
  return Status::Ok();
}

Result<std::optional<privacy::MasterKey>> App::Impl::LoadMasterKey() const {
  const bool configured = !config.master_key_file.empty();
  const std::string key_path = configured ? config.master_key_file : privacy::DefaultMasterKeyPath();
  auto key = privacy::LoadMasterKey(key_path);
  if (key.ok()) return std::optional<privacy::MasterKey>(std::move(*key));
  // No key yet (and none configured): audit entries are still chained (OpenAudit's warning says
  // so), customer tokens are refused, erasures too.
  if (key.status().code() == StatusCode::kNotFound && !configured) return std::optional<privacy::MasterKey>();
  return Status::InvalidArgument("privacy.master_key_file: " + key.status().message());
}

std::variant<Principal, http::Response> App::Impl::AuthenticateCustomer(const std::string& token) {
  if (!customer_tokens) {
    log->info("auth rejected reason=customer_token_without_master_key");
    return http::JsonError(401, "unauthorized", "customer tokens are not accepted here (no master key)");
  }
  privacy::CustomerTokenCheck check = customer_tokens->Check(token, SystemClock::Instance().Now());
  if (!check.ok()) {
    log->info("auth rejected reason=customer_token_{}", privacy::CustomerTokenProblemName(check.problem));
    return http::JsonError(401, "unauthorized",
                           check.problem == privacy::CustomerTokenProblem::kExpired
                               ? "expired customer token; ask for a new one"
                               : "invalid customer token");
  }
  Principal principal(privacy::Role::kCustomer, Principal::Kind::kCustomerToken);
  principal.customer = std::move(check.claims);
  return principal;
}

Status App::Impl::OpenAudit(const std::string& url, const store::OpenOptions& side,
                            std::optional<privacy::Signer> signer) {
  TP_ASSIGN_OR_RETURN(audit_store, store::Open(url, side));
  privacy::AuditLogOptions options;
  options.checkpoints_path = config.audit_checkpoints.empty() ? privacy::DefaultCheckpointsPath(config.data_dir)
                                                              : config.audit_checkpoints;
  spdlog::logger* logger = log.get();
  options.on_checkpoint_error = [logger](const Status& s) { logger->error("audit checkpoint failed error={}", s.message()); };
  TP_ASSIGN_OR_RETURN(audit, privacy::AuditLog::Open(*audit_store, SystemClock::Instance(), std::move(signer), options));
  if (!audit->warning().empty()) {
    log->warn("audit {}", audit->warning());
  } else {
    log->info("audit signing_key={} checkpoints={}", audit->signing() ? "on" : "off", options.checkpoints_path);
  }
  // Tick() writes a checkpoint once 5 minutes passed and the chain moved; 30 s keeps it close.
  audit->StartTimer(std::chrono::seconds(30), options.on_checkpoint_error);
  return Status::Ok();
}

http::Response App::Impl::Handle(const http::Request& req) {
  const auto start = Clock::now();
  const std::string* route = &Router::OtherLabel();
  http::Response res;
  try {
    res = router.Dispatch(req, &route);
  } catch (const std::exception& e) {
    log->error("request failed route={} error=exception", *route);
    res = http::JsonError(500, "internal", "internal error");
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  metrics.RecordRequest(req.method, *route, res.status, secs);
  if (res.status >= 500) {
    log->warn("request route={} method={} status={} ms={:.1f}", *route, req.method, res.status, secs * 1000);
  } else {
    log->debug("request route={} method={} status={} ms={:.1f}", *route, req.method, res.status, secs * 1000);
  }
  return res;
}

// What logins and user changes report (privacy/auth_events.h). Today the server log (no e-mail,
// address, password or token: ids and the action); the audit log is connected here.
// Logins and user changes go to the log and, where there is one (the writer, a single node), to
// the audit log; a follower's are only logged (its audit entries would need the writer).
privacy::AuthEventSink MakeAuthEventSink(spdlog::logger* log, privacy::AuditLog* audit) {
  return [log, audit](const privacy::AuthEvent& e) {
    log->info("auth event action={} actor={} target={} detail={}", e.action, e.actor, e.target, e.detail);
    if (audit == nullptr) return;
    nlohmann::json details = nlohmann::json::object();
    if (!e.detail.empty()) details["detail"] = e.detail;
    if (!e.address.empty()) details["address"] = e.address;
    if (Status s = audit->Record(e.actor, e.action, e.target, details.dump()); !s.ok()) {
      log->error("audit record failed action={} error={}", e.action, s.message());
    }
  };
}

std::variant<Principal, http::Response> App::Impl::AuthenticateSession(const http::Request& req,
                                                                       const std::string& token,
                                                                       Principal::Kind kind) {
  auto check = login->Authenticate(token);
  if (!check.ok()) {
    log->error("session lookup failed error={}", check.status().message());
    http::Response r = http::JsonError(503, "unavailable", "sessions cannot be checked right now; retry");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  if (!check->ok()) {
    log->info("auth rejected reason=session_{}", privacy::SessionProblemName(check->problem));
    return http::JsonError(401, "unauthorized", "unknown or ended session; log in again (POST /v1/auth/login)");
  }
  // A browser sends the cookie with any request to this origin, also one a hostile page makes it
  // send: a state-changing request must also prove it read the login answer.
  const bool safe = req.method == "GET" || req.method == "HEAD" || req.method == "OPTIONS";
  if (kind == Principal::Kind::kSessionCookie && !safe) {
    const std::string* csrf = req.Header("x-csrf-token");
    if (csrf == nullptr || !privacy::CsrfMatches(check->session, *csrf)) {
      return http::JsonError(403, "csrf",
                             "a request authenticated by the session cookie must send the X-CSRF-Token header "
                             "given at login");
    }
  }
  Principal principal(check->role, kind);
  principal.session = std::move(*check);
  return principal;
}

std::variant<Principal, http::Response> App::Impl::Authenticate(const http::Request& req) {
  if (const std::string* secret = req.Header(kClusterSecretHeader)) {
    // A follower forwarding a request it authenticated: trusted with the right secret only.
    if (app_role.cluster_secret.empty() || !SecretsEqual(*secret, app_role.cluster_secret)) {
      log->warn("auth rejected reason=cluster_secret remote={}", req.remote_address);
      return http::JsonError(401, "unauthorized", "cluster secret rejected");
    }
    const std::string* forwarded_role = req.Header(kForwardedRoleHeader);
    if (forwarded_role != nullptr && *forwarded_role == privacy::RoleName(privacy::Role::kCustomer)) {
      // A customer token's request: the follower passed the token on; it is checked here again,
      // so the writer knows the customer (and never trusts a bare "customer" role).
      const std::string* header = req.Header("authorization");
      std::optional<std::string> token = header ? privacy::KeyFromAuthorization(*header) : std::nullopt;
      if (!token || !privacy::IsCustomerToken(*token)) {
        return http::JsonError(401, "unauthorized", "a forwarded customer request carries no customer token");
      }
      return AuthenticateCustomer(*token);
    }
    if (forwarded_role != nullptr) {
      if (auto parsed = privacy::ParseRole(*forwarded_role); parsed.ok()) {
        return Principal(*parsed, Principal::Kind::kForwarded);
      }
    }
    return http::JsonError(401, "unauthorized", "a forwarded request names no valid role");
  }
  const std::string* header = req.Header("authorization");
  if (!header) {
    if (std::optional<std::string> cookie = SessionCookieValue(req)) {
      return AuthenticateSession(req, *cookie, Principal::Kind::kSessionCookie);
    }
    return http::JsonError(401, "unauthorized",
                           "missing credentials: log in (POST /v1/auth/login), or send an API key as the Basic user "
                           "name or as a Bearer token");
  }
  std::optional<std::string> key = privacy::KeyFromAuthorization(*header);
  if (!key) return http::JsonError(401, "unauthorized", "malformed Authorization header");
  if (privacy::IsSessionToken(*key)) return AuthenticateSession(req, *key, Principal::Kind::kSessionBearer);
  if (privacy::IsCustomerToken(*key)) return AuthenticateCustomer(*key);
  auto looked_up = LookupKey(privacy::HashKey(*key));
  if (!looked_up.ok()) {
    http::Response r = http::JsonError(503, "unavailable", "API keys cannot be checked right now; retry");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  const std::optional<privacy::Role>& role = *looked_up;
  if (!role) {
    log->info("auth rejected reason=unknown_or_revoked_key");
    return http::JsonError(401, "unauthorized", "unknown or revoked API key");
  }
  return Principal(*role, Principal::Kind::kApiKey);
}

Result<std::optional<privacy::Role>> App::Impl::LookupKey(const std::string& hash) {
  const auto now = Clock::now();
  std::scoped_lock lock(keys_mu);
  if (auto it = key_cache.find(hash); it != key_cache.end() && it->second.expires > now) {
    return it->second.role;
  }
  auto found = keys->Get<store::ApiKeyRepository>().FindByHash(hash);
  if (!found.ok()) {
    // Do not cache a failed lookup: the next request retries.
    log->error("key lookup failed error={}", found.status().message());
    return Status::Unavailable("key lookup failed");
  }
  std::optional<privacy::Role> role;
  if (found->has_value() && (*found)->revoked_at == 0) {
    auto parsed = privacy::ParseRole((*found)->role);
    if (parsed.ok()) role = *parsed;
  }
  if (key_cache.size() > 10'000) key_cache.clear();  // bounds memory under a flood of bad keys
  key_cache[hash] = CachedKey{role, now + std::chrono::seconds(config.key_cache_seconds)};
  return role;
}

void App::Impl::Stop() {
  {
    std::unique_lock lock(stop_mu);
    if (stopping) {
      stopped_cv.wait(lock, [&] { return stopped; });
      return;
    }
    stopping = true;
  }
  log->info("stopping phase=http");
  if (forwarder) forwarder->Cancel();  // requests waiting on the writer are answered 503 at once
  if (http) http->Stop();
  log->info("stopping phase=jobs");
  if (retention) retention->Stop();
  if (rotation) rotation->Stop();  // between two batches; the next start resumes
  if (auto_close) auto_close->Stop();
  if (jobs) jobs->Stop();  // cancels a running job; it writes tags through the engine
  if (outbox) outbox->Stop();  // attempts in flight end (each within its timeout), unstarted ones wait
  if (sla) sla->Stop();  // before the desk it fires through
  if (kpi_spans && data && data->desk) {
    // The SLA's clocks go now: under the desk's lock, so no change in flight still measures with
    // them (later changes are measured on the wall clock).
    Status cleared = data->desk->WithStore([this](store::Store&) -> Status {
      kpi_spans->SetMeasure({});
      kpi_spans->SetObserver({});
      return Status::Ok();
    });
    if (!cleared.ok()) {
      kpi_spans->SetMeasure({});
      kpi_spans->SetObserver({});
    }
    context.kpi_rollup = nullptr;
  }
  sla.reset();
  forwarder.reset();
  replica.reset();
  reader_view.reset();
  replica_readers.reset();
  readers.reset();
  analytics_readers.reset();
  log->info("stopping phase=engine");
  if (data) {
    // Drains the hook: the escalation consumer's last flush, the last identify consents' audit
    // entries (so the audit log closes after it).
    data->engine->Stop();
    if (data->escalation && data->escalation->lost() > 0) {
      log->error("escalation firings lost count={} (their store refused writes)", data->escalation->lost());
    }
  }
  if (audit) {
    // A clean exit: the last checkpoint covers every entry this process recorded.
    Status closed = audit->Close();
    if (!closed.ok()) log->error("audit checkpoint at stop failed error={}", closed.message());
  }
  if (data) data.reset();  // closes the store and releases its writer lock
  jobs.reset();
  job_tags.reset();
  job_sink.reset();
  job_source.reset();
  job_records.reset();
  job_reader.reset();
  segments.reset();
  segments_store.reset();
  login.reset();
  consent.reset();
  consent_store.reset();
  audit.reset();
  audit_store.reset();
  dp_ledger.reset();
  context.experiments = nullptr;
  experiments.reset();
  experiments_store.reset();
  channels.reset();
  outbox.reset();
  outbox_store.reset();
  retention.reset();
  rotation.reset();
  rights.reset();
  {
    std::scoped_lock lock(keys_mu);
    keys.reset();
  }
  log->info("stopped accepted_events={} rejected_events={}", metrics.events_accepted(), metrics.events_rejected());
  log->flush();
  {
    std::scoped_lock lock(stop_mu);
    stopped = true;
  }
  stopped_cv.notify_all();
}

App::App(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

App::~App() { Stop(); }

Status App::Impl::OpenWriter(const std::string& url, const store::OpenOptions& side, const privacy::MasterKey* master) {
  store::OpenOptions writer;
  writer.purpose = "touchpoint serve";
  writer.synchronous = config.synchronous;
  writer.fence_epoch = app_role.role == NodeRole::kWriter ? app_role.epoch : 0;
  writer.password = store_password;
  std::optional<privacy::Signer> signer;  // the audit log's
  pipeline::EngineOptions engine_options = EngineOptionsFor(config);
  // The master key keys the suppression list (erased people's identifiers, as blind indexes) and
  // signs erasure receipts; without one, events are not checked and erasures are refused.
  if (master != nullptr) {
    signer.emplace(privacy::Signer::FromMasterKey(*master));
    engine_options.suppression_key = wiring::SuppressionKeyFrom(*master);
    engine_options.older_suppression_keys = wiring::OlderSuppressionKeysAt(
        config.master_key_file.empty() ? privacy::DefaultMasterKeyPath() : config.master_key_file);
    receipt_signer.emplace(privacy::Signer::FromMasterKey(*master));
  }
  // Followers read profiles from the database: write the changed ones with every commit, so that
  // they have no events to replay (engine.h, profile_checkpoint_ms).
  if (app_role.role == NodeRole::kWriter) engine_options.profile_checkpoint_ms = 0;
  // Deskflow: the desk's change listeners, given to the desk before it catches up at start, so
  // that tickets it opens then get their repeat row, index entries and events too (the outbox is
  // created here for that, and started below).
  service::DeskOptions desk_options;
  {
    service::DeskEventsOptions events_options;
    events_options.feed_capacity = static_cast<size_t>(config.desk_feed_capacity);
    desk_events = std::make_shared<service::DeskEvents>(events_options);
    // The segmenter (jieba's dictionary) is loaded at the first search, not at start.
    spdlog::logger* logger = log.get();
    service::SegmenterLoader segmenter = [logger]() -> std::shared_ptr<const text::Segmenter> {
      auto seg = text::Segmenter::Create({});
      if (seg.ok()) return std::move(*seg);
      logger->warn("search: no segmenter ({}); queries are matched as written", seg.status().message());
      return nullptr;
    };
    // With encryption at rest the encryption layer keys every token the index stores or looks
    // up with the blind-index key (privacy/encrypted_store.h, EncDeskflow), for every writer of
    // the index alike (docs/service-desk.md, "Search and encryption").
    desk_search = std::make_shared<service::SearchIndex>(std::make_shared<service::PlainTokenHasher>(), segmenter);
    desk_options.listeners = {
        std::make_shared<service::RepeatDetector>(service::RepeatOptions{config.desk_repeat_window_days}), desk_search,
        desk_events};
    kpi_spans = std::make_shared<insight::KpiSpanListener>(SystemClock::Instance());
    desk_options.listeners.push_back(kpi_spans);
  }
  if (!config.outbox.webhooks.empty() || !config.outbox.smtp.host.empty()) {
    TP_ASSIGN_OR_RETURN(outbox_store, store::Open(url, side));
    TP_ASSIGN_OR_RETURN(outbox, outbox::Outbox::Create(*outbox_store, config.outbox));
    desk_events->SetOutbox(outbox.get());
  }
  TP_ASSIGN_OR_RETURN(data, wiring::OpenEngine(url, std::move(engine_options), writer, /*escalation=*/true,
                                                    /*desk=*/true, std::move(desk_options)));
  pipeline::Engine& engine = *data->engine;
  // Saved segments: counted once here, then kept current by the hook and the jobs' tags.
  TP_ASSIGN_OR_RETURN(segments_store, store::Open(url, side));
  TP_ASSIGN_OR_RETURN(segments, insight::SegmentIndex::Open(segments_store->Get<store::SegmentRepository>(), engine,
                                                            SystemClock::Instance()));
  engine.Subscribe(MakeSegmentObserver(*segments));
  TP_RETURN_IF_ERROR(StartJobs(url, side));
  TP_RETURN_IF_ERROR(OpenAudit(url, side, std::move(signer)));
  // Consents: identify traits' decisions commit with their events; the hook audits them.
  engine.Subscribe(MakeConsentAuditObserver(*audit, log.get()));
  TP_ASSIGN_OR_RETURN(consent_store, store::Open(url, side));
  privacy::ConsentPolicy consent_policy;
  TP_ASSIGN_OR_RETURN(consent_policy.default_personalisation, privacy::ParseIntensity(config.personalisation_default));
  consent = std::make_unique<privacy::Consent>(
      *consent_store,
      [&engine](CustomerId customer) -> Result<std::vector<CustomerId>> {
        TP_ASSIGN_OR_RETURN(pipeline::CustomerData found, engine.Find(std::to_string(customer.value())));
        std::vector<CustomerId> person{found.id};
        person.insert(person.end(), found.merged.begin(), found.merged.end());
        return person;
      },
      consent_policy, SystemClock::Instance());
  context = ServerContext{.config = &config,
                          .engine = &engine,
                          .metrics = &metrics,
                          .log = log.get(),
                          .jobs = jobs.get(),
                          .segments = segments.get(),
                          .customers = &engine,
                          .stats = [&engine]() -> Result<pipeline::EngineStats> { return engine.Stats(); },
                          .node = node,
                          .masker = &masker,
                          .audit = audit.get(),
                          .fresh_customers = nullptr,  // the engine is fresh
                          .fresh_stats = {}};
  analytics_readers = std::make_unique<ReadPool>(url, store_password, 2);
  context.analytics = analytics_readers.get();
  TP_ASSIGN_OR_RETURN(auto dp_store, store::Open(url, side));
  dp_ledger = std::make_unique<DpLedger>(std::move(dp_store));
  context.dp = dp_ledger.get();
  TP_ASSIGN_OR_RETURN(experiments_store, store::Open(url, side));
  experiments = std::make_unique<insight::Experiments>(*experiments_store, SystemClock::Instance());
  context.experiments = experiments.get();
  if (outbox) {  // created above, before the desk
    TP_RETURN_IF_ERROR(outbox->Start());
    log->info("outbox started webhooks={} email={}", config.outbox.webhooks.size(),
              config.outbox.smtp.host.empty() ? "off" : "on");
    context.outbox = outbox.get();
  }
  context.consent = consent.get();
  context.desk = data->desk.get();
  if (context.desk != nullptr && !config.routing_policies_toml.empty()) {  // routing: [[routing.policies]]
    TP_ASSIGN_OR_RETURN(auto policies, service::ParseRoutingPolicies(config.routing_policies_toml));
    TP_RETURN_IF_ERROR(context.desk->SetRoutingPolicies(std::move(policies)));
  }
  TP_RETURN_IF_ERROR(StartSla());
  context.desk_events = desk_events.get();
  context.desk_search = desk_search.get();
  context.desk_repeat_window_days = config.desk_repeat_window_days;
  if (config.desk_auto_close_days > 0 && data->desk) {
    spdlog::logger* logger = log.get();
    auto_close = std::make_unique<service::AutoCloseJob>(
        *data->desk, Millis{config.desk_auto_close_days} * kMillisPerDay,
        Millis{config.desk_auto_close_interval_minutes} * 60'000, [logger](const Result<int>& r) {
          if (!r.ok()) {
            logger->error("auto-close failed error={}", r.status().message());
          } else if (*r > 0) {
            logger->info("auto-close closed={}", *r);
          }
        });
    auto_close->Start();
  }
  if (data->desk) {  // the desk's channels: reply delivery through the outbox, CSAT, attachments
    channels = std::make_unique<ChannelsContext>();
    TP_ASSIGN_OR_RETURN(channels->channels,
                        service::Channels::Create(outbox.get(), SystemClock::Instance(), config.channels));
    TP_ASSIGN_OR_RETURN(channels->store, store::Open(url, side));
    data->desk->SetChannels(channels->channels);
    context.channels = channels.get();
  }
  rights = std::make_unique<SubjectRightsContext>();
  {
    store::OpenOptions ro;
    ro.read_only = true;
    ro.cache_mib = 8;
    ro.password = store_password;
    TP_ASSIGN_OR_RETURN(rights->reader, store::Open(url, ro));
  }
  rights->signer = receipt_signer ? &*receipt_signer : nullptr;
  // Crypto-shredding of erased people's data keys: the reader shares the writer's keyring
  // (wiring/encryption.h keeps one per data store); nothing when the data is not encrypted.
  rights->shred = privacy::CryptoShredder(*rights->reader);
  rights->backend = std::string(rights->reader->backend());
  context.rights = rights.get();
  if (config.retention.any()) {
    privacy::RetentionPolicy policy = config.retention;
    if (policy.rejects_path.empty()) policy.rejects_path = config.data_dir + "/rejects.ndjson";
    TP_ASSIGN_OR_RETURN(auto retention_store, store::Open(url, side));
    spdlog::logger* logger = log.get();
    retention = std::make_unique<privacy::RetentionJob>(
        std::move(retention_store), std::move(policy), SystemClock::Instance(),
        [logger](const Result<privacy::RetentionCounts>& r) {
          // Counts only: never a record.
          if (r.ok()) {
            logger->info("retention pass {}", privacy::RetentionSummary(*r));
          } else {
            logger->error("retention pass failed error={}", r.status().message());
          }
        });
    retention->Start(std::chrono::minutes(config.retention_interval_minutes));
  }
  {
    // An unfinished master key rotation is finished here, in small transactions beside ingest
    // (privacy/key_rotation.h). Only an encrypted store can have one.
    TP_ASSIGN_OR_RETURN(auto rotation_store, store::Open(url, side));
    if (dynamic_cast<privacy::EncryptedStore*>(rotation_store.get()) != nullptr) {
      spdlog::logger* logger = log.get();
      rotation = std::make_unique<privacy::RotationJob>(
          std::move(rotation_store), SystemClock::Instance(), [logger](const Result<privacy::RotationState>& r) {
            // Counts only: never a value.
            if (r.ok()) {
              logger->info("master key rotation finished version={} keys_rewrapped={} identifiers_reindexed={} "
                           "values_resealed={}",
                           r->to, r->keys_rewrapped, r->identifiers_reindexed, r->values_resealed);
            } else {
              logger->warn("master key rotation not finished error={}", r.status().message());
            }
          });
      TP_ASSIGN_OR_RETURN(bool started, rotation->StartIfUnfinished());
      if (started) log->info("master key rotation unfinished: finishing it in the background");
      if (!started) rotation.reset();
    }
  }
  return Status::Ok();
}

Status App::Impl::StartSla() {
  if (data == nullptr || data->desk == nullptr) return Status::Ok();
  service::Desk& desk = *data->desk;
  // Policies stored with `touchpoint desk sla-policies set` first, then the config's; [sla]
  // calendar and the calendars the policies name (service::SlaSetup, as the CLI resolves them).
  Status read = desk.WithStore([&](store::Store& store) -> Status {
    TP_ASSIGN_OR_RETURN(sla_setup, service::SlaSetup::Load(store.Get<store::SlaRepository>(), config.sla_policies,
                                                           config.sla_calendar));
    return Status::Ok();
  });
  TP_RETURN_IF_ERROR(read);
  service::SlaOptions options = sla_setup->Options();
  pipeline::Engine* engine = data->engine.get();
  options.customer_facts = [engine](CustomerId customer) {
    service::CustomerFacts facts;
    auto found = engine->Find(std::to_string(customer.value()));
    if (!found.ok()) return facts;
    if (const std::string* tier = found->profile.FindTag("tier")) {
      facts.tier = *tier;
      if (facts.tier.size() >= 2 && facts.tier.front() == '"') facts.tier = facts.tier.substr(1, facts.tier.size() - 2);
    }
    return facts;
  };
  spdlog::logger* logger = log.get();
  // Every SLA warning, breach and overdue complaint task goes out as a desk event (outbox
  // webhooks, the live feed) under the names docs/service-desk.md gives webhook filters
  // (sla.warning, sla.breached, complaint.task_overdue), with a stable id per (ticket, target,
  // kind, cycle). The outbox delivery is enqueued in the SLA event's own transaction (enqueue), so
  // a crash cannot lose it between the two (the timer never fires a stored event again); the feed
  // and the log line follow the commit (sink).
  service::DeskEvents* events = desk_events.get();
  const auto to_desk_event = [](const service::SlaEvent& e) {
    service::DeskEvent out;
    // "warning", "breach", "breach+60" (a later step of the ladder, named in `step`), "overdue"
    // (a complaint task, target "task:<kind>").
    out.kind = e.kind == "overdue" ? "complaint.task_overdue"
               : e.kind.rfind("warning", 0) == 0 ? "sla.warning"
                                                  : "sla.breached";
    out.ticket = e.ticket;
    out.at = e.fired_at;
    out.id = "sla:" + service::FormatTicketNumber(e.ticket) + ":" + e.target + ":" + e.kind + ":" + std::to_string(e.cycle);
    std::string actions;
    for (const std::string& a : e.actions) actions += (actions.empty() ? "" : ",") + a;
    out.fields = {{"target", e.target},     {"policy", e.policy},      {"due_at", std::to_string(e.due_at)},
                  {"cycle", std::to_string(e.cycle)}, {"actions", actions}, {"queue", e.queue},
                  {"priority", e.priority}, {"assignee", std::to_string(e.assignee)}, {"step", e.kind}};
    return out;
  };
  if (events != nullptr) {
    options.enqueue = [events, to_desk_event](store::Store& store, store::Transaction& txn,
                                              const service::SlaEvent& e) {
      service::DeskEvent out = to_desk_event(e);
      return events->Enqueue(store, txn, out);
    };
  }
  options.sink = [logger, events, to_desk_event](const service::SlaEvent& e) {
    logger->info("sla event ticket={} target={} kind={} policy={} actions={}", service::FormatTicketNumber(e.ticket),
                 e.target, e.kind, e.policy, e.actions.size());
    if (events != nullptr) events->Publish(to_desk_event(e));
  };
  const size_t policy_count = options.policies.size();  // stored, then the config's not shadowed by them
  // On the start path: Open installs the desk's change listener and the complaint loop's status
  // guard before the first request, and reads the open tickets with their histories, fired events
  // and open complaint tasks (one scan each). Due times are computed by the timer thread after
  // Start (its first RunDue), not here: load_ms says what Open cost this start.
  const auto opening = std::chrono::steady_clock::now();
  TP_ASSIGN_OR_RETURN(sla, service::SlaService::Open(desk, SystemClock::Instance(), std::move(options)));
  const auto load_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - opening).count();
  if (kpi_spans) {  // the stored spans: on the ticket's calendar, with its policy's targets
    service::SlaService* clocks = sla.get();
    kpi_spans->SetMeasure([clocks](const store::TicketRecord& ticket) {
      const service::SlaService::TicketClock c = clocks->ClockOf(ticket);
      return insight::TicketMeasure{c.calendar, c.policy, c.target_calendar, c.policy != nullptr ? c.policy->name : "",
                                    c.tier};
    });
    // The roll-ups: loaded from the stored facts and fed by every change after, both under the
    // desk's lock so that no change falls between them; days in the desk's calendar's zone.
    static const calendar::TimeZone kUtc = calendar::TimeZone::Fixed("UTC", 0);
    const calendar::Calendar* desk_calendar = sla->DefaultCalendar();
    kpi_rollup = std::make_unique<insight::KpiRollup>(desk_calendar != nullptr ? desk_calendar->zone() : kUtc);
    insight::KpiRollup* rollup = kpi_rollup.get();
    Status loaded = desk.WithStore([&](store::Store& store) -> Status {
      TP_RETURN_IF_ERROR(rollup->Load(store.Get<store::KpiRepository>()));
      kpi_spans->SetObserver([rollup](std::span<const insight::KpiFacts> facts) { rollup->Apply(facts); });
      return Status::Ok();
    });
    TP_RETURN_IF_ERROR(loaded);
    context.kpi_rollup = rollup;
    log->info("kpi roll-ups loaded tickets={}", rollup->tickets());
  }
  sla->Start();
  context.sla = sla.get();
  log->info("sla timer started tickets={} policies={} load_ms={}", sla->tracked(), policy_count, load_ms);
  return Status::Ok();
}

Status App::Impl::OpenFollower(const std::string& url) {
  // A small pool: each request holds a store only while it reads.
  const auto pool_size = static_cast<size_t>(std::clamp(config.worker_threads / 2, 2, 8));
  readers = std::make_unique<ReadPool>(url, store_password, pool_size);
  reader_view = std::make_unique<PooledCustomerView>(*readers);
  if (!config.store_read_url.empty()) {
    replica_readers = std::make_unique<ReadPool>(config.store_read_url, store_password, pool_size);
  }
  // Customer reads from a warm in-memory copy fed by the database's change feed, when the store
  // has one (PostgreSQL), through the read replica when one is configured; the pool answers until
  // its first load has finished.
  const pipeline::CustomerView* customers = reader_view.get();
  {
    store::OpenOptions ro;
    ro.read_only = true;
    ro.password = store_password;
    auto source = store::Open(url, ro);
    // A database down at this moment: the copy connects later (PostgreSQL has the feed).
    const bool has_feed = source.ok() ? (*source)->change_feed() != nullptr : url.rfind("postgres", 0) == 0;
    if (has_feed) {
      ReplicaOptions options{.url = url,
                             .read_url = config.store_read_url,
                             .password = store_password,
                             .max_lag = std::chrono::milliseconds(
                                 static_cast<std::int64_t>(config.store_read_max_lag_seconds) * 1000)};
      replica = std::make_unique<Replica>(source.ok() ? std::move(*source) : nullptr, std::move(options),
                                          *reader_view, node, log.get());
      customers = replica.get();
    }
  }
  forwarder = std::make_unique<Forwarder>(*node, app_role.cluster_secret, config.read_timeout_seconds,
                                          TlsEnabled(config), config.tls_peer_ca);
  ReadPool* pool = readers.get();
  context = ServerContext{.config = &config,
                          .engine = nullptr,
                          .metrics = &metrics,
                          .log = log.get(),
                          .jobs = nullptr,
                          .segments = nullptr,
                          .customers = customers,
                          .stats =
                              [pool, replica_pool = replica_readers.get(), state = node] {
                                // The read replica while the warm copy reads it (current enough).
                                if (replica_pool != nullptr && state->Get().reads_on_replica) {
                                  auto s = StoreStats(*replica_pool);
                                  if (s.ok()) return s;
                                }
                                return StoreStats(*pool);
                              },
                          .node = node,
                          .masker = &masker,
                          .audit = nullptr,
                          .fresh_customers = reader_view.get(),
                          .fresh_stats = [pool] { return StoreStats(*pool); }};
  Forwarder* f = forwarder.get();
  router.ForwardWriterRoutes([f](const http::Request& req, const RouteMatch& match) { return f->Forward(req, match.role()); });
  return Status::Ok();
}

Result<std::unique_ptr<App>> App::Start(const ServerConfig& config, const AppRole& role) {
  TP_RETURN_IF_ERROR(ValidateConfig(config));
  if (role.role != NodeRole::kSingle) {
    if (role.node == nullptr) return Status::InvalidArgument("a writer or follower App needs its node's state");
    if (role.cluster_secret.empty()) return Status::InvalidArgument("several nodes need a cluster secret");
    if (role.role == NodeRole::kWriter && role.epoch <= 0) return Status::InvalidArgument("a writer needs its epoch");
  }
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->masker = privacy::Masker(config.masking);
  impl->app_role = role;
  TP_RETURN_IF_ERROR(ParseListen(config.listen, &impl->host, &impl->requested_port));
  impl->log = MakeLogger(config.log_level);
  if (role.node != nullptr) {
    impl->node = role.node;
  } else {
    impl->own_node = std::make_unique<NodeState>("", config.listen);
    impl->node = impl->own_node.get();
  }

  std::string url = StoreUrlFor(config);
  if (url == "memory:") {
    // The key lookups, jobs and the escalation consumer open their own connections: give this
    // process's in-memory store a name they can share.
    url = "memory:serve-" + std::to_string(reinterpret_cast<std::uintptr_t>(impl.get()));
  }
  TP_ASSIGN_OR_RETURN(impl->store_password, StorePassword(config));
  TP_ASSIGN_OR_RETURN(std::optional<privacy::MasterKey> master, impl->LoadMasterKey());
  if (!master && role.role != NodeRole::kFollower) {
    // A new data directory: encryption at rest creates the master key at the store's first open
    // by a writer (wiring/encryption.h); open it once so that everything below has the key.
    store::OpenOptions first;
    first.purpose = "touchpoint serve";
    first.password = impl->store_password;
    first.fence_epoch = role.role == NodeRole::kWriter ? role.epoch : 0;
    TP_ASSIGN_OR_RETURN(auto opened, store::Open(url, first));
    opened.reset();
    TP_ASSIGN_OR_RETURN(master, impl->LoadMasterKey());
  }
  if (master) impl->customer_tokens.emplace(privacy::CustomerTokens::FromMasterKey(*master));
  store::OpenOptions side;  // small writes beside the writer: no writer lock
  side.cache_mib = 4;
  side.password = impl->store_password;
  if (role.role == NodeRole::kFollower) {
    TP_RETURN_IF_ERROR(impl->OpenFollower(url));
  } else {
    TP_RETURN_IF_ERROR(impl->OpenWriter(url, side, master ? &*master : nullptr));
  }
  TP_ASSIGN_OR_RETURN(impl->keys, store::Open(url, side));
  {
    TP_ASSIGN_OR_RETURN(auto login_store, store::Open(url, side));
    impl->hasher = std::make_unique<privacy::PasswordHasher>();
    privacy::LoginOptions login_options;
    login_options.sessions.idle_timeout = Millis{config.session_idle_minutes} * 60'000;
    login_options.sessions.absolute_timeout = Millis{config.session_absolute_hours} * 3'600'000;
    impl->login = std::make_unique<privacy::LoginService>(std::move(login_store), *impl->hasher,
                                                          SystemClock::Instance(), login_options,
                                                          MakeAuthEventSink(impl->log.get(), impl->audit.get()));
    impl->context.auth = impl->login.get();
  }
  impl->context.customer_tokens = impl->customer_tokens ? &*impl->customer_tokens : nullptr;
  RegisterAllRoutes(impl->router, impl->context);

  http::ServerOptions o;
  o.host = impl->host;
  o.port = impl->requested_port;
  o.io_threads = config.io_threads;
  o.worker_threads = config.worker_threads;
  o.max_body_bytes = config.max_batch_bytes;
  o.idle_timeout_seconds = config.idle_timeout_seconds;
  o.read_timeout_seconds = config.read_timeout_seconds;
  o.max_connections = config.max_connections;
  if (TlsEnabled(config)) {
    o.tls = http::TlsOptions{.cert_file = config.tls_cert, .key_file = config.tls_key};
    o.redirect_port = static_cast<uint16_t>(config.tls_redirect_port);
  }
  Impl* raw = impl.get();
  TP_ASSIGN_OR_RETURN(impl->http, http::Server::Start(o, [raw](const http::Request& req) { return raw->Handle(req); }));
  if (impl->data) {
    const auto stats = impl->data->engine->Stats();
    impl->log->info("started role={} epoch={} port={} tls={} io_threads={} worker_threads={} events={} customers={}",
                    NodeRoleName(role.role), role.epoch, impl->http->port(), impl->http->tls(), config.io_threads,
                    config.worker_threads, stats.events, stats.customers);
  } else {
    impl->log->info("started role={} port={} tls={} io_threads={} worker_threads={}", NodeRoleName(role.role),
                    impl->http->port(), impl->http->tls(), config.io_threads, config.worker_threads);
  }
  return std::unique_ptr<App>(new App(std::move(impl)));
}

uint16_t App::port() const { return impl_->http ? impl_->http->port() : 0; }
const std::string& App::host() const { return impl_->host; }
void App::Stop() { impl_->Stop(); }

void App::Wait() {
  std::unique_lock lock(impl_->stop_mu);
  impl_->stopped_cv.wait(lock, [&] { return impl_->stopped; });
}

std::string App::MetricsText() const { return impl_->metrics.Render(""); }

}  // namespace touchpoint::server

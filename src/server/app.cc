// The HTTP API: the composition of the engine, the key store and the route table; authentication
// (API keys with a short cache) and request metrics. The routes are in routes_<module>.cc.
#include <touchpoint/server/app.h>

#include <pthread.h>
#include <signal.h>

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

#include <touchpoint/http/server.h>
#include <touchpoint/insight/job_runner.h>
#include <touchpoint/insight/segment_index.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/wiring/wiring.h>
#include <touchpoint/privacy/keys.h>
#include <touchpoint/privacy/roles.h>
#include <touchpoint/service/escalation.h>
#include <touchpoint/store/api_key_repository.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/segment_repository.h>

#include "server/metrics_internal.h"
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
  std::string host;
  uint16_t requested_port = 0;
  std::shared_ptr<spdlog::logger> log;
  // Saved segments: their own connection, and the index the engine's hook and the jobs' tags keep
  // current (declared before the engine, so that the engine, its hook and the jobs go first).
  std::unique_ptr<store::Store> segments_store;
  std::unique_ptr<insight::SegmentIndex> segments;
  std::unique_ptr<wiring::OpenedEngine> data;  // the engine (owns the writer's store and its lock) and its consumers
  // Analytics jobs: a read-only connection for their scans, their records on a connection of
  // their own, and the runner (stopped before the engine: jobs write tags through it).
  std::unique_ptr<store::Store> job_reader;
  std::unique_ptr<wiring::SerializedJobRepository> job_records;
  std::unique_ptr<wiring::EngineActivitySource> job_source;
  std::unique_ptr<wiring::EngineTagSink> job_sink;
  std::unique_ptr<insight::NotifyingTagSink> job_tags;  // job_sink, then the segments' counts
  std::unique_ptr<insight::JobRunner> jobs;
  std::unique_ptr<http::Server> http;
  Metrics metrics;
  ServerContext context;  // what the handlers use; filled before the routes are registered
  Router router;          // filled before serving, read-only after

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
  // Opens the jobs' connections and starts the runner with the configured schedule; with
  // jobs_at_start, runs the scheduled jobs once and waits for them.
  Status StartJobs(const std::string& url, const store::OpenOptions& side);

 private:
  // The caller's role, or an error response (401).
  std::variant<privacy::Role, http::Response> Authenticate(const http::Request& req);
  std::optional<privacy::Role> LookupKey(const std::string& hash);
};

Status App::Impl::StartJobs(const std::string& url, const store::OpenOptions& side) {
  store::OpenOptions reader;
  reader.read_only = true;
  reader.cache_mib = 16;
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

std::variant<privacy::Role, http::Response> App::Impl::Authenticate(const http::Request& req) {
  const std::string* header = req.Header("authorization");
  if (!header) {
    return http::JsonError(401, "unauthorized",
                           "missing API key: send it as the Basic user name or as a Bearer token");
  }
  std::optional<std::string> key = privacy::KeyFromAuthorization(*header);
  if (!key) return http::JsonError(401, "unauthorized", "malformed Authorization header");
  std::optional<privacy::Role> role = LookupKey(privacy::HashKey(*key));
  if (!role) {
    log->info("auth rejected reason=unknown_or_revoked_key");
    return http::JsonError(401, "unauthorized", "unknown or revoked API key");
  }
  return *role;
}

std::optional<privacy::Role> App::Impl::LookupKey(const std::string& hash) {
  const auto now = Clock::now();
  std::scoped_lock lock(keys_mu);
  if (auto it = key_cache.find(hash); it != key_cache.end() && it->second.expires > now) {
    return it->second.role;
  }
  auto found = keys->Get<store::ApiKeyRepository>().FindByHash(hash);
  if (!found.ok()) {
    // Do not cache a failed lookup: the next request retries.
    log->error("key lookup failed error={}", found.status().message());
    return std::nullopt;
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
  if (http) http->Stop();
  log->info("stopping phase=jobs");
  if (jobs) jobs->Stop();  // cancels a running job; it writes tags through the engine
  log->info("stopping phase=engine");
  if (data) {
    data->engine->Stop();  // drains the hook: the escalation consumer's last flush
    if (data->escalation && data->escalation->lost() > 0) {
      log->error("escalation firings lost count={} (their store refused writes)", data->escalation->lost());
    }
    data.reset();  // closes the store and releases its writer lock
  }
  jobs.reset();
  job_tags.reset();
  job_sink.reset();
  job_source.reset();
  job_records.reset();
  job_reader.reset();
  segments.reset();
  segments_store.reset();
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

Result<std::unique_ptr<App>> App::Start(const ServerConfig& config) {
  TP_RETURN_IF_ERROR(ValidateConfig(config));
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  TP_RETURN_IF_ERROR(ParseListen(config.listen, &impl->host, &impl->requested_port));
  impl->log = MakeLogger(config.log_level);

  std::string url = StoreUrlFor(config);
  if (url == "memory:") {
    // The key lookups, jobs and the escalation consumer open their own connections: give this
    // process's in-memory store a name they can share.
    url = "memory:serve-" + std::to_string(reinterpret_cast<std::uintptr_t>(impl.get()));
  }
  store::OpenOptions writer;
  writer.purpose = "touchpoint serve";
  writer.synchronous = config.synchronous;
  TP_ASSIGN_OR_RETURN(impl->data, wiring::OpenEngine(url, EngineOptionsFor(config), writer, /*escalation=*/true));
  pipeline::Engine& engine = *impl->data->engine;
  store::OpenOptions side;  // small writes beside the writer: no writer lock
  side.cache_mib = 4;
  TP_ASSIGN_OR_RETURN(impl->keys, store::Open(url, side));
  // Saved segments: counted once here, then kept current by the hook and the jobs' tags.
  TP_ASSIGN_OR_RETURN(impl->segments_store, store::Open(url, side));
  TP_ASSIGN_OR_RETURN(impl->segments,
                      insight::SegmentIndex::Open(impl->segments_store->Get<store::SegmentRepository>(), engine,
                                                  SystemClock::Instance()));
  engine.Subscribe(MakeSegmentObserver(*impl->segments));
  TP_RETURN_IF_ERROR(impl->StartJobs(url, side));
  impl->context = ServerContext{.config = &impl->config,
                                .engine = &engine,
                                .metrics = &impl->metrics,
                                .log = impl->log.get(),
                                .jobs = impl->jobs.get(),
                                .segments = impl->segments.get()};
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
  Impl* raw = impl.get();
  TP_ASSIGN_OR_RETURN(impl->http, http::Server::Start(o, [raw](const http::Request& req) { return raw->Handle(req); }));
  const auto stats = impl->data->engine->Stats();
  impl->log->info("started port={} io_threads={} worker_threads={} events={} customers={}", impl->http->port(),
                  config.io_threads, config.worker_threads, stats.events, stats.customers);
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

int RunServe(const ServerConfig& config) {
  if (Status s = ValidateConfig(config); !s.ok()) {
    std::fprintf(stderr, "touchpoint: %s\n", s.message().c_str());
    return 2;
  }
  // Block the stop signals before any thread starts, so every thread inherits the mask and only
  // sigwait below sees them (no async-signal-unsafe handler runs).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto app = App::Start(config);
  if (!app.ok()) {
    std::fprintf(stderr, "touchpoint: %s\n", app.status().message().c_str());
    return app.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  const std::string& host = (*app)->host();
  const bool v6 = host.find(':') != std::string::npos;
  std::printf("touchpoint listening on http://%s%s%s:%u\n", v6 ? "[" : "", host.c_str(), v6 ? "]" : "",
              static_cast<unsigned>((*app)->port()));
  std::fflush(stdout);

  // This thread is the signal thread: it waits for SIGTERM/SIGINT and then stops gracefully.
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  (*app)->Stop();
  return 0;
}

}  // namespace touchpoint::server

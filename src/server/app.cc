// The HTTP API: routing, authentication, the tracking endpoints, reads, health and metrics.
#include <touchpoint/server/app.h>

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <touchpoint/http/server.h>
#include <touchpoint/ingest/parser.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/privacy/keys.h>
#include <touchpoint/privacy/roles.h>
#include <touchpoint/service/escalation.h>
#include <touchpoint/store/api_key_repository.h>
#include <touchpoint/store/open.h>

#include "server/metrics_internal.h"

namespace touchpoint::server {
namespace {

using privacy::Permission;
using privacy::Role;

using Clock = std::chrono::steady_clock;

constexpr std::string_view kCustomersPrefix = "/v1/customers/";

bool IsTrackingType(std::string_view t) {
  return t == "identify" || t == "track" || t == "page" || t == "alias" || t == "screen" || t == "group";
}

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

http::Response Json(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// Maps a Status from below to an HTTP error: bad input is never a 500.
http::Response FromStatus(const Status& s) {
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

}  // namespace

class App::Impl {
 public:
  ServerConfig config;
  std::string host;
  uint16_t requested_port = 0;
  std::shared_ptr<spdlog::logger> log;
  std::unique_ptr<pipeline::Engine> engine;  // owns the writer's store and its lock
  std::shared_ptr<service::EscalationConsumer> escalation;  // subscribed to the engine; may be null
  std::unique_ptr<http::Server> http;
  Metrics metrics;

  std::mutex keys_mu;
  std::unique_ptr<store::Store> keys;  // guarded by keys_mu; a second connection for key lookups
  struct CachedKey {
    std::optional<Role> role;  // nullopt: unknown or revoked
    Clock::time_point expires;
  };
  std::unordered_map<std::string, CachedKey> key_cache;  // by key hash; guarded by keys_mu

  std::mutex stop_mu;
  std::condition_variable stopped_cv;
  bool stopping = false;  // guarded by stop_mu
  bool stopped = false;   // guarded by stop_mu

  http::Response Handle(const http::Request& req);
  void Stop();

 private:
  http::Response Dispatch(const http::Request& req, std::string* route);
  // The caller's role, or an error response (401).
  std::variant<Role, http::Response> Authenticate(const http::Request& req);
  std::optional<Role> LookupKey(const std::string& hash);
  http::Response Track(const http::Request& req, std::string_view type);
  http::Response Batch(const http::Request& req);
  http::Response Customer(const http::Request& req, Role role);
  http::Response Stats();
  std::string Gauges();
};

http::Response App::Impl::Handle(const http::Request& req) {
  const auto start = Clock::now();
  std::string route = "other";
  http::Response res;
  try {
    res = Dispatch(req, &route);
  } catch (const std::exception& e) {
    log->error("request failed route={} error=exception", route);
    res = http::JsonError(500, "internal", "internal error");
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  metrics.RecordRequest(req.method, route, res.status, secs);
  if (res.status >= 500) {
    log->warn("request route={} method={} status={} ms={:.1f}", route, req.method, res.status, secs * 1000);
  } else {
    log->debug("request route={} method={} status={} ms={:.1f}", route, req.method, res.status, secs * 1000);
  }
  return res;
}

http::Response App::Impl::Dispatch(const http::Request& req, std::string* route) {
  const std::string& path = req.path;
  const auto method_not_allowed = [&](std::string_view allow) {
    http::Response r = http::JsonError(405, "method_not_allowed", "use " + std::string(allow) + " for this route");
    r.headers.emplace_back("Allow", std::string(allow));
    return r;
  };
  if (path == "/healthz") {
    *route = "/healthz";
    if (req.method != "GET" && req.method != "HEAD") return method_not_allowed("GET");
    return Json(200, "{\"status\":\"ok\"}");
  }
  if (path == "/metrics") {
    *route = "/metrics";
    if (req.method != "GET" && req.method != "HEAD") return method_not_allowed("GET");
    http::Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics.Render(Gauges());
    return r;
  }
  if (path.rfind("/v1/", 0) == 0) {
    const std::string_view rest = std::string_view(path).substr(4);
    if (IsTrackingType(rest) || rest == "batch") {
      *route = path;
      if (req.method != "POST") return method_not_allowed("POST");
      auto auth = Authenticate(req);
      if (auto* err = std::get_if<http::Response>(&auth)) return std::move(*err);
      if (!privacy::Allows(std::get<Role>(auth), Permission::kTrack)) {
        return http::JsonError(403, "forbidden", "this key's role may not send tracking events");
      }
      if (const std::string* ct = req.Header("content-type")) {
        if (ct->find("json") == std::string::npos && ct->rfind("text/plain", 0) != 0) {
          return http::JsonError(415, "unsupported_media_type", "send the body as application/json");
        }
      }
      return rest == "batch" ? Batch(req) : Track(req, rest);
    }
    if (rest == "stats") {
      *route = "/v1/stats";
      if (req.method != "GET") return method_not_allowed("GET");
      auto auth = Authenticate(req);
      if (auto* err = std::get_if<http::Response>(&auth)) return std::move(*err);
      if (!privacy::Allows(std::get<Role>(auth), Permission::kReadStats)) {
        return http::JsonError(403, "forbidden", "this key's role may not read statistics");
      }
      return Stats();
    }
    if (path.rfind(kCustomersPrefix, 0) == 0 && path.size() > kCustomersPrefix.size()) {
      *route = "/v1/customers/{id}";
      if (req.method != "GET") return method_not_allowed("GET");
      auto auth = Authenticate(req);
      if (auto* err = std::get_if<http::Response>(&auth)) return std::move(*err);
      const Role role = std::get<Role>(auth);
      if (!privacy::Allows(role, Permission::kReadCustomers)) {
        return http::JsonError(403, "forbidden", "this key's role may not read customers");
      }
      return Customer(req, role);
    }
  }
  return http::JsonError(404, "not_found", "no such route (see docs/http-api.md)");
}

std::variant<Role, http::Response> App::Impl::Authenticate(const http::Request& req) {
  const std::string* header = req.Header("authorization");
  if (!header) {
    return http::JsonError(401, "unauthorized",
                           "missing API key: send it as the Basic user name or as a Bearer token");
  }
  std::optional<std::string> key = privacy::KeyFromAuthorization(*header);
  if (!key) return http::JsonError(401, "unauthorized", "malformed Authorization header");
  std::optional<Role> role = LookupKey(privacy::HashKey(*key));
  if (!role) {
    log->info("auth rejected reason=unknown_or_revoked_key");
    return http::JsonError(401, "unauthorized", "unknown or revoked API key");
  }
  return *role;
}

std::optional<Role> App::Impl::LookupKey(const std::string& hash) {
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
  std::optional<Role> role;
  if (found->has_value() && (*found)->revoked_at == 0) {
    auto parsed = privacy::ParseRole((*found)->role);
    if (parsed.ok()) role = *parsed;
  }
  if (key_cache.size() > 10'000) key_cache.clear();  // bounds memory under a flood of bad keys
  key_cache[hash] = CachedKey{role, now + std::chrono::seconds(config.key_cache_seconds)};
  return role;
}

http::Response App::Impl::Track(const http::Request& req, std::string_view type) {
  if (req.body.size() > config.max_message_bytes) {
    return http::JsonError(413, "payload_too_large",
                           "a message may have at most " + std::to_string(config.max_message_bytes) + " bytes");
  }
  thread_local ingest::Parser parser;  // one per worker thread
  auto event = parser.ParseTyped(req.body, type);
  if (!event.ok()) {
    metrics.AddEvents(0, 1, 0);
    return http::JsonError(400, "invalid_message", event.status().message());
  }
  std::vector<ingest::Event> events;
  events.push_back(std::move(*event));
  auto submitted = engine->Submit(std::move(events));
  if (!submitted.ok()) {
    log->error("submit failed error={}", submitted.status().message());
    return http::JsonError(503, "unavailable", "events could not be stored; retry later");
  }
  metrics.AddEvents(submitted->accepted, 0, submitted->duplicates);
  return Json(200, "{\"success\":true}");
}

http::Response App::Impl::Batch(const http::Request& req) {
  thread_local ingest::Parser parser;
  auto items = parser.ParseBatch(req.body);
  if (!items.ok()) {
    return http::JsonError(400, "invalid_batch", items.status().message());
  }
  std::vector<ingest::Event> events;
  events.reserve(items->size());
  nlohmann::ordered_json rejected = nlohmann::ordered_json::array();
  for (size_t i = 0; i < items->size(); ++i) {
    auto& item = (*items)[i];
    std::string reason;
    if (!item.event.ok()) {
      reason = item.event.status().message();
    } else if (item.event->body.size() > config.max_message_bytes) {
      reason = "message exceeds " + std::to_string(config.max_message_bytes) + " bytes";
    } else {
      events.push_back(std::move(*item.event));
      continue;
    }
    rejected.push_back({{"index", i}, {"messageId", item.message_id}, {"reason", reason}});
  }
  if (!events.empty()) {
    auto submitted = engine->Submit(std::move(events));
    if (!submitted.ok()) {
      log->error("submit failed error={}", submitted.status().message());
      return http::JsonError(503, "unavailable", "events could not be stored; retry later");
    }
    metrics.AddEvents(submitted->accepted, static_cast<std::int64_t>(rejected.size()), submitted->duplicates);
  } else {
    metrics.AddEvents(0, static_cast<std::int64_t>(rejected.size()), 0);
  }
  if (rejected.empty()) return Json(200, "{\"success\":true}");
  nlohmann::ordered_json body = {{"success", true}, {"rejected", std::move(rejected)}};
  return Json(200, body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

http::Response App::Impl::Customer(const http::Request& req, Role role) {
  const std::string_view ref = std::string_view(req.path).substr(kCustomersPrefix.size());
  auto json = engine->CustomerJson(ref, 0, !privacy::Allows(role, Permission::kSeePii));
  if (!json.ok()) {
    if (json.status().code() == StatusCode::kNotFound) {
      // The message of the engine may echo the identifier: keep personal data out of responses
      // that could be logged by proxies.
      return http::JsonError(404, "not_found", "no customer with this identifier");
    }
    return FromStatus(json.status());
  }
  return Json(200, std::move(*json));
}

http::Response App::Impl::Stats() {
  const pipeline::EngineStats s = engine->Stats();
  nlohmann::json body = {{"events", s.events},
                         {"customers", s.customers},
                         {"identifiers", s.identifiers},
                         {"messages", s.messages},
                         {"surveys", s.surveys},
                         {"orders", s.orders},
                         {"merges", s.merges}};
  return Json(200, body.dump());
}

std::string App::Impl::Gauges() {
  const pipeline::EngineStats s = engine->Stats();
  std::string out;
  const auto gauge = [&](const char* name, const char* help, std::int64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + " " +
           std::to_string(v) + "\n";
  };
  gauge("touchpoint_store_events", "Events stored.", s.events);
  gauge("touchpoint_store_customers", "Customers (after merges).", s.customers);
  gauge("touchpoint_store_identifiers", "Identifiers known.", s.identifiers);
  return out;
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
  log->info("stopping phase=engine");
  if (engine) {
    engine->Stop();
    escalation.reset();
    engine.reset();  // closes the store and releases its writer lock
  }
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
    // The key lookups and the escalation consumer open their own connections: give this
    // process's in-memory store a name they can share.
    url = "memory:serve-" + std::to_string(reinterpret_cast<std::uintptr_t>(impl.get()));
  }
  store::OpenOptions writer;
  writer.purpose = "touchpoint serve";
  writer.synchronous = config.synchronous;
  TP_ASSIGN_OR_RETURN(auto writer_store, store::Open(url, writer));
  pipeline::EngineOptions engine_options = EngineOptionsFor(config);
  const bool analysed = static_cast<bool>(engine_options.analyze_message);
  TP_ASSIGN_OR_RETURN(impl->engine, pipeline::Engine::Open(std::move(writer_store), std::move(engine_options)));
  store::OpenOptions side;  // small writes beside the writer: no writer lock
  side.cache_mib = 4;
  if (analysed) {
    TP_ASSIGN_OR_RETURN(auto escalation_store, store::Open(url, side));
    auto attached = service::AttachEscalation(*impl->engine, std::move(escalation_store));
    if (attached.ok()) {
      impl->escalation = std::move(*attached);
    } else {
      impl->log->warn("escalation rules unavailable: {}", attached.status().message());
    }
  }
  TP_ASSIGN_OR_RETURN(impl->keys, store::Open(url, side));

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
  const auto stats = impl->engine->Stats();
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

// server/app.h — the Touchpoint HTTP API: a composition of the write pipeline, the API-key store
// and the HTTP transport. Routes are documented in docs/http-api.md.
//
// Thread safety: port() any time; Stop() from any thread except a request handler.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <touchpoint/core/result.h>
#include <touchpoint/server/config.h>
#include <touchpoint/server/node.h>

namespace touchpoint::server {

// How an App serves: alone (kSingle), or as one role of a node among several (server/node.h).
struct AppRole {
  NodeRole role = NodeRole::kSingle;
  // kWriter: the lease's epoch; the writer's store is opened fenced at it (> 0).
  std::int64_t epoch = 0;
  // kWriter, kFollower: the node's state (writer address, write failures); must outlive the App.
  NodeState* node = nullptr;
  // kWriter, kFollower: the cluster secret: a writer accepts forwarded requests carrying it, a
  // follower sends it with the requests it forwards.
  std::string cluster_secret;
};

class App {
 public:
  // kSingle and kWriter: opens the store for writing (the writer lock, or fenced at role.epoch),
  // loads the engine, opens a second connection for API-key lookups, starts the jobs and starts
  // listening. kFollower: opens only what reads need (on first use) and forwards the rest to the
  // writer. kUnavailable when the store is locked by another process or the address is taken;
  // kInvalidArgument for a bad configuration.
  static Result<std::unique_ptr<App>> Start(const ServerConfig& config, const AppRole& role = {});

  ~App();  // calls Stop()
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  uint16_t port() const;
  const std::string& host() const;

  // Graceful: stops accepting, finishes requests in flight (their events become durable), then
  // drains and stops the engine and releases the data directory. Idempotent.
  void Stop();

  // Blocks until Stop() has completed.
  void Wait();

  // Prometheus text exposition of the server's metrics (also served at GET /metrics).
  std::string MetricsText() const;

  class Impl;

 private:
  explicit App(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `touchpoint serve`: starts the Node (server/node.h: one App, or the election loop on a store
// with several nodes), prints "touchpoint listening on http://HOST:PORT" to stdout, waits for
// SIGTERM or SIGINT (a sigwait thread) and stops gracefully. Returns the exit code: 0 after a
// clean stop, 1 when the server cannot start (message on stderr), 2 for a bad configuration.
int RunServe(const ServerConfig& config);

}  // namespace touchpoint::server

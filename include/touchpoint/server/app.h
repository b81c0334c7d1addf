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

namespace touchpoint::server {

class App {
 public:
  // Opens the data directory for writing (takes its lock), opens a second connection for API-key
  // lookups and starts listening. kUnavailable when the directory is locked by another process
  // or the address is taken; kInvalidArgument for a bad configuration.
  static Result<std::unique_ptr<App>> Start(const ServerConfig& config);

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

// `touchpoint serve`: starts the App, prints "touchpoint listening on http://HOST:PORT" to
// stdout, waits for SIGTERM or SIGINT (a sigwait thread) and stops gracefully. Returns the exit
// code: 0 after a clean stop, 1 when the server cannot start (message on stderr), 2 for a bad
// configuration.
int RunServe(const ServerConfig& config);

}  // namespace touchpoint::server

// tp_http_echo_server — a minimal touchpoint::http server for load tests (bench/http/wrk_get.sh).
//   GET  /hello  → {"ok":true}
//   POST /echo   → {"bytes":N}  (N = body size; the body itself is not echoed)
//   anything else → 404 JSON error
// Usage: tp_http_echo_server [port=8089] [io_threads=1] [worker_threads=16]
// Prints "listening on 127.0.0.1:PORT" once ready; stops gracefully on SIGINT/SIGTERM.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <touchpoint/http/server.h>

namespace {

touchpoint::http::Response Handle(const touchpoint::http::Request& request) {
  if (request.method == "GET" && request.path == "/hello") {
    return {.status = 200, .content_type = "application/json", .body = "{\"ok\":true}", .headers = {}};
  }
  if (request.method == "POST" && request.path == "/echo") {
    return {.status = 200,
            .content_type = "application/json",
            .body = "{\"bytes\":" + std::to_string(request.body.size()) + "}",
            .headers = {}};
  }
  return touchpoint::http::JsonError(404, "not_found", "no such route");
}

}  // namespace

int main(int argc, char** argv) {
  touchpoint::http::ServerOptions options;
  options.port = static_cast<uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8089);
  options.io_threads = argc > 2 ? std::atoi(argv[2]) : 1;
  options.worker_threads = argc > 3 ? std::atoi(argv[3]) : 16;

  // Block the stop signals before any thread starts, then wait for them here.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = touchpoint::http::Server::Start(options, Handle);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 1;
  }
  std::printf("listening on %s:%u\n", options.host.c_str(), static_cast<unsigned>((*server)->port()));
  std::fflush(stdout);
  int received = 0;
  sigwait(&signals, &received);
  (*server)->Stop();
  return 0;
}

// http/server.h — a small asynchronous HTTP/1.1 server (Boost.Beast behind this interface).
//
// Connections are served by a few I/O threads; an idle keep-alive connection costs only a
// pending wait on its socket. Handlers are plain synchronous functions that may block: they
// run on a separate worker pool, never on an I/O thread, and their responses are written back
// on the connection's strand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/status.h>

namespace touchpoint::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded path without the query, e.g. "/v1/customers/phone:+8613812345678"
  std::string query;   // raw query string without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in wire order
  std::string body;    // de-chunked
  std::string remote_address;  // peer IP ("127.0.0.1", "::1")
  uint16_t remote_port = 0;    // peer TCP port (distinguishes connections in tests and logs)
  int version = 11;            // 10 for HTTP/1.0, 11 for HTTP/1.1
  bool tls = false;            // the request arrived over TLS (HTTPS)

  // Returns the first header with this lower-case name, or nullptr when absent.
  const std::string* Header(std::string_view lower_name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";  // empty: no Content-Type header
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Called on a worker thread; may block. Exceptions become a 500 JSON error (last resort).
using Handler = std::function<Response(const Request&)>;

// HTTPS: the certificate chain and private key, PEM files. The key file must not be readable or
// writable by group or others (chmod 600), like every secret file of Touchpoint.
struct TlsOptions {
  std::string cert_file;  // the server certificate first, then intermediates
  std::string key_file;   // its private key (unencrypted PEM)
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;                 // 0 = an ephemeral port (tests)
  int io_threads = 1;
  int worker_threads = 16;
  size_t max_body_bytes = 512 * 1024;   // larger body → 413 JSON error, connection closed after
  int idle_timeout_seconds = 75;        // keep-alive idle connections closed after this
  int read_timeout_seconds = 30;        // a started request must complete within this
  size_t max_connections = 10000;       // further connections are closed at once
  std::optional<TlsOptions> tls;        // set: HTTPS only on `port`
  // With tls: also listen on host:redirect_port in plain HTTP and answer every request with
  // 308 Permanent Redirect to https://<Host header's host>:<port><path>?<query>. 0: no such
  // listener. Only the redirect is ever served there.
  uint16_t redirect_port = 0;
};

// Thread-safe. Stop() may be called from any thread (e.g. a signal watcher or a handler).
class Server {
 public:
  // Binds and listens, then serves until Stop(). Fails with kUnavailable when the address is
  // taken (SO_REUSEPORT is never set), kInvalidArgument for a bad host or options; with TLS,
  // kInvalidArgument when the certificate or key cannot be loaded or do not belong together,
  // kFailedPrecondition when the key file is readable by group or others, kNotFound when
  // a file is missing (the message names the file, never its content).
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options, Handler handler);

  ~Server();  // calls Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound port (the ephemeral one when options.port was 0).
  uint16_t port() const;

  // The bound port of the plain redirect listener (0 when there is none).
  uint16_t redirect_port() const;

  // Whether `port()` speaks HTTPS.
  bool tls() const;

  // Graceful stop: stops accepting (new connections are refused), lets requests in flight
  // finish and send their responses (with Connection: close), closes idle connections, and
  // joins all threads. Idempotent; concurrent callers all return once the stop is complete.
  // From inside a handler it only starts the stop (on another thread) and returns at once;
  // that handler's response is still sent. Wait() or ~Server() then wait for the end.
  void Stop();

  // Blocks until Stop() has completed (for `serve`).
  void Wait();

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The error body used everywhere: {"error":{"code":"...","message":"..."}} with JSON escaping.
Response JsonError(int status, std::string_view code, std::string_view message);

// Escapes `text` for use inside a JSON string literal (quotes not included).
std::string JsonEscape(std::string_view text);

}  // namespace touchpoint::http

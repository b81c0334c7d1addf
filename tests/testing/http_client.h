// tests/testing/http_client.h — HTTP client helpers for integration tests of any module.
//
// HttpClient: a keep-alive client (cpp-httplib underneath) for ordinary requests.
// RawConnection: a blocking TCP socket for what a polite client cannot do (idle connections,
// pipelining, malformed requests, Expect: 100-continue, watching the server close).
// Neither class is thread-safe; use one per thread. Link target: tp_testing_http.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/status.h>

namespace touchpoint::testing {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // names lower-cased
  std::string body;
  // The first header with this lower-case name, or nullptr.
  const std::string* Header(std::string_view lower_name) const;
};

class HttpClient {
 public:
  // Connects lazily to host:port and keeps the connection alive between requests.
  explicit HttpClient(uint16_t port, std::string host = "127.0.0.1");
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `path` is sent exactly as given (already %-encoded, with its query).
  // Fail with kUnavailable when the server cannot be reached or the connection breaks.
  Result<HttpResponse> Get(const std::string& path, const HttpHeaders& headers = {});
  Result<HttpResponse> Post(const std::string& path, const std::string& body,
                            const std::string& content_type = "application/json",
                            const HttpHeaders& headers = {});
  Result<HttpResponse> Send(const std::string& method, const std::string& path,
                            const std::string& body, const std::string& content_type,
                            const HttpHeaders& headers = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A blocking TCP connection (TCP_NODELAY). Move-only; closes its socket on destruction.
class RawConnection {
 public:
  // Fails with kUnavailable when the connection is refused.
  static Result<RawConnection> Connect(uint16_t port, const std::string& host = "127.0.0.1");

  RawConnection(RawConnection&& other) noexcept;
  RawConnection& operator=(RawConnection&& other) noexcept;
  ~RawConnection();

  // Writes all of `bytes`. kUnavailable when the peer has gone.
  Status Send(std::string_view bytes);

  // Reads one HTTP/1.x response: status line, headers, then a Content-Length, chunked or
  // read-until-close body (none for 1xx/204/304). An interim "100 Continue" is returned as a
  // response of its own. kUnavailable on timeout or when the peer closes first.
  Result<HttpResponse> ReadResponse(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // True when the peer closes (EOF or reset) within `timeout`; buffered data is discarded.
  bool WaitForClose(std::chrono::milliseconds timeout);

  // Half-closes the sending side (the server sees EOF).
  void ShutdownWrite();

  int fd() const { return fd_; }

 private:
  explicit RawConnection(int fd) : fd_(fd) {}
  // Reads more bytes into buffer_ before `deadline`; false on timeout, EOF or error.
  bool Fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;  // received, not yet consumed
};

// Opens `count` TCP connections that send nothing (idle keep-alive load). Raise RLIMIT_NOFILE
// first for large counts (RaiseFileLimit). Fails with the first connection error.
Result<std::vector<RawConnection>> OpenIdleConnections(uint16_t port, size_t count);

// Raises the soft RLIMIT_NOFILE to at least `wanted` (up to the hard limit); returns the limit.
size_t RaiseFileLimit(size_t wanted);

}  // namespace touchpoint::testing

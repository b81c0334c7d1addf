#include "testing/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <httplib.h>

namespace touchpoint::testing {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return s;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

const std::string* HttpResponse::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

// ---- HttpClient ----

struct HttpClient::Impl {
  Impl(const std::string& host, uint16_t port) : client(host, port) {
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);
    client.set_url_encode(false);  // send the path exactly as the test wrote it
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(30, 0);
    client.set_write_timeout(30, 0);
  }
  httplib::Client client;
};

HttpClient::HttpClient(uint16_t port, std::string host)
    : impl_(std::make_unique<Impl>(host, port)) {}

HttpClient::~HttpClient() = default;

Result<HttpResponse> HttpClient::Get(const std::string& path, const HttpHeaders& headers) {
  return Send("GET", path, "", "", headers);
}

Result<HttpResponse> HttpClient::Post(const std::string& path, const std::string& body,
                                      const std::string& content_type,
                                      const HttpHeaders& headers) {
  return Send("POST", path, body, content_type, headers);
}

Result<HttpResponse> HttpClient::Send(const std::string& method, const std::string& path,
                                      const std::string& body, const std::string& content_type,
                                      const HttpHeaders& headers) {
  httplib::Request request;
  request.method = method;
  request.path = path;
  for (const auto& [name, value] : headers) request.headers.emplace(name, value);
  if (!content_type.empty()) request.headers.emplace("Content-Type", content_type);
  request.body = body;
  httplib::Result result = impl_->client.send(request);
  if (!result) {
    return Status::Unavailable(method + " " + path + ": " + httplib::to_string(result.error()));
  }
  HttpResponse response;
  response.status = result->status;
  for (const auto& [name, value] : result->headers) response.headers.emplace_back(Lower(name), value);
  response.body = result->body;
  return response;
}

// ---- RawConnection ----

Result<RawConnection> RawConnection::Connect(uint16_t port, const std::string& host) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return Status::InvalidArgument("not an IPv4 address: " + host);
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Unavailable(std::string("socket: ") + std::strerror(errno));
  RawConnection connection(fd);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return Status::Unavailable(std::string("connect: ") + std::strerror(errno));
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return connection;
}

RawConnection::RawConnection(RawConnection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)) {}

RawConnection& RawConnection::operator=(RawConnection&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

Status RawConnection::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Unavailable(std::string("send: ") + std::strerror(errno));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

void RawConnection::ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

bool RawConnection::Fill(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    char chunk[64 * 1024];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }
}

Result<HttpResponse> RawConnection::ReadResponse(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill(deadline)) return Status::Unavailable("no complete response head (timeout or closed)");
  }
  const std::string head = buffer_.substr(0, head_end);
  buffer_.erase(0, head_end + 4);

  HttpResponse response;
  size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  // "HTTP/1.1 200 OK"
  if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) {
    return Status::InvalidArgument("bad status line: " + status_line);
  }
  response.status = std::atoi(status_line.c_str() + 9);
  while (line_end != std::string::npos) {
    const size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end == std::string::npos ? std::string::npos
                                                                              : line_end - start);
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    response.headers.emplace_back(Lower(line.substr(0, colon)), Trim(line.substr(colon + 1)));
  }
  if (response.status < 200 || response.status == 204 || response.status == 304) return response;

  if (const std::string* length = response.Header("content-length")) {
    const size_t n = static_cast<size_t>(std::stoull(*length));
    while (buffer_.size() < n) {
      if (!Fill(deadline)) return Status::Unavailable("response body truncated");
    }
    response.body = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return response;
  }
  const std::string* encoding = response.Header("transfer-encoding");
  if (encoding != nullptr && Lower(*encoding).find("chunked") != std::string::npos) {
    for (;;) {
      size_t eol;
      while ((eol = buffer_.find("\r\n")) == std::string::npos) {
        if (!Fill(deadline)) return Status::Unavailable("chunk size truncated");
      }
      const size_t size = std::stoull(buffer_.substr(0, eol), nullptr, 16);
      while (buffer_.size() < eol + 2 + size + 2) {
        if (!Fill(deadline)) return Status::Unavailable("chunk truncated");
      }
      response.body.append(buffer_, eol + 2, size);
      buffer_.erase(0, eol + 2 + size + 2);
      if (size == 0) return response;  // no trailers expected from our server
    }
  }
  while (Fill(deadline)) {
  }
  response.body = std::move(buffer_);
  buffer_.clear();
  return response;
}

bool RawConnection::WaitForClose(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    char chunk[16 * 1024];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n == 0) return true;
    if (n < 0 && errno != EINTR && errno != EAGAIN) return true;  // reset counts as closed
    buffer_.clear();
  }
}

Result<std::vector<RawConnection>> OpenIdleConnections(uint16_t port, size_t count) {
  std::vector<RawConnection> connections;
  connections.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    auto connection = RawConnection::Connect(port);
    if (!connection.ok()) {
      return connection.status().WithContext("idle connection " + std::to_string(i));
    }
    connections.push_back(std::move(connection).value());
  }
  return connections;
}

size_t RaiseFileLimit(size_t wanted) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < wanted) {
    limit.rlim_cur = std::min<rlim_t>(static_cast<rlim_t>(wanted), limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  return static_cast<size_t>(limit.rlim_cur);
}

}  // namespace touchpoint::testing

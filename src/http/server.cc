// The asynchronous HTTP/1.1 server: Boost.Asio + Boost.Beast, kept in this one translation unit.
//
// Threads: `io_threads` run the io_context (accept, read, write, timers); every connection has
// its own strand, so a Session's members are only touched from that strand, except `request_`
// and `response_` which the worker pool owns between Dispatch() and WriteResponse() (the
// hand-over goes through the pool's mutex and an asio post, which order the accesses).
//
// A connection cycles through phases:
//   kIdle     waiting for the first byte of a request: only a socket wait + the idle timer
//   kReading  header then body, bounded by read_timeout_seconds from the first byte
//   kHandling the handler runs on a worker thread
//   kWriting  the response is written on the strand; then back to kIdle or closed
//   kClosing  error response written / lingering close / closed
//
// TLS: a Session is a template over its stream: beast::tcp_stream (plain) or
// beast::ssl_stream<beast::tcp_stream>. A TLS connection first completes its handshake (bounded
// by read_timeout_seconds); while idle it keeps a read pending instead of a socket wait, since
// OpenSSL may already hold decrypted bytes of the next request. Connections close without a
// close_notify (every response is delimited by Content-Length or chunking, so truncation is
// detectable without it). The redirect listener serves plain Sessions whose answers are built
// on the strand (no handler, no worker).
#include <touchpoint/http/server.h>

// GCC 12 + -std=c++20 + Boost 1.74: asio/awaitable.hpp needs std::exchange declared first.
#include <utility>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <touchpoint/core/strings.h>

#include "http/target_internal.h"
#include "http/tls_internal.h"
#include "http/worker_pool_internal.h"

namespace touchpoint::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
namespace ssl = boost::asio::ssl;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

namespace {

constexpr std::string_view kServerName = "touchpoint";
constexpr uint32_t kHeaderLimit = 16 * 1024;
constexpr size_t kLingerDrainLimit = 16 * 1024 * 1024;  // bytes discarded after an error reply
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kIdleBufferKeep = 16 * 1024;  // idle connections keep at most this much buffer
constexpr size_t kBodyReadChunk = 64 * 1024;   // read size while a body is arriving
constexpr size_t kTlsIdleRead = 16 * 1024;     // an idle TLS connection's pending read (one record)

// The Server::Impl whose worker or I/O thread this is (nullptr elsewhere): Stop() from such a
// thread must not wait for the threads to finish.
thread_local const void* tls_owner = nullptr;

// Formats the Date header once per second per thread.
const std::string& CachedHttpDate() {
  thread_local std::time_t cached_second = -1;
  thread_local std::string cached;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    cached_second = now;
    cached = internal::FormatHttpDate(now);
  }
  return cached;
}


}  // namespace

// What the server needs of any connection, whatever its stream.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Closes the connection if no request is under way (posted by Server::Stop()).
  virtual void StopIfIdle() = 0;
};

class Server::Impl {
 public:
  Impl(const ServerOptions& options, Handler handler)
      : options_(options),
        handler_(std::move(handler)),
        acceptor_(net::make_strand(ioc_)),
        accept_retry_timer_(acceptor_.get_executor()),
        redirect_acceptor_(acceptor_.get_executor()),
        redirect_retry_timer_(acceptor_.get_executor()),
        tls_context_(ssl::context::tls_server),
        work_guard_(net::make_work_guard(ioc_)) {}

  Status Listen();
  void Run();  // starts the accept loop and the threads
  void Stop();
  void StopNow();  // REQUIRES: stop_started_ was set by this caller
  void Wait() {
    std::unique_lock lock(stop_mu_);
    stop_cv_.wait(lock, [this] { return stopped_; });
  }
  uint16_t port() const { return port_; }
  uint16_t redirect_port() const { return redirect_port_; }
  bool tls() const { return options_.tls.has_value(); }
  ssl::context& tls_context() { return tls_context_; }

  const ServerOptions& options() const { return options_; }
  const Handler& handler() const { return handler_; }
  internal::WorkerPool& workers() { return *workers_; }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  // Session registry: Register on start, Unregister from the destructor.
  void Register(SessionBase* session, std::weak_ptr<SessionBase> weak);
  void Unregister(SessionBase* session);

 private:
  // Binds `acceptor` to host:port; `what` names it in errors; the bound port goes to *bound.
  Status Bind(tcp::acceptor& acceptor, uint16_t port, std::string_view what, uint16_t* bound);
  void DoAccept(tcp::acceptor& acceptor, bool redirect);
  void OnAccept(tcp::acceptor& acceptor, bool redirect, beast::error_code ec, tcp::socket socket);

  const ServerOptions options_;
  const Handler handler_;
  net::io_context ioc_;  // declared before every I/O object so it is destroyed last
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_timer_;
  tcp::acceptor redirect_acceptor_;  // open only with options_.redirect_port
  net::steady_timer redirect_retry_timer_;
  ssl::context tls_context_;         // configured only with options_.tls; read-only after Listen()
  net::executor_work_guard<net::io_context::executor_type> work_guard_;
  std::unique_ptr<internal::WorkerPool> workers_;
  std::vector<std::thread> io_threads_;
  uint16_t port_ = 0;
  uint16_t redirect_port_ = 0;

  std::atomic<bool> stopping_{false};
  std::mutex sessions_mu_;
  std::condition_variable sessions_cv_;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions_;  // guarded by sessions_mu_

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_started_ = false;  // guarded by stop_mu_
  bool stopped_ = false;       // guarded by stop_mu_
};

// One TCP connection over `Stream` (PlainStream or TlsStream). Owned by shared_ptrs held in its
// pending operations (the asio idiom: the connection lives exactly as long as something is
// pending on it). `redirect`: a connection of the plain redirect listener.
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Session(Server::Impl& server, tcp::socket socket, tcp::endpoint peer, bool redirect)
      : server_(server),
        stream_(MakeStream(server, std::move(socket))),
        idle_timer_(stream_.get_executor()),
        remote_address_(peer.address().to_string()),
        remote_port_(peer.port()),
        redirect_(redirect) {}

  ~Session() override { server_.Unregister(this); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Called once from the acceptor after construction.
  void Start() {
    server_.Register(this, this->weak_from_this());
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      self->StartIdleTimer();
      if constexpr (kTls) {
        self->Handshake();
      } else {
        self->WaitForRequest();
      }
    });
  }

  // Posted by Server::Stop(): closes the connection if no request is under way.
  void StopIfIdle() override {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->phase_ == Phase::kIdle || self->phase_ == Phase::kHandshake) self->Close();
    });
  }

 private:
  enum class Phase { kHandshake, kIdle, kReading, kHandling, kWriting, kClosing };

  static Stream MakeStream(Server::Impl& server, tcp::socket socket) {
    if constexpr (kTls) {
      return Stream(std::move(socket), server.tls_context());
    } else {
      (void)server;
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  // TLS: the server side of the handshake, bounded by the read timeout. A client that speaks
  // plain HTTP here is told so in clear text; any other failure (old protocol version, no
  // common cipher, a scanner) just closes the connection.
  void Handshake() {
    if constexpr (kTls) {
      phase_ = Phase::kHandshake;
      Lowest().expires_after(std::chrono::seconds(server_.options().read_timeout_seconds));
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) { self->OnHandshake(ec); });
    }
  }

  void OnHandshake(beast::error_code ec) {
    if (phase_ != Phase::kHandshake) return;  // closed meanwhile (stop, idle timer)
    if (!ec) {
      Lowest().expires_never();
      WaitForRequest();
      return;
    }
    if (ec.category() == net::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTP_REQUEST) {
      phase_ = Phase::kClosing;
      static const std::string kAnswer = PlainHttpToTlsAnswer();
      net::async_write(Lowest(), net::buffer(kAnswer),
                       [self = this->shared_from_this()](beast::error_code, size_t) {
                         beast::error_code ignored;
                         self->Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
                         self->drain_raw_ = true;
                         self->LingerClose();
                       });
      return;
    }
    Close();
  }

  static std::string PlainHttpToTlsAnswer() {
    const Response r = JsonError(400, "tls_required", "this port speaks HTTPS: use an https:// URL");
    return "HTTP/1.1 400 Bad Request\r\nServer: touchpoint\r\nContent-Type: application/json\r\n"
           "Connection: close\r\nContent-Length: " +
           std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
  }

  void WaitForRequest() {
    phase_ = Phase::kIdle;
    if (server_.stopping()) {
      Close();
      return;
    }
    if (buffer_.size() > 0) {  // a pipelined request is already buffered
      ReadHeader();
      return;
    }
    if (buffer_.capacity() > kIdleBufferKeep) buffer_.shrink_to_fit();
    idle_deadline_ = Clock::now() + IdleTimeout();
    if constexpr (kTls) {
      // OpenSSL (or the SSL stream's input buffer) may hold the next request already: a socket
      // wait would not see it. Read at least one byte instead.
      stream_.async_read_some(buffer_.prepare(kTlsIdleRead),
                              [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                                self->buffer_.commit(n);
                                self->OnReadable(ec);
                              });
    } else {
      Lowest().socket().async_wait(tcp::socket::wait_read,
                                   beast::bind_front_handler(&Session::OnReadable, this->shared_from_this()));
    }
  }

  using Clock = net::steady_timer::clock_type;
  Clock::duration IdleTimeout() const {
    return std::chrono::seconds(server_.options().idle_timeout_seconds);
  }

  // One timer per connection, re-armed only when it fires (not per request): it closes the
  // connection when it has been idle since idle_deadline_; otherwise it sleeps again.
  void StartIdleTimer() {
    idle_timer_.expires_after(IdleTimeout());
    idle_timer_.async_wait(beast::bind_front_handler(&Session::OnIdleTimer, this->shared_from_this()));
  }

  void OnIdleTimer(beast::error_code ec) {
    if (ec == net::error::operation_aborted || phase_ == Phase::kClosing) return;
    const auto now = Clock::now();
    if (phase_ == Phase::kIdle && now >= idle_deadline_) {
      Close();
      return;
    }
    idle_timer_.expires_at(phase_ == Phase::kIdle ? idle_deadline_ : now + IdleTimeout());
    idle_timer_.async_wait(beast::bind_front_handler(&Session::OnIdleTimer, this->shared_from_this()));
  }

  void OnReadable(beast::error_code ec) {
    if (phase_ != Phase::kIdle) return;  // closed meanwhile
    if (ec) {
      Close();
      return;
    }
    ReadHeader();
  }

  void ReadHeader() {
    phase_ = Phase::kReading;
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(server_.options().max_body_bytes);
    Lowest().expires_after(std::chrono::seconds(server_.options().read_timeout_seconds));
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::OnHeader, this->shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      OnReadError(ec);
      return;
    }
    const auto length = parser_->content_length();
    if (length && *length > server_.options().max_body_bytes) {
      RejectTooLarge();
      return;
    }
    if (parser_->is_done()) {
      Dispatch();
      return;
    }
    const auto& header = parser_->get();
    const auto expect = header[bhttp::field::expect];
    if (header.version() >= 11 && beast::iequals(expect, "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue),
                       [self = this->shared_from_this()](beast::error_code wec, size_t) {
                         if (wec) {
                           self->Close();
                           return;
                         }
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    // Beast reads at most the buffer's free capacity (min 512 bytes) per read_some; without
    // this a 500 KB body takes ~1000 reads instead of 8 (the "92 req/s" naive Beast server).
    buffer_.reserve(buffer_.size() + kBodyReadChunk);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::OnBody, this->shared_from_this()));
  }

  void OnBody(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      OnReadError(ec);
      return;
    }
    Dispatch();
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      RejectTooLarge();
    } else if (ec == bhttp::error::header_limit) {
      WriteErrorAndClose(JsonError(431, "header_too_large", "request header fields are too large"));
    } else if (&ec.category() == &bhttp::make_error_code(bhttp::error::bad_method).category() &&
               ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      WriteErrorAndClose(JsonError(400, "bad_request", "malformed HTTP request"));
    } else {
      // end of stream, reset, timeout, or the server closing us: nothing to answer.
      Close();
    }
  }

  void RejectTooLarge() {
    WriteErrorAndClose(JsonError(
        413, "payload_too_large",
        "request body exceeds " + std::to_string(server_.options().max_body_bytes) + " bytes"));
  }

  // Moves the parsed request into request_ and hands it to a worker thread.
  void Dispatch() {
    phase_ = Phase::kHandling;
    Lowest().expires_never();
    auto message = parser_->release();
    parser_.reset();
    keep_alive_ = message.keep_alive();

    request_ = Request{};
    request_.method = std::string(message.method_string());
    request_.version = static_cast<int>(message.version());
    version_ = request_.version == 10 ? 10 : 11;
    request_.remote_address = remote_address_;
    request_.remote_port = remote_port_;
    request_.tls = kTls;
    if (redirect_) {
      // Answered here on the strand: the redirect listener runs no handler.
      const auto host = message.find(bhttp::field::host);
      const std::string host_value = host == message.end() ? std::string() : std::string(host->value());
      Response r;
      r.status = 308;
      r.content_type = "text/plain";
      const std::string location = internal::HttpsRedirectLocation(
          host == message.end() ? nullptr : &host_value, server_.options().host, server_.port(),
          std::string_view(message.target().data(), message.target().size()));
      r.body = "see " + location + "\n";
      r.headers.emplace_back("Location", location);
      keep_alive_ = false;  // the client reconnects over TLS anyway
      request_ = Request{};
      BuildResponse(std::move(r), version_, message.method() == bhttp::verb::head);
      WriteResponse();
      return;
    }
    auto target = internal::ParseTarget(std::string_view(message.target().data(), message.target().size()));
    if (!target.ok()) {
      keep_alive_ = false;
      WriteErrorAndClose(JsonError(400, "bad_request", target.status().message()));
      return;
    }
    request_.path = std::move(target->path);
    request_.query = std::move(target->query);
    request_.headers.reserve(static_cast<size_t>(std::distance(message.begin(), message.end())));
    for (const auto& field : message) {
      std::string name(field.name_string());
      AsciiLowerInPlace(&name);
      request_.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    request_.body = std::move(message.body());

    server_.workers().Post([self = this->shared_from_this()]() mutable {
      Session* session = self.get();
      session->RunHandler();
      auto executor = session->stream_.get_executor();
      net::post(executor, [s = std::move(self)] { s->WriteResponse(); });
    });
  }

  // Worker thread: runs the handler and prepares response_ (serialisation-ready).
  void RunHandler() {
    Response response;
    try {
      response = server_.handler()(request_);
    } catch (const std::exception&) {
      // Never log e.what(), bodies or paths: they may carry personal data.
      std::fprintf(stderr, "touchpoint http: %s handler threw an exception; answered 500\n",
                   request_.method.c_str());
      response = JsonError(500, "internal", "internal server error");
    } catch (...) {
      std::fprintf(stderr, "touchpoint http: %s handler threw a non-exception; answered 500\n",
                   request_.method.c_str());
      response = JsonError(500, "internal", "internal server error");
    }
    const bool head = request_.method == "HEAD";
    request_ = Request{};  // free the body now, not when the connection goes idle
    try {
      BuildResponse(std::move(response), version_, head);
    } catch (const std::exception&) {
      std::fprintf(stderr, "touchpoint http: invalid response from handler; answered 500\n");
      BuildResponse(JsonError(500, "internal", "internal server error"), 11);
    }
  }

  // `head`: the answer to a HEAD request: the headers of the GET answer (Content-Length
  // included) without its body (RFC 9110 §9.3.2).
  void BuildResponse(Response response, int version, bool head = false) {
    response_ = {};
    int status = response.status;
    if (status < 200 || status > 599) status = 500;  // 1xx finals make no sense here
    response_.version(static_cast<unsigned>(version));
    response_.result(static_cast<unsigned>(status));
    response_.set(bhttp::field::server, beast::string_view(kServerName.data(), kServerName.size()));
    response_.set(bhttp::field::date, CachedHttpDate());
    if (!response.content_type.empty() && internal::IsHeaderValue(response.content_type)) {
      response_.set(bhttp::field::content_type, response.content_type);
    }
    for (auto& [name, value] : response.headers) {
      if (internal::IsHeaderName(name) && internal::IsHeaderValue(value)) {
        response_.insert(name, value);
      }
    }
    if (status == 204 || status == 304) response.body.clear();
    if (head) {
      response_.content_length(response.body.size());
      return;
    }
    response_.body() = std::move(response.body);
    response_.prepare_payload();
  }

  // Strand: writes response_ and continues with the next request or closes.
  void WriteResponse() {
    phase_ = Phase::kWriting;
    const bool keep = keep_alive_ && !server_.stopping();
    response_.keep_alive(keep);
    Lowest().expires_after(std::chrono::seconds(server_.options().read_timeout_seconds));
    bhttp::async_write(stream_, response_,
                       [self = this->shared_from_this(), keep](beast::error_code ec, size_t) {
                         self->OnWrite(keep, ec);
                       });
  }

  void OnWrite(bool keep, beast::error_code ec) {
    response_ = {};
    if (ec) {
      Close();
      return;
    }
    if (!keep || server_.stopping()) {
      beast::error_code ignored;
      if (buffer_.size() == 0 && Lowest().socket().available(ignored) == 0) {
        Close();  // nothing unread: closing sends a plain FIN
        return;
      }
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      LingerClose();  // pipelined bytes are unread: avoid a RST that could eat the response
      return;
    }
    Lowest().expires_never();
    WaitForRequest();
  }

  // Answers an error and closes the connection without reading the rest of the request.
  void WriteErrorAndClose(Response response) {
    phase_ = Phase::kClosing;
    parser_.reset();
    BuildResponse(std::move(response), 11);
    response_.keep_alive(false);
    Lowest().expires_after(std::chrono::seconds(server_.options().read_timeout_seconds));
    bhttp::async_write(stream_, response_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      self->response_ = {};
      if (ec) {
        self->Close();
        return;
      }
      beast::error_code ignored;
      self->Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      self->LingerClose();
    });
  }

  // After our FIN, discard what the client still sends (bounded in time and bytes) so that the
  // kernel does not answer it with a RST that could destroy our response before it is read.
  void LingerClose() {
    phase_ = Phase::kClosing;
    buffer_.clear();
    Lowest().expires_after(kLingerTime);
    DrainSome();
  }

  void DrainSome() {
    buffer_.clear();
    auto on_read = [self = this->shared_from_this()](beast::error_code ec, size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kLingerDrainLimit) {
        self->Close();
        return;
      }
      self->DrainSome();
    };
    // After a failed TLS handshake there is no TLS session to read through: drain the socket.
    if (drain_raw_) {
      Lowest().async_read_some(buffer_.prepare(64 * 1024), std::move(on_read));
    } else {
      stream_.async_read_some(buffer_.prepare(64 * 1024), std::move(on_read));
    }
  }

  void Close() {
    phase_ = Phase::kClosing;
    idle_timer_.cancel();
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close();
  }

  Server::Impl& server_;
  Stream stream_;  // its executor is this connection's strand
  net::steady_timer idle_timer_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request request_;                                // worker-owned while kHandling
  bhttp::response<bhttp::string_body> response_;  // worker-built, strand-written
  Phase phase_ = Phase::kIdle;
  bool keep_alive_ = true;
  int version_ = 11;
  size_t drained_ = 0;
  bool drain_raw_ = false;  // LingerClose reads the TCP socket, not the (failed) TLS session
  Clock::time_point idle_deadline_;
  const std::string remote_address_;
  const uint16_t remote_port_;
  const bool redirect_;
};

// ---- Server::Impl ----

Status Server::Impl::Bind(tcp::acceptor& acceptor, uint16_t port, std::string_view what, uint16_t* bound) {
  beast::error_code ec;
  const auto address = net::ip::make_address(options_.host, ec);
  if (ec) return Status::InvalidArgument("http: bad listen address '" + options_.host + "'");
  const tcp::endpoint endpoint(address, port);
  const std::string where = std::string(what) + options_.host + ":" + std::to_string(port);
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return Status::Unavailable("http: cannot open socket for " + where + ": " + ec.message());
  // SO_REUSEADDR only (restart while old connections sit in TIME_WAIT); never SO_REUSEPORT,
  // which would let a second server share the port silently.
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  acceptor.bind(endpoint, ec);
  if (ec) return Status::Unavailable("http: cannot bind " + where + ": " + ec.message());
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("http: cannot listen on " + where + ": " + ec.message());
  *bound = acceptor.local_endpoint(ec).port();
  if (ec) return Status::Unavailable("http: cannot read the bound port: " + ec.message());
  return Status::Ok();
}

Status Server::Impl::Listen() {
  if (options_.tls) {
    TP_RETURN_IF_ERROR(internal::ConfigureServerTls(tls_context_.native_handle(), *options_.tls));
  } else if (options_.redirect_port != 0) {
    return Status::InvalidArgument("http: a redirect to HTTPS needs TLS on the main port");
  }
  TP_RETURN_IF_ERROR(Bind(acceptor_, options_.port, "", &port_));
  if (options_.tls && options_.redirect_port != 0) {
    if (options_.redirect_port == port_) {
      return Status::InvalidArgument("http: the redirect port must differ from the HTTPS port");
    }
    TP_RETURN_IF_ERROR(Bind(redirect_acceptor_, options_.redirect_port, "redirect listener ", &redirect_port_));
  }
  return Status::Ok();
}

void Server::Impl::Run() {
  workers_ = std::make_unique<internal::WorkerPool>(options_.worker_threads,
                                                      [this] { tls_owner = this; });
  net::dispatch(acceptor_.get_executor(), [this] {
    DoAccept(acceptor_, false);
    if (redirect_acceptor_.is_open()) DoAccept(redirect_acceptor_, true);
  });
  io_threads_.reserve(static_cast<size_t>(options_.io_threads));
  for (int i = 0; i < options_.io_threads; ++i) {
    io_threads_.emplace_back([this] {
      tls_owner = this;
      for (;;) {
        try {
          ioc_.run();
          return;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "touchpoint http: I/O thread caught: %s\n", e.what());
        }
      }
    });
  }
}

void Server::Impl::DoAccept(tcp::acceptor& acceptor, bool redirect) {
  acceptor.async_accept(net::make_strand(ioc_), [this, &acceptor, redirect](beast::error_code ec, tcp::socket socket) {
    OnAccept(acceptor, redirect, ec, std::move(socket));
  });
}

void Server::Impl::OnAccept(tcp::acceptor& acceptor, bool redirect, beast::error_code ec, tcp::socket socket) {
  if (!acceptor.is_open() || stopping()) return;
  if (ec) {
    // Typically EMFILE/ENFILE: back off instead of spinning on the failing accept.
    net::steady_timer& timer = redirect ? redirect_retry_timer_ : accept_retry_timer_;
    timer.expires_after(std::chrono::milliseconds(50));
    timer.async_wait([this, &acceptor, redirect](beast::error_code tec) {
      if (!tec && acceptor.is_open()) DoAccept(acceptor, redirect);
    });
    return;
  }
  size_t open_sessions = 0;
  {
    std::scoped_lock lock(sessions_mu_);
    open_sessions = sessions_.size();
  }
  beast::error_code opt_ec;
  const tcp::endpoint peer = socket.remote_endpoint(opt_ec);
  if (open_sessions >= options_.max_connections || opt_ec) {
    socket.close(opt_ec);
  } else {
    socket.set_option(tcp::no_delay(true), opt_ec);
    if (options_.tls && !redirect) {
      std::make_shared<Session<TlsStream>>(*this, std::move(socket), peer, false)->Start();
    } else {
      std::make_shared<Session<PlainStream>>(*this, std::move(socket), peer, redirect)->Start();
    }
  }
  DoAccept(acceptor, redirect);
}

void Server::Impl::Register(SessionBase* session, std::weak_ptr<SessionBase> weak) {
  std::scoped_lock lock(sessions_mu_);
  sessions_.emplace(session, std::move(weak));
}

void Server::Impl::Unregister(SessionBase* session) {
  {
    std::scoped_lock lock(sessions_mu_);
    sessions_.erase(session);
  }
  sessions_cv_.notify_all();
}

void Server::Impl::Stop() {
  const bool own_thread = tls_owner == this;
  {
    std::unique_lock lock(stop_mu_);
    if (stop_started_) {
      if (!own_thread) stop_cv_.wait(lock, [this] { return stopped_; });
      return;
    }
    stop_started_ = true;
  }
  if (own_thread) {
    // From a handler: waiting here would wait for ourselves. Stop on another thread; the
    // Server destructor / Wait() wait for it through stopped_.
    std::thread([this] { StopNow(); }).detach();
    return;
  }
  StopNow();
}

void Server::Impl::StopNow() {
  stopping_.store(true, std::memory_order_release);

  // 1. Stop accepting; wait until the listening socket is really closed (connects now fail).
  std::promise<void> closed;
  net::post(acceptor_.get_executor(), [this, &closed] {
    beast::error_code ignored;
    acceptor_.close(ignored);
    redirect_acceptor_.close(ignored);
    accept_retry_timer_.cancel();
    redirect_retry_timer_.cancel();
    closed.set_value();
  });
  if (!io_threads_.empty()) closed.get_future().wait();

  // 2. Close idle connections; busy ones close themselves after their response.
  std::vector<std::shared_ptr<SessionBase>> snapshot;
  {
    std::scoped_lock lock(sessions_mu_);
    for (auto& [ptr, weak] : sessions_) {
      if (auto s = weak.lock()) snapshot.push_back(std::move(s));
    }
  }
  for (auto& s : snapshot) s->StopIfIdle();
  snapshot.clear();

  // 3. Wait for every connection to finish.
  {
    std::unique_lock lock(sessions_mu_);
    sessions_cv_.wait(lock, [this] { return sessions_.empty(); });
  }

  // 4. Join the threads.
  work_guard_.reset();
  ioc_.stop();
  for (auto& t : io_threads_) {
    if (t.joinable()) t.join();
  }
  if (workers_) workers_->Join();

  // Notify under the lock: once it is released, a waiting ~Server may destroy *this.
  std::scoped_lock lock(stop_mu_);
  stopped_ = true;
  stop_cv_.notify_all();
}

// ---- Server ----

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options, Handler handler) {
  if (!handler) return Status::InvalidArgument("http: no handler");
  if (options.io_threads < 1 || options.worker_threads < 1) {
    return Status::InvalidArgument("http: io_threads and worker_threads must be at least 1");
  }
  if (options.idle_timeout_seconds < 1 || options.read_timeout_seconds < 1) {
    return Status::InvalidArgument("http: timeouts must be at least 1 second");
  }
  auto impl = std::make_unique<Impl>(options, std::move(handler));
  TP_RETURN_IF_ERROR(impl->Listen());
  impl->Run();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Stop(); }

uint16_t Server::port() const { return impl_->port(); }

uint16_t Server::redirect_port() const { return impl_->redirect_port(); }

bool Server::tls() const { return impl_->tls(); }

void Server::Stop() { impl_->Stop(); }

void Server::Wait() { impl_->Wait(); }

}  // namespace touchpoint::http

// Loopback receivers for the outbox's tests and benchmark: a webhook receiver (the project's HTTP
// server) that records what arrives and answers as told, and a minimal SMTP sink.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <touchpoint/http/server.h>

namespace touchpoint::testing {

struct ReceivedWebhook {
  std::string path;
  std::string delivery;   // X-Touchpoint-Delivery
  std::string event;      // X-Touchpoint-Event
  std::string attempt;    // X-Touchpoint-Attempt
  std::string signature;  // X-Touchpoint-Signature
  std::string body;
};

// Records every POST; answers with the status set for its path (200 by default). A path can be
// "held": its requests wait until Release() (a slow endpoint).
class WebhookReceiver {
 public:
  WebhookReceiver() {
    http::ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.worker_threads = 64;  // held requests each keep one
    auto s = http::Server::Start(o, [this](const http::Request& r) { return Handle(r); });
    if (s.ok()) server_ = std::move(*s);
  }
  ~WebhookReceiver() {
    Release();
    if (server_) server_->Stop();
  }
  bool ok() const { return server_ != nullptr; }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  void SetStatus(const std::string& path, int status) {
    std::scoped_lock lock(mu_);
    status_[path] = status;
  }
  void Hold(const std::string& path) {
    std::scoped_lock lock(mu_);
    held_[path] = true;
  }
  void Release() {
    std::scoped_lock lock(mu_);
    held_.clear();
    cv_.notify_all();
  }
  std::vector<ReceivedWebhook> Received(const std::string& path = "") {
    std::scoped_lock lock(mu_);
    std::vector<ReceivedWebhook> out;
    for (const auto& r : received_) {
      if (path.empty() || r.path == path) out.push_back(r);
    }
    return out;
  }
  size_t Count(const std::string& path) {
    std::scoped_lock lock(mu_);
    size_t n = 0;
    for (const auto& r : received_) n += r.path == path ? 1 : 0;
    return n;
  }
  // Waits (up to `limit`) until `pred()` holds; checked at every arrival.
  bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    std::unique_lock lock(mu_);
    return arrived_.wait_for(lock, limit, [&] {
      lock.unlock();
      const bool ok = pred();
      lock.lock();
      return ok;
    });
  }

 private:
  http::Response Handle(const http::Request& r) {
    ReceivedWebhook w;
    w.path = r.path;
    auto header = [&](const char* name) {
      const std::string* v = r.Header(name);
      return v ? *v : std::string();
    };
    w.delivery = header("x-touchpoint-delivery");
    w.event = header("x-touchpoint-event");
    w.attempt = header("x-touchpoint-attempt");
    w.signature = header("x-touchpoint-signature");
    w.body = r.body;
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !held_.count(r.path); });
    received_.push_back(std::move(w));
    arrived_.notify_all();
    http::Response resp;
    auto it = status_.find(r.path);
    resp.status = it == status_.end() ? 200 : it->second;
    resp.body = "{}";
    return resp;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable arrived_;
  std::map<std::string, int> status_;
  std::map<std::string, bool> held_;
  std::vector<ReceivedWebhook> received_;
  std::unique_ptr<http::Server> server_;
};

struct ReceivedMail {
  std::string helo;
  std::string mail_from;
  std::vector<std::string> rcpt_to;
  std::string data;  // the message as sent (dot-stuffing undone), CRLF line ends
};

// A minimal SMTP receiver on 127.0.0.1 (each connection on its own thread, as a real server
// accepts several: a client may keep one connection open between mails while another lane opens a
// second; EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT). RejectRecipients(code) answers RCPT with that
// code (e.g. 550, 451).
class SmtpSink {
 public:
  SmtpSink() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0) return;
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~SmtpSink() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    if (thread_.joinable()) thread_.join();
    {
      std::scoped_lock lock(conn_mu_);
      for (int c : clients_) ::shutdown(c, SHUT_RDWR);  // ends sessions a client kept open
    }
    for (auto& t : sessions_) t.join();
    for (int c : clients_) ::close(c);
  }
  int port() const { return port_; }
  void RejectRecipients(int code) { reject_ = code; }
  std::vector<ReceivedMail> Mails() {
    std::scoped_lock lock(mu_);
    return mails_;
  }

 private:
  void Serve() {
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::scoped_lock lock(conn_mu_);
      clients_.push_back(c);
      sessions_.emplace_back([this, c] { Session(c); });
    }
  }
  static bool ReadLine(int c, std::string& buf, std::string* line) {
    while (true) {
      const size_t nl = buf.find("\r\n");
      if (nl != std::string::npos) {
        *line = buf.substr(0, nl);
        buf.erase(0, nl + 2);
        return true;
      }
      char tmp[4096];
      const ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<size_t>(n));
    }
  }
  static void Say(int c, const std::string& s) {
    const std::string out = s + "\r\n";
    (void)!::send(c, out.data(), out.size(), MSG_NOSIGNAL);
  }
  void Session(int c) {
    std::string buf, line;
    ReceivedMail mail;
    Say(c, "220 sink.test ESMTP");
    while (ReadLine(c, buf, &line)) {
      const std::string verb = line.substr(0, 4);
      if (verb == "EHLO" || verb == "HELO") {
        mail.helo = line.size() > 5 ? line.substr(5) : "";
        Say(c, "250-sink.test");
        Say(c, "250 8BITMIME");
      } else if (verb == "MAIL") {
        mail.mail_from = line.substr(line.find(':') + 1);
        Say(c, "250 OK");
      } else if (verb == "RCPT") {
        if (reject_ != 0) {
          Say(c, std::to_string(reject_.load()) + " no such mailbox here");
        } else {
          mail.rcpt_to.push_back(line.substr(line.find(':') + 1));
          Say(c, "250 OK");
        }
      } else if (verb == "DATA") {
        Say(c, "354 go ahead");
        std::string data;
        while (ReadLine(c, buf, &line) && line != ".") {
          if (!line.empty() && line[0] == '.') line.erase(0, 1);
          data += line + "\r\n";
        }
        mail.data = std::move(data);
        {
          std::scoped_lock lock(mu_);
          mails_.push_back(mail);
        }
        mail.rcpt_to.clear();
        Say(c, "250 OK queued");
      } else if (verb == "QUIT") {
        Say(c, "221 bye");
        return;
      } else if (verb == "RSET" || verb == "NOOP") {
        Say(c, "250 OK");
      } else {
        Say(c, "502 not implemented");
      }
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> reject_{0};
  std::thread thread_;
  std::mutex conn_mu_;
  std::vector<int> clients_;              // guarded by conn_mu_ (closed in the destructor)
  std::vector<std::thread> sessions_;     // guarded by conn_mu_
  std::mutex mu_;
  std::vector<ReceivedMail> mails_;
};

}  // namespace touchpoint::testing

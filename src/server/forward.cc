#include "server/forward_internal.h"

#include <sodium.h>

#include <algorithm>
#include <utility>

#include <httplib.h>

#include <touchpoint/server/config.h>

namespace touchpoint::server {
namespace {

http::Response Unavailable(std::string_view message) {
  http::Response r = http::JsonError(503, "unavailable", message);
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

bool IsHopByHop(std::string_view lower) {
  return lower == "connection" || lower == "keep-alive" || lower == "content-length" ||
         lower == "transfer-encoding" || lower == "content-type" || lower == "date" || lower == "server";
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

}  // namespace

bool SecretsEqual(std::string_view a, std::string_view b) {
  // The length is not secret (the config requires at least 16 bytes); the bytes are compared in
  // constant time by libsodium.
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string EncodePath(std::string_view decoded) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(decoded.size());
  for (char ch : decoded) {
    const auto c = static_cast<unsigned char>(ch);
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~' || c == '/' || c == ':' || c == '@';
    if (keep) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Forwarder::Forwarder(NodeState& node, std::string secret, int timeout_seconds, bool tls, std::string tls_ca_file)
    : node_(node),
      secret_(std::move(secret)),
      timeout_seconds_(timeout_seconds),
      tls_(tls),
      tls_ca_file_(std::move(tls_ca_file)) {}

Forwarder::~Forwarder() = default;

void Forwarder::Cancel() {
  std::scoped_lock lock(mu_);
  cancelled_ = true;
  for (httplib::Client* client : in_flight_) client->stop();  // thread-safe: shuts the socket down
}

std::unique_ptr<httplib::Client> Forwarder::Take(const std::string& address) {
  {
    std::scoped_lock lock(mu_);
    if (address_ == address && !idle_.empty()) {
      auto client = std::move(idle_.back());
      idle_.pop_back();
      return client;
    }
  }
  std::string host;
  uint16_t port = 0;
  if (!ParseListen(address, &host, &port).ok()) return nullptr;
  const std::string bracketed = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  auto client = std::make_unique<httplib::Client>((tls_ ? "https://" : "http://") + bracketed + ":" + std::to_string(port));
  if (tls_) {
    if (!tls_ca_file_.empty()) client->set_ca_cert_path(tls_ca_file_);
    client->enable_server_certificate_verification(true);
  }
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  client->set_url_encode(false);  // the path is encoded here (EncodePath)
  client->set_connection_timeout(1, 0);
  client->set_read_timeout(timeout_seconds_, 0);
  client->set_write_timeout(timeout_seconds_, 0);
  return client;
}

void Forwarder::Give(const std::string& address, std::unique_ptr<httplib::Client> client) {
  std::unique_ptr<httplib::Client> dropped;  // closed outside the lock
  std::vector<std::unique_ptr<httplib::Client>> stale;
  std::scoped_lock lock(mu_);
  if (address_ != address) {
    stale.swap(idle_);  // the writer moved: connections to the old one are of no use
    address_ = address;
  }
  if (idle_.size() < kMaxIdle) {
    idle_.push_back(std::move(client));
  } else {
    dropped = std::move(client);
  }
}

http::Response Forwarder::Forward(const http::Request& request, const std::optional<privacy::Role>& role) {
  if (request.Header(kClusterSecretHeader) != nullptr) {
    // Sent to us as the writer, but this node is not (any more): the sender retries.
    return Unavailable("this node is not the writer (any more); retry");
  }
  const std::string address = node_.Get().writer_address;
  if (address.empty()) return Unavailable("no writer is known at the moment; retry");
  auto client = Take(address);
  if (client == nullptr) return Unavailable("the writer's registered address is malformed");

  httplib::Request out;
  out.method = request.method;
  out.path = EncodePath(request.path);
  if (!request.query.empty()) out.path += "?" + request.query;
  out.body = request.body;
  if (const std::string* ct = request.Header("content-type")) out.headers.emplace("Content-Type", *ct);
  if (const std::string* accept = request.Header("accept")) out.headers.emplace("Accept", *accept);
  out.headers.emplace(std::string(kClusterSecretHeader), secret_);
  if (role) out.headers.emplace(std::string(kForwardedRoleHeader), std::string(privacy::RoleName(*role)));
  if (role == privacy::Role::kCustomer) {
    // The writer checks a customer token itself (it needs the token's customer, not only the role).
    if (const std::string* auth = request.Header("authorization")) out.headers.emplace("Authorization", *auth);
  }
  out.headers.emplace(std::string(kForwardedByHeader), node_.node_id());

  {
    std::scoped_lock lock(mu_);
    if (cancelled_) return Unavailable("this node is stopping; retry");
    in_flight_.push_back(client.get());
  }
  httplib::Result result = client->send(out);
  bool cancelled = false;
  {
    std::scoped_lock lock(mu_);
    std::erase(in_flight_, client.get());
    cancelled = cancelled_;
  }
  if (!result) {
    // Not given back: the connection is in an unknown state. A request that reached the writer
    // may have been committed; clients resend and messageId de-duplicates.
    if (cancelled) return Unavailable("this node is stopping; retry");
    return Unavailable("the writer could not be reached (" + httplib::to_string(result.error()) + "); retry");
  }
  http::Response r;
  r.status = result->status;
  r.body = std::move(result->body);
  r.content_type = result->get_header_value("Content-Type");
  for (const auto& [name, value] : result->headers) {
    if (!IsHopByHop(Lower(name))) r.headers.emplace_back(name, value);
  }
  if (!cancelled) Give(address, std::move(client));
  return r;
}

}  // namespace touchpoint::server

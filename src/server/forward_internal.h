// server/forward_internal.h — a follower's forwarding of requests to the writer (server/node.h):
// the request as it came (method, path, query, body, content type) over keep-alive HTTP to the
// writer's registered internal address, authenticated node to node by the cluster secret. The
// caller was authenticated here; the writer is told the caller's role, never the caller's key.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/http/server.h>
#include <touchpoint/privacy/roles.h>
#include <touchpoint/server/node.h>

namespace httplib {
class Client;
}

namespace touchpoint::server {

// Request headers between nodes (lower-case, as http::Request::Header looks them up).
inline constexpr std::string_view kClusterSecretHeader = "x-touchpoint-cluster-secret";
inline constexpr std::string_view kForwardedRoleHeader = "x-touchpoint-role";        // the caller's role
inline constexpr std::string_view kForwardedByHeader = "x-touchpoint-forwarded-by";  // the follower's id

// Equal without an early exit (the time taken does not say how much of a guess was right).
bool SecretsEqual(std::string_view a, std::string_view b);

// "/v1/customers/external:crm/42" → "/v1/customers/external%3Acrm/42"-style encoding of a decoded
// path: every byte but unreserved characters, '/', ':' and '@' percent-encoded, so that the
// writer decodes exactly the path this node matched.
std::string EncodePath(std::string_view decoded);

// Thread-safe: keeps up to kMaxIdle idle keep-alive connections to the current writer.
class Forwarder {
 public:
  // `node` gives the writer's address; must outlive this. `tls`: the nodes speak HTTPS to each
  // other (they all serve TLS); the writer's certificate is verified against `tls_ca_file`
  // (the system's trust store when empty), its name against the writer's registered host.
  Forwarder(NodeState& node, std::string secret, int timeout_seconds, bool tls = false, std::string tls_ca_file = {});
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // The writer's answer to `request` made as `role` (nullopt on public routes). 503 with
  // Retry-After: 1 when no writer is known, it cannot be reached, it does not answer within the
  // timeout, or `request` itself came from another node (never forwarded twice).
  http::Response Forward(const http::Request& request, const std::optional<privacy::Role>& role);

  // Aborts the requests in flight (answered 503: a frozen writer must not hold up this node's
  // stop, e.g. for its own promotion) and refuses new ones. Call before stopping the HTTP server.
  void Cancel();

 private:
  static constexpr size_t kMaxIdle = 16;
  std::unique_ptr<httplib::Client> Take(const std::string& address);
  void Give(const std::string& address, std::unique_ptr<httplib::Client> client);

  NodeState& node_;
  const std::string secret_;
  const int timeout_seconds_;
  const bool tls_;
  const std::string tls_ca_file_;
  std::mutex mu_;
  std::string address_;                                 // of the idle clients; guarded by mu_
  std::vector<std::unique_ptr<httplib::Client>> idle_;  // guarded by mu_
  std::vector<httplib::Client*> in_flight_;             // guarded by mu_
  bool cancelled_ = false;                              // guarded by mu_
};

}  // namespace touchpoint::server

// server/router.h — the route table of the HTTP API: {method, pattern, access, handler}.
//
// Adding a module's routes (e.g. jobs):
//   1. write src/server/routes_jobs.cc defining
//        void RegisterJobsRoutes(Router& router, const ServerContext& context) {
//          router.Add({"POST", "/v1/jobs/{name}", privacy::Permission::kRunJobs, handler});
//          ...
//        }
//      and add the file to SOURCES in src/server/CMakeLists.txt;
//   2. declare RegisterJobsRoutes next to the others in src/server/routes.h;
//   3. add the one call `RegisterJobsRoutes(router, context);` to RegisterAllRoutes (app.cc).
// A new permission gets its row in privacy's matrix (src/privacy/roles.cc), and each route its
// row in the table of docs/http-api.md: router_test fails until both exist.
//
// Several nodes (server/node.h): a route is served by the writer unless it says
// Served::kByAnyNode — then its handler must work on a follower too (no engine, no jobs, no
// segment index: ServerContext says what a follower has). On a follower the router answers the
// writer's routes with the forwarding handler, after authentication and the permission check.
//
// Patterns are matched segment by segment against the decoded path (http::Request::path is
// already percent-decoded: "/v1/customers/phone:138%201234%205678" arrives as
// "/v1/customers/phone:138 1234 5678"):
//   literal   "/v1/batch"            matches exactly that path (no trailing slash)
//   {name}    "/v1/jobs/{id}"        one non-empty segment, without '/'
//   {name...} "/v1/customers/{id...}" the non-empty rest of the path, '/' included; last only
// A path matching several patterns goes to the most specific (a literal segment before a
// parameter before a rest). The metrics label of a route is its pattern without "..."
// ("/v1/customers/{id}"), never the raw path. GET routes also answer HEAD.
//
// Before a handler runs, the router answers what every route shares: 404 for a path no pattern
// matches, 405 with Allow when the path is known but not the method, and — unless the route is
// public — 401 from the authenticator (which also refuses, 403, a state-changing request
// authenticated by a session cookie without its CSRF token) and 403 when the caller's role lacks
// the route's permission (privacy::Allows). The caller is a Principal: an API key, a user's
// session (cookie or bearer token), or a follower forwarding a request. Matching allocates
// nothing.
//
// Thread safety: Add() before serving; Dispatch() and Routes() from any number of threads.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <touchpoint/http/server.h>
#include <touchpoint/privacy/customer_token.h>
#include <touchpoint/privacy/roles.h>
#include <touchpoint/privacy/sessions.h>

namespace touchpoint::server {

// Who may call a route: callers whose role has a permission, or anyone (kPublic). There is no
// default: a route states one or the other.
class Access {
 public:
  constexpr Access(privacy::Permission permission) : permission_(permission) {}  // NOLINT: implicit
  static constexpr Access Public() { return Access(); }

  constexpr bool is_public() const { return !permission_.has_value(); }
  // REQUIRES: !is_public().
  constexpr privacy::Permission permission() const { return *permission_; }

 private:
  constexpr Access() = default;
  std::optional<privacy::Permission> permission_;
};

inline constexpr Access kPublic = Access::Public();

// Who calls: what authenticated the request, and its role.
struct Principal {
  enum class Kind {
    kApiKey,         // Authorization: Basic/Bearer with an API key
    kSessionCookie,  // the tp_session cookie (state-changing requests need X-CSRF-Token)
    kSessionBearer,  // Authorization: Bearer with a session token
    kForwarded,      // a follower forwarding a request it authenticated (cluster secret)
    kCustomerToken,  // Authorization: Bearer tpc_… — a customer's self-service token (role kCustomer)
  };
  Principal(privacy::Role r) : role(r) {}  // NOLINT: implicit — an API key's principal
  Principal(privacy::Role r, Kind k) : role(r), kind(k) {}

  privacy::Role role;
  Kind kind = Kind::kApiKey;
  std::optional<privacy::SessionCheck> session;  // kSession*: the session and its user
  // kCustomerToken (also when a follower forwarded one): the token's customer, expiry and id.
  std::optional<privacy::CustomerTokenClaims> customer;

  bool is_session() const { return kind == Kind::kSessionCookie || kind == Kind::kSessionBearer; }
  // "key", "user", "forwarded request": completes "this …'s role may not …".
  std::string_view noun() const;
};

// What a handler gets besides the request: the pattern's parameters and the caller.
class RouteMatch {
 public:
  static constexpr size_t kMaxParams = 4;

  // The value of parameter `name` of the pattern (a slice of the request's path: valid while
  // the request is); empty when the pattern has no such parameter.
  std::string_view Param(std::string_view name) const;

  // The caller's role; nullopt on public routes.
  const std::optional<privacy::Role>& role() const { return role_; }
  // The caller; nullptr on public routes.
  const Principal* principal() const { return principal_ ? &*principal_ : nullptr; }

 private:
  friend class Router;
  const std::vector<std::string>* names_ = nullptr;
  std::array<std::string_view, kMaxParams> values_{};
  std::optional<privacy::Role> role_;
  std::optional<Principal> principal_;
};

using RouteHandler = std::function<http::Response(const http::Request&, const RouteMatch&)>;

// Which node of several answers a route (server/node.h). A single node answers everything.
enum class Served {
  kByWriter,   // needs the engine or runs once (writes, jobs, segments): followers forward it
  kByAnyNode,  // reads the database or the node itself: followers answer it
};

struct Route {
  std::string_view method;   // "GET", "POST", ...
  std::string_view pattern;  // "/v1/jobs/{id}" (see the top of this file)
  Access access;
  RouteHandler handler;
  Served served = Served::kByWriter;
  // Whether a customer token may call it at all (its permission must also be granted to
  // Role::kCustomer). Such a route serves only the token's own customer: its handler checks the
  // customer (CustomerForRequest in routes.h) and answers 404 for any other. The router answers
  // 403 to a customer token on every other route, whatever the matrix says.
  bool customer_self = false;
};

// A registered route as the route × role table shows it.
struct RouteInfo {
  std::string method;
  std::string pattern;
  std::string label;  // the pattern without "...": the metrics label
  Access access;
  Served served = Served::kByWriter;
  bool customer_self = false;
};

class Router {
 public:
  // The caller, or the response refusing it (401; 403 for a missing CSRF token). Called once per
  // request to a route that is not public, after matching.
  using Authenticator = std::function<std::variant<Principal, http::Response>(const http::Request&)>;

  explicit Router(Authenticator authenticate);

  // Registers a route. A malformed pattern, more than kMaxParams parameters, a method other
  // than upper-case letters, "HEAD" (implied by GET), or a second route for the same method and
  // path shape are bugs: they abort.
  void Add(Route route);

  // On a follower: routes served by the writer are answered by `forward` (after authentication
  // and the permission check) instead of their own handler. Call before serving.
  void ForwardWriterRoutes(RouteHandler forward);

  // Answers `request`. *label is set to the matched route's label ("other" when none matched);
  // it stays valid as long as the router.
  http::Response Dispatch(const http::Request& request, const std::string** label) const;

  // Every route in registration order.
  std::vector<RouteInfo> Routes() const;

  // The label of requests no route matched.
  static const std::string& OtherLabel();

 private:
  struct Segment {
    enum class Kind { kLiteral, kParam, kRest };
    Kind kind;
    std::string text;  // the literal; empty for parameters
  };
  struct Endpoint {
    std::string method;
    std::string pattern;
    std::string label;
    std::vector<std::string> param_names;  // in path order
    Access access;
    RouteHandler handler;
    Served served;
    bool customer_self;
    size_t order;  // registration order, for Routes()
  };
  // Routes sharing one path shape (segments, whatever their parameters are named).
  struct Path {
    std::vector<Segment> segments;
    std::string literal_prefix;  // the pattern up to its first parameter: a cheap first filter
    std::vector<Endpoint> endpoints;
  };

  // Whether `path` matches; fills values[0..parameters) when it does.
  static bool Matches(const Path& p, std::string_view path,
                      std::array<std::string_view, RouteMatch::kMaxParams>& values);
  static bool MoreSpecific(const Path& a, const Path& b);

  Authenticator authenticate_;
  RouteHandler forward_;     // set on followers
  std::vector<Path> paths_;  // most specific first
  size_t added_ = 0;
};

}  // namespace touchpoint::server

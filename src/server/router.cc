#include "server/router.h"

#include <algorithm>
#include <utility>

#include <touchpoint/core/status.h>

namespace touchpoint::server {
namespace {

constexpr std::string_view kRestSuffix = "...";

bool IsMethodName(std::string_view method) {
  return !method.empty() &&
         std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool IsParamName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// "GET, HEAD" for GET; methods in registration order.
void AppendAllow(std::string_view method, std::vector<std::string_view>* allow) {
  const auto add = [&](std::string_view m) {
    if (std::find(allow->begin(), allow->end(), m) == allow->end()) allow->push_back(m);
  };
  add(method);
  if (method == "GET") add("HEAD");
}

}  // namespace

std::string_view Principal::noun() const {
  switch (kind) {
    case Kind::kApiKey: return "key";
    case Kind::kSessionCookie:
    case Kind::kSessionBearer: return "user";
    case Kind::kForwarded: return "forwarded request";
    case Kind::kCustomerToken: return "customer token";
  }
  return "caller";
}

std::string_view RouteMatch::Param(std::string_view name) const {
  if (names_ == nullptr) return {};
  for (size_t i = 0; i < names_->size(); ++i) {
    if ((*names_)[i] == name) return values_[i];
  }
  return {};
}

Router::Router(Authenticator authenticate) : authenticate_(std::move(authenticate)) {}

const std::string& Router::OtherLabel() {
  static const std::string* const kOther = new std::string("other");
  return *kOther;
}

void Router::Add(Route route) {
  TP_CHECK(IsMethodName(route.method) && route.method != "HEAD", "route method: upper-case, not HEAD");
  TP_CHECK(route.handler != nullptr, "route without handler");
  const std::string_view pattern = route.pattern;
  TP_CHECK(pattern.size() > 1 && pattern.front() == '/', "route pattern must start with '/' and name a path");

  Path shape;
  Endpoint endpoint{.method = std::string(route.method),
                    .pattern = std::string(pattern),
                    .label = {},
                    .param_names = {},
                    .access = route.access,
                    .handler = std::move(route.handler),
                    .served = route.served,
                    .customer_self = route.customer_self,
                    .order = added_++};
  size_t pos = 1;
  bool prefix_done = false;
  while (pos <= pattern.size()) {
    size_t end = pattern.find('/', pos);
    if (end == std::string_view::npos) end = pattern.size();
    const std::string_view piece = pattern.substr(pos, end - pos);
    TP_CHECK(!piece.empty(), "empty segment in route pattern");
    if (piece.front() == '{') {
      TP_CHECK(piece.back() == '}', "unterminated parameter in route pattern");
      std::string_view name = piece.substr(1, piece.size() - 2);
      Segment::Kind kind = Segment::Kind::kParam;
      if (name.ends_with(kRestSuffix)) {
        name.remove_suffix(kRestSuffix.size());
        kind = Segment::Kind::kRest;
        TP_CHECK(end == pattern.size(), "a {name...} parameter must be the pattern's last segment");
      }
      TP_CHECK(IsParamName(name), "parameter names are lower-case letters, digits and '_'");
      TP_CHECK(std::find(endpoint.param_names.begin(), endpoint.param_names.end(), name) ==
                   endpoint.param_names.end(),
               "parameter named twice in one pattern");
      endpoint.param_names.emplace_back(name);
      shape.segments.push_back({kind, ""});
      endpoint.label += "/{" + std::string(name) + "}";
      if (!prefix_done) shape.literal_prefix += '/';
      prefix_done = true;
    } else {
      TP_CHECK(piece.find_first_of("{}") == std::string_view::npos, "braces inside a literal segment");
      shape.segments.push_back({Segment::Kind::kLiteral, std::string(piece)});
      endpoint.label += "/" + std::string(piece);
      if (!prefix_done) shape.literal_prefix += "/" + std::string(piece);
    }
    pos = end + 1;
  }
  TP_CHECK(endpoint.param_names.size() <= RouteMatch::kMaxParams, "too many parameters in one route pattern");

  const auto same_shape = [&](const Path& p) {
    if (p.segments.size() != shape.segments.size()) return false;
    for (size_t i = 0; i < p.segments.size(); ++i) {
      if (p.segments[i].kind != shape.segments[i].kind || p.segments[i].text != shape.segments[i].text)
        return false;
    }
    return true;
  };
  auto it = std::find_if(paths_.begin(), paths_.end(), same_shape);
  if (it == paths_.end()) {
    it = paths_.insert(
        std::find_if(paths_.begin(), paths_.end(), [&](const Path& p) { return MoreSpecific(shape, p); }),
        std::move(shape));
  }
  for (const Endpoint& e : it->endpoints) {
    TP_CHECK(e.method != endpoint.method, "two routes for the same method and path");
  }
  it->endpoints.push_back(std::move(endpoint));
}

bool Router::MoreSpecific(const Path& a, const Path& b) {
  const size_t n = std::min(a.segments.size(), b.segments.size());
  for (size_t i = 0; i < n; ++i) {
    // Segment::Kind is declared in rank order: literal, parameter, rest.
    if (a.segments[i].kind != b.segments[i].kind) return a.segments[i].kind < b.segments[i].kind;
  }
  return a.segments.size() > b.segments.size();
}

bool Router::Matches(const Path& p, std::string_view path,
                     std::array<std::string_view, RouteMatch::kMaxParams>& values) {
  if (!path.starts_with(p.literal_prefix)) return false;
  size_t pos = 0;
  size_t n = 0;
  for (const Segment& seg : p.segments) {
    if (pos >= path.size() || path[pos] != '/') return false;
    ++pos;
    if (seg.kind == Segment::Kind::kRest) {
      if (pos >= path.size()) return false;
      values[n++] = path.substr(pos);
      return true;
    }
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view piece = path.substr(pos, end - pos);
    if (seg.kind == Segment::Kind::kLiteral) {
      if (piece != seg.text) return false;
    } else {
      if (piece.empty()) return false;
      values[n++] = piece;
    }
    pos = end;
  }
  return pos == path.size();
}

http::Response Router::Dispatch(const http::Request& request, const std::string** label) const {
  *label = &OtherLabel();
  const std::string_view path = request.path;
  const std::string_view method = request.method;
  const Path* known = nullptr;  // the most specific path matched, for 405
  const Endpoint* endpoint = nullptr;
  RouteMatch match;
  for (const Path& p : paths_) {
    if (!Matches(p, path, match.values_)) continue;
    if (known == nullptr) known = &p;
    for (const Endpoint& e : p.endpoints) {
      if (e.method == method) {
        endpoint = &e;
        break;
      }
    }
    if (endpoint == nullptr && method == "HEAD") {
      for (const Endpoint& e : p.endpoints) {
        if (e.method == "GET") {
          endpoint = &e;
          break;
        }
      }
    }
    if (endpoint != nullptr) break;
  }
  if (known == nullptr) return http::JsonError(404, "not_found", "no such route (see docs/http-api.md)");
  if (endpoint == nullptr) {
    *label = &known->endpoints.front().label;
    std::vector<std::string_view> methods;
    std::array<std::string_view, RouteMatch::kMaxParams> ignored{};
    for (const Path& p : paths_) {
      if (!Matches(p, path, ignored)) continue;
      for (const Endpoint& e : p.endpoints) AppendAllow(e.method, &methods);
    }
    std::string allow;
    for (std::string_view m : methods) {
      if (!allow.empty()) allow += ", ";
      allow += m;
    }
    http::Response r = http::JsonError(405, "method_not_allowed", "use " + allow + " for this route");
    r.headers.emplace_back("Allow", std::move(allow));
    return r;
  }
  *label = &endpoint->label;
  match.names_ = &endpoint->param_names;
  if (!endpoint->access.is_public()) {
    auto auth = authenticate_(request);
    if (auto* refused = std::get_if<http::Response>(&auth)) return std::move(*refused);
    Principal& principal = std::get<Principal>(auth);
    const privacy::Role role = principal.role;
    const privacy::Permission permission = endpoint->access.permission();
    // A customer's token reaches only the routes that serve its own customer (router.h).
    if (role == privacy::Role::kCustomer && !endpoint->customer_self) {
      return http::JsonError(403, "forbidden", "a customer token may only read and change its own customer's data");
    }
    if (!privacy::Allows(role, permission)) {
      const privacy::PermissionRow* row = privacy::FindPermission(permission);
      return http::JsonError(403, "forbidden",
                             "this " + std::string(principal.noun()) + "'s role may not " +
                                 std::string(row ? row->action : "use this route"));
    }
    match.role_ = role;
    match.principal_ = std::move(principal);
  }
  if (forward_ != nullptr && endpoint->served == Served::kByWriter) return forward_(request, match);
  return endpoint->handler(request, match);
}

void Router::ForwardWriterRoutes(RouteHandler forward) { forward_ = std::move(forward); }

std::vector<RouteInfo> Router::Routes() const {
  std::vector<RouteInfo> out(added_, RouteInfo{.method = {}, .pattern = {}, .label = {}, .access = kPublic});
  for (const Path& p : paths_) {
    for (const Endpoint& e : p.endpoints) {
      out[e.order] = RouteInfo{
          .method = e.method, .pattern = e.pattern, .label = e.label, .access = e.access, .served = e.served,
          .customer_self = e.customer_self};
    }
  }
  return out;
}

}  // namespace touchpoint::server

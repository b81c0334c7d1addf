// The desk routes' request readers and error answers (server/desk_request_internal.h).
#include "server/desk_request_internal.h"

#include <charconv>
#include <system_error>

#include <touchpoint/http/query.h>
#include <touchpoint/privacy/roles.h>
#include <touchpoint/service/ticket.h>

#include "server/routes.h"

namespace touchpoint::server::desk_http {

Json Time(Millis t) { return t > 0 ? Json(FormatTimestamp(t)) : Json(nullptr); }

http::Response Error(const Status& s) {
  if (s.code() == StatusCode::kFailedPrecondition) return http::JsonError(409, "conflict", s.message());
  return ResponseFromStatus(s);
}

http::Response Unavailable(std::string_view message) { return http::JsonError(503, "unavailable", std::string(message)); }

service::Actor ActorOf(const http::Request& req, const RouteMatch& match) {
  service::Actor a;
  const Principal* p = match.principal();
  const privacy::Role role = p != nullptr ? p->role : privacy::Role::kAdmin;
  a.kind = role == privacy::Role::kAdmin        ? service::Actor::Kind::kAdmin
           : role == privacy::Role::kSupervisor ? service::Actor::Kind::kSupervisor
                                                : service::Actor::Kind::kAgent;
  if (p != nullptr && p->is_session() && p->session) {
    a.user_id = p->session->user.id;
    a.name = p->session->user.email;
  } else {
    a.name = AuditActor(req, match);
  }
  return a;
}

Result<std::int64_t> NumberParam(const RouteMatch& match) {
  return service::ParseTicketNumber(match.Param("number"), "number");
}

std::optional<std::int64_t> ParseDigits(std::string_view text) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;  // no sign
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return n;
}

Result<int> ParsePageLimit(std::string_view text) {
  std::optional<std::int64_t> n = ParseDigits(text);
  if (!n || *n < 1 || *n > kMaxPage) return Status::InvalidArgument("limit: expected 1 to " + std::to_string(kMaxPage));
  return static_cast<int>(*n);
}

Result<int> LimitParam(const http::Request& req) {
  TP_ASSIGN_OR_RETURN(auto v, http::QueryParam(req.query, "limit"));
  if (!v) return kDefaultPage;
  return ParsePageLimit(*v);
}

Result<Json> ParseObject(const std::string& body, std::initializer_list<std::string_view> allowed) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("body: expected a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for (std::string_view a : allowed) known = known || it.key() == a;
    if (!known) return Status::InvalidArgument(it.key() + ": unknown field");
  }
  return j;
}

Result<std::optional<std::string>> StringField(const Json& j, std::string_view name, bool required) {
  auto it = j.find(std::string(name));
  if (it == j.end() || it->is_null()) {
    if (required) return Status::InvalidArgument(std::string(name) + ": required");
    return std::optional<std::string>();
  }
  if (!it->is_string()) return Status::InvalidArgument(std::string(name) + ": expected a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::vector<std::string>> StringList(const Json& j, std::string_view name) {
  std::vector<std::string> out;
  auto it = j.find(std::string(name));
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) return Status::InvalidArgument(std::string(name) + ": expected an array of strings");
  for (const Json& e : *it) {
    if (!e.is_string()) return Status::InvalidArgument(std::string(name) + ": expected an array of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

}  // namespace touchpoint::server::desk_http

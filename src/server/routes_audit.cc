// The audit log over HTTP: GET /v1/audit for administrators (privacy/audit.h), and the actor
// the other routes record their changes under.
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <touchpoint/core/time.h>
#include <touchpoint/http/query.h>
#include <touchpoint/privacy/audit.h>
#include <touchpoint/privacy/keys.h>
#include <touchpoint/store/audit_repository.h>

#include "server/forward_internal.h"
#include "server/routes.h"

namespace touchpoint::server {
namespace {

using Json = nlohmann::ordered_json;

constexpr int kDefaultLimit = 100;
constexpr int kMaxLimit = 1000;

Result<std::int64_t> PositiveInt(const std::string& text, std::string_view name) {
  std::int64_t v = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (err != std::errc() || end != text.data() + text.size() || v <= 0) {
    return Status::InvalidArgument(std::string(name) + ": expected a positive integer");
  }
  return v;
}

Result<store::AuditQuery> ParseQuery(std::string_view query) {
  store::AuditQuery q;
  q.limit = kDefaultLimit;
  TP_ASSIGN_OR_RETURN(const std::optional<std::string> actor, http::QueryParam(query, "actor"));
  TP_ASSIGN_OR_RETURN(const std::optional<std::string> action, http::QueryParam(query, "action"));
  TP_ASSIGN_OR_RETURN(const std::optional<std::string> from, http::QueryParam(query, "from"));
  TP_ASSIGN_OR_RETURN(const std::optional<std::string> to, http::QueryParam(query, "to"));
  TP_ASSIGN_OR_RETURN(const std::optional<std::string> limit, http::QueryParam(query, "limit"));
  TP_ASSIGN_OR_RETURN(const std::optional<std::string> before, http::QueryParam(query, "before"));
  if (actor) q.actor = *actor;
  if (action) q.action = *action;
  if (from && !from->empty()) {
    auto t = ParseTimestamp(*from);
    if (!t.ok()) return Status::InvalidArgument("from: " + t.status().message());
    q.from = *t;
  }
  if (to && !to->empty()) {
    auto t = ParseTimestamp(*to);
    if (!t.ok()) return Status::InvalidArgument("to: " + t.status().message());
    q.to = *t;
  }
  if (limit && !limit->empty()) {
    TP_ASSIGN_OR_RETURN(std::int64_t n, PositiveInt(*limit, "limit"));
    if (n > kMaxLimit) return Status::InvalidArgument("limit: at most " + std::to_string(kMaxLimit));
    q.limit = static_cast<int>(n);
  }
  if (before && !before->empty()) {
    TP_ASSIGN_OR_RETURN(q.before_seq, PositiveInt(*before, "before"));
  }
  return q;
}

}  // namespace

std::string AuditActor(const http::Request& req, const RouteMatch& match) {
  // A user's session: the user, never anything of the token.
  if (const Principal* p = match.principal(); p != nullptr && p->is_session() && p->session) {
    return "user:" + std::to_string(p->session->user.id);
  }
  // A customer's token: the customer and the token's id, never the token.
  if (const Principal* p = match.principal(); p != nullptr && p->customer) {
    return "customer:" + std::to_string(p->customer->customer.value()) + "/token:" + p->customer->token_id;
  }
  if (const std::string* header = req.Header("authorization")) {
    if (auto key = privacy::KeyFromAuthorization(*header)) return "key:" + privacy::KeyPrefix(*key);
  }
  const std::string* node = req.Header(kForwardedByHeader);
  const std::string* role = req.Header(kForwardedRoleHeader);
  if (node != nullptr) return "node:" + *node + "/role:" + (role ? *role : std::string("?"));
  return "unknown";
}

void RecordAudit(const ServerContext& context, const http::Request& req, const RouteMatch& match, std::string_view action,
                 std::string_view target, std::string_view details_json) {
  if (context.audit == nullptr) return;
  Status s = context.audit->Record(AuditActor(req, match), action, target, details_json);
  if (!s.ok() && context.log != nullptr) {
    context.log->error("audit entry not recorded action={} error={}", action, s.message());
  }
}

void RegisterAuditRoutes(Router& router, const ServerContext& context) {
  // GET /v1/audit?actor=&action=&from=&to=&limit=&before=: newest first; `before` pages back.
  router.Add({"GET", "/v1/audit", privacy::Permission::kReadAudit,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.audit == nullptr) {
                  return http::JsonError(503, "unavailable", "the audit log is not open on this node");
                }
                auto query = ParseQuery(req.query);
                if (!query.ok()) return ResponseFromStatus(query.status());
                auto entries = context.audit->Query(*query);
                if (!entries.ok()) return ResponseFromStatus(entries.status());
                Json out = {{"entries", Json::array()}};
                for (const store::AuditEntryRecord& e : *entries) {
                  Json details = Json::parse(e.details_json, nullptr, /*allow_exceptions=*/false);
                  if (details.is_discarded()) details = e.details_json;  // shown as stored (tampered?)
                  out["entries"].push_back({{"seq", e.seq},
                                            {"time", FormatTimestamp(e.time)},
                                            {"actor", e.actor},
                                            {"action", e.action},
                                            {"target", e.target},
                                            {"details", std::move(details)},
                                            {"hash", e.hash}});
                }
                const bool more = static_cast<int>(entries->size()) == query->limit && !entries->empty();
                out["next_before"] = more ? Json(entries->back().seq) : Json(nullptr);
                // Reading the audit log is itself a sensitive read: recorded (after the answer is built).
                Json filter = Json::object();
                if (!query->actor.empty()) filter["actor"] = query->actor;
                if (!query->action.empty()) filter["action"] = query->action;
                if (query->from != 0) filter["from"] = query->from;
                if (query->to != 0) filter["to"] = query->to;
                if (query->before_seq != 0) filter["before"] = query->before_seq;
                RecordAudit(context, req, match, "audit.read", "audit", filter.dump());
                return JsonResponse(200, out.dump(-1, ' ', false, Json::error_handler_t::replace));
              }});
}

}  // namespace touchpoint::server

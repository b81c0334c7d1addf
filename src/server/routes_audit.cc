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

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A query string's parameter, percent-decoded ('+' is a space); nullopt when absent.
std::optional<std::string> Param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      const std::string_view raw = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      std::string out;
      for (size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '+') {
          out.push_back(' ');
        } else if (raw[i] == '%' && i + 2 < raw.size() && HexDigit(raw[i + 1]) >= 0 && HexDigit(raw[i + 2]) >= 0) {
          out.push_back(static_cast<char>(HexDigit(raw[i + 1]) * 16 + HexDigit(raw[i + 2])));
          i += 2;
        } else {
          out.push_back(raw[i]);
        }
      }
      return out;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

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
  if (auto v = Param(query, "actor")) q.actor = *v;
  if (auto v = Param(query, "action")) q.action = *v;
  if (auto v = Param(query, "from"); v && !v->empty()) {
    auto t = ParseTimestamp(*v);
    if (!t.ok()) return Status::InvalidArgument("from: " + t.status().message());
    q.from = *t;
  }
  if (auto v = Param(query, "to"); v && !v->empty()) {
    auto t = ParseTimestamp(*v);
    if (!t.ok()) return Status::InvalidArgument("to: " + t.status().message());
    q.to = *t;
  }
  if (auto v = Param(query, "limit"); v && !v->empty()) {
    TP_ASSIGN_OR_RETURN(std::int64_t limit, PositiveInt(*v, "limit"));
    if (limit > kMaxLimit) return Status::InvalidArgument("limit: at most " + std::to_string(kMaxLimit));
    q.limit = static_cast<int>(limit);
  }
  if (auto v = Param(query, "before"); v && !v->empty()) {
    TP_ASSIGN_OR_RETURN(q.before_seq, PositiveInt(*v, "before"));
  }
  return q;
}

}  // namespace

std::string AuditActor(const http::Request& req, const RouteMatch& match) {
  // A user's session: the user, never anything of the token.
  if (const Principal* p = match.principal(); p != nullptr && p->is_session() && p->session) {
    return "user:" + std::to_string(p->session->user.id);
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

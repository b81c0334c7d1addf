// Login routes: POST /v1/auth/login (public), logout and "who am I" for any caller, and the
// users list for admins. Sessions are checked by App's authenticator (app.cc); the work is
// privacy::LoginService's. Every node answers them: they use the small users and sessions tables
// through the node's own connection, as API keys do.
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <touchpoint/core/strings.h>
#include <touchpoint/core/time.h>
#include <touchpoint/privacy/login.h>
#include <touchpoint/store/user_repository.h>

#include "server/routes.h"

namespace touchpoint::server {
namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kMaxLoginBody = 4096;

struct LoginBody {
  privacy::LoginRequest request;
};

Result<LoginBody> ParseLogin(const std::string& body) {
  const auto usage = [] {
    return Status::InvalidArgument(
        R"(expected a JSON object {"email": "…", "password": "…", "totp": "123456" (if enrolled), "token": true (for a bearer token instead of a cookie)})");
  };
  if (body.size() > kMaxLoginBody) return usage();
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return usage();
  LoginBody out;
  bool has_email = false;
  bool has_password = false;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k == "email" && it.value().is_string()) {
      out.request.email = it.value().get<std::string>();
      has_email = true;
    } else if (k == "password" && it.value().is_string()) {
      out.request.password = it.value().get<std::string>();
      has_password = true;
    } else if (k == "totp" && it.value().is_string()) {
      out.request.totp = it.value().get<std::string>();
    } else if (k == "token" && it.value().is_boolean()) {
      out.request.bearer = it.value().get<bool>();
    } else {
      return usage();  // never echo a field: it may be a password
    }
  }
  if (!has_email || !has_password) return usage();
  return out;
}

Json UserJson(const store::UserRecord& u) {
  return Json{{"id", u.id},
              {"email", u.email},
              {"role", u.role},
              {"team_id", u.team_id == 0 ? Json(nullptr) : Json(u.team_id)},
              {"totp_enrolled", !u.totp_secret.empty()}};
}

std::string Cookie(std::string_view value, std::int64_t max_age_seconds, bool secure) {
  std::string c = std::string(kSessionCookie) + "=" + std::string(value) + "; Path=/; Max-Age=" +
                  std::to_string(max_age_seconds) + "; HttpOnly; SameSite=Strict";
  if (secure) c += "; Secure";
  return c;
}

http::Response NoStore(http::Response r) {
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

http::Response Login(const ServerContext& context, const http::Request& req) {
  auto body = ParseLogin(req.body);
  if (!body.ok()) return ResponseFromStatus(body.status());
  body->request.address = req.remote_address;
  auto result = context.auth->Login(body->request);
  if (!result.ok()) {
    context.log->error("login failed to reach the store error={}", result.status().message());
    http::Response r = http::JsonError(503, "unavailable", "logins cannot be checked right now; retry");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  const privacy::SessionPolicy& policy = context.auth->options().sessions;
  switch (result->outcome) {
    case privacy::LoginOutcome::kOk: break;
    case privacy::LoginOutcome::kInvalidCredentials:
      return http::JsonError(401, "invalid_credentials", "wrong e-mail, password or code");
    case privacy::LoginOutcome::kTotpRequired:
      return http::JsonError(401, "totp_required",
                             "second factor required: send the 6-digit code of your authenticator app as \"totp\"");
    case privacy::LoginOutcome::kTotpEnrollmentRequired:
      return http::JsonError(403, "totp_enrollment_required",
                             "second factor required: an administrator must enrol TOTP before logging in "
                             "(touchpoint users totp-enroll EMAIL)");
    case privacy::LoginOutcome::kThrottled: {
      http::Response r = http::JsonError(429, "too_many_attempts", "too many failed logins; retry later");
      r.headers.emplace_back("Retry-After", std::to_string((result->retry_after + 999) / 1000));
      return r;
    }
  }
  const privacy::IssuedSession& s = result->session;
  const Millis expires = s.record.created_at + policy.absolute_timeout;
  Json out = {{"user", UserJson(result->user)},
              {"expires_at", FormatTimestamp(expires)},
              {"idle_timeout_seconds", policy.idle_timeout / 1000}};
  if (body->request.bearer) {
    out["token"] = s.token;
    out["token_type"] = "Bearer";
    return NoStore(JsonResponse(200, out.dump()));
  }
  out["csrf_token"] = s.csrf_token;
  http::Response r = NoStore(JsonResponse(200, out.dump()));
  r.headers.emplace_back("Set-Cookie", Cookie(s.token, policy.absolute_timeout / 1000, context.config->cookie_secure || TlsEnabled(*context.config)));
  return r;
}

}  // namespace

std::optional<std::string> SessionCookieValue(const http::Request& request) {
  const std::string* header = request.Header("cookie");
  if (header == nullptr) return std::nullopt;
  std::string_view rest = *header;
  while (!rest.empty()) {
    const size_t semi = rest.find(';');
    std::string_view pair = TrimView(rest.substr(0, semi), kAsciiBlank);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == kSessionCookie && eq + 1 < pair.size()) {
      return std::string(pair.substr(eq + 1));
    }
    if (semi == std::string_view::npos) break;
    rest.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

void RegisterAuthRoutes(Router& router, const ServerContext& context) {
  router.Add({"POST", "/v1/auth/login", kPublic,
              [&context](const http::Request& req, const RouteMatch&) { return Login(context, req); },
              Served::kByAnyNode});

  router.Add({"POST", "/v1/auth/logout", privacy::Permission::kOwnSession,
              [&context](const http::Request& req, const RouteMatch& match) {
                const Principal* p = match.principal();
                if (p == nullptr || !p->is_session() || !p->session) {
                  return http::JsonError(400, "invalid_request",
                                         "this request was not authenticated by a session: there is nothing to log "
                                         "out (API keys are revoked with `touchpoint keys revoke`)");
                }
                Status s = context.auth->Logout(p->session->session, req.remote_address);
                if (!s.ok()) return ResponseFromStatus(s);
                http::Response r = JsonResponse(200, R"({"logged_out":true})");
                r.headers.emplace_back("Set-Cookie", Cookie("", 0, context.config->cookie_secure || TlsEnabled(*context.config)));
                return r;
              },
              Served::kByAnyNode});

  router.Add({"GET", "/v1/auth/me", privacy::Permission::kOwnSession,
              [&context](const http::Request&, const RouteMatch& match) {
                const Principal* p = match.principal();
                Json out;
                if (p != nullptr && p->is_session() && p->session) {
                  const privacy::SessionPolicy& policy = context.auth->options().sessions;
                  const store::SessionRecord& s = p->session->session;
                  out = {{"kind", p->kind == Principal::Kind::kSessionCookie ? "session_cookie" : "session_bearer"},
                         {"role", privacy::RoleName(p->role)},
                         {"user", UserJson(p->session->user)},
                         {"session",
                          {{"created_at", FormatTimestamp(s.created_at)},
                           {"expires_at", FormatTimestamp(s.created_at + policy.absolute_timeout)}}}};
                } else {
                  out = {{"kind", p != nullptr && p->kind == Principal::Kind::kForwarded ? "forwarded" : "api_key"},
                         {"role", privacy::RoleName(*match.role())}};
                }
                return JsonResponse(200, out.dump());
              },
              Served::kByAnyNode});

  router.Add({"GET", "/v1/users", privacy::Permission::kManageUsers,
              [&context](const http::Request&, const RouteMatch&) {
                auto users = context.auth->ListUsers();
                if (!users.ok()) return ResponseFromStatus(users.status());
                Json list = Json::array();
                for (const store::UserRecord& u : *users) {
                  Json j = UserJson(u);
                  j["created_at"] = FormatTimestamp(u.created_at);
                  j["disabled_at"] = u.disabled_at == 0 ? Json(nullptr) : Json(FormatTimestamp(u.disabled_at));
                  j["failed_logins"] = u.failed_logins;
                  j["locked_until"] = u.locked_until == 0 ? Json(nullptr) : Json(FormatTimestamp(u.locked_until));
                  list.push_back(std::move(j));
                }
                return JsonResponse(200, Json{{"users", std::move(list)}}.dump());
              },
              Served::kByAnyNode});
}

}  // namespace touchpoint::server

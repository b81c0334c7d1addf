// The route × role matrix (issue 14, item 2) on the real server over loopback: every route the
// router has, with every role by API key and by login session, with no credentials, an expired
// session, a revoked key, a disabled user's session and a session cookie without its CSRF token.
// The expected statuses are written out below as a literal table: they are what the product
// promises, not what privacy's matrix happens to say (a route without a row fails the test).
// Also: the login route itself (cookie attributes, one answer for wrong password and unknown
// account, throttling with Retry-After, logout).
#include <touchpoint/server/app.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>
#include <span>
#include <string_view>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/core/time.h>
#include <touchpoint/privacy/customer_token.h>
#include <touchpoint/privacy/keys.h>
#include <touchpoint/privacy/master_key.h>
#include <touchpoint/privacy/passwords.h>
#include <touchpoint/privacy/sessions.h>
#include <touchpoint/privacy/totp.h>
#include <touchpoint/privacy/users.h>
#include <touchpoint/store/api_key_repository.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/session_repository.h>

#include "server/routes.h"
#include "server/test_util.h"
#include "testing/data_dir.h"
#include "testing/http_client.h"
#include "testing/matchers.h"

namespace touchpoint::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::touchpoint::privacy::Role;
using ::touchpoint::testing::HttpClient;
using ::touchpoint::testing::HttpHeaders;
using ::touchpoint::testing::HttpResponse;
using json = nlohmann::json;

constexpr char kPassword[] = "correct horse battery staple";

// The callers, in the columns' order of kExpected.
enum Caller {
  kKeyIngest, kKeyAdmin, kKeySupervisor, kKeyAgent, kKeyAnalyst,          // API keys
  kSessionAdmin, kSessionSupervisor, kSessionAgent, kSessionAnalyst,      // cookie + X-CSRF-Token
  kBearerAnalyst,                                                         // session token as Bearer
  kNone, kRevokedKey, kExpiredSession, kDisabledUser, kCookieWithoutCsrf,  // refused (or partly)
  kCallers
};
constexpr const char* kCallerNames[kCallers] = {
    "key:ingest",      "key:admin",        "key:supervisor",  "key:agent",     "key:analyst",
    "session:admin",   "session:supervisor", "session:agent", "session:analyst", "bearer-session:analyst",
    "no credentials",  "revoked key",      "expired session", "disabled user's session",
    "admin cookie without CSRF token"};

struct ExpectedRow {
  const char* route;  // "METHOD label", as the router lists it
  std::array<int, kCallers> status;
};

// KI KA KS KG KN | SA SS SG SN | BN | none revoked expired disabled no-csrf
// Requests that reach a handler ask for things that do not exist where that is possible (an
// unknown customer, job or segment: 404), so that every allowed call is harmless and repeatable.
// Logout with an API key is 400 (there is no session to end).
constexpr ExpectedRow kExpected[] = {
    {"GET /healthz", {200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
    {"GET /metrics", {200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
    {"GET /v1/stats", {403, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401, 401, 401, 401, 200}},
    {"POST /v1/identify", {200, 200, 403, 403, 403, 200, 403, 403, 403, 403, 401, 401, 401, 401, 403}},
    {"POST /v1/track", {200, 200, 403, 403, 403, 200, 403, 403, 403, 403, 401, 401, 401, 401, 403}},
    {"POST /v1/page", {200, 200, 403, 403, 403, 200, 403, 403, 403, 403, 401, 401, 401, 401, 403}},
    {"POST /v1/alias", {200, 200, 403, 403, 403, 200, 403, 403, 403, 403, 401, 401, 401, 401, 403}},
    {"POST /v1/screen", {200, 200, 403, 403, 403, 200, 403, 403, 403, 403, 401, 401, 401, 401, 403}},
    {"POST /v1/group", {200, 200, 403, 403, 403, 200, 403, 403, 403, 403, 401, 401, 401, 401, 403}},
    {"POST /v1/batch", {200, 200, 403, 403, 403, 200, 403, 403, 403, 403, 401, 401, 401, 401, 403}},
    {"GET /v1/customers/{id}", {403, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401, 401, 401, 401, 404}},
    {"POST /v1/jobs/{job}", {403, 404, 403, 403, 404, 404, 403, 403, 404, 404, 401, 401, 401, 401, 403}},
    {"GET /v1/jobs/{job}", {403, 404, 403, 403, 404, 404, 403, 403, 404, 404, 401, 401, 401, 401, 404}},
    {"GET /v1/jobs", {403, 200, 403, 403, 200, 200, 403, 403, 200, 200, 401, 401, 401, 401, 200}},
    {"GET /v1/segments", {403, 200, 200, 403, 200, 200, 200, 403, 200, 200, 401, 401, 401, 401, 200}},
    {"PUT /v1/segments/{name}", {403, 201, 403, 403, 201, 201, 403, 403, 201, 201, 401, 401, 401, 401, 403}},
    {"GET /v1/segments/{name}", {403, 404, 404, 403, 404, 404, 404, 403, 404, 404, 401, 401, 401, 401, 404}},
    {"DELETE /v1/segments/{name}", {403, 404, 403, 403, 404, 404, 403, 403, 404, 404, 401, 401, 401, 401, 403}},
    {"GET /v1/segments/{name}/members", {403, 404, 404, 403, 404, 404, 404, 403, 404, 404, 401, 401, 401, 401, 404}},
    {"POST /v1/segments/preview", {403, 200, 200, 403, 200, 200, 200, 403, 200, 200, 401, 401, 401, 401, 403}},
    {"POST /v1/auth/login", {400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400}},
    {"GET /v1/auth/me", {200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401, 401, 401, 401, 200}},
    {"GET /v1/users", {403, 200, 403, 403, 403, 200, 403, 403, 403, 403, 401, 401, 401, 401, 200}},
    {"GET /v1/audit", {403, 200, 403, 403, 403, 200, 403, 403, 403, 403, 401, 401, 401, 401, 200}},
    {"GET /v1/reports/segments", {403, 200, 200, 403, 200, 200, 200, 403, 200, 200, 401, 401, 401, 401, 200}},
    {"GET /v1/reports/rfm", {403, 200, 200, 403, 200, 200, 200, 403, 200, 200, 401, 401, 401, 401, 200}},
    // Consents: read like the profile; recorded by the staff who talk to customers (not analysts).
    {"GET /v1/customers/{id}/consents", {403, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401, 401, 401, 401, 404}},
    {"POST /v1/customers/{id}/consents", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 403}},
    // Customer tokens are issued by admins only (the company's own login holds an admin key).
    {"POST /v1/privacy/customer-tokens", {403, 404, 403, 403, 403, 404, 403, 403, 403, 403, 401, 401, 401, 401, 403}},
    // The service desk: staff work tickets (unknown ones here: 404); analysts see aggregates only.
    {"POST /v1/tickets", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 403}},
    {"GET /v1/tickets", {403, 200, 200, 200, 403, 200, 200, 200, 403, 403, 401, 401, 401, 401, 200}},
    // The desk's channels: inbound e-mail is ingest (a relay's key); a CSAT answer carries its own
    // signed token (public; a token for nothing here: 403); attachments read like the ticket.
    {"POST /v1/channels/email/inbound", {400, 400, 403, 403, 403, 400, 403, 403, 403, 403, 401, 401, 401, 401, 403}},
    {"POST /v1/tickets/{number}/csat", {403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403}},
    {"GET /v1/tickets/{number}/attachments/{hash}", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 404}},
    {"GET /v1/tickets/{number}", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 404}},
    {"GET /v1/tickets/{number}/history", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 404}},
    {"POST /v1/tickets/{number}/messages", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 403}},
    {"POST /v1/tickets/{number}/status", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 403}},
    {"POST /v1/tickets/{number}/assign", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 403}},
    {"POST /v1/tickets/merge", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 403}},
    {"GET /v1/desk/steps", {403, 200, 200, 403, 200, 200, 200, 403, 200, 200, 401, 401, 401, 401, 200}},
    // Routing: staff read agents and queues; agents set their own state (unknown agent here:
    // 404); only admins create agents (they create users).
    {"GET /v1/agents", {403, 200, 200, 200, 403, 200, 200, 200, 403, 403, 401, 401, 401, 401, 200}},
    {"POST /v1/agents", {403, 404, 403, 403, 403, 404, 403, 403, 403, 403, 401, 401, 401, 401, 403}},
    {"GET /v1/agents/{id}", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 404}},
    {"POST /v1/agents/{id}/state", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 403}},
    {"GET /v1/tickets/{number}/routing", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 404}},
    {"GET /v1/desk/queues", {403, 200, 200, 200, 403, 200, 200, 200, 403, 403, 401, 401, 401, 401, 200}},
    // SLA and the complaint loop: staff's, like tickets (unknown tickets here: 404).
    {"GET /v1/desk/sla", {403, 200, 200, 200, 403, 200, 200, 200, 403, 403, 401, 401, 401, 401, 200}},
    {"GET /v1/desk/tasks", {403, 200, 200, 200, 403, 200, 200, 200, 403, 403, 401, 401, 401, 401, 200}},
    {"GET /v1/tickets/{number}/sla", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 404}},
    {"GET /v1/tickets/{number}/tasks", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 404}},
    {"POST /v1/tickets/{number}/tasks/{id}/complete", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 403}},
    {"POST /v1/tickets/{number}/type", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 403}},
    // Deskflow: search, tags, fields and canned replies are staff's; supervisors and admins edit the
    // canned replies (an agent's POST/DELETE is 403); the feed is read by staff, the repeat report
    // like the step report.
    {"GET /v1/tickets/search", {403, 200, 200, 200, 403, 200, 200, 200, 403, 403, 401, 401, 401, 401, 200}},
    {"POST /v1/tickets/{number}/tags", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 403}},
    {"POST /v1/tickets/{number}/fields", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 403}},
    {"POST /v1/tickets/{number}/canned", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 403}},
    {"GET /v1/canned", {403, 200, 200, 200, 403, 200, 200, 200, 403, 403, 401, 401, 401, 401, 200}},
    {"POST /v1/canned", {403, 400, 400, 403, 403, 400, 400, 403, 403, 403, 401, 401, 401, 401, 403}},
    {"GET /v1/canned/{name}", {403, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 404}},
    {"DELETE /v1/canned/{name}", {403, 404, 404, 403, 403, 404, 404, 403, 403, 403, 401, 401, 401, 401, 403}},
    {"GET /v1/desk/feed", {403, 200, 200, 200, 403, 200, 200, 200, 403, 403, 401, 401, 401, 401, 200}},
    {"GET /v1/desk/repeats", {403, 200, 200, 403, 200, 200, 200, 403, 200, 200, 401, 401, 401, 401, 200}},
    {"POST /v1/privacy/exports", {403, 404, 403, 403, 403, 404, 403, 403, 403, 403, 401, 401, 401, 401, 403}},
    {"POST /v1/privacy/erasures", {403, 404, 403, 403, 403, 404, 403, 403, 403, 403, 401, 401, 401, 401, 403}},
    // Service KPIs: aggregate desk reports (supervisors, analysts, admins; not agents).
    {"GET /v1/kpis", {403, 200, 200, 403, 200, 200, 200, 403, 200, 200, 401, 401, 401, 401, 200}},
    // Scorecards: aggregate desk reports like the KPIs.
    {"GET /v1/scorecards", {403, 200, 200, 403, 200, 200, 200, 403, 200, 200, 401, 401, 401, 401, 200}},
    // Funnels and journeys: aggregates over the stored events (supervisors, analysts, admins; not agents).
    {"GET /v1/funnels", {403, 200, 200, 403, 200, 200, 200, 403, 200, 200, 401, 401, 401, 401, 200}},
    {"GET /v1/journeys", {403, 200, 200, 403, 200, 200, 200, 403, 200, 200, 401, 401, 401, 401, 200}},
    {"GET /v1/journeys/{name}", {403, 200, 200, 403, 200, 200, 200, 403, 200, 200, 401, 401, 401, 401, 200}},
    // Experiments: analysts read them and their results, supervisors and admins create, start and
    // stop them (a body without variants here: 400; unknown ids: 404); assignments log exposures
    // and are asked by the systems that act on a variant (ingest keys) and staff, not analysts.
    {"POST /v1/experiments", {403, 400, 400, 403, 403, 400, 400, 403, 403, 403, 401, 401, 401, 401, 403}},
    {"GET /v1/experiments", {403, 200, 200, 403, 200, 200, 200, 403, 200, 200, 401, 401, 401, 401, 200}},
    {"GET /v1/experiments/{id}", {403, 404, 404, 403, 404, 404, 404, 403, 404, 404, 401, 401, 401, 401, 404}},
    {"POST /v1/experiments/{id}/start", {403, 404, 404, 403, 403, 404, 404, 403, 403, 403, 401, 401, 401, 401, 403}},
    {"POST /v1/experiments/{id}/stop", {403, 404, 404, 403, 403, 404, 404, 403, 403, 403, 401, 401, 401, 401, 403}},
    {"GET /v1/experiments/{id}/results", {403, 404, 404, 403, 404, 404, 404, 403, 404, 404, 401, 401, 401, 401, 404}},
    {"GET /v1/assignments", {404, 404, 404, 404, 403, 404, 404, 404, 403, 403, 401, 401, 401, 401, 404}},
    // Last for every caller: it ends the caller's session.
    {"POST /v1/auth/logout", {400, 400, 400, 400, 400, 200, 200, 200, 200, 200, 401, 401, 401, 401, 403}},
};

// What each route is called with: a path for its pattern and a body. {n} in a path becomes a
// number unique to the call (PUT creates a new segment each time).
struct RouteRequest {
  const char* route;
  const char* path;
  const char* body;
};
constexpr RouteRequest kRequests[] = {
    {"GET /healthz", "/healthz", ""},
    {"GET /metrics", "/metrics", ""},
    {"GET /v1/stats", "/v1/stats", ""},
    {"POST /v1/identify", "/v1/identify", R"({"userId":"u-1","traits":{"plan":"pro"}})"},
    {"POST /v1/track", "/v1/track", R"({"userId":"u-1","event":"Signed Up"})"},
    {"POST /v1/page", "/v1/page", R"({"userId":"u-1","name":"Home"})"},
    {"POST /v1/alias", "/v1/alias", R"({"previousId":"a-1","userId":"u-1"})"},
    {"POST /v1/screen", "/v1/screen", R"({"userId":"u-1","name":"Settings"})"},
    {"POST /v1/group", "/v1/group", R"({"userId":"u-1","groupId":"g-1"})"},
    {"POST /v1/batch", "/v1/batch", R"({"batch":[{"type":"track","userId":"u-1","event":"Viewed"}]})"},
    {"GET /v1/customers/{id}", "/v1/customers/user:nobody-here", ""},
    {"POST /v1/jobs/{job}", "/v1/jobs/no-such-job", "{}"},
    {"GET /v1/jobs/{job}", "/v1/jobs/999999", ""},
    {"GET /v1/jobs", "/v1/jobs", ""},
    {"GET /v1/segments", "/v1/segments", ""},
    {"PUT /v1/segments/{name}", "/v1/segments/matrix-{n}", R"({"rule":"orders_total >= 1"})"},
    {"GET /v1/segments/{name}", "/v1/segments/no-such-segment", ""},
    {"DELETE /v1/segments/{name}", "/v1/segments/no-such-segment", ""},
    {"GET /v1/segments/{name}/members", "/v1/segments/no-such-segment/members", ""},
    {"POST /v1/segments/preview", "/v1/segments/preview", R"({"rule":"orders_total >= 1"})"},
    {"POST /v1/auth/login", "/v1/auth/login", "not json"},
    {"GET /v1/auth/me", "/v1/auth/me", ""},
    {"GET /v1/users", "/v1/users", ""},
    {"GET /v1/audit", "/v1/audit", ""},
    {"GET /v1/reports/segments", "/v1/reports/segments", ""},
    {"GET /v1/reports/rfm", "/v1/reports/rfm", ""},
    {"GET /v1/customers/{id}/consents", "/v1/customers/user:nobody-here/consents", ""},
    {"POST /v1/customers/{id}/consents", "/v1/customers/user:nobody-here/consents", R"({"marketing":{"email":true}})"},
    {"POST /v1/privacy/customer-tokens", "/v1/privacy/customer-tokens", R"({"customer":"user:nobody-here"})"},
    {"POST /v1/tickets", "/v1/tickets", R"({"customer":"user:nobody-here","subject":"s","channel":"chat"})"},
    {"GET /v1/tickets", "/v1/tickets", ""},
    {"GET /v1/tickets/{number}", "/v1/tickets/TP-999999", ""},
    {"GET /v1/tickets/{number}/history", "/v1/tickets/TP-999999/history", ""},
    {"POST /v1/tickets/{number}/messages", "/v1/tickets/TP-999999/messages", R"({"text":"hello"})"},
    {"POST /v1/tickets/{number}/status", "/v1/tickets/TP-999999/status", R"({"status":"open"})"},
    {"POST /v1/tickets/{number}/assign", "/v1/tickets/TP-999999/assign", R"({"agent":null})"},
    {"POST /v1/tickets/merge", "/v1/tickets/merge", R"({"source":"TP-999998","target":"TP-999999"})"},
    {"GET /v1/desk/steps", "/v1/desk/steps", ""},
    {"GET /v1/agents", "/v1/agents", ""},
    {"POST /v1/agents", "/v1/agents", R"({"name":"nobody","user":999999})"},
    {"GET /v1/agents/{id}", "/v1/agents/999999", ""},
    {"POST /v1/agents/{id}/state", "/v1/agents/999999/state", R"({"state":"online"})"},
    {"GET /v1/tickets/{number}/routing", "/v1/tickets/TP-999999/routing", ""},
    {"GET /v1/desk/queues", "/v1/desk/queues", ""},
    {"GET /v1/desk/sla", "/v1/desk/sla", ""},
    {"GET /v1/desk/tasks", "/v1/desk/tasks", ""},
    {"GET /v1/tickets/{number}/sla", "/v1/tickets/TP-999999/sla", ""},
    {"GET /v1/tickets/{number}/tasks", "/v1/tickets/TP-999999/tasks", ""},
    {"POST /v1/tickets/{number}/tasks/{id}/complete", "/v1/tickets/TP-999999/tasks/1/complete", ""},
    {"POST /v1/tickets/{number}/type", "/v1/tickets/TP-999999/type", R"({"type":"complaint"})"},
    {"GET /v1/tickets/search", "/v1/tickets/search?q=refund", ""},
    {"POST /v1/tickets/{number}/tags", "/v1/tickets/TP-999999/tags", R"({"add":["vip"]})"},
    {"POST /v1/tickets/{number}/fields", "/v1/tickets/TP-999999/fields", R"({"fields":{"order_id":"A-1"}})"},
    {"POST /v1/tickets/{number}/canned", "/v1/tickets/TP-999999/canned", R"({"name":"thanks"})"},
    {"GET /v1/canned", "/v1/canned", ""},
    {"POST /v1/canned", "/v1/canned", R"({"name":"thanks","body":"Dear {{customer.nickname}}"})"},
    {"GET /v1/canned/{name}", "/v1/canned/nope", ""},
    {"DELETE /v1/canned/{name}", "/v1/canned/nope", ""},
    {"GET /v1/desk/feed", "/v1/desk/feed?after=0", ""},
    {"GET /v1/desk/repeats", "/v1/desk/repeats", ""},
    {"POST /v1/channels/email/inbound", "/v1/channels/email/inbound", R"({"raw":"not a mail"})"},
    {"POST /v1/tickets/{number}/csat", "/v1/tickets/TP-999999/csat", R"({"token":"abc.def","score":5})"},
    {"GET /v1/tickets/{number}/attachments/{hash}", "/v1/tickets/TP-999999/attachments/00ff", ""},
    {"POST /v1/privacy/exports", "/v1/privacy/exports", R"({"identifier":"user:nobody-here"})"},
    {"POST /v1/privacy/erasures", "/v1/privacy/erasures", R"({"identifier":"user:nobody-here"})"},
    {"GET /v1/kpis", "/v1/kpis?metrics=frt,resolution_rate&by=channel", ""},
    {"GET /v1/scorecards", "/v1/scorecards?period=2026-11", ""},
    {"GET /v1/funnels", "/v1/funnels?steps=view,order", ""},
    {"GET /v1/journeys", "/v1/journeys", ""},
    {"GET /v1/journeys/{name}", "/v1/journeys/purchase", ""},
    {"POST /v1/experiments", "/v1/experiments", R"({"name":"matrix","unit":"ticket","metrics":"art"})"},
    {"GET /v1/experiments", "/v1/experiments", ""},
    {"GET /v1/experiments/{id}", "/v1/experiments/999999", ""},
    {"POST /v1/experiments/{id}/start", "/v1/experiments/999999/start", ""},
    {"POST /v1/experiments/{id}/stop", "/v1/experiments/999999/stop", ""},
    {"GET /v1/experiments/{id}/results", "/v1/experiments/999999/results", ""},
    {"GET /v1/assignments", "/v1/assignments?experiment=999999&unit=1", ""},
    {"POST /v1/auth/logout", "/v1/auth/logout", ""},
};

// Customer self-service tokens (privacy/customer_token.h), on every route: a token of the customer
// the path names ("own"), a token of another existing customer on the same path ("other": 404,
// exactly as an unknown customer — existence is not leaked), an expired token and a forged one
// (401). A customer token reaches only the routes marked for it; everything else is 403.
enum CustomerCaller { kOwnToken, kOtherToken, kExpiredToken, kForgedToken, kCustomerCallers };
constexpr const char* kCustomerCallerNames[kCustomerCallers] = {"own customer's token", "another customer's token",
                                                                "expired customer token", "forged customer token"};
struct CustomerExpectedRow {
  const char* route;
  std::array<int, kCustomerCallers> status;
};
// own other expired forged
constexpr CustomerExpectedRow kCustomerExpected[] = {
    {"GET /healthz", {200, 200, 200, 200}},
    {"GET /metrics", {200, 200, 200, 200}},
    {"GET /v1/stats", {403, 403, 401, 401}},
    {"POST /v1/identify", {403, 403, 401, 401}},
    {"POST /v1/track", {403, 403, 401, 401}},
    {"POST /v1/page", {403, 403, 401, 401}},
    {"POST /v1/alias", {403, 403, 401, 401}},
    {"POST /v1/screen", {403, 403, 401, 401}},
    {"POST /v1/group", {403, 403, 401, 401}},
    {"POST /v1/batch", {403, 403, 401, 401}},
    {"GET /v1/customers/{id}", {200, 404, 401, 401}},
    {"POST /v1/jobs/{job}", {403, 403, 401, 401}},
    {"GET /v1/jobs/{job}", {403, 403, 401, 401}},
    {"GET /v1/jobs", {403, 403, 401, 401}},
    {"GET /v1/segments", {403, 403, 401, 401}},
    {"PUT /v1/segments/{name}", {403, 403, 401, 401}},
    {"GET /v1/segments/{name}", {403, 403, 401, 401}},
    {"DELETE /v1/segments/{name}", {403, 403, 401, 401}},
    {"GET /v1/segments/{name}/members", {403, 403, 401, 401}},
    {"POST /v1/segments/preview", {403, 403, 401, 401}},
    {"POST /v1/auth/login", {400, 400, 400, 400}},
    {"GET /v1/auth/me", {403, 403, 401, 401}},
    {"GET /v1/users", {403, 403, 401, 401}},
    {"GET /v1/audit", {403, 403, 401, 401}},
    {"GET /v1/reports/segments", {403, 403, 401, 401}},
    {"GET /v1/reports/rfm", {403, 403, 401, 401}},
    {"GET /v1/customers/{id}/consents", {200, 404, 401, 401}},
    {"POST /v1/customers/{id}/consents", {200, 404, 401, 401}},
    {"POST /v1/privacy/customer-tokens", {403, 403, 401, 401}},
    // The service desk is staff's: a customer token reaches none of it.
    {"POST /v1/tickets", {403, 403, 401, 401}},
    {"GET /v1/tickets", {403, 403, 401, 401}},
    {"GET /v1/tickets/{number}", {403, 403, 401, 401}},
    {"GET /v1/tickets/{number}/history", {403, 403, 401, 401}},
    {"POST /v1/tickets/{number}/messages", {403, 403, 401, 401}},
    {"POST /v1/tickets/{number}/status", {403, 403, 401, 401}},
    {"POST /v1/tickets/{number}/assign", {403, 403, 401, 401}},
    {"POST /v1/tickets/merge", {403, 403, 401, 401}},
    {"GET /v1/desk/steps", {403, 403, 401, 401}},
    {"GET /v1/agents", {403, 403, 401, 401}},
    {"POST /v1/agents", {403, 403, 401, 401}},
    {"GET /v1/agents/{id}", {403, 403, 401, 401}},
    {"POST /v1/agents/{id}/state", {403, 403, 401, 401}},
    {"GET /v1/tickets/{number}/routing", {403, 403, 401, 401}},
    {"GET /v1/desk/queues", {403, 403, 401, 401}},
    // Subject rights: a customer exports and erases only itself. Another customer's identifier is
    // 403 — as any identifier that is not the token's own, known or not (nothing leaks). The own
    // token's erasure really erases self-1: the own token goes last (see the loop).
    {"POST /v1/privacy/exports", {200, 403, 401, 401}},
    {"POST /v1/privacy/erasures", {200, 403, 401, 401}},
    {"GET /v1/desk/sla", {403, 403, 401, 401}},
    {"GET /v1/desk/tasks", {403, 403, 401, 401}},
    {"GET /v1/tickets/{number}/sla", {403, 403, 401, 401}},
    {"GET /v1/tickets/{number}/tasks", {403, 403, 401, 401}},
    {"POST /v1/tickets/{number}/tasks/{id}/complete", {403, 403, 401, 401}},
    {"POST /v1/tickets/{number}/type", {403, 403, 401, 401}},
    {"GET /v1/tickets/search", {403, 403, 401, 401}},
    {"POST /v1/tickets/{number}/tags", {403, 403, 401, 401}},
    {"POST /v1/tickets/{number}/fields", {403, 403, 401, 401}},
    {"POST /v1/tickets/{number}/canned", {403, 403, 401, 401}},
    {"GET /v1/canned", {403, 403, 401, 401}},
    {"POST /v1/canned", {403, 403, 401, 401}},
    {"GET /v1/canned/{name}", {403, 403, 401, 401}},
    {"DELETE /v1/canned/{name}", {403, 403, 401, 401}},
    {"GET /v1/desk/feed", {403, 403, 401, 401}},
    {"GET /v1/desk/repeats", {403, 403, 401, 401}},
    {"POST /v1/channels/email/inbound", {403, 403, 401, 401}},
    {"POST /v1/tickets/{number}/csat", {403, 403, 403, 403}},  // public: the survey token decides
    {"GET /v1/tickets/{number}/attachments/{hash}", {403, 403, 401, 401}},
    {"GET /v1/kpis", {403, 403, 401, 401}},
    {"GET /v1/scorecards", {403, 403, 401, 401}},
    {"GET /v1/funnels", {403, 403, 401, 401}},
    {"GET /v1/journeys", {403, 403, 401, 401}},
    {"GET /v1/journeys/{name}", {403, 403, 401, 401}},
    {"POST /v1/experiments", {403, 403, 401, 401}},
    {"GET /v1/experiments", {403, 403, 401, 401}},
    {"GET /v1/experiments/{id}", {403, 403, 401, 401}},
    {"POST /v1/experiments/{id}/start", {403, 403, 401, 401}},
    {"POST /v1/experiments/{id}/stop", {403, 403, 401, 401}},
    {"GET /v1/experiments/{id}/results", {403, 403, 401, 401}},
    {"GET /v1/assignments", {403, 403, 401, 401}},
    {"POST /v1/auth/logout", {403, 403, 401, 401}},
};
// The paths (and bodies) customer callers use where kRequests' would name nobody: the own customer.
constexpr RouteRequest kCustomerRequests[] = {
    {"GET /v1/customers/{id}", "/v1/customers/user:self-1", ""},
    {"GET /v1/customers/{id}/consents", "/v1/customers/user:self-1/consents", ""},
    {"POST /v1/customers/{id}/consents", "/v1/customers/user:self-1/consents", R"({"marketing":{"email":true}})"},
    {"POST /v1/privacy/exports", "/v1/privacy/exports", R"({"identifier":"user:self-1"})"},
    {"POST /v1/privacy/erasures", "/v1/privacy/erasures", R"({"identifier":"user:self-1","reason":"matrix"})"},
};

// The request for `route`: from `overrides` when it has one, else from kRequests; null for none.
const RouteRequest* RequestFor(std::string_view route, std::span<const RouteRequest> overrides = {}) {
  for (const RouteRequest& r : overrides) {
    if (route == r.route) return &r;
  }
  for (const RouteRequest& r : kRequests) {
    if (route == r.route) return &r;
  }
  return nullptr;
}

// The routes the server registers, "METHOD label" each, in registration order.
std::vector<std::string> ServedRoutes() {
  Router router([](const http::Request&) -> std::variant<Principal, http::Response> { return Role::kAdmin; });
  static const ServerContext kNoServer;
  RegisterAllRoutes(router, kNoServer);
  std::vector<std::string> out;
  for (const RouteInfo& r : router.Routes()) out.push_back(r.method + " " + r.label);
  return out;
}

struct Session {
  std::string token;
  std::string csrf;
};

class AuthServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir("auth");
    config_ = test::TestConfig(dir_.string(), testing::StoreUrlForDir(dir_.string()));
    // A master key of its own (customer tokens are keyed from it), outside the data directory's files.
    key_dir_ = test::MakeTempDir("auth_key");  // apart from the data directory (a restore replaces it)
    config_.master_key_file = (key_dir_ / "master.key").string();
    ASSERT_OK(privacy::CreateMasterKeyFile(config_.master_key_file).status());
    auto store = testing::OpenForKeys(config_.data_dir);
    ASSERT_OK(store.status());
    store_ = std::move(*store);
    privacy::PasswordHasherOptions cheap;
    cheap.params = privacy::PasswordHashParams::Minimum();  // the server rehashes at first login
    hasher_ = std::make_unique<privacy::PasswordHasher>(cheap);
    admin_ = std::make_unique<privacy::UserAdmin>(*store_, *hasher_, SystemClock::Instance());
  }
  void TearDown() override {
    if (app_) app_->Stop();
    app_.reset();
    admin_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    std::filesystem::remove_all(key_dir_, ec);
  }
  void Start() {
    auto app = App::Start(config_);
    ASSERT_OK(app.status());
    app_ = std::move(*app);
    client_ = std::make_unique<HttpClient>(app_->port());
  }
  std::string MakeKey(Role role) {
    auto created = privacy::CreateApiKey(store_->Get<store::ApiKeyRepository>(), role, 1'700'000'000'000);
    EXPECT_OK(created.status());
    return created.ok() ? created->key : "";
  }
  store::UserRecord MakeUser(const std::string& email, Role role) {
    auto u = admin_->CreateUser(email, role, "", kPassword);
    EXPECT_OK(u.status());
    return u.ok() ? *u : store::UserRecord{};
  }
  // Sends `req` with `headers` (its route's method; a "{n}" in its path made unique by ++*n).
  Result<HttpResponse> SendRoute(const RouteRequest& req, const HttpHeaders& headers, int* n) {
    const std::string_view route = req.route;
    const std::string method(route.substr(0, route.find(' ')));
    std::string path = req.path;
    if (auto pos = path.find("{n}"); pos != std::string::npos) path.replace(pos, 3, std::to_string(++*n));
    return client_->Send(method, path, req.body, "application/json", headers);
  }
  HttpResponse PostLogin(const json& body) {
    auto r = client_->Post("/v1/auth/login", body.dump());
    EXPECT_OK(r.status());
    return r.ok() ? *r : HttpResponse{};
  }
  // Logs in with a cookie session; the token from Set-Cookie, the CSRF token from the body.
  Session LoginCookie(const std::string& email, const std::string& totp = "") {
    json body = {{"email", email}, {"password", kPassword}};
    if (!totp.empty()) body["totp"] = totp;
    HttpResponse r = PostLogin(body);
    EXPECT_EQ(r.status, 200) << email << ": " << r.body;
    Session s;
    if (const std::string* cookie = r.Header("set-cookie")) {
      const std::string prefix = "tp_session=";
      if (cookie->rfind(prefix, 0) == 0) s.token = cookie->substr(prefix.size(), cookie->find(';') - prefix.size());
    }
    json j = json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("csrf_token")) s.csrf = j["csrf_token"].get<std::string>();
    EXPECT_TRUE(privacy::IsSessionToken(s.token)) << r.body;
    return s;
  }
  std::string LoginBearer(const std::string& email) {
    HttpResponse r = PostLogin({{"email", email}, {"password", kPassword}, {"token", true}});
    EXPECT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("token") ? j["token"].get<std::string>() : "";
  }
  static HttpHeaders CookieHeaders(const Session& s, bool with_csrf = true) {
    HttpHeaders h = {{"Cookie", "theme=dark; tp_session=" + s.token}};
    if (with_csrf) h.emplace_back("X-CSRF-Token", s.csrf);
    return h;
  }

  std::filesystem::path dir_;
  std::filesystem::path key_dir_;
  ServerConfig config_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<privacy::PasswordHasher> hasher_;
  std::unique_ptr<privacy::UserAdmin> admin_;
  std::unique_ptr<App> app_;
  std::unique_ptr<HttpClient> client_;
};

TEST(AuthMatrixTableTest, EveryServedRouteHasAnExpectedRowAndARequest) {
  const std::vector<std::string> routes = ServedRoutes();
  ASSERT_FALSE(routes.empty());
  for (const std::string& route : routes) {
    const bool has_row = std::any_of(std::begin(kExpected), std::end(kExpected),
                                     [&](const ExpectedRow& r) { return route == r.route; });
    const bool has_request = std::any_of(std::begin(kRequests), std::end(kRequests),
                                         [&](const RouteRequest& r) { return route == r.route; });
    EXPECT_TRUE(has_row) << route << " has no row in kExpected: decide who may call it";
    EXPECT_TRUE(has_request) << route << " has no entry in kRequests";
    const bool has_customer_row = std::any_of(std::begin(kCustomerExpected), std::end(kCustomerExpected),
                                              [&](const CustomerExpectedRow& r) { return route == r.route; });
    EXPECT_TRUE(has_customer_row) << route << " has no row in kCustomerExpected: decide what a customer token gets";
  }
  for (const CustomerExpectedRow& row : kCustomerExpected) {
    EXPECT_NE(std::find(routes.begin(), routes.end(), row.route), routes.end()) << row.route << " is not served";
  }
  for (const ExpectedRow& row : kExpected) {
    EXPECT_NE(std::find(routes.begin(), routes.end(), row.route), routes.end()) << row.route << " is not served";
  }
}

TEST_F(AuthServerTest, EveryRouteWithEveryCallerAnswersAsTheMatrixSays) {
  std::array<std::string, 5> keys;
  for (Role r : privacy::kAllRoles) keys[static_cast<size_t>(r)] = MakeKey(r);
  const std::string revoked = MakeKey(Role::kAdmin);
  ASSERT_OK(store_->Get<store::ApiKeyRepository>().Revoke(privacy::KeyPrefix(revoked), 1'700'000'000'001));
  MakeUser("root@example.com", Role::kAdmin);
  auto totp = admin_->EnrollTotp("root@example.com");
  ASSERT_OK(totp.status());
  MakeUser("sue@example.com", Role::kSupervisor);
  const store::UserRecord agent = MakeUser("ann@example.com", Role::kAgent);
  MakeUser("ada@example.com", Role::kAnalyst);
  MakeUser("gone@example.com", Role::kAgent);
  // A session that expired: created 13 hours ago (the absolute limit is 12), straight in the store.
  auto expired = privacy::IssueSession(store_->Get<store::SessionRepository>(), agent.id, /*with_csrf=*/true,
                                       SystemClock::Instance().Now() - 13 * 3'600'000);
  ASSERT_OK(expired.status());
  Start();

  std::array<HttpHeaders, kCallers> headers;
  headers[kKeyIngest] = test::BasicAuth(keys[static_cast<size_t>(Role::kIngest)]);
  headers[kKeyAdmin] = test::BearerAuth(keys[static_cast<size_t>(Role::kAdmin)]);
  headers[kKeySupervisor] = test::BearerAuth(keys[static_cast<size_t>(Role::kSupervisor)]);
  headers[kKeyAgent] = test::BasicAuth(keys[static_cast<size_t>(Role::kAgent)]);
  headers[kKeyAnalyst] = test::BearerAuth(keys[static_cast<size_t>(Role::kAnalyst)]);
  const std::string code =
      privacy::Hotp(*privacy::Base32Decode(totp->secret),
                    static_cast<std::uint64_t>(privacy::TotpStep(SystemClock::Instance().Now())));
  const Session admin_session = LoginCookie("root@example.com", code);
  headers[kSessionAdmin] = CookieHeaders(admin_session);
  headers[kSessionSupervisor] = CookieHeaders(LoginCookie("sue@example.com"));
  headers[kSessionAgent] = CookieHeaders(LoginCookie("ann@example.com"));
  headers[kSessionAnalyst] = CookieHeaders(LoginCookie("ada@example.com"));
  headers[kBearerAnalyst] = test::BearerAuth(LoginBearer("ada@example.com"));
  headers[kNone] = {};
  headers[kRevokedKey] = test::BearerAuth(revoked);
  headers[kExpiredSession] = CookieHeaders(Session{expired->token, expired->csrf_token});
  headers[kDisabledUser] = CookieHeaders(LoginCookie("gone@example.com"));
  ASSERT_OK(admin_->Disable("gone@example.com"));
  // The admin's own session once more, without its CSRF token: every state-changing route is 403,
  // reads work. (Its logout is refused too, so the admin session above stays for its own row.)
  headers[kCookieWithoutCsrf] = CookieHeaders(admin_session, /*with_csrf=*/false);

  int n = 0;
  int checked = 0;
  // The no-CSRF caller first: its logout must not be the one that ends the shared admin session.
  std::array<int, kCallers> order{};
  order[0] = kCookieWithoutCsrf;
  for (int c = 0, i = 1; c < kCallers; ++c) {
    if (c != kCookieWithoutCsrf) order[static_cast<size_t>(i++)] = c;
  }
  for (int caller : order) {
    for (const ExpectedRow& row : kExpected) {  // logout is the last row
      const RouteRequest* req = RequestFor(row.route);
      ASSERT_NE(req, nullptr) << row.route;
      auto r = SendRoute(*req, headers[static_cast<size_t>(caller)], &n);
      ASSERT_OK(r.status());
      EXPECT_EQ(r->status, row.status[static_cast<size_t>(caller)])
          << row.route << " as " << kCallerNames[caller] << ": " << r->body.substr(0, 300);
      ++checked;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(std::size(kExpected)) * kCallers);
}

TEST_F(AuthServerTest, EveryRouteWithACustomerTokenAnswersAsTheCustomerMatrixSays) {
  const std::string admin = MakeKey(Role::kAdmin);
  Start();
  for (const char* user : {"self-1", "other-2"}) {
    auto r = client_->Post("/v1/identify",
                           std::string(R"({"userId":")") + user + R"(","traits":{"email":")" + user + R"(@example.com"}})",
                           "application/json", test::BearerAuth(admin));
    ASSERT_OK(r.status());
    ASSERT_EQ(r->status, 200) << r->body;
  }
  const auto customer_id = [&](const std::string& ref) {
    auto r = client_->Get("/v1/customers/" + ref, test::BearerAuth(admin));
    EXPECT_EQ(r->status, 200) << r->body;
    return CustomerId(json::parse(r->body)["id"].get<std::int64_t>());
  };
  auto master = privacy::LoadMasterKey(config_.master_key_file);
  ASSERT_OK(master.status());
  const privacy::CustomerTokens tokens = privacy::CustomerTokens::FromMasterKey(*master);
  const Millis now = SystemClock::Instance().Now();
  std::array<HttpHeaders, kCustomerCallers> headers;
  headers[kOwnToken] = test::BearerAuth(tokens.Issue(customer_id("user:self-1"), now, 600'000)->token);
  headers[kOtherToken] = test::BearerAuth(tokens.Issue(customer_id("user:other-2"), now, 600'000)->token);
  headers[kExpiredToken] = test::BearerAuth(tokens.Issue(customer_id("user:self-1"), now - 700'000, 600'000)->token);
  // Forged: the own customer's token, re-signed with another installation's key.
  const privacy::CustomerTokens foreign = privacy::CustomerTokens::FromMasterKey(privacy::MasterKey::Generate());
  headers[kForgedToken] = test::BearerAuth(foreign.Issue(customer_id("user:self-1"), now, 600'000)->token);

  int n = 0;
  int checked = 0;
  // The own customer's token last: its erasure row erases self-1, which the other callers' rows name.
  constexpr std::array<int, kCustomerCallers> kOrder = {kOtherToken, kExpiredToken, kForgedToken, kOwnToken};
  for (int caller : kOrder) {
    for (const CustomerExpectedRow& row : kCustomerExpected) {
      const RouteRequest* req = RequestFor(row.route, kCustomerRequests);
      ASSERT_NE(req, nullptr) << row.route;
      auto r = SendRoute(*req, headers[static_cast<size_t>(caller)], &n);
      ASSERT_OK(r.status());
      EXPECT_EQ(r->status, row.status[static_cast<size_t>(caller)])
          << row.route << " as " << kCustomerCallerNames[caller] << ": " << r->body.substr(0, 300);
      if (r->status == 404 && caller == kOtherToken) {
        EXPECT_THAT(r->body, HasSubstr("no customer with this identifier")) << "the same answer as an unknown customer";
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(std::size(kCustomerExpected)) * kCustomerCallers);
}

TEST_F(AuthServerTest, LoginSetsAStrictHttpOnlyCookieAndTheSessionWorksUntilLogout) {
  MakeUser("ann@example.com", Role::kAgent);
  Start();
  HttpResponse r = PostLogin({{"email", "Ann@Example.com"}, {"password", kPassword}});
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string* cookie = r.Header("set-cookie");
  ASSERT_NE(cookie, nullptr);
  EXPECT_THAT(*cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(*cookie, HasSubstr("SameSite=Strict"));
  EXPECT_THAT(*cookie, HasSubstr("Path=/"));
  EXPECT_THAT(*cookie, Not(HasSubstr("Secure"))) << "plain HTTP here; cookie_secure is off";
  EXPECT_EQ(*r.Header("cache-control"), "no-store");
  json body = json::parse(r.body);
  EXPECT_EQ(body["user"]["email"], "ann@example.com");
  EXPECT_EQ(body["user"]["role"], "agent");
  EXPECT_FALSE(body.contains("token")) << "a cookie session's token is only in the cookie";
  EXPECT_THAT(r.body, Not(HasSubstr("argon2")));
  Session s;
  s.token = cookie->substr(11, cookie->find(';') - 11);
  s.csrf = body["csrf_token"];
  auto me = client_->Get("/v1/auth/me", CookieHeaders(s, false));
  ASSERT_OK(me.status());
  EXPECT_EQ(me->status, 200);
  EXPECT_EQ(json::parse(me->body)["user"]["email"], "ann@example.com");
  auto wrong_csrf = client_->Post("/v1/auth/logout", "", "application/json",
                                  {{"Cookie", "tp_session=" + s.token},
                                   {"X-CSRF-Token", (s.csrf[0] == '0' ? "1" : "0") + s.csrf.substr(1)}});
  EXPECT_EQ(wrong_csrf->status, 403);
  EXPECT_THAT(wrong_csrf->body, HasSubstr("X-CSRF-Token"));
  auto out = client_->Post("/v1/auth/logout", "", "application/json", CookieHeaders(s));
  ASSERT_OK(out.status());
  EXPECT_EQ(out->status, 200);
  EXPECT_THAT(*out->Header("set-cookie"), HasSubstr("Max-Age=0"));
  EXPECT_EQ(client_->Get("/v1/auth/me", CookieHeaders(s))->status, 401) << "the session ended";
}

TEST_F(AuthServerTest, TheCookieIsSecureWhenTheConfigSaysSo) {
  MakeUser("ann@example.com", Role::kAgent);
  config_.cookie_secure = true;
  Start();
  HttpResponse r = PostLogin({{"email", "ann@example.com"}, {"password", kPassword}});
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(*r.Header("set-cookie"), HasSubstr("; Secure"));
}

TEST_F(AuthServerTest, FailedLoginsAnswerOneMessageThenTooManyWithRetryAfter) {
  MakeUser("ann@example.com", Role::kAgent);
  Start();
  HttpResponse wrong = PostLogin({{"email", "ann@example.com"}, {"password", "not the password"}});
  HttpResponse unknown = PostLogin({{"email", "nobody@example.com"}, {"password", "not the password"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.body, unknown.body) << "the same answer whether or not the account exists";
  EXPECT_THAT(wrong.body, Not(HasSubstr("not the password")));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(PostLogin({{"email", "ann@example.com"}, {"password", "still not it"}}).status, 401) << i;
  }
  HttpResponse throttled = PostLogin({{"email", "ann@example.com"}, {"password", kPassword}});
  EXPECT_EQ(throttled.status, 429) << throttled.body;
  ASSERT_NE(throttled.Header("retry-after"), nullptr);
  EXPECT_GE(std::stoi(*throttled.Header("retry-after")), 1);
  for (int i = 0; i < 3; ++i) PostLogin({{"email", "nobody@example.com"}, {"password", "still not it"}});
  HttpResponse ghost = PostLogin({{"email", "nobody@example.com"}, {"password", kPassword}});
  EXPECT_EQ(ghost.status, 429) << "an unknown account is slowed alike";
  EXPECT_EQ(PostLogin({{"email", "ann@example.com"}}).status, 400);
}

TEST_F(AuthServerTest, AnAdminWithoutTotpIsToldASecondFactorIsRequired) {
  MakeUser("root@example.com", Role::kAdmin);
  Start();
  HttpResponse r = PostLogin({{"email", "root@example.com"}, {"password", kPassword}});
  EXPECT_EQ(r.status, 403);
  EXPECT_THAT(r.body, HasSubstr("second factor required"));
  auto totp = admin_->EnrollTotp("root@example.com");
  ASSERT_OK(totp.status());
  r = PostLogin({{"email", "root@example.com"}, {"password", kPassword}});
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("totp_required"));
}

// A backup of the data directory's database (docs/operations.md, "Backup") restored elsewhere:
// users log in there with their passwords and TOTP, keys keep working. (store migrate copies
// users too: tests/store/copy_test.cc.)
TEST_F(AuthServerTest, UsersAndKeysSurviveABackupAndRestore) {
  if (config_.store_url.rfind("sqlite", 0) != 0) GTEST_SKIP() << "a file backup is SQLite's; PostgreSQL has pg_dump";
  const std::string key = MakeKey(Role::kAnalyst);
  MakeUser("ann@example.com", Role::kAgent);
  ASSERT_OK(admin_->CreateTeam("north").status());
  ASSERT_OK(admin_->AddMember("north", "ann@example.com"));
  admin_.reset();
  store_.reset();  // a clean close folds the WAL into touchpoint.db
  const std::filesystem::path restored = test::MakeTempDir("auth_restore");
  const std::filesystem::path db = config_.store_url.substr(std::string_view("sqlite://").size());
  std::filesystem::copy_file(db, restored / db.filename());
  std::filesystem::remove_all(dir_);
  config_.data_dir = restored.string();
  config_.store_url = store::UrlForDataDir(config_.data_dir);
  dir_ = restored;
  Start();
  auto me = client_->Get("/v1/auth/me", test::BearerAuth(key));
  ASSERT_OK(me.status());
  EXPECT_EQ(me->status, 200);
  const Session s = LoginCookie("ann@example.com");
  auto whoami = client_->Get("/v1/auth/me", CookieHeaders(s));
  ASSERT_OK(whoami.status());
  ASSERT_EQ(whoami->status, 200) << whoami->body;
  EXPECT_EQ(json::parse(whoami->body)["user"]["team_id"], 1);
}

}  // namespace
}  // namespace touchpoint::server

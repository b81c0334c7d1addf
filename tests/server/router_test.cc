#include "server/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <touchpoint/privacy/roles.h>

#include "server/routes.h"

namespace touchpoint::server {
namespace {

using privacy::Permission;
using privacy::Role;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

http::Request Req(std::string method, std::string path, std::string role = "") {
  http::Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  if (!role.empty()) r.headers.emplace_back("authorization", "Bearer " + role);
  return r;
}

const std::string* FindHeader(const http::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

// A router whose "key" is the role's name; counts the authenticator's calls.
class RouterTest : public ::testing::Test {
 protected:
  RouterTest()
      : router_([this](const http::Request& req) -> std::variant<Principal, http::Response> {
          ++auth_calls_;
          const std::string* h = req.Header("authorization");
          if (h == nullptr || h->rfind("Bearer ", 0) != 0)
            return http::JsonError(401, "unauthorized", "no key");
          auto role = privacy::ParseRole(h->substr(7));
          if (!role.ok()) return http::JsonError(401, "unauthorized", "unknown key");
          return *role;
        }) {}

  // A handler answering "<name> k=v k=v ... role=<role>" for the given parameter names.
  RouteHandler Echo(std::string name, std::vector<std::string> params = {}) {
    return [name, params](const http::Request&, const RouteMatch& m) {
      http::Response r;
      r.content_type = "text/plain";
      r.body = name;
      for (const auto& p : params) r.body += " " + p + "=" + std::string(m.Param(p));
      if (m.role()) r.body += " role=" + std::string(privacy::RoleName(*m.role()));
      return r;
    };
  }

  std::pair<http::Response, std::string> Call(const http::Request& req) {
    const std::string* label = nullptr;
    http::Response r = router_.Dispatch(req, &label);
    return {std::move(r), label ? *label : "<unset>"};
  }

  int auth_calls_ = 0;
  Router router_;
};

TEST_F(RouterTest, MatchesLiteralsAndParameters) {
  router_.Add({"GET", "/healthz", kPublic, Echo("health")});
  router_.Add({"POST", "/v1/batch", Permission::kTrack, Echo("batch")});
  router_.Add({"GET", "/v1/jobs/{id}", Permission::kReadJobs, Echo("job", {"id"})});
  router_.Add({"GET", "/v1/segments/{name}/members/{format}", Permission::kReadSegments,
               Echo("members", {"name", "format"})});

  auto [health, health_label] = Call(Req("GET", "/healthz"));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "health");
  EXPECT_EQ(health_label, "/healthz");

  auto [batch, batch_label] = Call(Req("POST", "/v1/batch", "ingest"));
  EXPECT_EQ(batch.body, "batch role=ingest");
  EXPECT_EQ(batch_label, "/v1/batch");

  auto [job, job_label] = Call(Req("GET", "/v1/jobs/42", "analyst"));
  EXPECT_EQ(job.body, "job id=42 role=analyst");
  EXPECT_EQ(job_label, "/v1/jobs/{id}");

  auto [members, members_label] = Call(Req("GET", "/v1/segments/vip/members/csv", "admin"));
  EXPECT_EQ(members.body, "members name=vip format=csv role=admin");
  EXPECT_EQ(members_label, "/v1/segments/{name}/members/{format}");
}

// http::Request::path arrives percent-decoded, so a parameter is the decoded value: the customer
// route takes the rest of the path, '/' included, exactly as the prefix match before it did.
TEST_F(RouterTest, RestParameterTakesTheDecodedRestOfThePath) {
  router_.Add({"GET", "/v1/customers/{id...}", Permission::kReadCustomers, Echo("customer", {"id"})});
  const std::pair<const char*, const char*> cases[] = {
      {"/v1/customers/phone:138 1234 5678", "phone:138 1234 5678"},  // from phone:138%201234%205678
      {"/v1/customers/email:PGibbons@Example.com", "email:PGibbons@Example.com"},
      {"/v1/customers/external:crm/42", "external:crm/42"},  // from external:crm%2F42
      {"/v1/customers/17", "17"},
      {"/v1/customers/x/", "x/"},
  };
  for (const auto& [path, id] : cases) {
    auto [r, label] = Call(Req("GET", path, "agent"));
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body, std::string("customer id=") + id + " role=agent") << path;
    EXPECT_EQ(label, "/v1/customers/{id}") << path;
  }
  EXPECT_EQ(Call(Req("GET", "/v1/customers/", "agent")).first.status, 404);
  EXPECT_EQ(Call(Req("GET", "/v1/customers", "agent")).first.status, 404);
}

TEST_F(RouterTest, UnknownPathsAre404WithTheJsonError) {
  router_.Add({"GET", "/healthz", kPublic, Echo("health")});
  router_.Add({"GET", "/v1/jobs/{id}", Permission::kReadJobs, Echo("job", {"id"})});
  for (const char* path : {"/v1/nothing", "/healthz/", "/healthzz", "/", "", "/v1/jobs/", "/v1/jobs//",
                           "/v1/jobs/1/2", "//healthz"}) {
    auto [r, label] = Call(Req("GET", path, "admin"));
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_THAT(r.body, HasSubstr(R"("code":"not_found")")) << path;
    EXPECT_EQ(r.content_type, "application/json") << path;
    EXPECT_EQ(label, "other") << path;
  }
  EXPECT_EQ(auth_calls_, 0);
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  router_.Add({"GET", "/healthz", kPublic, Echo("health")});
  router_.Add({"POST", "/v1/track", Permission::kTrack, Echo("track")});
  // Same path shape, different parameter names per method (as the jobs routes will be).
  router_.Add({"POST", "/v1/jobs/{name}", Permission::kRunJobs, Echo("start", {"name"})});
  router_.Add({"GET", "/v1/jobs/{id}", Permission::kReadJobs, Echo("job", {"id"})});

  auto [track, track_label] = Call(Req("GET", "/v1/track", "ingest"));
  EXPECT_EQ(track.status, 405);
  EXPECT_THAT(track.body, HasSubstr(R"("code":"method_not_allowed")"));
  ASSERT_NE(FindHeader(track, "Allow"), nullptr);
  EXPECT_EQ(*FindHeader(track, "Allow"), "POST");
  EXPECT_EQ(track_label, "/v1/track");

  auto [health, health_label] = Call(Req("POST", "/healthz"));
  EXPECT_EQ(health.status, 405);
  ASSERT_NE(FindHeader(health, "Allow"), nullptr);
  EXPECT_EQ(*FindHeader(health, "Allow"), "GET, HEAD");

  auto [jobs, jobs_label] = Call(Req("DELETE", "/v1/jobs/7", "admin"));
  EXPECT_EQ(jobs.status, 405);
  ASSERT_NE(FindHeader(jobs, "Allow"), nullptr);
  EXPECT_EQ(*FindHeader(jobs, "Allow"), "POST, GET, HEAD");
  EXPECT_EQ(auth_calls_, 0) << "405 is answered before authentication";

  EXPECT_EQ(Call(Req("POST", "/v1/jobs/rfm", "analyst")).first.body, "start name=rfm role=analyst");
  auto [job, job_label] = Call(Req("GET", "/v1/jobs/7", "analyst"));
  EXPECT_EQ(job.body, "job id=7 role=analyst");
  EXPECT_EQ(job_label, "/v1/jobs/{id}");
}

TEST_F(RouterTest, HeadIsServedWhereGetIs) {
  router_.Add({"GET", "/metrics", kPublic, Echo("metrics")});
  auto [r, label] = Call(Req("HEAD", "/metrics"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(label, "/metrics");
}

TEST_F(RouterTest, TheMostSpecificPatternWins) {
  router_.Add({"GET", "/v1/segments/{name}", Permission::kReadSegments, Echo("segment", {"name"})});
  router_.Add({"GET", "/v1/segments/{name...}", Permission::kReadSegments, Echo("rest", {"name"})});
  router_.Add({"GET", "/v1/segments/count", Permission::kReadSegments, Echo("count")});
  EXPECT_EQ(Call(Req("GET", "/v1/segments/count", "admin")).first.body, "count role=admin");
  EXPECT_EQ(Call(Req("GET", "/v1/segments/vip", "admin")).first.body, "segment name=vip role=admin");
  EXPECT_EQ(Call(Req("GET", "/v1/segments/a/b", "admin")).first.body, "rest name=a/b role=admin");
}

TEST_F(RouterTest, AuthenticatesOnceBeforeTheHandlerAndChecksThePermission) {
  int handled = 0;
  router_.Add({"GET", "/v1/stats", Permission::kReadStats, [&](const http::Request&, const RouteMatch&) {
                 ++handled;
                 return http::Response{};
               }});
  router_.Add({"GET", "/healthz", kPublic, Echo("health")});

  EXPECT_EQ(Call(Req("GET", "/v1/stats")).first.status, 401);
  EXPECT_EQ(Call(Req("GET", "/v1/stats", "nobody")).first.status, 401);
  auto [forbidden, label] = Call(Req("GET", "/v1/stats", "ingest"));
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_THAT(forbidden.body, HasSubstr(R"("code":"forbidden")"));
  EXPECT_THAT(forbidden.body, HasSubstr("this key's role may not read statistics"));
  EXPECT_EQ(label, "/v1/stats");
  EXPECT_EQ(handled, 0);
  EXPECT_EQ(auth_calls_, 3);

  EXPECT_EQ(Call(Req("GET", "/v1/stats", "supervisor")).first.status, 200);
  EXPECT_EQ(handled, 1);
  EXPECT_EQ(auth_calls_, 4);

  // Public routes never ask for a key, even when one is sent.
  EXPECT_EQ(Call(Req("GET", "/healthz", "ingest")).first.body, "health");
  EXPECT_EQ(auth_calls_, 4);
}

TEST_F(RouterTest, RegistrationMistakesAbort) {
  router_.Add({"GET", "/v1/jobs/{id}", Permission::kReadJobs, Echo("job")});
  EXPECT_DEATH(router_.Add({"GET", "/v1/jobs/{other}", Permission::kReadJobs, Echo("dup")}),
               "same method and path");
  EXPECT_DEATH(router_.Add({"GET", "v1/x", kPublic, Echo("x")}), "start with");
  EXPECT_DEATH(router_.Add({"GET", "/v1/{rest...}/x", kPublic, Echo("x")}), "last segment");
  EXPECT_DEATH(router_.Add({"HEAD", "/v1/y", kPublic, Echo("y")}), "not HEAD");
  EXPECT_DEATH(router_.Add({"GET", "/v1//y", kPublic, Echo("y")}), "empty segment");
}

// --- The routes App serves -------------------------------------------------------------------

std::vector<RouteInfo> AppRoutes() {
  Router router([](const http::Request&) -> std::variant<Principal, http::Response> { return Role::kAdmin; });
  static const ServerContext kNoServer;  // handlers are registered, never called
  RegisterAllRoutes(router, kNoServer);
  return router.Routes();
}

// The routes whose permission has no row in privacy's permission × role matrix (nobody could
// call them): "METHOD label" each.
std::vector<std::string> RoutesWithoutMatrixRow(const std::vector<RouteInfo>& routes) {
  std::vector<std::string> out;
  for (const RouteInfo& r : routes) {
    if (!r.access.is_public() && privacy::FindPermission(r.access.permission()) == nullptr) {
      out.push_back(r.method + " " + r.label);
    }
  }
  return out;
}

TEST(AppRoutesTest, EveryRouteHasARowInThePermissionMatrix) {
  const std::vector<RouteInfo> routes = AppRoutes();
  ASSERT_FALSE(routes.empty());
  EXPECT_THAT(RoutesWithoutMatrixRow(routes), IsEmpty());
}

// The check above is able to fail: a route naming a permission the matrix lacks is reported.
TEST(AppRoutesTest, ARouteWithoutMatrixRowIsReported) {
  Router router([](const http::Request&) -> std::variant<Principal, http::Response> { return Role::kAdmin; });
  const auto unlisted = static_cast<Permission>(privacy::PermissionMatrix().size());
  router.Add({"GET", "/v1/unlisted", unlisted,
              [](const http::Request&, const RouteMatch&) { return http::Response{}; }});
  router.Add({"GET", "/v1/stats", Permission::kReadStats,
              [](const http::Request&, const RouteMatch&) { return http::Response{}; }});
  EXPECT_THAT(RoutesWithoutMatrixRow(router.Routes()), ElementsAre("GET /v1/unlisted"));
}

// The metrics labels of the routes (dashboards and alerts use them): unchanged by the table.
TEST(AppRoutesTest, LabelsAreTheRouteTemplates) {
  std::vector<std::string> got;
  for (const RouteInfo& r : AppRoutes()) got.push_back(r.method + " " + r.label);
  EXPECT_THAT(
      got, UnorderedElementsAreArray({"GET /healthz", "GET /metrics", "GET /v1/stats", "POST /v1/identify",
                                      "POST /v1/track", "POST /v1/page", "POST /v1/alias", "POST /v1/screen",
                                      "POST /v1/group", "POST /v1/batch", "GET /v1/customers/{id}",
                                      "POST /v1/jobs/{job}", "GET /v1/jobs/{job}", "GET /v1/jobs",
                                      "GET /v1/segments", "PUT /v1/segments/{name}", "GET /v1/segments/{name}",
                                      "DELETE /v1/segments/{name}", "GET /v1/segments/{name}/members",
                                      "POST /v1/segments/preview", "POST /v1/auth/login", "POST /v1/auth/logout",
                                      "GET /v1/auth/me", "GET /v1/users", "GET /v1/audit", "GET /v1/reports/segments",
                                      "GET /v1/reports/rfm", "GET /v1/customers/{id}/consents",
                                      "POST /v1/customers/{id}/consents", "POST /v1/privacy/customer-tokens",
                                      "POST /v1/tickets", "GET /v1/tickets",
                                      "GET /v1/tickets/{number}", "GET /v1/tickets/{number}/history",
                                      "POST /v1/tickets/{number}/messages", "POST /v1/tickets/{number}/status",
                                      "POST /v1/tickets/{number}/assign", "POST /v1/tickets/merge",
                                      "GET /v1/desk/steps", "GET /v1/agents", "POST /v1/agents",
                                      "GET /v1/agents/{id}", "POST /v1/agents/{id}/state",
                                      "GET /v1/tickets/{number}/routing", "GET /v1/desk/queues",
                                      "GET /v1/desk/sla", "GET /v1/desk/tasks",
                                      "GET /v1/tickets/{number}/sla", "GET /v1/tickets/{number}/tasks",
                                      "POST /v1/tickets/{number}/tasks/{id}/complete", "POST /v1/tickets/{number}/type",
                                      "POST /v1/privacy/exports", "POST /v1/privacy/erasures",
                                      "GET /v1/tickets/search", "POST /v1/tickets/{number}/tags",
                                      "POST /v1/tickets/{number}/fields", "POST /v1/tickets/{number}/canned",
                                      "GET /v1/canned", "POST /v1/canned", "GET /v1/canned/{name}",
                                      "DELETE /v1/canned/{name}", "GET /v1/desk/feed", "GET /v1/desk/repeats",
                                      "POST /v1/channels/email/inbound", "POST /v1/tickets/{number}/csat",
                                      "GET /v1/tickets/{number}/attachments/{hash}", "GET /v1/kpis",
                                      "GET /v1/scorecards", "GET /v1/funnels", "GET /v1/journeys",
                                      "GET /v1/journeys/{name}",
                                      "POST /v1/experiments", "GET /v1/experiments", "GET /v1/experiments/{id}",
                                      "POST /v1/experiments/{id}/start", "POST /v1/experiments/{id}/stop",
                                      "GET /v1/experiments/{id}/results", "GET /v1/assignments"}));
}

// A customer token reaches only routes marked customer_self, whatever the matrix grants.
TEST(RouterCustomerTokenTest, IsRefusedOnRoutesNotMarkedForIt) {
  Router router([](const http::Request&) -> std::variant<Principal, http::Response> {
    return Principal(Role::kCustomer, Principal::Kind::kCustomerToken);
  });
  const auto ok = [](const http::Request&, const RouteMatch&) { return http::Response{}; };
  router.Add({"GET", "/v1/customers/{id}", privacy::Permission::kReadCustomers, ok});  // not marked
  router.Add({"GET", "/v1/customers/{id}/consents", privacy::Permission::kReadConsents, ok, Served::kByWriter,
              /*customer_self=*/true});
  router.Add({"GET", "/v1/users", privacy::Permission::kManageUsers, ok, Served::kByWriter, /*customer_self=*/true});
  const std::string* label = nullptr;
  http::Request req;
  req.method = "GET";
  req.path = "/v1/customers/7";
  EXPECT_EQ(router.Dispatch(req, &label).status, 403) << "the matrix grants read_customers, the route is not marked";
  req.path = "/v1/customers/7/consents";
  EXPECT_EQ(router.Dispatch(req, &label).status, 200);
  req.path = "/v1/users";
  EXPECT_EQ(router.Dispatch(req, &label).status, 403) << "marked, but the matrix does not grant it";
}

// docs/http-api.md shows the route × role table between <!-- routes:begin --> and
// <!-- routes:end -->, with the node that answers each route; it must say what the code does.
TEST(AppRoutesTest, DocumentedTableMatchesTheRoutes) {
  std::vector<std::string> expected;
  for (const RouteInfo& r : AppRoutes()) {
    std::string permission = "public";
    std::string roles = "anyone, no key";
    if (!r.access.is_public()) {
      permission = "`" + std::string(privacy::PermissionName(r.access.permission())) + "`";
      roles.clear();
      for (Role role : privacy::kAllPrincipalRoles) {
        if (!privacy::Allows(role, r.access.permission())) continue;
        if (!roles.empty()) roles += ", ";
        roles += privacy::RoleName(role);
      }
    }
    const std::string served = r.served == Served::kByAnyNode ? "any node" : "writer";
    expected.push_back("| " + r.method + " | `" + r.label + "` | " + permission + " | " + roles + " | " + served +
                       " |");
  }
  std::ifstream in(std::string(TP_SOURCE_DIR) + "/docs/http-api.md");
  ASSERT_TRUE(in) << "docs/http-api.md";
  std::vector<std::string> documented;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line == "<!-- routes:begin -->") {
      inside = true;
    } else if (line == "<!-- routes:end -->") {
      inside = false;
    } else if (inside && line.rfind("| ", 0) == 0 && line.rfind("| method", 0) != 0) {
      documented.push_back(line);
    }
  }
  std::ostringstream want;
  for (const auto& line : expected) want << line << "\n";
  EXPECT_THAT(documented, UnorderedElementsAreArray(expected)) << "docs/http-api.md should list:\n"
                                                               << want.str();
}

}  // namespace
}  // namespace touchpoint::server

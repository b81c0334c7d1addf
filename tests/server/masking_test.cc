// Masking as a property of the whole API: every GET route, called with every role, shows no
// value of a medium or high field in clear — driven by core/sensitivity.h's catalogue and the
// route table, not by a hand-kept list of fields or routes (privacy issue, item 3).
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <touchpoint/core/sensitivity.h>
#include <touchpoint/privacy/roles.h>
#include <touchpoint/server/app.h>
#include <touchpoint/server/config.h>

#include "server/router.h"
#include "server/routes.h"
#include "server/test_util.h"
#include "testing/http_client.h"
#include "testing/matchers.h"
#include "testing/pg.h"

namespace touchpoint::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using nlohmann::json;
using privacy::Role;
using touchpoint::testing::HttpClient;
using touchpoint::testing::HttpResponse;

// A distinctive clear value per sensitive field, shaped like the field (so the fixed-format
// rules, which keep some characters, apply) and unique (so a hit names the field).
std::string ClearValueFor(std::string_view field, size_t i) {
  const std::string n = std::to_string(10 + i);
  if (field == "phone" || field == "mobile" || field == "telephone" || field == "landline") return "1390000" + n + "77";
  if (field == "email") return "secret." + std::string(field) + n + "@example.com";
  if (field == "bank_card" || field == "card_number") return "62220212345678" + n;
  if (field == "id_number" || field == "id_card" || field == "resident_id" || field == "national_id" ||
      field == "passport") {
    return "1101051949" + n + "12345X";
  }
  return "Secret" + std::string(field) + "Value" + n;
}

class MaskingPropertyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir("masking");
    config_ = test::TestConfig(dir_.string(), testing::StoreUrlForDir(dir_.string()));
    for (Role r : privacy::kAllRoles) keys_[r] = test::MakeKey(config_.data_dir, r);
  }
  void TearDown() override {
    app_.reset();
    std::filesystem::remove_all(dir_);
  }
  HttpResponse Send(const std::string& method, const std::string& path, const std::string& body, Role role) {
    auto r = client_->Send(method, path, body, "application/json", test::BearerAuth(keys_[role]));
    EXPECT_OK(r) << method << " " << path;
    return r.ok() ? *r : HttpResponse{};
  }

  std::filesystem::path dir_;
  ServerConfig config_;
  std::map<Role, std::string> keys_;
  std::unique_ptr<App> app_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(MaskingPropertyTest, NoRouteShowsASensitiveFieldInClearToAnyRoleThatDidNotReveal) {
  auto app = App::Start(config_);
  ASSERT_OK(app);
  app_ = std::move(app).value();
  client_ = std::make_unique<HttpClient>(app_->port());

  // One customer holding every sensitive field of the catalogue as a trait (phone and e-mail
  // also become identifiers), and a saved segment whose rule reads all of them (its export
  // shows the fields a rule reads).
  std::map<std::string, std::string> clear;  // field -> clear value
  json traits = json::object();
  std::string rule;
  size_t i = 0;
  for (std::string_view field : SensitiveFieldNames()) {
    const std::string value = ClearValueFor(field, i++);
    clear[std::string(field)] = value;
    traits[std::string(field)] = value;
    if (!rule.empty()) rule += " or ";
    rule += "traits." + std::string(field) + " is not null";
  }
  ASSERT_GE(clear.size(), 10u) << "the catalogue lost its fields";
  json identify = {{"type", "identify"}, {"userId", "prop-1"}, {"traits", traits}, {"messageId", "m-prop-1"}};
  HttpResponse posted = Send("POST", "/v1/identify", identify.dump(), Role::kIngest);
  ASSERT_EQ(posted.status, 200) << posted.body;
  HttpResponse defined = Send("PUT", "/v1/segments/everything", json{{"rule", rule}}.dump(), Role::kAdmin);
  ASSERT_TRUE(defined.status == 200 || defined.status == 201) << defined.body;

  // Values for the routes' parameters; a route with a parameter not listed here fails the test
  // (give it a value that reaches data, so the route is really checked).
  const std::map<std::string, std::vector<std::string>> params = {
      {"id", {"user:prop-1", "phone:" + clear["phone"], "email:" + clear["email"]}},
      {"name", {"everything"}},
      {"job", {"1", "rfm"}},
      {"number", {"TP-000001"}},
      {"hash", {std::string(64, '0')}},  // no such file: a 404 shows nothing
  };
  // A ticket whose subject and thread carry the customer's phone and e-mail.
  HttpResponse ticket = Send("POST", "/v1/tickets",
                             json{{"customer", "user:prop-1"}, {"subject", "call " + clear["phone"]}, {"channel", "chat"}}
                                 .dump(),
                             Role::kAdmin);
  ASSERT_EQ(ticket.status, 201) << ticket.body;
  HttpResponse reply = Send("POST", "/v1/tickets/TP-000001/messages",
                            json{{"text", "mail sent to " + clear["email"]}}.dump(), Role::kAdmin);
  ASSERT_EQ(reply.status, 200) << reply.body;
  Router router([](const http::Request&) -> std::variant<Principal, http::Response> { return Role::kAdmin; });
  const ServerContext no_server;
  RegisterAllRoutes(router, no_server);

  int checked = 0, with_data = 0;
  for (const RouteInfo& route : router.Routes()) {
    if (route.method != "GET") continue;
    // Expand the pattern's parameters ("{id...}" / "{name}") into concrete paths.
    std::vector<std::string> paths = {""};
    std::string_view rest = route.pattern;
    bool unknown_param = false;
    while (!rest.empty()) {
      const size_t open = rest.find('{');
      if (open == std::string_view::npos) {
        for (auto& p : paths) p += rest;
        break;
      }
      for (auto& p : paths) p += rest.substr(0, open);
      const size_t close = rest.find('}', open);
      std::string name(rest.substr(open + 1, close - open - 1));
      if (name.size() > 3 && name.ends_with("...")) name.resize(name.size() - 3);
      auto it = params.find(name);
      if (it == params.end()) {
        ADD_FAILURE() << route.pattern << ": parameter {" << name << "} has no test value in masking_test.cc";
        unknown_param = true;
        break;
      }
      std::vector<std::string> expanded;
      for (const auto& p : paths) {
        for (const auto& v : it->second) expanded.push_back(p + v);
      }
      paths = std::move(expanded);
      rest.remove_prefix(close + 1);
    }
    if (unknown_param) continue;
    for (std::string path : paths) {
      if (route.pattern == "/v1/segments/{name}/members") path += "?format=ndjson";
      for (Role role : privacy::kAllRoles) {
        HttpResponse r = Send("GET", path, "", role);
        ++checked;
        if (r.status != 200) continue;
        if (r.body.find("prop-1") != std::string::npos || r.body.find("Secret") != std::string::npos ||
            r.body.find("**") != std::string::npos) {
          ++with_data;
        }
        for (const auto& [field, value] : clear) {
          EXPECT_THAT(r.body, Not(HasSubstr(value)))
              << "GET " << path << " as " << privacy::RoleName(role) << " shows " << field << " in clear";
        }
      }
    }
  }
  EXPECT_GT(checked, 20);
  EXPECT_GE(with_data, 4) << "the routes must really have returned the customer's data";

  // Not vacuous: revealing every field with a reason shows them all.
  std::string all;
  for (const auto& [field, value] : clear) all += (all.empty() ? "" : ",") + field;
  HttpResponse revealed = Send("GET", "/v1/customers/user:prop-1?reveal=" + all + "&reason=property+test", "",
                               Role::kAdmin);
  ASSERT_EQ(revealed.status, 200) << revealed.body;
  for (const auto& [field, value] : clear) EXPECT_THAT(revealed.body, HasSubstr(value)) << field;
}

}  // namespace
}  // namespace touchpoint::server

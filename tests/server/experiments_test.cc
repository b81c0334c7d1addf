// Experiments over real HTTP (routes_experiments.cc): the App on an ephemeral port over the data
// directory's store (SQLite; PostgreSQL in the postgres/ run). An experiment is created (bad
// bodies 400 naming the field, a taken name 409), shown with its salt to admins only, started
// (not twice), asked for assignments by an ingest key (the stored salt's variant, the first
// exposure kept), its results read over tickets changed through the API (too few units: "not
// enough data", no NaN), stopped (assignments then answer "not running"), and each change audited.
#include <touchpoint/server/app.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/insight/experiment_assignment.h>

#include "server/test_util.h"
#include "testing/data_dir.h"
#include "testing/http_client.h"
#include "testing/matchers.h"

namespace touchpoint::server {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::privacy::Role;
using ::touchpoint::testing::HttpClient;
using ::touchpoint::testing::HttpResponse;
using json = nlohmann::json;

class ExperimentsHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir("experiments");
    config_ = test::TestConfig(dir_.string(), testing::StoreUrlForDir(dir_.string()));
    config_.text_analysis = false;
    admin_key_ = test::MakeKey(dir_.string(), Role::kAdmin);
    supervisor_key_ = test::MakeKey(dir_.string(), Role::kSupervisor);
    analyst_key_ = test::MakeKey(dir_.string(), Role::kAnalyst);
    ingest_key_ = test::MakeKey(dir_.string(), Role::kIngest);
    ASSERT_FALSE(admin_key_.empty());
    auto app = App::Start(config_);
    ASSERT_OK(app.status());
    app_ = std::move(*app);
    client_ = std::make_unique<HttpClient>(app_->port());
  }
  void TearDown() override {
    client_.reset();
    if (app_) app_->Stop();
    app_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  HttpResponse Post(const std::string& path, const std::string& body, const std::string& key) {
    auto r = client_->Post(path, body, "application/json", test::BearerAuth(key));
    EXPECT_OK(r.status());
    return r.ok() ? *r : HttpResponse{};
  }
  HttpResponse Get(const std::string& path, const std::string& key) {
    auto r = client_->Get(path, test::BearerAuth(key));
    EXPECT_OK(r.status());
    return r.ok() ? *r : HttpResponse{};
  }
  static json Json(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

  std::filesystem::path dir_;
  ServerConfig config_;
  std::string admin_key_, supervisor_key_, analyst_key_, ingest_key_;
  std::unique_ptr<App> app_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(ExperimentsHttpTest, BadBodiesAreRefusedNamingTheField) {
  struct Case {
    const char* body;
    const char* message;
  };
  const Case cases[] = {
      {R"({"name":"r","unit":"ticket","variants":"control","metrics":"art"})", "variants: at least two"},
      {R"({"name":"r","unit":"ticket","variants":"control:1,b:0","metrics":"art"})",
       "variants: the weight of \"b\" must be above 0"},
      {R"({"name":"r","unit":"ticket","variants":"a,b","metrics":"nps"})", "metrics: unknown metric \"nps\"; valid: csat"},
      {R"({"name":"r","unit":"session","variants":"a,b","metrics":"art"})", "unit: \"session\""},
      {R"({"name":"r","unit":"ticket","variants":"a,b","metrics":"art","colour":"red"})", "colour: unknown field"},
      {"not json", "body: not a JSON object"},
  };
  for (const Case& c : cases) {
    HttpResponse r = Post("/v1/experiments", c.body, admin_key_);
    EXPECT_EQ(r.status, 400) << c.body;
    const json j = Json(r);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_THAT(j["error"]["message"].get<std::string>(), HasSubstr(c.message)) << c.body;
  }
  const std::string ok = R"({"name":"r","unit":"ticket","variants":"a,b","metrics":"art"})";
  EXPECT_EQ(Post("/v1/experiments", ok, supervisor_key_).status, 201);
  HttpResponse dup = Post("/v1/experiments", ok, admin_key_);
  EXPECT_EQ(dup.status, 409);
  EXPECT_THAT(Json(dup)["error"]["message"].get<std::string>(), HasSubstr("name: an experiment named r exists"));
}

TEST_F(ExperimentsHttpTest, CreateStartAssignReadResultsAndStop) {
  HttpResponse created = Post("/v1/experiments",
                              R"({"name":"routing","unit":"ticket","variants":[{"name":"control","weight":1},)"
                              R"({"name":"skills","weight":1}],"metrics":[{"metric":"resolution_rate"},"art"]})",
                              admin_key_);
  ASSERT_EQ(created.status, 201) << created.body;
  const json e = Json(created);
  const std::int64_t id = e["id"];
  const std::string salt = e.value("salt", "");
  EXPECT_EQ(salt.size(), 32u);  // shown to the admin
  EXPECT_EQ(e["status"], "draft");
  EXPECT_EQ(e["metrics"][1]["direction"], "decrease");
  EXPECT_THAT(e["created_by"].get<std::string>(), HasSubstr("key:"));
  // Analysts read it, without the salt; by id or by name.
  HttpResponse shown = Get("/v1/experiments/routing", analyst_key_);
  ASSERT_EQ(shown.status, 200);
  EXPECT_FALSE(Json(shown).contains("salt"));
  EXPECT_EQ(Json(shown)["id"], id);
  HttpResponse listed = Get("/v1/experiments", analyst_key_);
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(Json(listed)["experiments"].size(), 1u);
  EXPECT_FALSE(Json(listed)["experiments"][0].contains("salt"));
  EXPECT_EQ(Get("/v1/experiments/" + std::to_string(id + 10), analyst_key_).status, 404);

  HttpResponse draft = Get("/v1/assignments?experiment=routing&unit=1", ingest_key_);
  ASSERT_EQ(draft.status, 200);
  EXPECT_EQ(Json(draft)["in_experiment"], false);
  EXPECT_EQ(Json(draft)["reason"], "not running (draft)");

  HttpResponse started = Post("/v1/experiments/routing/start", "", supervisor_key_);
  ASSERT_EQ(started.status, 200) << started.body;
  EXPECT_EQ(Json(started)["status"], "running");
  EXPECT_EQ(Post("/v1/experiments/routing/start", "", admin_key_).status, 409);

  // Tickets through the API; the router's ingest key asks each one's variant.
  Post("/v1/batch", R"({"batch":[{"type":"identify","userId":"alice","messageId":"id-alice","traits":{}}]})", admin_key_);
  const std::vector<double> weights = {1, 1};
  for (int i = 0; i < 4; ++i) {
    HttpResponse t = Post("/v1/tickets", R"({"customer":"user:alice","subject":"card blocked","channel":"email"})",
                          admin_key_);
    ASSERT_EQ(t.status, 201) << t.body;
    const std::string number = Json(t)["number"];
    const std::string unit = std::to_string(std::stoll(number.substr(3)));
    HttpResponse a = Get("/v1/assignments?experiment=" + std::to_string(id) + "&unit=" + unit, ingest_key_);
    ASSERT_EQ(a.status, 200) << a.body;
    const auto want = insight::AssignVariant(salt, unit, weights);
    ASSERT_TRUE(want.has_value());
    EXPECT_EQ(Json(a)["in_experiment"], true);
    EXPECT_EQ(Json(a)["variant"], *want == 0 ? "control" : "skills");
    EXPECT_EQ(Json(a)["first_exposure"], true);
    HttpResponse again = Get("/v1/assignments?experiment=routing&unit=" + unit, ingest_key_);
    EXPECT_EQ(Json(again)["variant"], Json(a)["variant"]);
    EXPECT_EQ(Json(again)["first_exposure"], false);
    EXPECT_EQ(Json(again)["exposed_at"], Json(a)["exposed_at"]);
    if (i % 2 == 0) {
      ASSERT_EQ(Post("/v1/tickets/" + number + "/messages", R"({"text":"Unblocked."})", admin_key_).status, 200);
      ASSERT_EQ(Post("/v1/tickets/" + number + "/status", R"({"status":"solved"})", admin_key_).status, 200);
    }
  }
  EXPECT_EQ(Get("/v1/assignments?experiment=routing&unit=TP-1", ingest_key_).status, 400);
  EXPECT_EQ(Get("/v1/assignments?experiment=routing", ingest_key_).status, 400);
  EXPECT_EQ(Get("/v1/assignments?experiment=nope&unit=1", ingest_key_).status, 404);

  HttpResponse results = Get("/v1/experiments/routing/results", analyst_key_);
  ASSERT_EQ(results.status, 200) << results.body;
  const json r = Json(results);
  ASSERT_TRUE(r.is_object()) << results.body;  // no NaN anywhere
  std::int64_t exposed = 0;
  for (const auto& x : r["exposures"]) exposed += x["units"].get<std::int64_t>();
  EXPECT_EQ(exposed, 4);
  ASSERT_EQ(r["metrics"].size(), 2u);
  EXPECT_EQ(r["metrics"][0]["metric"], "resolution_rate");
  EXPECT_EQ(r["metrics"][0]["status"], "not enough data");  // 4 tickets: below 30 an arm
  double units = 0;
  for (const auto& v : r["metrics"][0]["variants"]) {
    units += v["units"].get<double>();
    EXPECT_FALSE(v.contains("p_value"));
  }
  EXPECT_EQ(units, 4);  // each exposed ticket has its measured facts
  EXPECT_FALSE(r["experiment"].contains("salt"));

  HttpResponse stopped = Post("/v1/experiments/" + std::to_string(id) + "/stop", "", admin_key_);
  ASSERT_EQ(stopped.status, 200);
  EXPECT_EQ(Json(stopped)["status"], "stopped");
  EXPECT_EQ(Post("/v1/experiments/routing/start", "", admin_key_).status, 409);  // never again
  HttpResponse after = Get("/v1/assignments?experiment=routing&unit=1", ingest_key_);
  EXPECT_EQ(Json(after)["reason"], "not running (stopped)");

  HttpResponse audit = Get("/v1/audit?action=experiment.start", admin_key_);
  ASSERT_EQ(audit.status, 200);
  ASSERT_EQ(Json(audit)["entries"].size(), 1u);
  EXPECT_EQ(Json(audit)["entries"][0]["target"], "experiment:" + std::to_string(id));
  EXPECT_EQ(Json(Get("/v1/audit?action=experiment.create", admin_key_))["entries"].size(), 1u);
  EXPECT_EQ(Json(Get("/v1/audit?action=experiment.stop", admin_key_))["entries"].size(), 1u);
}

}  // namespace
}  // namespace touchpoint::server

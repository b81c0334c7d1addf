// The audit log over real HTTP: changes made through the API are recorded with the caller's key
// prefix, GET /v1/audit is for administrators, and a clean stop leaves a signed checkpoint.
#include <touchpoint/server/app.h>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include <touchpoint/privacy/audit.h>
#include <touchpoint/privacy/keys.h>
#include <touchpoint/privacy/master_key.h>
#include <touchpoint/store/api_key_repository.h>
#include <touchpoint/store/audit_repository.h>
#include <touchpoint/store/open.h>

#include "pipeline/test_dir.h"
#include "server/role_keys.h"
#include "server/test_util.h"
#include "testing/http_client.h"
#include "testing/matchers.h"

namespace touchpoint::server {
namespace {

using ::touchpoint::privacy::Role;
using ::touchpoint::testing::HttpClient;
using ::touchpoint::testing::HttpResponse;
using json = nlohmann::json;

class AuditHttpTest : public test::KeyedServerTest {
 protected:
  AuditHttpTest()
      : KeyedServerTest("audit-http", std::vector<Role>(privacy::kAllRoles.begin(), privacy::kAllRoles.end())) {}
};

TEST_F(AuditHttpTest, ChangesAreRecordedAndOnlyAdminsReadThemNewestFirst) {
  StartApp();
  ASSERT_EQ(Send("PUT", "/v1/segments/vip", R"({"rule": "monetary >= 20000"})", Role::kAnalyst).status, 201);
  ASSERT_EQ(Send("PUT", "/v1/segments/vip", R"({"rule": "monetary >= 30000"})", Role::kAdmin).status, 200);
  ASSERT_EQ(Send("DELETE", "/v1/segments/vip", "", Role::kAdmin).status, 200);
  ASSERT_EQ(Send("POST", "/v1/jobs/rfm", "", Role::kAnalyst).status, 202);
  EXPECT_EQ(Send("PUT", "/v1/segments/bad", R"({"rule": "no such feature > 1"})", Role::kAdmin).status, 400);

  for (Role role : {Role::kIngest, Role::kSupervisor, Role::kAgent, Role::kAnalyst}) {
    EXPECT_EQ(Send("GET", "/v1/audit", "", role).status, 403) << privacy::RoleName(role);
  }
  HttpResponse r = Send("GET", "/v1/audit", "", Role::kAdmin);
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  ASSERT_EQ(body["entries"].size(), 4u) << "refused changes are not recorded: " << r.body;
  const json& newest = body["entries"][0];
  EXPECT_EQ(newest["action"], "job.start");
  EXPECT_EQ(newest["actor"], "key:" + privacy::KeyPrefix(Key(Role::kAnalyst)));
  EXPECT_EQ(newest["details"]["name"], "rfm");
  EXPECT_EQ(body["entries"][1]["action"], "segment.delete");
  EXPECT_EQ(body["entries"][2]["action"], "segment.update");
  EXPECT_EQ(body["entries"][3]["action"], "segment.create");
  EXPECT_EQ(body["entries"][3]["target"], "segment:vip");
  EXPECT_EQ(body["entries"][3]["seq"], 1);
  EXPECT_TRUE(body["next_before"].is_null());
  EXPECT_EQ(r.body.find(Key(Role::kAnalyst)), std::string::npos) << "never the key itself";

  // Filters (percent-encoded) and paging.
  const std::string admin_actor = "key%3A" + privacy::KeyPrefix(Key(Role::kAdmin));
  r = Send("GET", "/v1/audit?actor=" + admin_actor + "&limit=1", "", Role::kAdmin);
  ASSERT_EQ(r.status, 200) << r.body;
  body = json::parse(r.body);
  ASSERT_EQ(body["entries"].size(), 1u);
  EXPECT_EQ(body["entries"][0]["action"], "audit.read") << "reading the log is recorded too";
  const auto before = body["next_before"].get<std::int64_t>();
  r = Send("GET", "/v1/audit?actor=" + admin_actor + "&action=segment.update&before=" + std::to_string(before), "",
           Role::kAdmin);
  body = json::parse(r.body);
  ASSERT_EQ(body["entries"].size(), 1u) << r.body;
  EXPECT_EQ(body["entries"][0]["seq"], 2);
  EXPECT_EQ(Send("GET", "/v1/audit?limit=0", "", Role::kAdmin).status, 400);
  EXPECT_EQ(Send("GET", "/v1/audit?from=yesterday", "", Role::kAdmin).status, 400);

  // A clean stop writes a checkpoint covering everything, to the store and the file.
  app_->Stop();
  privacy::AuditVerifyOptions o;
  o.trusted_keys = {public_key_};
  o.checkpoints_path = privacy::DefaultCheckpointsPath(tmp_.path());
  auto v = privacy::VerifyAuditLog(store_->Get<store::AuditRepository>(), store_->Get<store::SigningKeyRepository>(),
                                   o);
  ASSERT_OK(v.status());
  EXPECT_TRUE(v->intact()) << v->reason << v->bad_checkpoint;
  EXPECT_GE(v->entries, 7);
  EXPECT_EQ(v->covered, v->entries);
  EXPECT_GE(v->file_checkpoints, 1);
}

TEST_F(AuditHttpTest, AMasterKeyReadableByOthersStopsTheServerFromStarting) {
  ::chmod(config_.master_key_file.c_str(), 0644);
  auto app = App::Start(config_);
  ASSERT_FALSE(app.ok());
  EXPECT_NE(app.status().message().find("chmod 600"), std::string::npos) << app.status().message();
}

}  // namespace
}  // namespace touchpoint::server

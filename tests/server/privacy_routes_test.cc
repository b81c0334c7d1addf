// Subject rights over real HTTP: POST /v1/privacy/exports returns everything held on the person,
// POST /v1/privacy/erasures erases them from the running server (memory and store at once),
// answers with a receipt signed by the installation's key, and the person's later events are
// dropped and counted (the metrics gauge).
#include <touchpoint/server/app.h>

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/privacy/keys.h>
#include <touchpoint/privacy/master_key.h>
#include <touchpoint/privacy/receipt.h>
#include <touchpoint/privacy/signing.h>
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

constexpr char kBatch[] = R"({"batch":[
 {"type":"identify","userId":"wanda-1","messageId":"w1","timestamp":"2024-03-01T10:00:00Z","traits":{"phone":"13912345678","email":"wanda@example.com"}},
 {"type":"track","event":"Order Completed","userId":"wanda-1","messageId":"w2","timestamp":"2024-03-02T10:00:00Z","properties":{"order_id":"wo-1","total":99}},
 {"type":"track","event":"Message Received","userId":"wanda-1","messageId":"w3","timestamp":"2024-03-03T10:00:00Z","properties":{"text":"call me back"}},
 {"type":"identify","userId":"bob-2","messageId":"b1","timestamp":"2024-03-01T11:00:00Z","traits":{"phone":"13700000001"}}]})";

class PrivacyRoutesTest : public test::KeyedServerTest {
 protected:
  PrivacyRoutesTest() : KeyedServerTest("privacy-http", {Role::kAdmin, Role::kIngest, Role::kAgent}) {}
  void SetUp() override {
    KeyedServerTest::SetUp();
    if (HasFatalFailure()) return;
    StartApp();
  }
};

TEST_F(PrivacyRoutesTest, ExportThenEraseThroughTheRunningServer) {
  ASSERT_EQ(Send("POST", "/v1/batch", kBatch, Role::kIngest).status, 200);
  // Export: everything of hers, nothing of Bob's.
  HttpResponse ex = Send("POST", "/v1/privacy/exports", R"({"identifier":"phone:139 1234 5678"})", Role::kAdmin);
  ASSERT_EQ(ex.status, 200) << ex.body;
  json doc = json::parse(ex.body);
  EXPECT_EQ(doc["events"].size(), 3u);
  EXPECT_EQ(doc["orders"].size(), 1u);
  ASSERT_EQ(doc["messages"].size(), 1u);
  EXPECT_EQ(doc["messages"][0]["text"], "call me back");
  EXPECT_EQ(ex.body.find("13700000001"), std::string::npos);
  EXPECT_EQ(Send("POST", "/v1/privacy/exports", R"({"identifier":"phone:139 1234 5678"})", Role::kAgent).status, 403);
  EXPECT_EQ(Send("POST", "/v1/privacy/exports", R"({"nobody":1})", Role::kAdmin).status, 400);

  // The same export as a zip of CSV files: by ?format=zip or by the Accept header.
  for (const auto& [path, accept] : {std::pair<std::string, std::string>{"/v1/privacy/exports?format=zip", ""},
                                     {"/v1/privacy/exports", "application/zip"}}) {
    SCOPED_TRACE(path + " " + accept);
    ::touchpoint::testing::HttpHeaders headers = test::BearerAuth(keys_[static_cast<size_t>(Role::kAdmin)]);
    if (!accept.empty()) headers.emplace_back("Accept", accept);
    auto zip = client_->Send("POST", path, R"({"identifier":"phone:139 1234 5678"})", "application/json", headers);
    ASSERT_OK(zip);
    ASSERT_EQ(zip->status, 200) << zip->body;
    ASSERT_NE(zip->Header("content-type"), nullptr);
    EXPECT_EQ(*zip->Header("content-type"), "application/zip");
    EXPECT_EQ(zip->body.substr(0, 4), std::string("PK\x03\x04", 4));
    for (const char* name : {"events.csv", "identifiers.csv", "consents.csv", "README.txt"}) {
      EXPECT_NE(zip->body.find(name), std::string::npos) << name << " (entry names are stored in clear)";
    }
  }
  EXPECT_EQ(Send("POST", "/v1/privacy/exports?format=xml", R"({"identifier":"phone:139 1234 5678"})", Role::kAdmin).status,
            400);

  // Erasure: the receipt verifies with the installation's public key; she is gone at once.
  HttpResponse er = Send("POST", "/v1/privacy/erasures", R"({"identifier":"user:wanda-1","reason":"ticket 7"})",
                         Role::kAdmin);
  ASSERT_EQ(er.status, 200) << er.body;
  const privacy::ReceiptCheck check = privacy::VerifyReceipt(er.body, std::vector<privacy::PublicKey>{public_key_});
  EXPECT_EQ(check.verdict, privacy::ReceiptVerdict::kValid) << check.message;
  json receipt = json::parse(er.body)["receipt"];
  EXPECT_EQ(receipt["counts"]["events"], 3);
  EXPECT_EQ(receipt["counts"]["identifiers"], 3);
  EXPECT_EQ(Send("GET", "/v1/customers/phone:13912345678", "", Role::kAdmin).status, 404);
  EXPECT_EQ(Send("GET", "/v1/customers/phone:13700000001", "", Role::kAdmin).status, 200);
  EXPECT_EQ(Send("POST", "/v1/privacy/erasures", R"({"identifier":"user:wanda-1"})", Role::kAdmin).status, 404);

  // Her events again: accepted as a request (200), dropped and counted.
  ASSERT_EQ(Send("POST", "/v1/batch", kBatch, Role::kIngest).status, 200);
  EXPECT_EQ(Send("GET", "/v1/customers/user:wanda-1", "", Role::kAdmin).status, 404);
  auto metrics = client_->Send("GET", "/metrics", "", "", {});
  ASSERT_OK(metrics);
  EXPECT_NE(metrics->body.find("touchpoint_events_suppressed 3"), std::string::npos) << metrics->body;

  // Both are in the audit log, with counts and ids only.
  std::vector<std::string> actions;
  ASSERT_OK(store_->Get<store::AuditRepository>().Scan(0, [&](store::AuditEntryRecord&& e) {
    actions.push_back(e.action);
    EXPECT_EQ(e.details_json.find("13912345678"), std::string::npos);
    EXPECT_EQ(e.details_json.find("ticket 7"), std::string::npos);
    return true;
  }));
  EXPECT_NE(std::find(actions.begin(), actions.end(), "subject.export"), actions.end());
  EXPECT_NE(std::find(actions.begin(), actions.end(), "subject.erase"), actions.end());
}

// A customer's self-service token (issued by the company's login through an admin key) exports
// and erases its own person only; the erasure is audited with the customer as actor and still
// answers a signed receipt.
TEST_F(PrivacyRoutesTest, ACustomerTokenExportsAndErasesOnlyItsOwnPerson) {
  ASSERT_EQ(Send("POST", "/v1/batch", kBatch, Role::kIngest).status, 200);
  HttpResponse issued = Send("POST", "/v1/privacy/customer-tokens", R"({"customer":"user:wanda-1"})", Role::kAdmin);
  ASSERT_EQ(issued.status, 201) << issued.body;
  const json token = json::parse(issued.body);
  const std::int64_t wanda = token["customer_id"].get<std::int64_t>();
  const auto as_wanda = [&](const std::string& path, const std::string& body) {
    auto r = client_->Send("POST", path, body, "application/json", test::BearerAuth(token["token"].get<std::string>()));
    EXPECT_OK(r);
    return r.ok() ? *r : HttpResponse{};
  };

  // Her own export, by identifier or with none at all; Bob's is refused as is a made-up one.
  HttpResponse own = as_wanda("/v1/privacy/exports", R"({"identifier":"phone:13912345678"})");
  ASSERT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(json::parse(own.body)["events"].size(), 3u);
  EXPECT_EQ(own.body.find("13700000001"), std::string::npos);
  HttpResponse implicit = as_wanda("/v1/privacy/exports", "");
  ASSERT_EQ(implicit.status, 200) << implicit.body;
  EXPECT_EQ(json::parse(implicit.body)["export"]["customer"], wanda);
  HttpResponse bobs = as_wanda("/v1/privacy/exports", R"({"identifier":"phone:13700000001"})");
  EXPECT_EQ(bobs.status, 403) << bobs.body;
  EXPECT_EQ(bobs.body.find("13700000001"), std::string::npos);
  HttpResponse nobody = as_wanda("/v1/privacy/exports", R"({"identifier":"phone:13600000000"})");
  EXPECT_EQ(nobody.status, 403) << "the same answer for nobody as for somebody else";
  EXPECT_EQ(json::parse(nobody.body)["error"]["message"], json::parse(bobs.body)["error"]["message"]);

  // Erasing Bob: refused, and Bob stays.
  EXPECT_EQ(as_wanda("/v1/privacy/erasures", R"({"identifier":"user:bob-2"})").status, 403);
  EXPECT_EQ(Send("GET", "/v1/customers/user:bob-2", "", Role::kAdmin).status, 200);

  // Erasing herself: a signed receipt naming her as the one who asked; she is gone.
  HttpResponse er = as_wanda("/v1/privacy/erasures", R"({"reason":"I left"})");
  ASSERT_EQ(er.status, 200) << er.body;
  const privacy::ReceiptCheck check = privacy::VerifyReceipt(er.body, std::vector<privacy::PublicKey>{public_key_});
  EXPECT_EQ(check.verdict, privacy::ReceiptVerdict::kValid) << check.message;
  const json receipt = json::parse(er.body)["receipt"];
  const std::string actor = "customer:" + std::to_string(wanda) + "/token:" + token["token_id"].get<std::string>();
  EXPECT_EQ(receipt["by"], actor);
  EXPECT_EQ(receipt["customer"], wanda);
  EXPECT_EQ(receipt["counts"]["events"], 3);
  EXPECT_EQ(Send("GET", "/v1/customers/user:wanda-1", "", Role::kAdmin).status, 404);
  EXPECT_EQ(Send("GET", "/v1/customers/user:bob-2", "", Role::kAdmin).status, 200);
  EXPECT_EQ(as_wanda("/v1/privacy/erasures", "").status, 404) << "nothing left of her to erase";

  bool audited = false;
  ASSERT_OK(store_->Get<store::AuditRepository>().Scan(0, [&](store::AuditEntryRecord&& e) {
    if (e.action == "subject.erase") {
      EXPECT_EQ(e.actor, actor);
      EXPECT_EQ(e.target, "customer:" + std::to_string(wanda));
      audited = true;
    }
    return true;
  }));
  EXPECT_TRUE(audited);
}

}  // namespace
}  // namespace touchpoint::server

// Consent and preferences over real HTTP (issue 14, item 5): identify traits become decisions,
// the API and a customer's own token change them, consent follows merges, every change is in the
// audit log, and customer tokens are issued by admins and refused when expired or forged.
#include <touchpoint/server/app.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include <touchpoint/privacy/customer_token.h>
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

using ::testing::HasSubstr;
using ::testing::Not;
using ::touchpoint::privacy::Role;
using ::touchpoint::testing::HttpClient;
using ::touchpoint::testing::HttpResponse;
using json = nlohmann::json;

class ConsentHttpTest : public test::KeyedServerTest {
 protected:
  ConsentHttpTest() : KeyedServerTest("consent-http", {Role::kAdmin, Role::kAgent, Role::kAnalyst, Role::kIngest}) {}
  void SetUp() override {
    KeyedServerTest::SetUp();
    if (HasFatalFailure()) return;
    StartApp();
  }
  HttpResponse As(Role role, const std::string& method, const std::string& path, const std::string& body = "") {
    return Send(method, path, body, role);
  }
  void Track(const std::string& body) { ASSERT_EQ(As(Role::kIngest, "POST", "/v1/identify", body).status, 200) << body; }
  json Consents(const std::string& ref, Role role = Role::kAdmin) {
    HttpResponse r = As(role, "GET", "/v1/customers/" + ref + "/consents");
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  // The audit entries of `action`, oldest first, read after the server stopped (the hook drained).
  std::vector<store::AuditEntryRecord> AuditAfterStop(const std::string& action) {
    app_->Stop();
    store::AuditQuery q;
    q.action = action;
    auto entries = store_->Get<store::AuditRepository>().Query(q);
    EXPECT_OK(entries);
    std::vector<store::AuditEntryRecord> out = entries.ok() ? *entries : std::vector<store::AuditEntryRecord>{};
    std::reverse(out.begin(), out.end());
    return out;
  }
};

TEST_F(ConsentHttpTest, IdentifyTraitsAreDecisionsWithHistoryAndEachIsAudited) {
  // Nothing decided yet: no marketing, personalisation at the configured default.
  Track(R"({"userId":"u1","messageId":"m0","timestamp":"2026-01-01T00:00:00Z","traits":{"plan":"pro"}})");
  json c = Consents("user:u1");
  EXPECT_EQ(c["consents"]["marketing"]["email"]["opt_in"], false);
  EXPECT_EQ(c["consents"]["personalisation"]["intensity"], "low");
  EXPECT_EQ(c["consents"]["personalisation"]["default"], true);
  EXPECT_TRUE(c["history"].empty());
  Track(R"({"userId":"u1","messageId":"m1","timestamp":"2026-01-02T00:00:00Z","traits":{"consent_marketing_email":true,"personalisation_intensity":"medium","consent_version":"2026-01"}})");
  c = Consents("user:u1");
  EXPECT_EQ(c["consents"]["marketing"]["email"]["opt_in"], true);
  EXPECT_EQ(c["consents"]["marketing"]["email"]["source"], "identify");
  EXPECT_EQ(c["consents"]["marketing"]["email"]["wording_version"], "2026-01");
  EXPECT_EQ(c["consents"]["personalisation"]["intensity"], "medium");
  Track(R"({"userId":"u1","messageId":"m2","timestamp":"2026-01-03T00:00:00Z","traits":{"consent_marketing_email":false}})");
  c = Consents("user:u1");
  EXPECT_EQ(c["consents"]["marketing"]["email"]["opt_in"], false);
  ASSERT_EQ(c["history"].size(), 3u) << "history is kept: " << c.dump();
  EXPECT_EQ(c["history"][0]["value"], "opt_in");
  EXPECT_EQ(c["history"][2]["value"], "opt_out");
  EXPECT_EQ(c["history"][2]["actor"], "message:m2");
  const auto audited = AuditAfterStop("consent.change");
  ASSERT_EQ(audited.size(), 3u);
  EXPECT_THAT(audited[0].actor, HasSubstr("pipeline:identify/event:"));
  EXPECT_EQ(audited[0].target, "customer:" + std::to_string(c["customer_id"].get<std::int64_t>()));
  EXPECT_THAT(audited[2].details_json, HasSubstr(R"("value":"opt_out")"));
}

TEST_F(ConsentHttpTest, TheApiRecordsDecisionsAuditedWithTheCallerAndRefusesBadOnes) {
  Track(R"({"userId":"u1","messageId":"m0","traits":{"plan":"pro"}})");
  HttpResponse r = As(Role::kAgent, "POST", "/v1/customers/user:u1/consents",
                      R"({"marketing":{"sms":true,"wechat":true},"wording_version":"phone-script-3"})");
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["consents"]["marketing"]["sms"]["opt_in"], true);
  EXPECT_EQ(body["consents"]["marketing"]["sms"]["source"], "api");
  EXPECT_EQ(As(Role::kAgent, "POST", "/v1/customers/user:u1/consents", R"({"marketing":{"fax":true}})").status, 400);
  EXPECT_EQ(As(Role::kAgent, "POST", "/v1/customers/user:u1/consents", "{}").status, 400);
  EXPECT_EQ(As(Role::kAnalyst, "POST", "/v1/customers/user:u1/consents", R"({"personalisation":"off"})").status, 403);
  EXPECT_EQ(Consents("user:u1", Role::kAnalyst)["history"].size(), 2u) << "analysts read consents";
  const auto audited = AuditAfterStop("consent.change");
  ASSERT_EQ(audited.size(), 2u);
  EXPECT_EQ(audited[0].actor, "key:" + privacy::KeyPrefix(keys_[static_cast<size_t>(Role::kAgent)]));
  EXPECT_THAT(audited[0].details_json, HasSubstr(R"("source":"api")"));
  EXPECT_THAT(audited[1].details_json, HasSubstr(R"("wording_version":"phone-script-3")"));
}

// Consent belongs to the person: decisions made under two customers count for both once they are
// merged, the latest one winning.
TEST_F(ConsentHttpTest, ConsentFollowsMerges) {
  Track(R"({"anonymousId":"a-1","messageId":"m1","timestamp":"2026-01-01T00:00:00Z","traits":{"consent_marketing_push":true,"consent_marketing_sms":true}})");
  Track(R"({"userId":"u-2","messageId":"m2","timestamp":"2026-01-02T00:00:00Z","traits":{"consent_marketing_sms":false}})");
  EXPECT_EQ(Consents("user:u-2")["consents"]["marketing"]["push"]["opt_in"], false) << "not yet the same person";
  // One identify with both identifiers merges them.
  Track(R"({"userId":"u-2","anonymousId":"a-1","messageId":"m3","timestamp":"2026-01-03T00:00:00Z","traits":{}})");
  for (const char* ref : {"user:u-2", "anon:a-1"}) {
    json c = Consents(ref);
    EXPECT_EQ(c["consents"]["marketing"]["push"]["opt_in"], true) << ref;
    EXPECT_EQ(c["consents"]["marketing"]["sms"]["opt_in"], false) << ref << ": the later opt-out wins";
    EXPECT_EQ(c["history"].size(), 3u) << ref;
  }
}

TEST_F(ConsentHttpTest, ACustomerTokenIssuedByAnAdminReadsAndChangesOnlyItsOwnConsents) {
  Track(R"({"userId":"u1","messageId":"m1","traits":{"email":"u1@example.com","consent_marketing_email":true}})");
  Track(R"({"userId":"u2","messageId":"m2","traits":{"email":"u2@example.com"}})");
  EXPECT_EQ(As(Role::kAgent, "POST", "/v1/privacy/customer-tokens", R"({"customer":"user:u1"})").status, 403);
  EXPECT_EQ(As(Role::kAdmin, "POST", "/v1/privacy/customer-tokens", R"({"customer":"user:u1","ttl":"25h"})").status, 400);
  EXPECT_EQ(As(Role::kAdmin, "POST", "/v1/privacy/customer-tokens", R"({"customer":"user:nobody"})").status, 404);
  HttpResponse issued = As(Role::kAdmin, "POST", "/v1/privacy/customer-tokens", R"({"customer":"user:u1","ttl":"10m"})");
  ASSERT_EQ(issued.status, 201) << issued.body;
  const json t = json::parse(issued.body);
  const std::string token = t["token"];
  EXPECT_TRUE(privacy::IsCustomerToken(token));
  const auto bearer = test::BearerAuth(token);
  // Its own profile, masked like an agent's.
  HttpResponse profile = Send("GET", "/v1/customers/user:u1", "", bearer);
  ASSERT_EQ(profile.status, 200) << profile.body;
  EXPECT_THAT(profile.body, Not(HasSubstr("u1@example.com")));
  EXPECT_EQ(Send("GET", "/v1/customers/user:u1?reveal=email&reason=me", "", bearer).status, 403);
  // Its own consents: read and changed, as source "customer".
  HttpResponse changed = Send("POST", "/v1/customers/user:u1/consents",
                              R"({"marketing":{"email":false},"personalisation":"off"})", bearer);
  ASSERT_EQ(changed.status, 200) << changed.body;
  json c = json::parse(changed.body);
  EXPECT_EQ(c["consents"]["marketing"]["email"]["opt_in"], false);
  EXPECT_EQ(c["consents"]["marketing"]["email"]["source"], "customer");
  EXPECT_EQ(c["consents"]["personalisation"]["intensity"], "off");
  // Another customer: 404 as if unknown, reading or writing; staff routes: 403.
  HttpResponse other = Send("GET", "/v1/customers/user:u2/consents", "", bearer);
  HttpResponse unknown = Send("GET", "/v1/customers/user:nobody/consents", "", bearer);
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(other.body, unknown.body) << "existence is not leaked";
  EXPECT_EQ(Send("POST", "/v1/customers/user:u2/consents", R"({"marketing":{"sms":true}})", bearer).status, 404);
  EXPECT_EQ(Send("GET", "/v1/customers/user:u2", "", bearer).status, 404);
  EXPECT_EQ(Send("GET", "/v1/stats", "", bearer).status, 403);
  EXPECT_EQ(Send("POST", "/v1/privacy/customer-tokens", R"({"customer":"user:u2"})", bearer).status, 403);
  EXPECT_EQ(As(Role::kAdmin, "GET", "/v1/customers/user:u2/consents").status, 200);
  // Tampered: the other customer's id with this token's MAC.
  std::string forged = token;
  const std::string own_id = std::to_string(t["customer_id"].get<std::int64_t>());
  forged.replace(forged.find("." + own_id + ".") + 1, own_id.size(), own_id == "2" ? "1" : "2");
  EXPECT_EQ(Send("GET", "/v1/customers/user:u2/consents", "", test::BearerAuth(forged)).status, 401);
  const auto issues = AuditAfterStop("customer_token.issue");
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].target, "customer:" + own_id);
  EXPECT_THAT(issues[0].details_json, HasSubstr(t["token_id"].get<std::string>()));
  EXPECT_THAT(issues[0].details_json, Not(HasSubstr(token))) << "never the token";
  store::AuditQuery q;
  q.action = "consent.change";
  auto entries = store_->Get<store::AuditRepository>().Query(q);
  ASSERT_OK(entries);
  ASSERT_EQ(entries->size(), 3u);  // newest first: the token's two, then identify's
  EXPECT_EQ((*entries)[0].actor, "customer:" + own_id + "/token:" + t["token_id"].get<std::string>());
}

TEST_F(ConsentHttpTest, AnExpiredTokenIsRefused) {
  Track(R"({"userId":"u1","messageId":"m1","traits":{"plan":"pro"}})");
  const std::string id = std::to_string(Consents("user:u1")["customer_id"].get<std::int64_t>());
  auto key = privacy::LoadMasterKey(config_.master_key_file);
  ASSERT_OK(key.status());
  const auto tokens = privacy::CustomerTokens::FromMasterKey(*key);
  const Millis now = SystemClock::Instance().Now();
  auto expired = tokens.Issue(CustomerId(std::stoll(id)), now - 120'000, 60'000);
  ASSERT_OK(expired);
  HttpResponse r = Send("GET", "/v1/customers/" + id + "/consents", "", test::BearerAuth(expired->token));
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("expired"));
  auto fresh = tokens.Issue(CustomerId(std::stoll(id)), now, 60'000);
  EXPECT_EQ(Send("GET", "/v1/customers/" + id + "/consents", "", test::BearerAuth(fresh->token)).status, 200);
}

}  // namespace
}  // namespace touchpoint::server

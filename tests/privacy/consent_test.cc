// privacy::Consent — the one consent check: the rule (latest decision by time, then recording
// order; across merged customers), the defaults (marketing opt-in only; personalisation the
// configured default), parsing of API changes, and the audit entry of every change.
#include <touchpoint/privacy/consent.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/privacy/audit.h>
#include <touchpoint/store/audit_repository.h>
#include <touchpoint/store/memory.h>

#include "testing/matchers.h"

namespace touchpoint::privacy {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::testing::StatusIs;

class FakeClock final : public Clock {
 public:
  Millis Now() const override { return now; }
  Millis now = 1'800'000'000'000;
};

store::ConsentRecord Decision(std::int64_t id, std::int64_t customer, std::string_view purpose, std::string_view channel,
                              std::string_view value, Millis at) {
  store::ConsentRecord r;
  r.id = id;
  r.customer = CustomerId(customer);
  r.purpose = purpose;
  r.channel = channel;
  r.value = value;
  r.source = "api";
  r.at = at;
  return r;
}

TEST(ConsentRuleTest, NoDecisionMeansNoMarketingAndTheConfiguredPersonalisation) {
  ConsentPolicy policy;
  policy.default_personalisation = Intensity::kMedium;
  const ConsentState state = DecideConsent({}, policy);
  for (Channel c : kAllChannels) EXPECT_FALSE(state.AllowsMarketing(c)) << ChannelName(c);
  EXPECT_EQ(state.personalisation, Intensity::kMedium);
  EXPECT_FALSE(state.personalisation_decision.has_value());
  EXPECT_TRUE(state.AllowsPersonalisation(Intensity::kMedium));
  EXPECT_FALSE(state.AllowsPersonalisation(Intensity::kHigh));
  EXPECT_FALSE(state.AllowsPersonalisation(Intensity::kOff)) << "off is never something to be allowed";
  policy.default_personalisation = Intensity::kOff;
  EXPECT_FALSE(DecideConsent({}, policy).AllowsPersonalisation(Intensity::kLow));
}

TEST(ConsentRuleTest, TheLatestDecisionCountsPerChannelAndALateOldIdentifyDoesNotOverrideIt) {
  const std::vector<store::ConsentRecord> history = {
      Decision(1, 1, store::kConsentMarketing, "email", store::kConsentOptIn, 100),
      Decision(2, 1, store::kConsentMarketing, "sms", store::kConsentOptIn, 100),
      Decision(3, 1, store::kConsentMarketing, "email", store::kConsentOptOut, 200),
      // Recorded later, decided earlier (a backfilled identify): does not count.
      Decision(4, 1, store::kConsentMarketing, "email", store::kConsentOptIn, 150),
      Decision(5, 1, store::kConsentPersonalisation, "", "high", 100),
      // The same time: the one recorded last counts.
      Decision(6, 1, store::kConsentPersonalisation, "", "off", 100),
  };
  const ConsentState state = DecideConsent(history, ConsentPolicy{});
  EXPECT_FALSE(state.AllowsMarketing(Channel::kEmail));
  EXPECT_TRUE(state.AllowsMarketing(Channel::kSms));
  EXPECT_FALSE(state.AllowsMarketing(Channel::kPush));
  EXPECT_EQ(state.personalisation, Intensity::kOff);
  EXPECT_FALSE(state.AllowsPersonalisation(Intensity::kLow));
  ASSERT_TRUE(state.marketing[1].has_value());
  EXPECT_EQ(state.marketing[1]->id, 3);
  const auto j = nlohmann::json::parse(state.ToJson());
  EXPECT_EQ(j["marketing"]["email"]["opt_in"], false);
  EXPECT_EQ(j["marketing"]["sms"]["opt_in"], true);
  EXPECT_EQ(j["marketing"]["push"]["decided"], false);
  EXPECT_EQ(j["personalisation"]["intensity"], "off");
  EXPECT_EQ(j["personalisation"]["default"], false);
}

TEST(ConsentRuleTest, ParsesApiChangesAndRefusesWhatItDoesNotKnow) {
  auto change = ParseConsentChangeJson(
      R"({"personalisation":"medium","marketing":{"email":true,"sms":"opt_out"},"wording_version":"2026-03"})");
  ASSERT_OK(change);
  EXPECT_EQ(change->personalisation, Intensity::kMedium);
  ASSERT_EQ(change->marketing.size(), 2u);
  EXPECT_EQ(change->wording_version, "2026-03");
  const auto records = ConsentRecordsFor(CustomerId(5), *change, ConsentSource::kCustomer, 42, "customer:5/token:ab");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].purpose, "personalisation");
  EXPECT_EQ(records[0].value, "medium");
  EXPECT_EQ(records[0].source, "customer");
  EXPECT_EQ(records[1].channel, "email");
  EXPECT_EQ(records[1].value, "opt_in");
  EXPECT_EQ(records[2].value, "opt_out");
  EXPECT_EQ(records[2].at, 42);
  EXPECT_EQ(records[2].wording_version, "2026-03");
  for (const char* bad : {"[]", "{}", R"({"personalisation":"max"})", R"({"marketing":{"fax":true}})",
                          R"({"marketing":{"email":1}})", R"({"marketing":true})", R"({"other":1})", "not json"}) {
    EXPECT_THAT(ParseConsentChangeJson(bad), StatusIs(StatusCode::kInvalidArgument)) << bad;
  }
}

// A person of three customers: 10 is live, 11 and 12 were merged into it.
class ConsentCheckTest : public ::testing::Test {
 protected:
  ConsentCheckTest()
      : consent_(*store_,
                 [this](CustomerId c) -> Result<std::vector<CustomerId>> {
                   auto it = people_.find(c.value());
                   if (it == people_.end()) return Status::NotFound("no such customer");
                   return it->second;
                 },
                 ConsentPolicy{Intensity::kLow}, clock_) {
    const std::vector<CustomerId> person = {CustomerId(10), CustomerId(11), CustomerId(12)};
    for (std::int64_t c : {10, 11, 12}) people_[c] = person;
    people_[20] = {CustomerId(20)};
  }
  void Record(std::vector<store::ConsentRecord> records) {
    ASSERT_OK(store_->Get<store::ConsentRepository>().Record(records));
  }

  FakeClock clock_;
  std::unique_ptr<store::Store> store_ = store::memory::Open();
  std::map<std::int64_t, std::vector<CustomerId>> people_;
  Consent consent_;
};

TEST_F(ConsentCheckTest, ConsentFollowsMergesAndTheLatestDecisionOfAnyMergedCustomerCounts) {
  // Opted in under one customer, opted out later under another one of the same person.
  Record({Decision(0, 11, store::kConsentMarketing, "email", store::kConsentOptIn, 100),
          Decision(0, 12, store::kConsentMarketing, "email", store::kConsentOptOut, 300),
          Decision(0, 12, store::kConsentMarketing, "wechat", store::kConsentOptIn, 100),
          Decision(0, 11, store::kConsentPersonalisation, "", "high", 100),
          Decision(0, 20, store::kConsentMarketing, "sms", store::kConsentOptIn, 100)});
  EXPECT_FALSE(*consent_.AllowsMarketing(CustomerId(10), Channel::kEmail));
  EXPECT_TRUE(*consent_.AllowsMarketing(CustomerId(10), Channel::kWechat));
  EXPECT_TRUE(*consent_.AllowsMarketing(CustomerId(11), Channel::kWechat)) << "asked by a merged id: the same person";
  EXPECT_FALSE(*consent_.AllowsMarketing(CustomerId(10), Channel::kSms)) << "customer 20 is someone else";
  EXPECT_TRUE(*consent_.Allows(CustomerId(10), Purpose::kPersonalisation, Intensity::kHigh));
  EXPECT_TRUE(*consent_.AllowsMarketing(CustomerId(20), Channel::kSms));
  EXPECT_FALSE(*consent_.Allows(CustomerId(20), Purpose::kPersonalisation, Intensity::kMedium)) << "default low";
  EXPECT_TRUE(*consent_.Allows(CustomerId(20), Purpose::kPersonalisation, Intensity::kLow));
  EXPECT_THAT(consent_.Allows(CustomerId(20), Purpose::kMarketing, Intensity::kLow),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(consent_.AllowsMarketing(CustomerId(99), Channel::kSms), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(consent_.History(CustomerId(12))->size(), 4u);
}

TEST_F(ConsentCheckTest, ChangesAreRecordedForTheLiveCustomerKeptAsHistoryAndAuditedOneEntryEach) {
  auto audit_store = store::memory::Open();
  auto audit = AuditLog::Open(*audit_store, clock_, std::nullopt, AuditLogOptions{});
  ASSERT_OK(audit);
  ConsentChange change;
  change.marketing = {{Channel::kEmail, true}, {Channel::kPush, true}};
  change.wording_version = "v1";
  auto first = consent_.Change(CustomerId(12), change, ConsentSource::kApi, "key:tp_abc", audit->get());
  ASSERT_OK(first);
  EXPECT_OK(first->audited);
  EXPECT_EQ(first->live, CustomerId(10));
  ASSERT_EQ(first->records.size(), 2u);
  EXPECT_EQ(first->records[0].customer, CustomerId(10)) << "recorded for the live customer";
  EXPECT_GT(first->records[0].id, 0);
  EXPECT_TRUE(*consent_.AllowsMarketing(CustomerId(10), Channel::kEmail));
  clock_.now += 1000;
  ConsentChange withdraw;
  withdraw.marketing = {{Channel::kEmail, false}};
  withdraw.personalisation = Intensity::kOff;
  ASSERT_OK(consent_.Change(CustomerId(10), withdraw, ConsentSource::kCustomer, "customer:10/token:ff", audit->get()));
  EXPECT_FALSE(*consent_.AllowsMarketing(CustomerId(10), Channel::kEmail));
  EXPECT_TRUE(*consent_.AllowsMarketing(CustomerId(10), Channel::kPush));
  EXPECT_FALSE(*consent_.Allows(CustomerId(11), Purpose::kPersonalisation, Intensity::kLow));
  // History: nothing replaced, every decision kept in order.
  auto history = consent_.History(CustomerId(10));
  ASSERT_OK(history);
  ASSERT_EQ(history->size(), 4u);
  EXPECT_EQ((*history)[0].value, "opt_in");
  EXPECT_EQ((*history)[3].value, "opt_out");
  EXPECT_EQ((*history)[3].source, "customer");
  // One audit entry per decision, with who, what and no personal data.
  store::AuditQuery q;
  q.action = "consent.change";
  auto entries = (*audit)->Query(q);
  ASSERT_OK(entries);
  ASSERT_EQ(entries->size(), 4u);
  EXPECT_EQ((*entries)[0].actor, "customer:10/token:ff");  // newest first
  EXPECT_EQ((*entries)[0].target, "customer:10");
  EXPECT_THAT((*entries)[0].details_json, HasSubstr(R"("source":"customer")"));
  EXPECT_EQ((*entries)[3].actor, "key:tp_abc");
  EXPECT_THAT((*entries)[3].details_json, HasSubstr(R"("channel":"email")"));
  EXPECT_THAT((*entries)[3].details_json, HasSubstr(R"("wording_version":"v1")"));
  EXPECT_THAT(consent_.Change(CustomerId(10), ConsentChange{}, ConsentSource::kApi, "x", nullptr),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(consent_.Change(CustomerId(99), change, ConsentSource::kApi, "x", nullptr),
              StatusIs(StatusCode::kNotFound));
}

}  // namespace
}  // namespace touchpoint::privacy

#include <touchpoint/demo/generator.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <touchpoint/core/time.h>

#include "demo/segment_check.h"
#include "testing/matchers.h"

namespace touchpoint::demo {
namespace {

using ::nlohmann::json;
using ::touchpoint::testing::StatusIs;
using ::touchpoint::demo::testing::EventTime;
using ::touchpoint::demo::testing::HasChinese;
using ::touchpoint::demo::testing::IsEnglish;
using ::touchpoint::demo::testing::NormaliseChineseMobile;
using ::touchpoint::demo::testing::SplitLines;

std::string GenerateText(const GenerateOptions& options, GenerateStats* stats = nullptr) {
  std::ostringstream out;
  Result<GenerateStats> r = Generate(options, out);
  EXPECT_OK(r);
  if (stats != nullptr && r.ok()) *stats = *r;
  return out.str();
}

GenerateOptions Options(int64_t customers, int64_t events, uint64_t seed) {
  GenerateOptions o;
  o.customers = customers;
  o.events = events;
  o.seed = seed;
  return o;
}

// One medium data set shared by the read-only checks below.
class DemoDataTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    options_ = new GenerateOptions(Options(300, 20000, 7));
    stats_ = new GenerateStats();
    text_ = new std::string(GenerateText(*options_, stats_));
    events_ = new std::vector<json>();
    for (const std::string& line : SplitLines(*text_)) {
      events_->push_back(json::parse(line, nullptr, /*allow_exceptions=*/false));
    }
  }
  static void TearDownTestSuite() {
    delete options_;
    delete stats_;
    delete text_;
    delete events_;
  }

  static bool IsTrack(const json& e, std::string_view event) {
    return e.value("type", "") == "track" && e.value("event", "") == event;
  }

  static GenerateOptions* options_;
  static GenerateStats* stats_;
  static std::string* text_;
  static std::vector<json>* events_;
};

GenerateOptions* DemoDataTest::options_ = nullptr;
GenerateStats* DemoDataTest::stats_ = nullptr;
std::string* DemoDataTest::text_ = nullptr;
std::vector<json>* DemoDataTest::events_ = nullptr;

TEST_F(DemoDataTest, EveryLineIsJsonWithTheFieldsOfItsType) {
  ASSERT_EQ(events_->size(), 20000u);
  const std::set<std::string> channels = {"app",  "web",   "mini_program", "store",
                                          "chat", "email", "social",       "phone"};
  std::map<std::string, int> types;
  for (size_t i = 0; i < events_->size(); ++i) {
    const json& e = (*events_)[i];
    SCOPED_TRACE("line " + std::to_string(i + 1));
    ASSERT_TRUE(e.is_object()) << "not JSON";
    ASSERT_TRUE(e.contains("messageId") && e["messageId"].is_string());
    ASSERT_TRUE(e.contains("timestamp"));
    ASSERT_TRUE(e.contains("context") && e["context"].is_object());
    ASSERT_TRUE(channels.count(e["context"].value("channel", ""))) << e.dump();
    const bool has_user = e.contains("userId") && e["userId"].is_string();
    const bool has_anon = e.contains("anonymousId") && e["anonymousId"].is_string();
    ASSERT_TRUE(has_user || has_anon) << e.dump();
    const std::string type = e.value("type", "");
    ++types[type];
    if (type == "identify") {
      ASSERT_TRUE(has_user) << e.dump();
      ASSERT_TRUE(e.contains("traits") && e["traits"].is_object()) << e.dump();
    } else if (type == "page") {
      ASSERT_TRUE(e.contains("name") && e["name"].is_string()) << e.dump();
      ASSERT_TRUE(e["properties"]["url"].is_string()) << e.dump();
      ASSERT_TRUE(e["properties"]["path"].is_string()) << e.dump();
      ASSERT_TRUE(e["context"]["device"]["id"].is_string()) << e.dump();
    } else if (type == "alias") {
      ASSERT_TRUE(has_user) << e.dump();
      ASSERT_TRUE(e.contains("previousId") && e["previousId"].is_string()) << e.dump();
      ASSERT_NE(e["userId"], e["previousId"]);
    } else if (type == "track") {
      const std::string event = e.value("event", "");
      const json& p = e["properties"];
      ASSERT_TRUE(p.is_object()) << e.dump();
      if (event == "Product Viewed") {
        for (const char* k : {"product_id", "category"}) ASSERT_TRUE(p[k].is_string()) << k;
        ASSERT_GT(p["price"].get<double>(), 0.0);
        ASSERT_GE(p["dwell_seconds"].get<int>(), 1);
        ASSERT_TRUE(e["context"]["device"]["id"].is_string()) << e.dump();
      } else if (event == "Order Completed") {
        ASSERT_TRUE(p["order_id"].is_string());
        ASSERT_TRUE(p["currency"] == "CNY" || p["currency"] == "USD") << e.dump();
        ASSERT_TRUE(p["products"].is_array() && !p["products"].empty()) << e.dump();
        ASSERT_TRUE(has_user) << "orders are placed by logged-in customers: " << e.dump();
      } else if (event == "Message Received" || event == "Message Sent") {
        for (const char* k : {"conversation_id", "channel", "author", "text"}) {
          ASSERT_TRUE(p[k].is_string()) << k << " in " << e.dump();
        }
        const std::string author = p["author"];
        if (event == "Message Received") {
          EXPECT_EQ(author, "customer");
        } else {
          EXPECT_TRUE(author == "agent" || author == "bot") << author;
        }
        EXPECT_THAT(p["channel"].get<std::string>(),
                    ::testing::AnyOf("chat", "email", "social", "phone", "ivr", "app"));
      } else if (event == "Survey Answered") {
        ASSERT_TRUE(p.contains("nps") || p.contains("csat")) << e.dump();
        if (p.contains("nps")) {
          EXPECT_GE(p["nps"].get<int>(), 0);
          EXPECT_LE(p["nps"].get<int>(), 10);
        }
        if (p.contains("csat")) {
          EXPECT_GE(p["csat"].get<int>(), 1);
          EXPECT_LE(p["csat"].get<int>(), 5);
        }
        EXPECT_THAT(p["touchpoint"].get<std::string>(),
                    ::testing::AnyOf("delivery", "after_sales", "checkout", "app"));
      } else {
        FAIL() << "unexpected track event " << e.dump();
      }
    } else {
      FAIL() << "unexpected type " << e.dump();
    }
  }
  for (const char* t : {"identify", "track", "page", "alias"}) EXPECT_GT(types[t], 0) << t;
}

TEST_F(DemoDataTest, StatsCountWhatWasWritten) {
  int64_t orders = 0;
  int64_t messages = 0;
  int64_t surveys = 0;
  for (const json& e : *events_) {
    orders += IsTrack(e, "Order Completed");
    messages += IsTrack(e, "Message Received") || IsTrack(e, "Message Sent");
    surveys += IsTrack(e, "Survey Answered");
  }
  EXPECT_EQ(stats_->events, 20000);
  EXPECT_EQ(stats_->customers, 300);
  EXPECT_EQ(stats_->orders, orders);
  EXPECT_EQ(stats_->messages, messages);
  EXPECT_EQ(stats_->surveys, surveys);
  // A realistic mix: browsing dominates, but every kind is well represented.
  EXPECT_GT(orders, 20000 / 50);
  EXPECT_GT(messages, 20000 / 10);
  EXPECT_GT(surveys, 20000 / 100);
}

TEST_F(DemoDataTest, MessageIdsAreUnique) {
  std::set<std::string> ids;
  for (const json& e : *events_) ids.insert(e["messageId"].get<std::string>());
  EXPECT_EQ(ids.size(), events_->size());
}

TEST_F(DemoDataTest, TimestampsParseLieInTheWindowAndAreInOrder) {
  const Millis end = DaysFromCivil(2026, 11, 1) * kMillisPerDay;
  const Millis start = end - 365 * kMillisPerDay;
  Millis previous = start;
  int numbers = 0;
  int utc = 0;
  int offset = 0;
  for (size_t i = 0; i < events_->size(); ++i) {
    const json& ts = (*events_)[i]["timestamp"];
    std::optional<Millis> t = EventTime(ts);
    ASSERT_TRUE(t.has_value()) << "line " << i + 1 << ": " << ts.dump();
    ASSERT_GE(*t, start) << ts.dump();
    ASSERT_LT(*t, end) << ts.dump();
    ASSERT_GE(*t, previous) << "line " << i + 1 << " goes back in time";
    previous = *t;
    if (ts.is_number()) {
      ++numbers;
    } else if (ts.get<std::string>().ends_with("Z")) {
      ++utc;
    } else if (ts.get<std::string>().ends_with("+08:00")) {
      ++offset;
    }
  }
  // All three spellings occur, UTC most often.
  EXPECT_GT(numbers, 0);
  EXPECT_GT(offset, 0);
  EXPECT_GT(utc, offset + numbers);
}

TEST_F(DemoDataTest, MoreOrdersOnSaleDaysThanOnOrdinaryDays) {
  std::map<std::string, int> orders_by_date;
  std::map<std::string, int> lines_by_date;
  for (const json& e : *events_) {
    const std::string date = FormatDate(*EventTime(e["timestamp"]));
    ++lines_by_date[date];
    if (IsTrack(e, "Order Completed")) ++orders_by_date[date];
  }
  // Activity peaks on Double 11 itself.
  const double mean_lines = 20000.0 / 365.0;
  EXPECT_GT(lines_by_date["2025-11-11"], 2.5 * mean_lines);
  // Orders per day in the run-ups to 11-11 and 6-18 clearly beat the rest of the year.
  int sale_orders = 0, sale_days = 0, other_orders = 0, other_days = 0;
  const Millis end = DaysFromCivil(2026, 11, 1) * kMillisPerDay;
  for (int d = 1; d <= 365; ++d) {
    const std::string date = FormatDate(end - d * kMillisPerDay);
    const int month = std::stoi(date.substr(5, 2));
    const int day = std::stoi(date.substr(8, 2));
    const bool sale = (month == 11 && day <= 12) || (month == 6 && day <= 18);
    (sale ? sale_orders : other_orders) += orders_by_date[date];
    ++(sale ? sale_days : other_days);
  }
  const double sale_rate = static_cast<double>(sale_orders) / sale_days;
  const double other_rate = static_cast<double>(other_orders) / other_days;
  EXPECT_GT(sale_rate, 1.5 * other_rate) << sale_rate << " vs " << other_rate;
}

TEST(PhoneNormaliseTest, AcceptsTheSpellingsTheGeneratorUses) {
  const struct {
    const char* text;
    const char* want;  // "" = rejected
  } cases[] = {
      {"13812345678", "13812345678"},       {"+86 138-1234-5678", "13812345678"},
      {"86 138 1234 5678", "13812345678"},  {"(+86)13812345678", "13812345678"},
      {"+86 13812345678", "13812345678"},   {"+8613812345678", "13812345678"},
      {"138-1234-5678", "13812345678"},     {"1381234567", ""},
      {"8613812345678999", ""},             {"23812345678", ""},
  };
  for (const auto& c : cases) {
    std::optional<std::string> got = NormaliseChineseMobile(c.text);
    EXPECT_EQ(got.value_or(""), c.want) << c.text;
  }
}

TEST_F(DemoDataTest, PhoneSpellingsVaryButNormaliseToOneMobilePerPerson) {
  std::map<std::string, std::set<std::string>> mobiles;    // userId → normalised
  std::map<std::string, std::set<std::string>> spellings;  // userId → as written
  std::map<std::string, std::string> owner;                // mobile → userId
  std::map<std::string, std::string> alias_of;             // previousId → userId
  for (const json& e : *events_) {
    if (e["type"] == "alias") alias_of[e["previousId"]] = e["userId"];
  }
  for (const json& e : *events_) {
    if (e["type"] != "identify" || !e["traits"].contains("phone")) continue;
    const std::string written = e["traits"]["phone"];
    std::optional<std::string> mobile = NormaliseChineseMobile(written);
    ASSERT_TRUE(mobile.has_value()) << written;
    std::string user = e["userId"];
    if (alias_of.count(user)) user = alias_of[user];  // one person, two ids
    mobiles[user].insert(*mobile);
    spellings[user].insert(written);
    auto [it, inserted] = owner.emplace(*mobile, user);
    EXPECT_EQ(it->second, user) << *mobile << " belongs to two persons";
  }
  ASSERT_GT(mobiles.size(), 100u);
  int varied = 0;
  for (const auto& [user, set] : mobiles) {
    EXPECT_EQ(set.size(), 1u) << user;
    varied += spellings[user].size() > 1;
  }
  EXPECT_GT(varied, 20) << "some persons should write their phone in several ways";
  // Some persons have no phone at all.
  std::set<std::string> identified;
  for (const json& e : *events_) {
    if (e["type"] == "identify") identified.insert(e["userId"]);
  }
  EXPECT_LT(mobiles.size(), identified.size());
}

TEST_F(DemoDataTest, EmailsVaryInCaseButBelongToOnePerson) {
  std::map<std::string, std::string> owner;  // normalised e-mail → userId
  int messy = 0;
  for (const json& e : *events_) {
    if (e["type"] != "identify" || !e["traits"].contains("email")) continue;
    const std::string written = e["traits"]["email"];
    std::string norm;
    for (char c : written) {
      if (c != ' ') norm.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    messy += norm != written;
    EXPECT_NE(norm.find('@'), std::string::npos) << written;
    auto [it, inserted] = owner.emplace(norm, e["userId"]);
    if (!inserted && it->second != e["userId"]) {
      // Only a legacy id and its alias may share an address.
      EXPECT_TRUE(it->second.starts_with("guest_") || e["userId"].get<std::string>().starts_with("guest_"))
          << norm << " used by " << it->second << " and " << e["userId"];
    }
  }
  EXPECT_GT(messy, 10) << "some e-mails should have upper case or spaces";
}

TEST_F(DemoDataTest, SharedDevicesExist) {
  std::map<std::string, std::set<std::string>> users_by_device;
  for (const json& e : *events_) {
    if (!e.contains("userId") || !e["context"].contains("device")) continue;
    users_by_device[e["context"]["device"]["id"]].insert(e["userId"]);
  }
  size_t max_users = 0;
  int family = 0;
  for (const auto& [device, users] : users_by_device) {
    max_users = std::max(max_users, users.size());
    family += users.size() >= 2 && users.size() <= 3;
  }
  EXPECT_GE(max_users, 10u) << "a shop kiosk should serve many members";
  EXPECT_GT(family, 0) << "a family device should be shared by 2-3 persons";
}

TEST_F(DemoDataTest, AnonymousIdsAreLaterTiedToUsers) {
  std::set<std::string> anonymous_only;
  int tied = 0;
  for (const json& e : *events_) {
    if (!e.contains("anonymousId")) continue;
    const std::string anon = e["anonymousId"];
    if (!e.contains("userId")) {
      anonymous_only.insert(anon);
    } else if (e["type"] == "identify" && anonymous_only.count(anon)) {
      ++tied;
    }
  }
  EXPECT_GT(anonymous_only.size(), 10u);
  EXPECT_GT(tied, 10);
}

TEST_F(DemoDataTest, AliasesLinkAnIdThatWasUsedBefore) {
  std::set<std::string> seen_users;
  int aliases = 0;
  int used_before = 0;
  for (const json& e : *events_) {
    if (e["type"] == "alias") {
      ++aliases;
      used_before += seen_users.count(e["previousId"]) > 0;
      EXPECT_FALSE(seen_users.count(e["userId"])) << "the new id appears only after the alias";
    }
    if (e.contains("userId")) seen_users.insert(e["userId"]);
  }
  // "A few per thousand events."
  EXPECT_GE(aliases, 20000 / 2000);
  EXPECT_LE(aliases, 20000 / 100);
  EXPECT_GT(used_before, aliases / 2);
}

TEST_F(DemoDataTest, ChineseAndEnglishMessagesIncludingMixedAndPii) {
  int chinese = 0;
  int english = 0;
  int mixed = 0;
  int pii = 0;
  int banned = 0;
  int phone_transcripts = 0;
  for (const json& e : *events_) {
    if (!IsTrack(e, "Message Received") && !IsTrack(e, "Message Sent")) continue;
    const std::string text = e["properties"]["text"];
    ASSERT_FALSE(text.empty());
    if (HasChinese(text)) {
      ++chinese;
      bool ascii_word = false;
      for (size_t i = 0; i + 2 < text.size(); ++i) {
        ascii_word |= std::isalpha(static_cast<unsigned char>(text[i])) &&
                      std::isalpha(static_cast<unsigned char>(text[i + 1])) &&
                      std::isalpha(static_cast<unsigned char>(text[i + 2]));
      }
      mixed += ascii_word;
    } else if (IsEnglish(text)) {
      ++english;
    }
    if (IsTrack(e, "Message Received")) {
      bool has_mobile = false;
      std::string digits;
      for (char c : text + " ") {
        if (c >= '0' && c <= '9') {
          digits.push_back(c);
        } else if (c != ' ' && c != '-' && c != '+' && c != '(' && c != ')') {
          has_mobile |= NormaliseChineseMobile(digits).has_value();
          digits.clear();
        }
      }
      const bool has_email = text.find(".com") != std::string::npos &&
                             text.find('@') != std::string::npos &&
                             text.find("@Touchpoint") == std::string::npos;
      pii += has_mobile || has_email;
      if (e["properties"]["channel"] == "phone" && text.size() > 120) ++phone_transcripts;
    } else {
      for (const char* phrase : {"不知道", "不归我管", "not my problem"}) {
        banned += text.find(phrase) != std::string::npos;
      }
    }
  }
  EXPECT_GT(chinese, 500);
  EXPECT_GT(english, 100);
  EXPECT_GT(mixed, 10);
  EXPECT_GT(pii, 10);
  EXPECT_GT(banned, 5);
  EXPECT_GT(phone_transcripts, 20);
}

TEST_F(DemoDataTest, SomeCustomersContactUsRepeatedlyAboutTheSameOrder) {
  // (userId, order id mentioned in the text) → contact days.
  std::map<std::pair<std::string, std::string>, std::set<int64_t>> contacts;
  for (const json& e : *events_) {
    if (!IsTrack(e, "Message Received")) continue;
    const std::string text = e["properties"]["text"];
    const size_t at = text.find("TP1");
    if (at == std::string::npos) continue;
    const std::string order = text.substr(at, 12);
    contacts[{e["userId"], order}].insert(*EventTime(e["timestamp"]) / kMillisPerDay);
  }
  int repeated = 0;
  for (const auto& [key, days] : contacts) {
    repeated += days.size() >= 2 && *days.rbegin() - *days.begin() <= 30;
  }
  EXPECT_GT(repeated, 5);
}

TEST_F(DemoDataTest, OrderTotalsEqualTheSumOfTheirLines) {
  int usd = 0;
  int stores = 0;
  std::set<std::string> order_ids;
  for (const json& e : *events_) {
    if (!IsTrack(e, "Order Completed")) continue;
    const json& p = e["properties"];
    double sum = 0;
    for (const json& line : p["products"]) {
      ASSERT_GT(line["price"].get<double>(), 0.0);
      ASSERT_GE(line["quantity"].get<int>(), 1);
      sum += line["price"].get<double>() * line["quantity"].get<int>();
    }
    EXPECT_GT(p["total"].get<double>(), 0.0);
    EXPECT_NEAR(p["total"].get<double>(), sum, 0.005) << e.dump();
    usd += p["currency"] == "USD";
    stores += e["context"]["channel"] == "store";
    EXPECT_TRUE(order_ids.insert(p["order_id"]).second) << "duplicate " << p["order_id"];
  }
  EXPECT_GT(usd, 0);
  EXPECT_GT(stores, 0);
}

TEST_F(DemoDataTest, LateDeliveriesLowerDeliveryScores) {
  // Orders the customer chased as late (order id plus a late-delivery phrase) vs the others.
  std::set<std::string> chased;
  for (const json& e : *events_) {
    if (!IsTrack(e, "Message Received")) continue;
    const std::string text = e["properties"]["text"];
    const size_t at = text.find("TP1");
    if (at == std::string::npos) continue;
    for (const char* late : {"还没收到", "快递", "supposed to arrive", "in transit"}) {
      if (text.find(late) != std::string::npos) chased.insert(text.substr(at, 12));
    }
  }
  double chased_sum = 0, other_sum = 0;
  int chased_n = 0, other_n = 0;
  for (const json& e : *events_) {
    if (!IsTrack(e, "Survey Answered")) continue;
    const json& p = e["properties"];
    if (p["touchpoint"] != "delivery" || !p.contains("nps") || !p.contains("order_id")) continue;
    if (chased.count(p["order_id"])) {
      chased_sum += p["nps"].get<int>();
      ++chased_n;
    } else {
      other_sum += p["nps"].get<int>();
      ++other_n;
    }
  }
  ASSERT_GT(chased_n, 3);
  ASSERT_GT(other_n, 3);
  EXPECT_LT(chased_sum / chased_n + 2.0, other_sum / other_n)
      << chased_n << " chased, " << other_n << " others";
}

TEST(GenerateTest, SameSeedGivesIdenticalBytesAndAnotherSeedDoesNot) {
  const std::string a = GenerateText(Options(120, 3000, 11));
  const std::string b = GenerateText(Options(120, 3000, 11));
  const std::string c = GenerateText(Options(120, 3000, 12));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_FALSE(a.empty());
}

TEST(GenerateTest, WritesExactlyTheRequestedNumberOfLines) {
  const struct {
    int64_t customers;
    int64_t events;
    int days;
    int64_t want;
  } cases[] = {
      {10, 0, 365, 500},  // default: 50 × customers
      {1, 1, 365, 1},      {3, 7, 1, 7},     {50, 365, 365, 365},
      {50, 364, 365, 364}, {5, 1234, 30, 1234}, {400, 999, 7, 999},
  };
  for (const auto& c : cases) {
    GenerateOptions o = Options(c.customers, c.events, 5);
    o.days = c.days;
    GenerateStats stats;
    const std::string text = GenerateText(o, &stats);
    EXPECT_EQ(static_cast<int64_t>(SplitLines(text).size()), c.want)
        << c.customers << "/" << c.events << "/" << c.days;
    EXPECT_EQ(stats.events, c.want);
    EXPECT_TRUE(text.empty() || text.back() == '\n');
  }
}

TEST(GenerateTest, HonoursTheWindow) {
  GenerateOptions o = Options(40, 800, 3);
  o.end_date = "2024-03-01";  // leap year: the window covers Feb 29
  o.days = 10;
  const Millis end = DaysFromCivil(2024, 3, 1) * kMillisPerDay;
  for (const std::string& line : SplitLines(GenerateText(o))) {
    std::optional<Millis> t = EventTime(json::parse(line)["timestamp"]);
    ASSERT_TRUE(t.has_value());
    EXPECT_GE(*t, end - 10 * kMillisPerDay);
    EXPECT_LT(*t, end);
  }
}

TEST(GenerateTest, RejectsBadOptions) {
  const struct {
    int64_t customers;
    int64_t events;
    int days;
    const char* end_date;
  } cases[] = {
      {0, 10, 365, "2026-11-01"},    {-5, 10, 365, "2026-11-01"},  {10, -1, 365, "2026-11-01"},
      {10, 10, 0, "2026-11-01"},     {10, 10, 5000, "2026-11-01"}, {10, 10, 365, "2026-13-01"},
      {10, 10, 365, "2026-02-30"},   {10, 10, 365, "2025-02-29"},  {10, 10, 365, "yesterday"},
      {10, 10, 365, "2026-11-01T00"}, {20'000'000, 0, 365, "2026-11-01"},
  };
  for (const auto& c : cases) {
    GenerateOptions o = Options(c.customers, c.events, 1);
    o.days = c.days;
    o.end_date = c.end_date;
    std::ostringstream out;
    EXPECT_THAT(ValidateOptions(o), StatusIs(StatusCode::kInvalidArgument));
    EXPECT_THAT(Generate(o, out), StatusIs(StatusCode::kInvalidArgument))
        << c.customers << "/" << c.events << "/" << c.days << "/" << c.end_date;
    EXPECT_TRUE(out.str().empty());
  }
}

TEST(GenerateTest, ReportsAStreamThatCannotBeWritten) {
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  EXPECT_THAT(Generate(Options(10, 100, 1), out), StatusIs(StatusCode::kUnavailable));
}

}  // namespace
}  // namespace touchpoint::demo

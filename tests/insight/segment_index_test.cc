#include <touchpoint/insight/segment_index.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <touchpoint/ingest/parser.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/store/open.h>

#include "testing/matchers.h"

namespace touchpoint::insight {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::touchpoint::testing::StatusIs;
using json = nlohmann::json;

constexpr Millis kDay = kMillisPerDay;
constexpr Millis kT0 = 1'717'200'000'000;  // 2024-06-01T00:00:00Z

class FixedClock final : public Clock {
 public:
  Millis Now() const override { return now; }
  Millis now = 1'700'000'000'000;
};

// Profiles kept by the test: customers, merges (the loser's accumulator folds into the winner's)
// and the as-of. `on_visit` runs after ForEach visited a customer, outside any lock, so a test can
// change profiles in the middle of a full count.
class FakeProfiles final : public profile::ProfileSource {
 public:
  void ForEach(const std::function<void(CustomerId, const profile::Profile&)>& fn) const override {
    std::vector<std::int64_t> ids;
    {
      std::scoped_lock lock(mu_);
      for (const auto& [id, p] : profiles_) ids.push_back(id);
    }
    for (std::int64_t id : ids) {
      {
        std::scoped_lock lock(mu_);
        auto it = profiles_.find(id);
        if (it != profiles_.end() && !merged_into_.count(id)) fn(CustomerId(id), it->second);
      }
      if (on_visit) on_visit(CustomerId(id));
    }
  }
  bool With(CustomerId c, const std::function<void(const profile::Profile&)>& fn) const override {
    std::scoped_lock lock(mu_);
    auto it = profiles_.find(c.value());
    if (it == profiles_.end() || merged_into_.count(c.value())) return false;
    fn(it->second);
    return true;
  }
  std::vector<CustomerId> MergedInto(CustomerId c) const override {
    std::scoped_lock lock(mu_);
    std::vector<CustomerId> out;
    for (const auto& [loser, winner] : merged_into_) {
      if (winner == c.value()) out.emplace_back(loser);
    }
    return out;
  }
  Millis as_of() const override {
    std::scoped_lock lock(mu_);
    return as_of_;
  }

  void Order(std::int64_t id, Millis at, double total, std::string_view channel = "app") {
    profile::Activity a;
    a.kind = profile::Activity::Kind::kOrder;
    a.at = at;
    a.order_total = total;
    a.channel = channel;
    Apply(id, a);
  }
  void Identify(std::int64_t id, Millis at, std::vector<std::pair<std::string, std::string>> traits) {
    profile::Activity a;
    a.kind = profile::Activity::Kind::kIdentify;
    a.at = at;
    a.traits = traits;
    Apply(id, a);
  }
  void Tag(std::int64_t id, const std::string& name, const std::string& json_value) {
    std::scoped_lock lock(mu_);
    profiles_[id].SetTag(name, json_value);
  }
  void Merge(std::int64_t loser, std::int64_t winner) {
    std::scoped_lock lock(mu_);
    profiles_[winner].Absorb(profiles_[loser]);
    merged_into_[loser] = winner;
  }
  void SetAsOf(Millis t) {
    std::scoped_lock lock(mu_);
    as_of_ = t;
  }

  std::function<void(CustomerId)> on_visit;

 private:
  void Apply(std::int64_t id, const profile::Activity& a) {
    std::scoped_lock lock(mu_);
    profiles_[id].Apply(a);
    as_of_ = std::max(as_of_, a.at);
  }
  mutable std::mutex mu_;
  std::map<std::int64_t, profile::Profile> profiles_;
  std::map<std::int64_t, std::int64_t> merged_into_;
  Millis as_of_ = 0;
};

std::vector<CustomerId> Ids(std::initializer_list<std::int64_t> ids) {
  std::vector<CustomerId> out;
  for (auto id : ids) out.emplace_back(id);
  return out;
}

class SegmentIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto st = store::Open("memory:", {});
    ASSERT_OK(st);
    store_ = std::move(*st);
  }
  store::SegmentRepository& repo() { return store_->Get<store::SegmentRepository>(); }
  void OpenIndex() {
    auto index = SegmentIndex::Open(repo(), profiles_, clock_);
    ASSERT_OK(index);
    index_ = std::move(*index);
  }
  std::int64_t CountOf(const std::string& name) {
    auto c = index_->Count(name);
    EXPECT_OK(c) << name;
    return c.ok() ? *c : -1;
  }
  std::string ExportText(const std::string& name, SegmentExportFormat format,
                         const privacy::MaskPolicy& policy = privacy::MaskPolicy::Clear()) {
    std::string out;
    auto s = index_->Export(name, format, policy, [&](std::string_view chunk) {
      out.append(chunk);
      return Status::Ok();
    });
    EXPECT_OK(s);
    return out;
  }

  FixedClock clock_;
  FakeProfiles profiles_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<SegmentIndex> index_;
};

TEST_F(SegmentIndexTest, DefineCountsStoresAndReportsTheCanonicalRule) {
  profiles_.Order(1, kT0, 30000);
  profiles_.Order(2, kT0, 100);
  profiles_.Order(3, kT0, 25000, "web");
  OpenIndex();
  bool created = false;
  auto s = index_->Define("big_app", "MONETARY_365D >= 20000 AND preferred_channel = 'app'", "", &created);
  EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument)) << "single quotes are not strings";
  s = index_->Define("big_app", R"(monetary_365d >= 20000 and preferred_channel = "app")", "high spenders",
                     &created);
  ASSERT_OK(s);
  EXPECT_TRUE(created);
  EXPECT_EQ(s->count, 1);
  EXPECT_EQ(s->rule, R"(monetary_365d >= 20000 and preferred_channel = "app")");
  EXPECT_EQ(s->description, "high spenders");
  EXPECT_TRUE(s->depends_on_as_of);
  EXPECT_EQ(s->created_at, clock_.now);

  auto stored = repo().Find("big_app");
  ASSERT_OK(stored);
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->rule, s->rule);
  EXPECT_EQ((*stored)->description, "high spenders");

  // A second index over the same store (a restart) loads and counts it.
  OpenIndex();
  EXPECT_EQ(CountOf("big_app"), 1);
  auto listed = index_->List();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name, "big_app");
  EXPECT_EQ(listed[0].count, 1);
}

TEST_F(SegmentIndexTest, RedefineReplacesTheRuleAndKeepsCreatedAt) {
  profiles_.Order(1, kT0, 300);
  profiles_.Order(2, kT0, 50);
  OpenIndex();
  const Millis first = clock_.now;
  ASSERT_OK(index_->Define("buyers", "monetary >= 100", "", nullptr));
  EXPECT_EQ(CountOf("buyers"), 1);
  clock_.now += 60'000;
  bool created = true;
  auto s = index_->Define("buyers", "monetary >= 10", "any buyer", &created);
  ASSERT_OK(s);
  EXPECT_FALSE(created);
  EXPECT_EQ(s->count, 2);
  EXPECT_EQ(s->created_at, first);
  EXPECT_EQ(s->updated_at, clock_.now);
  EXPECT_EQ(index_->List().size(), 1u);
}

TEST_F(SegmentIndexTest, DeleteForgetsTheSegmentAndAnUnknownOneIsNotFound) {
  profiles_.Order(1, kT0, 300);
  OpenIndex();
  ASSERT_OK(index_->Define("buyers", "orders_total >= 1", "", nullptr));
  ASSERT_OK(index_->Delete("buyers"));
  EXPECT_THAT(index_->Count("buyers"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(index_->Delete("buyers"), StatusIs(StatusCode::kNotFound));
  EXPECT_TRUE(index_->List().empty());
  auto stored = repo().List();
  ASSERT_OK(stored);
  EXPECT_TRUE(stored->empty());
}

TEST_F(SegmentIndexTest, NamesAreLowerCaseDigitsUnderscoreAndDash) {
  struct Case {
    std::string name;
    bool ok;
  };
  const Case cases[] = {{"vip", true},  {"churn-risk_2", true}, {std::string(64, 'a'), true},
                        {"", false},    {"VIP", false},         {std::string(65, 'a'), false},
                        {"a b", false}, {"a/b", false},         {"ü", false}};
  OpenIndex();
  for (const auto& c : cases) {
    EXPECT_EQ(SegmentIndex::ValidateName(c.name).ok(), c.ok) << c.name;
    EXPECT_EQ(index_->Define(c.name, "orders_total >= 1", "", nullptr).ok(), c.ok) << c.name;
  }
}

TEST_F(SegmentIndexTest, ABadRuleNamesTheColumnAndStoresNothing) {
  OpenIndex();
  auto s = index_->Define("bad", "monetary_365d >=", "", nullptr);
  EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(s.status().message(), StartsWith("column 17: "));
  auto stored = repo().List();
  ASSERT_OK(stored);
  EXPECT_TRUE(stored->empty());
  EXPECT_THAT(index_->Preview("monetary_365d >="), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(SegmentIndexTest, PreviewCountsWithoutSaving) {
  profiles_.Order(1, kT0, 300);
  profiles_.Order(2, kT0, 50);
  OpenIndex();
  auto n = index_->Preview("monetary >= 100");
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1);
  EXPECT_TRUE(index_->List().empty());
}

TEST_F(SegmentIndexTest, ChangedCustomersJoinAndLeave) {
  profiles_.Order(1, kT0, 300);
  profiles_.Order(2, kT0, 50);
  OpenIndex();
  ASSERT_OK(index_->Define("buyers", "monetary >= 100", "", nullptr));
  ASSERT_OK(index_->Define("gold", R"(tier = "gold")", "", nullptr));
  EXPECT_EQ(CountOf("buyers"), 1);
  EXPECT_EQ(CountOf("gold"), 0);

  profiles_.Order(2, kT0 + 1000, 80);   // 130 now
  profiles_.Order(3, kT0 + 2000, 500);  // new customer
  profiles_.Tag(1, "tier", "\"gold\"");
  const auto changed = Ids({3, 2, 1, 2});  // any order, duplicates allowed
  index_->OnCustomersChanged(changed);
  EXPECT_EQ(CountOf("buyers"), 3);
  EXPECT_EQ(CountOf("gold"), 1);

  profiles_.Tag(1, "tier", "\"silver\"");
  index_->OnCustomersChanged(Ids({1}));
  EXPECT_EQ(CountOf("gold"), 0);
  // A customer nobody reported is not re-evaluated: counts follow the hook, not the profiles.
  profiles_.Tag(2, "tier", "\"gold\"");
  EXPECT_EQ(CountOf("gold"), 0);
  index_->OnCustomersChanged(Ids({2}));
  EXPECT_EQ(CountOf("gold"), 1);
}

// An analytics job tags most customers at once: beyond 250,000 changed customers the index counts
// in full instead (same result).
TEST_F(SegmentIndexTest, ManyChangedCustomersAreCountedInFull) {
  profiles_.Order(1, kT0, 300);
  profiles_.Order(2, kT0, 300);
  OpenIndex();
  ASSERT_OK(index_->Define("gold", R"(tier = "gold")", "", nullptr));
  profiles_.Tag(1, "tier", "\"gold\"");
  profiles_.Tag(2, "tier", "\"gold\"");
  std::vector<CustomerId> changed;
  for (std::int64_t id = 1; id <= 300'000; ++id) changed.emplace_back(id);
  index_->OnCustomersChanged(changed);
  EXPECT_EQ(CountOf("gold"), 2);
  profiles_.Tag(2, "tier", "\"silver\"");
  index_->OnCustomersChanged(changed);
  EXPECT_EQ(CountOf("gold"), 1);
}

TEST_F(SegmentIndexTest, MergedAwayCustomersAreNotCounted) {
  profiles_.Order(1, kT0, 300);
  profiles_.Order(2, kT0, 300);
  profiles_.Order(3, kT0, 10);
  OpenIndex();
  ASSERT_OK(index_->Define("buyers", "orders_total >= 1", "", nullptr));
  ASSERT_OK(index_->Define("two_orders", "orders_total >= 2", "", nullptr));
  EXPECT_EQ(CountOf("buyers"), 3);
  EXPECT_EQ(CountOf("two_orders"), 0);

  // 2 merges into 1: the hook reports the survivor only.
  profiles_.Merge(2, 1);
  index_->OnCustomersChanged(Ids({1}));
  EXPECT_EQ(CountOf("buyers"), 2);
  EXPECT_EQ(CountOf("two_orders"), 1);
  // A merged-away customer reported directly leaves too.
  profiles_.Merge(3, 1);
  index_->OnCustomersChanged(Ids({3}));
  EXPECT_EQ(CountOf("buyers"), 1);
  EXPECT_EQ(*index_->Preview("orders_total >= 1"), 1);
}

TEST_F(SegmentIndexTest, AsOfRulesAreRecountedWhenTheDayChanges) {
  // An order on 2024-06-01 10:00; as-of the same day.
  profiles_.Order(1, kT0 + 10 * 3'600'000, 100);
  profiles_.Order(2, kT0 + 10 * 3'600'000, 100);
  OpenIndex();
  ASSERT_OK(index_->Define("recent", "orders_30d >= 1", "", nullptr));
  ASSERT_OK(index_->Define("ever", "orders_total >= 1", "", nullptr));
  EXPECT_EQ(CountOf("recent"), 2);

  // 30 days later at 11:00 both orders left the window, but the day of the count is the day of
  // the first event of that day: at 09:00 they were still in it.
  profiles_.Order(3, kT0 + 30 * kDay + 9 * 3'600'000, 100);
  index_->OnCustomersChanged(Ids({3}));
  EXPECT_EQ(CountOf("recent"), 3);
  profiles_.SetAsOf(kT0 + 30 * kDay + 11 * 3'600'000);
  index_->OnCustomersChanged(Ids({3}));
  EXPECT_EQ(CountOf("recent"), 3) << "same day: customers nobody touched keep their membership (lag ≤ a day)";
  EXPECT_EQ(*index_->Preview("orders_30d >= 1"), 1);

  // The next day's first change recounts the rule in full; a rule without as-of is untouched.
  profiles_.SetAsOf(kT0 + 31 * kDay);
  index_->OnCustomersChanged(Ids({3}));
  EXPECT_EQ(CountOf("recent"), 1);
  EXPECT_EQ(CountOf("ever"), 3);
}

TEST_F(SegmentIndexTest, ChangesDuringADefinesCountAreNotLost) {
  for (std::int64_t id = 1; id <= 5; ++id) profiles_.Order(id, kT0, 10);
  OpenIndex();
  // While Define counts, customer 1 (already visited: not a member) spends more and the hook
  // reports it from another thread; the count must include it.
  bool done = false;
  profiles_.on_visit = [&](CustomerId visited) {
    if (done || visited.value() != 3) return;
    done = true;
    profiles_.Order(1, kT0 + 1, 1000);
    std::thread hook([&] { index_->OnCustomersChanged(Ids({1})); });
    hook.join();
  };
  auto s = index_->Define("big", "monetary >= 500", "", nullptr);
  profiles_.on_visit = nullptr;
  ASSERT_OK(s);
  EXPECT_TRUE(done);
  EXPECT_EQ(s->count, 1);
  EXPECT_EQ(*index_->Preview("monetary >= 500"), 1);
}

TEST_F(SegmentIndexTest, ExportWritesTheFieldsTheRuleReads) {
  profiles_.Identify(1, kT0, {{"name", "\"Ann, \\\"A\\\" Lee\""}, {"city", "\"上海\""}});
  profiles_.Order(1, kT0, 300);
  profiles_.Tag(1, "rfm_layer", "\"important_value\"");
  profiles_.Order(2, kT0 + 5, 50);
  profiles_.Identify(3, kT0, {{"name", "\"Bo\""}});
  profiles_.Order(3, kT0 + 7, 900);
  OpenIndex();
  ASSERT_OK(index_->Define("big", "monetary >= 100 and (traits.name is not null or rfm_layer = \"x\")", "",
                           nullptr));

  const std::string csv = ExportText("big", SegmentExportFormat::kCsv);
  EXPECT_EQ(csv,
            "customer_id,monetary,tags.rfm_layer,traits.name\r\n"
            "1,300,important_value,\"Ann, \"\"A\"\" Lee\"\r\n"
            "3,900,,Bo\r\n");

  std::istringstream lines(ExportText("big", SegmentExportFormat::kNdjson));
  std::vector<json> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(json::parse(line));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["customer_id"], 1);
  EXPECT_EQ(rows[0]["monetary"], 300);
  EXPECT_EQ(rows[0]["tags.rfm_layer"], "important_value");
  EXPECT_EQ(rows[0]["traits.name"], "Ann, \"A\" Lee");
  EXPECT_EQ(rows[0]["features"]["orders_total"], 1);
  EXPECT_TRUE(rows[1]["tags.rfm_layer"].is_null());

  // Masked (every role unless it reveals): a name keeps its first character.
  const std::string masked = ExportText("big", SegmentExportFormat::kCsv, privacy::MaskPolicy::Masked());
  EXPECT_THAT(masked, HasSubstr("\r\n1,300,important_value,A**\r\n"));
  EXPECT_THAT(masked, Not(HasSubstr("Lee")));

  EXPECT_THAT(
      index_->Export("nope", SegmentExportFormat::kCsv, privacy::MaskPolicy::Clear(), [](std::string_view) { return Status::Ok(); }),
      StatusIs(StatusCode::kNotFound));
}

TEST_F(SegmentIndexTest, ExportStopsAtTheWritersError) {
  for (std::int64_t id = 1; id <= 3000; ++id) profiles_.Order(id, kT0, 100);
  OpenIndex();
  ASSERT_OK(index_->Define("all", "orders_total >= 1", "", nullptr));
  int calls = 0;
  auto s = index_->Export("all", SegmentExportFormat::kNdjson, privacy::MaskPolicy::Clear(), [&](std::string_view) {
    ++calls;
    return Status::Unavailable("disk full");
  });
  EXPECT_THAT(s, StatusIs(StatusCode::kUnavailable));
  EXPECT_EQ(calls, 1);
}

TEST_F(SegmentIndexTest, AStoredRuleThatNoLongerCompilesIsListedWithItsError) {
  ASSERT_OK(repo().Put(store::SegmentRecord{"old", "contacts_90d > 1", "", 1, 1}));
  ASSERT_OK(repo().Put(store::SegmentRecord{"ok", "orders_total >= 1", "", 1, 1}));
  profiles_.Order(1, kT0, 10);
  OpenIndex();
  auto listed = index_->List();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].name, "ok");
  EXPECT_EQ(listed[0].count, 1);
  EXPECT_EQ(listed[1].name, "old");
  EXPECT_THAT(listed[1].error, HasSubstr("contacts_90d"));
  EXPECT_THAT(SavedSegmentJson(listed[1]), HasSubstr("\"count\":null"));
  EXPECT_THAT(index_->Count("old"), StatusIs(StatusCode::kFailedPrecondition));
  ASSERT_OK(index_->Delete("old"));
}

TEST_F(SegmentIndexTest, NotifyingTagSinkReportsTheTaggedCustomers) {
  class Sink final : public TagSink {
   public:
    explicit Sink(FakeProfiles& p) : p_(p) {}
    Status Write(const CustomerTags& tags) override {
      for (const auto& [c, values] : tags) {
        for (const auto& [name, value] : values) p_.Tag(c.value(), name, value);
      }
      return Status::Ok();
    }
    FakeProfiles& p_;
  };
  profiles_.Order(1, kT0, 10);
  profiles_.Order(2, kT0, 10);
  OpenIndex();
  ASSERT_OK(index_->Define("gold", R"(tier = "gold")", "", nullptr));
  Sink inner(profiles_);
  NotifyingTagSink sink(inner, [&](std::span<const CustomerId> c) { index_->OnCustomersChanged(c); });
  ASSERT_OK(sink.Write({{CustomerId(1), {{"tier", "\"gold\""}}}, {CustomerId(2), {{"tier", "\"gold\""}}}}));
  EXPECT_EQ(CountOf("gold"), 2);
}

// ---- over the real engine: committed events reach the index through the post-commit hook ----

// The adapter the composition roots install: each committed batch's customers.
class Observer final : public pipeline::CommitObserver {
 public:
  explicit Observer(SegmentIndex& index) : index_(index) {}
  void OnCommitted(std::span<const pipeline::CommittedEvent> events) override {
    std::vector<CustomerId> customers;
    for (const auto& e : events) customers.push_back(e.customer);
    index_.OnCustomersChanged(customers);
    std::scoped_lock lock(mu_);
    last_seq_ = std::max(last_seq_, events.back().seq);
    cv_.notify_all();
  }
  // Waits until the hook delivered every event up to `seq` (the hook runs after Submit returns).
  bool WaitFor(std::int64_t seq) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return last_seq_ >= seq; });
  }

 private:
  SegmentIndex& index_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::int64_t last_seq_ = 0;
};

struct Rng {
  std::uint64_t s;
  std::uint64_t Next() {  // SplitMix64
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  int Below(int n) { return static_cast<int>(Next() % static_cast<std::uint64_t>(n)); }
};

class SegmentIndexEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A store of this test's own: named memory stores are shared within the process.
    const std::string url = std::string("memory:segment-index-") +
                            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    auto writer = store::Open(url, {});
    ASSERT_OK(writer);
    auto engine = pipeline::Engine::Open(std::move(*writer), pipeline::EngineOptions{});
    ASSERT_OK(engine);
    engine_ = std::move(*engine);
    auto side = store::Open(url, {});
    ASSERT_OK(side);
    side_ = std::move(*side);
    auto index = SegmentIndex::Open(side_->Get<store::SegmentRepository>(), *engine_, clock_);
    ASSERT_OK(index);
    index_ = std::move(*index);
    observer_ = std::make_shared<Observer>(*index_);
    engine_->Subscribe(observer_);
  }
  void TearDown() override {
    if (engine_) engine_->Stop();
    engine_.reset();
  }
  void Submit(const std::vector<std::string>& lines) {
    ingest::Parser parser;
    std::vector<ingest::Event> events;
    for (const auto& l : lines) {
      auto e = parser.ParseMessage(l);
      ASSERT_OK(e) << l;
      events.push_back(std::move(*e));
    }
    ASSERT_OK(engine_->Submit(std::move(events)));
    ASSERT_TRUE(observer_->WaitFor(engine_->Stats().events));
  }
  std::int64_t CountOf(const std::string& name) {
    auto c = index_->Count(name);
    EXPECT_OK(c);
    return c.ok() ? *c : -1;
  }
  std::int64_t FullCount(const std::string& rule) {
    auto c = index_->Preview(rule);
    EXPECT_OK(c);
    return c.ok() ? *c : -1;
  }

  FixedClock clock_;
  std::unique_ptr<pipeline::Engine> engine_;
  std::unique_ptr<store::Store> side_;
  std::unique_ptr<SegmentIndex> index_;
  std::shared_ptr<Observer> observer_;
};

std::string Order(const std::string& user, int n, double total, const std::string& channel) {
  return R"({"type":"track","event":"Order Completed","userId":")" + user + R"(","messageId":"o-)" +
         std::to_string(n) + R"(","timestamp":"2024-06-01T10:00:00Z","properties":{"order_id":"o-)" +
         std::to_string(n) + R"(","total":)" + std::to_string(total) + R"(},"context":{"channel":")" +
         channel + R"("}})";
}
std::string Page(const std::string& anon, int n) {
  return R"({"type":"page","anonymousId":")" + anon + R"(","messageId":"p-)" + std::to_string(n) +
         R"(","timestamp":"2024-06-01T09:00:00Z","name":"Home"})";
}
std::string Link(const std::string& user, const std::string& anon, int n) {
  return R"({"type":"identify","userId":")" + user + R"(","anonymousId":")" + anon + R"(","messageId":"i-)" +
         std::to_string(n) + R"(","timestamp":"2024-06-01T09:30:00Z"})";
}

ingest::Event UserEvent(const std::string& user, int n) {
  ingest::Event e;
  e.message_id = "f-" + std::to_string(n);
  e.hash = ingest::HashMessageId(e.message_id);
  e.timestamp = kT0 + n;
  e.identifiers.push_back(identity::Identifier{identity::IdentifierKind::kUser, user});
  return e;
}

// ForEach walks the profile table in slices of buckets, releasing the lock between them: every
// customer that existed before it started is visited exactly once, in ascending id order, while
// new customers arrive (and the table rehashes) meanwhile; merged-away customers are not.
TEST_F(SegmentIndexEngineTest, ForEachVisitsEveryLiveCustomerOnceWhileCustomersArrive) {
  constexpr int kBefore = 40'000;  // more than one slice of buckets
  std::vector<ingest::Event> events;
  for (int i = 0; i < kBefore; ++i) events.push_back(UserEvent("u" + std::to_string(i), i));
  ASSERT_OK(engine_->Submit(std::move(events)));
  Submit({Page("a-merged", 1), Link("u0", "a-merged", 2)});  // customer kBefore + 1 merges into 1
  const std::int64_t live_before = engine_->Stats().customers;
  ASSERT_EQ(live_before, kBefore);

  std::atomic<bool> done{false};
  std::thread arrivals([&] {
    for (int b = 0; b < 8; ++b) {
      std::vector<ingest::Event> more;
      for (int i = 0; i < 10'000; ++i) {
        const int n = kBefore + b * 10'000 + i;
        more.push_back(UserEvent("new" + std::to_string(n), n));
      }
      EXPECT_OK(engine_->Submit(std::move(more)));
    }
    done = true;
  });
  int passes = 0;
  do {  // walks overlapping the arrivals (and the table's rehashes)
    ++passes;
    std::vector<std::int64_t> visited;
    engine_->ForEach([&](CustomerId c, const profile::Profile&) { visited.push_back(c.value()); });
    ASSERT_TRUE(std::is_sorted(visited.begin(), visited.end())) << "pass " << passes;
    ASSERT_EQ(std::adjacent_find(visited.begin(), visited.end()), visited.end())
        << "visited twice, pass " << passes;
    // Customers 1..kBefore existed before; kBefore + 1 (the visitor) was merged into 1.
    const auto old_end = std::lower_bound(visited.begin(), visited.end(), kBefore + 1);
    ASSERT_EQ(old_end - visited.begin(), kBefore) << "pass " << passes;
    EXPECT_EQ(visited.front(), 1);
    EXPECT_FALSE(std::binary_search(visited.begin(), visited.end(), kBefore + 1));
  } while (!done);
  arrivals.join();
}

TEST_F(SegmentIndexEngineTest, MergedCustomersLeaveTheCount) {
  ASSERT_OK(index_->Define("active", "events >= 1", "", nullptr));
  Submit({Order("u1", 1, 120, "app"), Page("a1", 2)});
  EXPECT_EQ(CountOf("active"), 2);
  // The anonymous visitor turns out to be u1: one person, one member.
  Submit({Link("u1", "a1", 3)});
  EXPECT_EQ(CountOf("active"), 1);
  EXPECT_EQ(FullCount("events >= 1"), 1);
  std::string csv;
  ASSERT_OK(index_->Export("active", SegmentExportFormat::kCsv, privacy::MaskPolicy::Clear(), [&](std::string_view c) {
    csv.append(c);
    return Status::Ok();
  }));
  EXPECT_EQ(csv, "customer_id,events\r\n1,3\r\n");
}

TEST_F(SegmentIndexEngineTest, IncrementalCountsEqualAFullRecount) {
  const std::vector<std::string> rules = {
      "orders_total >= 2",
      "events >= 3",
      R"(monetary >= 500 and preferred_channel = "app")",
      R"(preferred_channel in ("web", "store") or orders_total = 0)",
  };
  for (size_t i = 0; i < rules.size(); ++i) {
    ASSERT_OK(index_->Define("r" + std::to_string(i), rules[i], "", nullptr));
  }
  Rng rng{20240601};
  const char* const kChannels[] = {"app", "web", "store"};
  int n = 0;
  for (int batch = 0; batch < 12; ++batch) {
    std::vector<std::string> lines;
    for (int i = 0; i < 60; ++i) {
      const std::string user = "u" + std::to_string(rng.Below(40));
      const std::string anon = "a" + std::to_string(rng.Below(60));
      switch (rng.Below(3)) {
        case 0: lines.push_back(Order(user, ++n, 50 + rng.Below(400), kChannels[rng.Below(3)])); break;
        case 1: lines.push_back(Page(anon, ++n)); break;
        default: lines.push_back(Link(user, anon, ++n)); break;  // merges visitors into users
      }
    }
    Submit(lines);
    for (size_t i = 0; i < rules.size(); ++i) {
      EXPECT_EQ(CountOf("r" + std::to_string(i)), FullCount(rules[i]))
          << "batch " << batch << ": " << rules[i];
    }
  }
  EXPECT_GT(engine_->Stats().merges, 0) << "the scenario should merge customers";
  EXPECT_GT(CountOf("r0"), 0);
}

}  // namespace
}  // namespace touchpoint::insight

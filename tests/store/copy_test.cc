// store::CopyStore (`touchpoint store migrate`): a realistic installation, built by running the
// real engine on SQLite, copied into every backend (memory, SQLite, and PostgreSQL on the test
// server of ctest's `pg` fixture or TP_TEST_PG_URL, a fresh database per target); exact copies,
// resumption after an interruption at any point, refusal of a target that is not a copy of the
// source.
#include <touchpoint/store/copy.h>

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <touchpoint/ingest/parser.h>
#include <touchpoint/pipeline/customer_view.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/store/activity_repository.h>
#include <touchpoint/store/api_key_repository.h>
#include <touchpoint/store/audit_repository.h>
#include <touchpoint/store/dp_budget_repository.h>
#include <touchpoint/store/consent_repository.h>
#include <touchpoint/store/erasure_repository.h>
#include <touchpoint/store/escalation_repository.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/job_repository.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/profile_repository.h>
#include <touchpoint/store/segment_repository.h>
#include <touchpoint/store/suppression_repository.h>
#include <touchpoint/store/team_repository.h>
#include <touchpoint/store/user_repository.h>
#include <touchpoint/wiring/render.h>
#include <touchpoint/wiring/wiring.h>

#include "pipeline/test_dir.h"
#include "testing/matchers.h"
#include "testing/pg.h"

namespace touchpoint::store {
namespace {

using nlohmann::json;
using ::touchpoint::testing::StatusIs;

// ---- the source: a small installation made by the engine ----

std::vector<ingest::Event> Parse(const std::vector<std::string>& lines) {
  ingest::Parser p;
  std::vector<ingest::Event> out;
  for (const auto& l : lines) {
    auto e = p.ParseMessage(l);
    EXPECT_OK(e) << l;
    if (e.ok()) out.push_back(std::move(*e));
  }
  return out;
}

std::string Order(const std::string& user, int i, int day) {
  return R"({"type":"track","event":"Order Completed","userId":")" + user + R"(","messageId":"o)" + std::to_string(i) +
         R"(","timestamp":"2024-03-)" + (day < 10 ? "0" : "") + std::to_string(day) +
         R"(T10:00:00Z","properties":{"order_id":"ord-)" + std::to_string(i) + R"(","total":)" + std::to_string(10 + i) +
         R"(,"currency":"CNY"},"context":{"channel":"app"}})";
}

// The first round: a journey joined by phone, a merge by e-mail (split again below), messages the
// escalation rules fire on, surveys, an identifier shared by too many people, and orders.
std::vector<std::string> FirstRound() {
  std::vector<std::string> lines = {
      R"({"type":"page","anonymousId":"anon-1","messageId":"e1","timestamp":"2024-03-01T10:00:00Z","name":"Home","context":{"device":{"id":"dev-1"},"channel":"web"}})",
      R"({"type":"identify","userId":"u1","anonymousId":"anon-1","messageId":"e2","timestamp":"2024-03-01T10:01:00Z","traits":{"phone":"138 1234 5678","name":"李雷","city":"Shanghai"}})",
      R"({"type":"track","event":"Product Viewed","userId":"u1","messageId":"e3","timestamp":"2024-03-01T10:02:00Z","properties":{"product_id":"p1","category":"phones","dwell_seconds":200}})",
      R"({"type":"track","event":"Message Received","anonymousId":"anon-9","messageId":"e4","timestamp":"2024-03-02T09:00:00Z","properties":{"conversation_id":"c1","text":"where is my parcel"},"context":{"traits":{"phone":"+86 138-1234-5678"}}})",
      R"({"type":"track","event":"Order Completed","userId":"u2","messageId":"a1","timestamp":"2024-03-01T00:00:00Z","properties":{"order_id":"1","total":10}})",
      R"({"type":"track","event":"Order Completed","anonymousId":"x","messageId":"a2","timestamp":"2024-03-02T00:00:00Z","properties":{"order_id":"2","total":20},"context":{"traits":{"email":"b@example.com"}}})",
      R"({"type":"identify","userId":"u2","messageId":"a3","timestamp":"2024-03-03T00:00:00Z","traits":{"email":"b@example.com"}})",
      R"({"type":"track","event":"Message Received","userId":"u3","messageId":"t1","timestamp":"2024-03-04T10:00:00Z","properties":{"conversation_id":"c3","text":"快递太慢了，三天还没到，太差了"}})",
      R"({"type":"track","event":"Message Received","userId":"u3","messageId":"t2","timestamp":"2024-03-04T10:05:00Z","properties":{"conversation_id":"c3","text":"我要退款！客服太敷衍了"}})",
      R"({"type":"track","event":"Message Sent","userId":"u3","messageId":"t3","timestamp":"2024-03-04T10:06:00Z","properties":{"conversation_id":"c3","author":"agent","text":"这个不归我管"}})",
      R"({"type":"track","event":"Survey Answered","userId":"u1","messageId":"s1","timestamp":"2024-03-05T10:00:00Z","properties":{"nps":9,"touchpoint":"delivery"}})",
      R"({"type":"track","event":"Survey Answered","userId":"u3","messageId":"s2","timestamp":"2024-03-05T11:00:00Z","properties":{"csat":2,"comment":"slow"}})",
  };
  for (int i = 0; i < 7; ++i) {
    lines.push_back(R"({"type":"identify","userId":"shared-)" + std::to_string(i) + R"(","messageId":"d)" +
                    std::to_string(i) + R"(","timestamp":"2024-03-06T00:00:00Z","context":{"device":{"id":"family-tablet"}}})");
  }
  for (int i = 0; i < 40; ++i) lines.push_back(Order("buyer-" + std::to_string(i % 10), i, 1 + i % 28));
  return lines;
}

// A later round (the source kept running after a first migrate): more orders, a message, a new
// merge.
std::vector<std::string> SecondRound() {
  std::vector<std::string> lines = {
      R"({"type":"track","event":"Order Completed","anonymousId":"y","messageId":"b1","timestamp":"2024-04-02T00:00:00Z","properties":{"order_id":"b1","total":5},"context":{"traits":{"email":"c@example.com"}}})",
      R"({"type":"identify","userId":"u4","messageId":"b2","timestamp":"2024-04-03T00:00:00Z","traits":{"email":"c@example.com"}})",
      R"({"type":"track","event":"Message Received","userId":"u4","messageId":"b3","timestamp":"2024-04-04T10:00:00Z","properties":{"conversation_id":"c4","text":"我要退款！太差了"}})",
  };
  for (int i = 100; i < 120; ++i) lines.push_back(Order("buyer-" + std::to_string(i % 7), i, 1 + i % 28));
  return lines;
}

// The engine over the SQLite file of `dir` (always SQLite: the source of every copy here).
Result<std::unique_ptr<wiring::OpenedEngine>> OpenEngine(const std::string& dir, pipeline::EngineOptions options,
                                                         bool escalation) {
  OpenOptions o;
  o.purpose = "test";
  return wiring::OpenEngine(UrlForDataDir(dir), std::move(options), o, escalation);
}

Result<std::int64_t> MergeIdOf(pipeline::Engine& engine, const std::string& ref) {
  TP_ASSIGN_OR_RETURN(std::string explained, wiring::ExplainJson(engine, ref, privacy::MaskPolicy::Clear()));
  const json j = json::parse(explained);
  if (j["merges"].empty()) return Status::NotFound("no merge for " + ref);
  return j["merges"][0]["merge_id"].get<std::int64_t>();
}

// A stand-in for privacy::AuditLog's chain (the store does not know SHA-256): any function of
// the predecessor's hash and the entry will do, as long as the copy keeps what it gave.
std::string TestChain(std::string_view prev, const AuditEntryRecord& e) {
  char buf[65];
  const auto h = std::hash<std::string>{}(std::string(prev) + "|" + std::to_string(e.seq) + "|" + e.action);
  std::snprintf(buf, sizeof buf, "%016zx%048d", static_cast<size_t>(h), 0);
  return buf;
}

// Appends `n` audit entries and a checkpoint of the chain's head.
void AddAudit(Store& store, int n, const std::string& action, Millis at) {
  auto& audit = store.Get<AuditRepository>();
  std::vector<AuditEntryRecord> entries;
  for (int i = 0; i < n; ++i) {
    entries.push_back(AuditEntryRecord{0, at + i, "cli:uid:1000", action, "segment:vip", R"({"i":)" + std::to_string(i) + "}", "", ""});
  }
  auto stored = audit.Append(entries, TestChain);
  ASSERT_OK(stored);
  ASSERT_OK(audit.AddCheckpoint(AuditCheckpointRecord{0, stored->back().seq, stored->back().hash, at + n, "00112233aabbccdd",
                                                      "c2lnbmF0dXJl"}));
}

// Runs the engine (with text analysis and the escalation rules) over `dir`, then writes keys,
// jobs and a segment as `keys create|revoke`, the job runner and `segment define` do.
void BuildSource(const std::string& dir) {
  auto options = pipeline::DefaultEngineOptions(5, true);
  ASSERT_OK(options);
  auto opened = OpenEngine(dir, std::move(*options), /*escalation=*/true);
  ASSERT_OK(opened);
  pipeline::Engine& engine = *(*opened)->engine;
  ASSERT_OK(engine.Submit(Parse(FirstRound())));
  auto merge = MergeIdOf(engine, "user:u2");
  ASSERT_OK(merge);
  ASSERT_OK(engine.Split(MergeId(*merge)));
  engine.Stop();
  opened->reset();

  auto store = Open(UrlForDataDir(dir), {});
  ASSERT_OK(store);
  // Consent decisions (the identify path's are in FirstRound when its traits carry them).
  ConsentRecord opt_out{0, CustomerId(1), "marketing", "sms", "opt_out", "cli", "v2", 1'709'000'000'500, "cli:uid:0"};
  ConsentRecord off{0, CustomerId(2), "personalisation", "", "off", "api", "", 1'709'000'000'600, "key:tp_bbbbbb"};
  ASSERT_OK((*store)->Get<ConsentRepository>().Record(std::vector<ConsentRecord>{opt_out, off}).status());
  auto& keys = (*store)->Get<ApiKeyRepository>();
  ASSERT_OK(keys.Create("ingest", std::string(64, 'a'), "tp_aaaaaa", 1'709'000'000'000));
  ASSERT_OK(keys.Create("admin", std::string(64, 'b'), "tp_bbbbbb", 1'709'000'001'000));
  ASSERT_OK(keys.Create("analyst", std::string(64, 'c'), "tp_cccccc", 1'709'000'002'000));
  ASSERT_OK(keys.Revoke("tp_bbbbbb", 1'709'000'003'000));
  auto& jobs = (*store)->Get<JobRepository>();
  JobRecord rfm{0, "rfm", "running", R"({"as_of":"2024-03-10"})", "", "", "schedule", 1'709'100'000'000,
                1'709'100'000'500, 0};
  auto created = jobs.Create(rfm);
  ASSERT_OK(created);
  created->state = "done";
  created->result_json = R"({"groups":[{"layer":"important_value","customers":3}]})";
  created->finished_at = 1'709'100'002'000;
  ASSERT_OK(jobs.Update(*created));
  ASSERT_OK(jobs.Create(JobRecord{0, "kmeans", "failed", R"({"k":4})", "", "too few customers", "api",
                                  1'709'100'100'000, 1'709'100'100'100, 1'709'100'100'200}));
  ASSERT_OK((*store)->Get<SegmentRepository>().Put(
      SegmentRecord{"big-spenders", "revenue_365d > 100", "top buyers", 1'709'200'000'000, 1'709'200'000'000}));
  // People who log in, and a team with a supervisor: they survive a migration with the keys.
  auto team = (*store)->Get<TeamRepository>().Create("north", 1'709'300'000'000);
  ASSERT_OK(team);
  auto& users = (*store)->Get<UserRepository>();
  UserRecord sue;
  sue.email = "sue@example.com";
  sue.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
  sue.role = "supervisor";
  sue.team_id = team->id;
  sue.totp_secret = "JBSWY3DPEHPK3PXP";
  sue.totp_last_step = 57'000'000;
  sue.created_at = 1'709'300'000'100;
  sue.password_changed_at = sue.created_at;
  auto created_sue = users.Create(sue);
  ASSERT_OK(created_sue);
  UserRecord ann = sue;
  ann.email = "ann@example.com";
  ann.role = "agent";
  ann.totp_secret.clear();
  ann.totp_last_step = 0;
  ann.failed_logins = 2;
  ASSERT_OK(users.Create(ann));
  ASSERT_OK((*store)->Get<TeamRepository>().AddSupervisor(team->id, created_sue->id));
  // The audit chain, its checkpoints and the key they are signed with.
  ASSERT_OK((*store)->Get<SigningKeyRepository>().Put(
      SigningKeyRecord{"00112233aabbccdd", "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=", 1'709'300'000'000}));
  AddAudit(**store, 12, "segment.define", 1'709'300'001'000);
  // The privacy budget of reports: a budget lowered below what was already spent still copies.
  auto& dp = (*store)->Get<DpBudgetRepository>();
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(dp.Spend(DpRelease{0, "customers", "segment-report", 300'000, "cli", 1'709'400'000'000 + i}, 1'000'000));
  }
  ASSERT_OK(dp.Spend(DpRelease{0, "orders", "rfm-report", 500'000, "api:analyst", 1'709'400'001'000}, 1'000'000));
  ASSERT_OK(dp.SetBudget("customers", 500'000, 1'709'400'002'000));
  // The erasure suppression list (blind-index values of an erased person's identifiers).
  auto txn = (*store)->Begin();
  ASSERT_OK(txn);
  const std::vector<SuppressionRecord> suppressed{{-4'611'686'018'427'387'904, 1, 1'709'500'000'000},
                                                  {77, 1, 1'709'500'000'000},
                                                  {77, 2, 1'709'500'001'000}};
  ASSERT_OK((*store)->Get<SuppressionRepository>().Add(**txn, suppressed));
  ASSERT_OK((*txn)->Commit());
}

// Adds the second round of events to `dir` through the engine, and moves a job on.
void GrowSource(const std::string& dir) {
  {
    auto opened = OpenEngine(dir, pipeline::EngineOptions{}, /*escalation=*/false);
    ASSERT_OK(opened);
    ASSERT_OK((*opened)->engine->Submit(Parse(SecondRound())));
  }
  auto store = Open(UrlForDataDir(dir), {});
  ASSERT_OK(store);
  auto& jobs = (*store)->Get<JobRepository>();
  auto job = jobs.Find(1);
  ASSERT_OK(job);
  ASSERT_TRUE(job->has_value());
  (*job)->result_json = R"({"groups":[]})";
  ASSERT_OK(jobs.Update(**job));
  ASSERT_OK(jobs.Create(JobRecord{0, "ltv", "queued", "{}", "", "", "cli", 1'712'000'000'000, 0, 0}));
  ASSERT_OK((*store)->Get<ApiKeyRepository>().Revoke("tp_cccccc", 1'712'000'000'000));
  auto ann = (*store)->Get<UserRepository>().FindByEmail("ann@example.com");
  ASSERT_OK(ann);
  ASSERT_TRUE(ann->has_value());
  UserUpdate promoted;
  promoted.role = "supervisor";
  promoted.disabled_at = 1'712'000'000'000;
  ASSERT_OK((*store)->Get<UserRepository>().Update((*ann)->id, promoted));
  AddAudit(**store, 3, "user.update", 1'712'000'000'100);
  ASSERT_OK((*store)->Get<DpBudgetRepository>().Spend(
      DpRelease{0, "orders", "rfm-report", 250'000, "cli", 1'712'000'000'200}, 1'000'000));
}

// ---- everything a store holds, read through every repository ----

using EventTuple = std::tuple<std::int64_t, std::uint64_t, std::uint64_t, std::string, std::int64_t, Millis, int,
                              std::string, std::string>;

struct Snapshot {
  std::vector<EventTuple> events;
  std::int64_t last_seq = 0;     // erased events at the end keep their numbers
  std::int64_t event_count = 0;  // live events
  Millis newest_event_at = 0;
  std::vector<CustomerRecord> customers;
  std::vector<IdentifierRecord> identifiers;
  std::vector<MergeRecord> merges;
  std::vector<MergeBlock> merge_blocks;
  std::vector<ProfileRecord> profiles;
  std::int64_t checkpoint = 0;
  std::vector<OrderRecord> orders;
  std::vector<MessageRecord> messages;
  std::vector<SurveyRecord> surveys;
  std::vector<EscalationRecord> escalations;
  std::vector<ConsentRecord> consents;
  std::vector<ApiKeyRecord> keys;
  std::vector<JobRecord> jobs;
  std::vector<SegmentRecord> segments;
  std::vector<UserRecord> users;
  std::vector<TeamRecord> teams;
  std::vector<AuditEntryRecord> audit;
  std::vector<AuditCheckpointRecord> audit_checkpoints;
  std::vector<SigningKeyRecord> signing_keys;
  std::vector<DpRelease> dp_releases;  // ids cleared: the target numbers its own
  std::vector<std::pair<std::string, std::optional<std::int64_t>>> dp_budgets;
  std::vector<SuppressionRecord> suppressions;
};

Snapshot Take(Store& s) {
  Snapshot out;
  EXPECT_OK(s.Get<EventLog>().ScanFrom(1, [&](EventRecord&& e) {
    out.events.emplace_back(e.seq, e.hash.hi, e.hash.lo, e.message_id, e.customer.value(), e.timestamp,
                            static_cast<int>(e.kind), e.name, e.body);
    return true;
  }));
  out.newest_event_at = *s.Get<EventLog>().NewestEventAt();
  out.last_seq = *s.Get<EventLog>().LastSeq();
  out.event_count = *s.Get<EventLog>().Count();
  auto& ids = s.Get<IdentityRepository>();
  EXPECT_OK(ids.ScanCustomers([&](const CustomerRecord& c) { out.customers.push_back(c); }));
  EXPECT_OK(ids.ScanIdentifiers([&](IdentifierRecord&& r) { out.identifiers.push_back(std::move(r)); }));
  EXPECT_OK(ids.ScanMerges([&](MergeRecord&& m) { out.merges.push_back(std::move(m)); }));
  EXPECT_OK(ids.ScanMergeBlocks([&](CustomerId a, CustomerId b) { out.merge_blocks.emplace_back(a, b); }));
  EXPECT_OK(s.Get<ProfileRepository>().Scan([&](ProfileRecord&& p) { out.profiles.push_back(std::move(p)); }));
  out.checkpoint = *s.Get<ProfileRepository>().Checkpoint();
  auto& activity = s.Get<ActivityRepository>();
  EXPECT_OK(activity.ScanOrders([&](OrderRecord&& r) { out.orders.push_back(std::move(r)); }));
  EXPECT_OK(activity.ScanMessages([&](MessageRecord&& r) { out.messages.push_back(std::move(r)); }));
  EXPECT_OK(activity.ScanSurveys([&](SurveyRecord&& r) { out.surveys.push_back(std::move(r)); }));
  EXPECT_OK(s.Get<EscalationRepository>().Scan([&](EscalationRecord&& r) { out.escalations.push_back(std::move(r)); }));
  EXPECT_OK(s.Get<ConsentRepository>().Scan([&](ConsentRecord&& r) {
    r.id = 0;  // the target assigns its own
    out.consents.push_back(std::move(r));
  }));
  out.keys = *s.Get<ApiKeyRepository>().List();
  out.jobs = *s.Get<JobRepository>().Recent(1'000'000);
  out.segments = *s.Get<SegmentRepository>().List();
  out.users = *s.Get<UserRepository>().List();
  out.teams = *s.Get<TeamRepository>().List();
  EXPECT_OK(s.Get<AuditRepository>().Scan(0, [&](AuditEntryRecord&& e) {
    out.audit.push_back(std::move(e));
    return true;
  }));
  out.audit_checkpoints = *s.Get<AuditRepository>().Checkpoints();
  for (auto& c : out.audit_checkpoints) c.id = 0;  // the target numbers its own
  out.signing_keys = *s.Get<SigningKeyRepository>().List();
  auto& dp = s.Get<DpBudgetRepository>();
  const std::vector<std::string> datasets = *dp.Datasets();  // a range-for over *temporary dangles
  for (const std::string& d : datasets) {
    const std::vector<DpRelease> releases = *dp.Releases(d);
    for (DpRelease r : releases) {
      r.id = 0;
      out.dp_releases.push_back(r);
    }
    out.dp_budgets.emplace_back(d, *dp.Budget(d));
  }
  EXPECT_OK(s.Get<SuppressionRepository>().Scan([&](const SuppressionRecord& r) { out.suppressions.push_back(r); }));
  return out;
}

void ExpectSame(const Snapshot& a, const Snapshot& b) {
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.last_seq, b.last_seq);
  EXPECT_EQ(a.event_count, b.event_count);
  EXPECT_EQ(a.newest_event_at, b.newest_event_at);
  EXPECT_EQ(a.customers, b.customers);
  EXPECT_EQ(a.identifiers, b.identifiers);
  EXPECT_EQ(a.merges, b.merges);
  EXPECT_EQ(a.merge_blocks, b.merge_blocks);
  EXPECT_EQ(a.profiles, b.profiles);
  EXPECT_EQ(a.checkpoint, b.checkpoint);
  EXPECT_EQ(a.orders, b.orders);
  EXPECT_EQ(a.messages, b.messages);
  EXPECT_EQ(a.surveys, b.surveys);
  EXPECT_EQ(a.escalations, b.escalations);
  EXPECT_EQ(a.consents, b.consents);
  EXPECT_EQ(a.keys, b.keys);
  EXPECT_EQ(a.jobs, b.jobs);
  EXPECT_EQ(a.segments, b.segments);
  EXPECT_EQ(a.users, b.users);
  EXPECT_EQ(a.teams, b.teams);
  EXPECT_EQ(a.audit, b.audit) << "seq numbers and hashes kept: `audit verify` checks the same chain";
  EXPECT_EQ(a.audit_checkpoints, b.audit_checkpoints);
  EXPECT_EQ(a.signing_keys, b.signing_keys);
  EXPECT_EQ(a.dp_releases, b.dp_releases);
  EXPECT_EQ(a.dp_budgets, b.dp_budgets);
  EXPECT_EQ(a.suppressions, b.suppressions);
}

// Records every progress call.
struct RecordingProgress final : CopyProgress {
  struct Call {
    std::string table;
    std::int64_t done;
    std::int64_t total;
  };
  void Update(std::string_view table, std::int64_t done, std::int64_t total) override {
    calls.push_back({std::string(table), done, total});
  }
  std::vector<Call> calls;
};

// ---- the tests, once per target backend ----

class StoreCopyTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    source_dir_ = new ::touchpoint::testing::TempDir();
    BuildSource(source_dir_->path());
  }
  static void TearDownTestSuite() {
    delete source_dir_;
    source_dir_ = nullptr;
  }

  void SetUp() override {
    if (GetParam() == "postgres") {
      auto db = ::touchpoint::testing::PgDatabase::Create();
      if (!db.ok()) GTEST_SKIP() << db.status().message();
      pg_.push_back(std::move(*db));
    }
  }

  // The URL of a new empty target store (PostgreSQL: a database of its own, dropped after the test).
  std::string NewTargetUrl() {
    static int counter = 0;
    const std::string n = std::to_string(counter++);
    if (GetParam() == "memory") return "memory:copy-target-" + n;
    if (GetParam() == "sqlite") return "sqlite://" + tmp_.File("target-" + n + "/touchpoint.db");
    if (pg_.size() == 1 && !pg_used_) {  // the one SetUp made
      pg_used_ = true;
      return pg_.front()->url();
    }
    auto db = ::touchpoint::testing::PgDatabase::Create();
    EXPECT_OK(db);
    if (!db.ok()) return "postgresql://unavailable";
    pg_.push_back(std::move(*db));
    return pg_.back()->url();
  }

  static std::string SourceUrl() { return UrlForDataDir(source_dir_->path()); }

  // Opens a store for writing, with the writer lock, as `touchpoint store migrate` does.
  static std::unique_ptr<Store> OpenWriter(const std::string& url) {
    OpenOptions o;
    o.purpose = "test";
    o.synchronous = "normal";  // durability is not under test; SQLite targets commit many batches
    auto s = Open(url, o);
    EXPECT_OK(s) << url;
    return s.ok() ? std::move(*s) : nullptr;
  }

  static Result<CopyReport> Copy(const std::string& from, const std::string& to, const CopyOptions& options = {},
                                 CopyProgress* progress = nullptr) {
    auto src = OpenWriter(from);
    auto dst = OpenWriter(to);
    if (src == nullptr || dst == nullptr) return Status::Unavailable("cannot open a store");
    return CopyStore(*src, *dst, options, progress);
  }

  static Snapshot SnapshotOf(const std::string& url) {
    auto s = OpenWriter(url);
    return s ? Take(*s) : Snapshot{};
  }

  static ::touchpoint::testing::TempDir* source_dir_;
  ::touchpoint::testing::TempDir tmp_;
  std::vector<std::unique_ptr<::touchpoint::testing::PgDatabase>> pg_;
  bool pg_used_ = false;
};

::touchpoint::testing::TempDir* StoreCopyTest::source_dir_ = nullptr;

TEST_P(StoreCopyTest, TheSourceHoldsEveryKindOfRow) {
  const Snapshot s = SnapshotOf(SourceUrl());
  EXPECT_EQ(s.events.size(), 59u);  // every line of FirstRound()
  EXPECT_GE(s.merges.size(), 2u);
  bool undone = false;
  for (const auto& m : s.merges) undone = undone || m.undone_at != 0;
  EXPECT_TRUE(undone) << "a split merge";
  EXPECT_FALSE(s.merge_blocks.empty()) << "the split pair is never merged again";
  bool blocked = false;
  for (const auto& i : s.identifiers) blocked = blocked || i.blocked;
  EXPECT_TRUE(blocked) << "the shared tablet stopped being a merge key";
  EXPECT_GE(s.orders.size(), 42u);
  EXPECT_GE(s.messages.size(), 4u);
  EXPECT_EQ(s.surveys.size(), 2u);
  EXPECT_GE(s.escalations.size(), 3u);
  EXPECT_FALSE(s.profiles.empty());
  EXPECT_EQ(s.checkpoint, static_cast<std::int64_t>(s.events.size())) << "a clean stop checkpoints everything";
  ASSERT_EQ(s.keys.size(), 3u);
  EXPECT_NE(s.keys[1].revoked_at, 0);
  EXPECT_EQ(s.jobs.size(), 2u);
  EXPECT_EQ(s.segments.size(), 1u);
  EXPECT_EQ(s.users.size(), 2u);
  ASSERT_EQ(s.teams.size(), 1u);
  EXPECT_EQ(s.teams[0].supervisors.size(), 1u);
  EXPECT_EQ(s.audit.size(), 12u);
  EXPECT_EQ(s.audit_checkpoints.size(), 1u);
  EXPECT_EQ(s.signing_keys.size(), 1u);
  EXPECT_EQ(s.dp_releases.size(), 4u);
  ASSERT_EQ(s.dp_budgets.size(), 2u);
  EXPECT_EQ(s.dp_budgets[0].second, std::optional<std::int64_t>(500'000)) << "below the 900,000 spent";
  EXPECT_EQ(s.suppressions.size(), 3u);
}

TEST_P(StoreCopyTest, CopiesEveryRepositoryExactly) {
  const std::string target = NewTargetUrl();
  RecordingProgress progress;
  CopyOptions options;
  options.batch_rows = 7;  // several batches per table
  auto report = Copy(SourceUrl(), target, options, &progress);
  ASSERT_OK(report);
  EXPECT_EQ(report->FirstMismatch(), nullptr);
  ASSERT_EQ(report->tables.size(), 20u);
  const auto consents = std::find_if(report->tables.begin(), report->tables.end(),
                                     [](const TableCount& t) { return t.table == "consents"; });
  ASSERT_NE(consents, report->tables.end());
  EXPECT_EQ(consents->source, 2);
  EXPECT_EQ(consents->target, 2);
  EXPECT_EQ(report->tables[0].table, "events");
  EXPECT_EQ(report->tables[0].source, 59);
  EXPECT_GT(report->rows_written, report->tables[0].source);
  ExpectSame(SnapshotOf(SourceUrl()), SnapshotOf(target));

  // Progress: every table reported, each ending with done == total, never going backwards.
  std::vector<std::string> tables;
  for (size_t i = 0; i < progress.calls.size(); ++i) {
    const auto& c = progress.calls[i];
    if (tables.empty() || tables.back() != c.table) {
      tables.push_back(c.table);
    } else {
      EXPECT_GE(c.done, progress.calls[i - 1].done) << c.table;
    }
    EXPECT_LE(c.done, c.total) << c.table;
    if (i + 1 == progress.calls.size() || progress.calls[i + 1].table != c.table) {
      EXPECT_EQ(c.done, c.total) << c.table;
    }
  }
  EXPECT_EQ(tables, (std::vector<std::string>{"events", "customers", "identifiers", "merges", "merge blocks",
                                              "profiles", "orders", "messages", "surveys", "escalations", "consents", "api keys",
                                              "jobs", "segments", "users and teams", "audit entries", "suppressions"}));
}

TEST_P(StoreCopyTest, TheCopyServesTheSameCustomers) {
  const std::string target = NewTargetUrl();
  ASSERT_OK(Copy(SourceUrl(), target));
  const std::vector<std::string> refs = {"user:u1", "phone:13812345678", "user:u2", "anon:x", "user:u3",
                                         "user:buyer-3", "device:family-tablet"};
  // The source read as the read-only commands do (the engine would rewrite its checkpoint), the
  // copy through the engine `touchpoint serve` would load from it.
  auto render = [&](const pipeline::CustomerView& view) {
    std::vector<std::string> out;
    for (const auto& ref : refs) {
      auto j = wiring::CustomerJson(view, ref, 0, privacy::MaskPolicy::Clear());
      out.push_back(j.ok() ? *j : j.status().ToString());
    }
    auto e = wiring::ExplainJson(view, "user:u2", privacy::MaskPolicy::Clear());
    out.push_back(e.ok() ? *e : e.status().ToString());
    return out;
  };
  std::vector<std::string> from_source;
  {
    OpenOptions o;
    o.read_only = true;
    auto src = Open(SourceUrl(), o);
    ASSERT_OK(src);
    from_source = render(*pipeline::StoreCustomerView(**src));
  }
  OpenOptions o;
  o.purpose = "test";
  auto opened = wiring::OpenEngine(target, pipeline::EngineOptions{}, o, false);
  ASSERT_OK(opened);
  EXPECT_EQ(from_source, render(*(*opened)->engine));
  EXPECT_NE(from_source[0].find("\"orders_total\""), std::string::npos) << from_source[0];
}

TEST_P(StoreCopyTest, ACompleteCopyRunAgainStaysExact) {
  const std::string target = NewTargetUrl();
  ASSERT_OK(Copy(SourceUrl(), target));
  auto again = Copy(SourceUrl(), target);
  ASSERT_OK(again);
  EXPECT_EQ(again->FirstMismatch(), nullptr);
  ExpectSame(SnapshotOf(SourceUrl()), SnapshotOf(target));
}

TEST_P(StoreCopyTest, ResumesAfterAnInterruptionAtAnyPoint) {
  CopyOptions batches;
  batches.batch_rows = 5;
  // How many rows a whole copy writes, so that every stopping point is tried.
  auto full = Copy(SourceUrl(), NewTargetUrl(), batches);
  ASSERT_OK(full);
  const Snapshot source = SnapshotOf(SourceUrl());
  // Every stopping point in memory; every 7th on SQLite (a file each), every 13th on PostgreSQL (a
  // database each).
  const std::int64_t step = GetParam() == "memory" ? 1 : GetParam() == "sqlite" ? 7 : 13;
  int stopped = 0;
  for (std::int64_t k = 1; k < full->rows_written; k += step) {
    SCOPED_TRACE("stopped after " + std::to_string(k) + " rows");
    const std::string target = NewTargetUrl();
    CopyOptions cut = batches;
    cut.stop_after_rows = k;
    auto first = Copy(SourceUrl(), target, cut);
    ASSERT_THAT(first, StatusIs(StatusCode::kUnavailable));
    ++stopped;
    {
      auto cut_off = OpenWriter(target);
      ASSERT_NE(cut_off, nullptr);
      EXPECT_EQ(*cut_off->Get<ProfileRepository>().Checkpoint(), 0) << "claims profiles it may not hold yet";
    }
    auto resumed = Copy(SourceUrl(), target, batches);
    ASSERT_OK(resumed);
    EXPECT_EQ(resumed->FirstMismatch(), nullptr);
    ExpectSame(source, SnapshotOf(target));
    if (HasFailure()) break;
  }
  EXPECT_GT(stopped, 10);
}

TEST_P(StoreCopyTest, ResumesAfterManyInterruptions) {
  const std::string target = NewTargetUrl();
  CopyOptions options;
  options.batch_rows = 4;
  // Each run is cut off a little later (identity and profiles are upserted again by every run, so
  // a fixed limit would never get past them); every run but the last stops.
  int runs = 0;
  for (std::int64_t limit = 3;; limit += 9) {
    options.stop_after_rows = limit;
    auto r = Copy(SourceUrl(), target, options);
    ++runs;
    if (r.ok()) break;
    ASSERT_THAT(r, StatusIs(StatusCode::kUnavailable));
    ASSERT_LT(runs, 1000);
  }
  EXPECT_GT(runs, 5);
  ExpectSame(SnapshotOf(SourceUrl()), SnapshotOf(target));
}

TEST_P(StoreCopyTest, BringsACopyUpToDateAfterTheSourceGrew) {
  ::touchpoint::testing::TempDir dir;
  BuildSource(dir.path());
  const std::string source = UrlForDataDir(dir.path());
  const std::string target = NewTargetUrl();
  ASSERT_OK(Copy(source, target));
  GrowSource(dir.path());
  auto again = Copy(source, target);
  ASSERT_OK(again);
  const Snapshot s = SnapshotOf(source);
  EXPECT_EQ(s.keys[2].revoked_at, 1'712'000'000'000);
  EXPECT_EQ(s.jobs.size(), 3u);
  ExpectSame(s, SnapshotOf(target));
}

// Appends one event of `customer` in a transaction of its own (its own chunk on SQLite).
void AppendEvent(Store& store, std::int64_t customer, const std::string& message_id, Millis at) {
  auto txn = store.Begin();
  ASSERT_OK(txn);
  std::vector<EventRecord> e(1);
  e[0].hash = {static_cast<std::uint64_t>(customer), std::hash<std::string>{}(message_id)};
  e[0].message_id = message_id;
  e[0].customer = CustomerId(customer);
  e[0].timestamp = at;
  e[0].name = "Late";
  e[0].body = R"({"type":"track","event":"Late","messageId":")" + message_id + R"("})";
  ASSERT_OK(store.Get<EventLog>().Append(**txn, e));
  ASSERT_OK(store.Get<EventLog>().RaiseNewestEventAt(**txn, at));
  ASSERT_OK((*txn)->Commit());
}

// Whether any event of the store names this customer or message id.
bool HoldsEventOf(const Snapshot& s, std::int64_t customer, const std::string& message_id) {
  return std::any_of(s.events.begin(), s.events.end(), [&](const EventTuple& e) {
    return std::get<4>(e) == customer || std::get<3>(e) == message_id;
  });
}

// An erasure leaves tombstones in the source's log (seq numbers stay, the events are gone): the
// copy carries the log over with the same seq numbers, the erased events erased on the target too
// (also at the end of the log, where the next event's number depends on them), and a copy cut off
// anywhere finishes on the next run.
TEST_P(StoreCopyTest, CopiesASourceWithErasedCustomers) {
  ::touchpoint::testing::TempDir dir;
  BuildSource(dir.path());
  const std::string source = UrlForDataDir(dir.path());
  std::int64_t erased_first = 0;
  {
    auto src = OpenWriter(source);
    ASSERT_NE(src, nullptr);
    // The log's last event belongs to a person erased below: a tombstone at the end.
    AppendEvent(*src, 9'001, "late-erased", 1'712'000'000'000);
    auto txn = src->Begin();
    ASSERT_OK(txn);
    const std::vector<CustomerId> person{CustomerId(1), CustomerId(9'001)};
    auto erased = src->Get<ErasureRepository>().Erase(**txn, person);
    ASSERT_OK(erased);
    EXPECT_GT(erased->events, 1);
    ASSERT_OK((*txn)->Commit());
    auto first = src->Get<EventLog>().ScanFrom(1, [&](EventRecord&& e) {
      erased_first = e.seq;
      return false;
    });
    ASSERT_OK(first);
  }
  const Snapshot s = SnapshotOf(source);
  ASSERT_GT(erased_first, 1);  // the source's log starts with a gap
  ASSERT_GT(s.last_seq, std::get<0>(s.events.back()));  // and ends with one
  ASSERT_FALSE(HoldsEventOf(s, 1, "late-erased"));

  const std::string target = NewTargetUrl();
  auto report = Copy(source, target);
  ASSERT_OK(report);
  EXPECT_EQ(report->FirstMismatch(), nullptr);
  const Snapshot t = SnapshotOf(target);
  ExpectSame(s, t);
  EXPECT_FALSE(HoldsEventOf(t, 1, "late-erased"));  // no personal data came back

  // The next event on the target follows the source's numbers, past the erased ones.
  {
    auto dst = OpenWriter(target);
    ASSERT_NE(dst, nullptr);
    AppendEvent(*dst, 2, "after-migrate", 1'712'000'000'001);
    EXPECT_EQ(*dst->Get<EventLog>().LastSeq(), s.last_seq + 1);
  }

  // Resumption across the gaps: cut off after every few rows, then run again.
  const std::string resumed = NewTargetUrl();
  CopyOptions options;
  options.batch_rows = 2;
  int runs = 0;
  for (std::int64_t limit = 1;; limit += 3) {
    options.stop_after_rows = limit;
    auto r = Copy(source, resumed, options);
    ++runs;
    if (r.ok()) break;
    ASSERT_THAT(r, StatusIs(StatusCode::kUnavailable));
    ASSERT_LT(runs, 1000);
  }
  EXPECT_GT(runs, 3);
  ExpectSame(s, SnapshotOf(resumed));
}

// Retention removes old events (on SQLite and PostgreSQL whole chunks, no tombstones left): the
// target keeps the source's numbers after the gap.
TEST_P(StoreCopyTest, CopiesASourceWithARetentionGap) {
  ::touchpoint::testing::TempDir dir;
  BuildSource(dir.path());
  const std::string source = UrlForDataDir(dir.path());
  {
    auto src = OpenWriter(source);
    ASSERT_NE(src, nullptr);
    AppendEvent(*src, 2, "recent-1", 1'800'000'000'000);
    AppendEvent(*src, 2, "recent-2", 1'800'000'000'001);
    auto txn = src->Begin();
    ASSERT_OK(txn);
    auto removed = src->Get<ErasureRepository>().DeleteOlderThan(**txn, RetentionKind::kEvents, 1'750'000'000'000,
                                                                 1'000'000);
    ASSERT_OK(removed);
    EXPECT_GT(*removed, 0);
    ASSERT_OK((*txn)->Commit());
  }
  const Snapshot s = SnapshotOf(source);
  ASSERT_EQ(s.events.size(), 2u);
  ASSERT_GT(std::get<0>(s.events.front()), 1);  // a gap before the recent events
  const std::string target = NewTargetUrl();
  auto report = Copy(source, target);
  ASSERT_OK(report);
  EXPECT_EQ(report->FirstMismatch(), nullptr);
  ExpectSame(s, SnapshotOf(target));
  // A second run finds the target complete.
  auto again = Copy(source, target);
  ASSERT_OK(again);
  ExpectSame(s, SnapshotOf(target));
}

TEST_P(StoreCopyTest, RefusesATargetWithOtherEvents) {
  const std::string target = NewTargetUrl();
  {
    auto dst = OpenWriter(target);
    ASSERT_NE(dst, nullptr);
    auto txn = dst->Begin();
    ASSERT_OK(txn);
    std::vector<EventRecord> other(1);
    other[0].hash = {1, 2};
    other[0].message_id = "someone-else";
    other[0].customer = CustomerId(1);
    other[0].timestamp = 1'700'000'000'000;
    other[0].body = R"({"type":"track","event":"X","userId":"z","messageId":"someone-else"})";
    ASSERT_OK(dst->Get<EventLog>().Append(**txn, other));
    ASSERT_OK((*txn)->Commit());
  }
  const Snapshot before = SnapshotOf(target);
  auto r = Copy(SourceUrl(), target);
  ASSERT_THAT(r, StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_NE(r.status().message().find("event 1 differs"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("not a copy of this source"), std::string::npos) << r.status().message();
  ExpectSame(before, SnapshotOf(target));  // nothing written
}

TEST_P(StoreCopyTest, RefusesATargetAheadOfTheSource) {
  const std::string target = NewTargetUrl();
  ASSERT_OK(Copy(SourceUrl(), target));
  {
    auto dst = OpenWriter(target);
    ASSERT_NE(dst, nullptr);
    auto txn = dst->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(dst->Get<ActivityRepository>().AddOrders(**txn, std::vector<OrderRecord>{{"extra", CustomerId(1), 1, 1.0,
                                                                                           "CNY", "web", "[]"}}));
    ASSERT_OK((*txn)->Commit());
  }
  auto r = Copy(SourceUrl(), target);
  ASSERT_THAT(r, StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_NE(r.status().message().find("orders"), std::string::npos) << r.status().message();
}

TEST_P(StoreCopyTest, RefusesATargetWithAnotherKey) {
  const std::string target = NewTargetUrl();
  {
    auto dst = OpenWriter(target);
    ASSERT_NE(dst, nullptr);
    ASSERT_OK(dst->Get<ApiKeyRepository>().Create("admin", std::string(64, 'f'), "tp_ffffff", 1));
  }
  auto r = Copy(SourceUrl(), target);
  ASSERT_THAT(r, StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_NE(r.status().message().find("tp_ffffff"), std::string::npos) << r.status().message();
  EXPECT_EQ(SnapshotOf(target).events.size(), 0u);
}

TEST_P(StoreCopyTest, RefusesATargetWithAnotherAuditChain) {
  const std::string target = NewTargetUrl();
  {
    auto dst = OpenWriter(target);
    ASSERT_NE(dst, nullptr);
    AddAudit(*dst, 1, "someone.else", 5);
  }
  auto r = Copy(SourceUrl(), target);
  ASSERT_THAT(r, StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_NE(r.status().message().find("audit entry 1"), std::string::npos) << r.status().message();
  EXPECT_EQ(SnapshotOf(target).events.size(), 0u);
}

TEST_P(StoreCopyTest, CountsNameTheTableThatDiffers) {
  const std::string target = NewTargetUrl();
  ASSERT_OK(Copy(SourceUrl(), target));
  {
    auto dst = OpenWriter(target);
    ASSERT_NE(dst, nullptr);
    ASSERT_OK(dst->Get<SegmentRepository>().Delete("big-spenders"));
  }
  auto src = OpenWriter(SourceUrl());
  auto dst = OpenWriter(target);
  ASSERT_NE(src, nullptr);
  ASSERT_NE(dst, nullptr);
  auto counts = CompareCounts(*src, *dst);
  ASSERT_OK(counts);
  const TableCount* m = counts->FirstMismatch();
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(*m, (TableCount{"segments", 1, 0}));
  // A copy puts it back.
  auto r = CopyStore(*src, *dst);
  ASSERT_OK(r);
  EXPECT_EQ(r->FirstMismatch(), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Targets, StoreCopyTest, ::testing::Values("memory", "sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace touchpoint::store

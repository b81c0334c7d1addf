// The storage contract: the same test cases for every backend (memory, SQLite, and PostgreSQL on
// the throwaway server of ctest's `pg` fixture or TP_TEST_PG_URL, one fresh database per case;
// contract_fixture.h). A backend is correct when it passes all of them unchanged.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <touchpoint/store/experiment_repository.h>
#include <touchpoint/store/activity_repository.h>
#include <touchpoint/store/agent_repository.h>
#include <touchpoint/store/api_key_repository.h>
#include <touchpoint/store/audit_repository.h>
#include <touchpoint/store/channel_repository.h>
#include <touchpoint/store/consent_repository.h>
#include <touchpoint/store/deskflow_repository.h>
#include <touchpoint/store/dp_budget_repository.h>
#include <touchpoint/store/erasure_repository.h>
#include <touchpoint/store/keyring_repository.h>
#include <touchpoint/store/rekey_repository.h>
#include <touchpoint/store/escalation_repository.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/job_repository.h>
#include <touchpoint/store/memory.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/outbox_repository.h>
#include <touchpoint/store/profile_repository.h>
#include <touchpoint/store/segment_repository.h>
#include <touchpoint/store/session_repository.h>
#include <touchpoint/store/sla_repository.h>
#include <touchpoint/store/suppression_repository.h>
#include <touchpoint/store/team_repository.h>
#include <touchpoint/store/ticket_repository.h>
#include <touchpoint/store/user_repository.h>
#include <touchpoint/store/store.h>

#include "store/contract_fixture.h"
#include "testing/matchers.h"
#include "testing/pg.h"

namespace touchpoint::store {
namespace {

using ::touchpoint::testing::StatusIs;

EventRecord Event(int i) {
  EventRecord e;
  e.hash = {static_cast<std::uint64_t>(i) + 1, static_cast<std::uint64_t>(i) * 31 + 7};
  e.message_id = "msg-" + std::to_string(i);
  e.customer = CustomerId(1 + i % 100);
  e.timestamp = 1'700'000'000'000 + i;
  e.kind = i % 3 == 0 ? EventKind::kIdentify : EventKind::kTrack;
  e.name = i % 3 == 0 ? "" : "Product Viewed";
  e.body = R"({"type":"track","event":"Product Viewed","messageId":"msg-)" + std::to_string(i) + R"("})";
  return e;
}

// The fixture (contract_fixture.h) under the suite's name; ErasureContractTest and
// ClusterContractTest extend it.
class StoreContractTest : public ContractFixture {
 protected:
  std::vector<EventRecord> AllEvents(std::int64_t from = 1) {
    std::vector<EventRecord> out;
    EXPECT_OK(repo<EventLog>().ScanFrom(from, [&](EventRecord&& e) {
      out.push_back(std::move(e));
      return true;
    }));
    return out;
  }
};

TEST_P(StoreContractTest, ImplementsEveryRepository) {
  EXPECT_NE(s().Find<EventLog>(), nullptr);
  EXPECT_NE(s().Find<IdentityRepository>(), nullptr);
  EXPECT_NE(s().Find<ProfileRepository>(), nullptr);
  EXPECT_NE(s().Find<ActivityRepository>(), nullptr);
  EXPECT_NE(s().Find<EscalationRepository>(), nullptr);
  EXPECT_NE(s().Find<ApiKeyRepository>(), nullptr);
  EXPECT_NE(s().Find<JobRepository>(), nullptr);
  EXPECT_NE(s().Find<SegmentRepository>(), nullptr);
  EXPECT_NE(s().Find<UserRepository>(), nullptr);
  EXPECT_NE(s().Find<TeamRepository>(), nullptr);
  EXPECT_NE(s().Find<SessionRepository>(), nullptr);
  EXPECT_NE(s().Find<AuditRepository>(), nullptr);
  EXPECT_NE(s().Find<SigningKeyRepository>(), nullptr);
  EXPECT_NE(s().Find<DpBudgetRepository>(), nullptr);
  EXPECT_NE(s().Find<OutboxRepository>(), nullptr);
  EXPECT_NE(s().Find<ConsentRepository>(), nullptr);
  EXPECT_NE(s().Find<SuppressionRepository>(), nullptr);
  EXPECT_NE(s().Find<ErasureRepository>(), nullptr);
  EXPECT_NE(s().Find<ChannelRepository>(), nullptr);
  EXPECT_NE(s().Find<TicketRepository>(), nullptr);
  EXPECT_NE(s().Find<AgentRepository>(), nullptr);
  EXPECT_NE(s().Find<SlaRepository>(), nullptr);
  EXPECT_NE(s().Find<DeskflowRepository>(), nullptr);
  EXPECT_NE(s().Find<KeyringRepository>(), nullptr);
  EXPECT_NE(s().Find<ExperimentRepository>(), nullptr);
  EXPECT_EQ(s().backend(), GetParam());
  EXPECT_FALSE(s().read_only());
}

TEST_P(StoreContractTest, EventLogNumbersEventsFromOneInOrderAcrossBatchesAndRestarts) {
  int next = 0;
  for (int batch_size : {10'000, 1, 2'500}) {  // 10,000 spans several SQLite chunks
    std::vector<EventRecord> events;
    for (int i = 0; i < batch_size; ++i) events.push_back(Event(next++));
    InTxn([&](Transaction& t) { ASSERT_OK(repo<EventLog>().Append(t, events)); });
    EXPECT_EQ(events.front().seq, next - batch_size + 1);
    EXPECT_EQ(events.back().seq, next) << "seqs are assigned consecutively from 1";
  }
  Reopen();
  {
    std::vector<EventRecord> events{Event(next++)};
    InTxn([&](Transaction& t) { ASSERT_OK(repo<EventLog>().Append(t, events)); });
    EXPECT_EQ(events[0].seq, next) << "numbering continues after a restart";
  }
  EXPECT_EQ(*repo<EventLog>().LastSeq(), next);
  EXPECT_EQ(*repo<EventLog>().Count(), next);
  auto all = AllEvents();
  ASSERT_EQ(all.size(), static_cast<size_t>(next));
  for (int i = 0; i < next; ++i) {
    const EventRecord want = Event(i);
    const EventRecord& got = all[static_cast<size_t>(i)];
    ASSERT_EQ(got.seq, i + 1);
    ASSERT_EQ(got.message_id, want.message_id);
    ASSERT_EQ(got.body, want.body);
    ASSERT_EQ(got.hash, want.hash);
    ASSERT_EQ(got.customer, want.customer);
    ASSERT_EQ(got.timestamp, want.timestamp);
    ASSERT_EQ(got.kind, want.kind);
    ASSERT_EQ(got.name, want.name);
  }
  auto tail = AllEvents(4'100);
  ASSERT_FALSE(tail.empty());
  EXPECT_EQ(tail.front().seq, 4'100);
  EXPECT_EQ(tail.size(), static_cast<size_t>(next - 4'099));
  EXPECT_TRUE(AllEvents(next + 1).empty());
  size_t hashes = 0;
  ASSERT_OK(repo<EventLog>().ScanHashes([&](const MessageHash& h) {
    EXPECT_EQ(h, Event(static_cast<int>(hashes)).hash);
    ++hashes;
  }));
  EXPECT_EQ(hashes, static_cast<size_t>(next));
}

// Store copy's entry point: events keep the given seqs across gaps (no event at a skipped
// number), the numbers up to last_seq after them are erased events, and Append continues after
// them, also after a restart.
TEST_P(StoreContractTest, AppendWithSeqsKeepsTheGivenNumbersAcrossGaps) {
  std::vector<EventRecord> events;
  for (const int seq : {3, 4, 5, 9, 5'000, 5'001}) {  // 4,991 skipped: more than a chunk's events
    events.push_back(Event(seq));
    events.back().seq = seq;
  }
  InTxn([&](Transaction& t) { ASSERT_OK(repo<EventLog>().AppendWithSeqs(t, events, 5'010)); });
  EXPECT_EQ(*repo<EventLog>().LastSeq(), 5'010);
  EXPECT_EQ(*repo<EventLog>().Count(), 6);
  std::vector<std::int64_t> seqs;
  for (const EventRecord& e : AllEvents()) {
    seqs.push_back(e.seq);
    EXPECT_EQ(e.message_id, Event(static_cast<int>(e.seq)).message_id);
  }
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{3, 4, 5, 9, 5'000, 5'001}));
  EXPECT_EQ(AllEvents(6).front().seq, 9);
  size_t hashes = 0;
  ASSERT_OK(repo<EventLog>().ScanHashes([&](const MessageHash&) { ++hashes; }));
  EXPECT_EQ(hashes, 6u);

  // A seq not above the log's last is refused, and nothing of the call is kept.
  {
    auto txn = s().Begin();
    ASSERT_OK(txn);
    std::vector<EventRecord> stale{Event(5'010)};
    stale[0].seq = 5'010;
    EXPECT_THAT(repo<EventLog>().AppendWithSeqs(**txn, stale, 5'010), StatusIs(StatusCode::kInvalidArgument));
  }
  Reopen();
  std::vector<EventRecord> next{Event(1)};
  InTxn([&](Transaction& t) { ASSERT_OK(repo<EventLog>().Append(t, next)); });
  EXPECT_EQ(next[0].seq, 5'011) << "Append continues after the erased numbers";
  EXPECT_EQ(*repo<EventLog>().Count(), 7);
}

TEST_P(StoreContractTest, EventScanStopsWhenTheCallbackSaysSo) {
  std::vector<EventRecord> events;
  for (int i = 0; i < 50; ++i) events.push_back(Event(i));
  InTxn([&](Transaction& t) { ASSERT_OK(repo<EventLog>().Append(t, events)); });
  int seen = 0;
  ASSERT_OK(repo<EventLog>().ScanFrom(10, [&](EventRecord&& e) {
    EXPECT_EQ(e.seq, 10 + seen);
    return ++seen < 5;
  }));
  EXPECT_EQ(seen, 5);
}

TEST_P(StoreContractTest, NewestEventTimeOnlyRises) {
  EXPECT_EQ(*repo<EventLog>().NewestEventAt(), 0);
  InTxn([&](Transaction& t) { ASSERT_OK(repo<EventLog>().RaiseNewestEventAt(t, 5'000)); });
  InTxn([&](Transaction& t) { ASSERT_OK(repo<EventLog>().RaiseNewestEventAt(t, 3'000)); });
  EXPECT_EQ(*repo<EventLog>().NewestEventAt(), 5'000);
  InTxn([&](Transaction& t) { ASSERT_OK(repo<EventLog>().RaiseNewestEventAt(t, 9'000)); });
  EXPECT_EQ(*repo<EventLog>().NewestEventAt(), 9'000);
}

TEST_P(StoreContractTest, ATransactionNotCommittedLeavesNothingBehind) {
  {
    auto txn = s().Begin();
    ASSERT_OK(txn);
    std::vector<EventRecord> events{Event(0), Event(1)};
    ASSERT_OK(repo<EventLog>().Append(**txn, events));
    std::vector<CustomerRecord> customers{{CustomerId(1), CustomerId(), 10}};
    ASSERT_OK(repo<IdentityRepository>().PutCustomers(**txn, customers));
    std::vector<ProfileRecord> profiles{{CustomerId(1), "{}", 10}};
    ASSERT_OK(repo<ProfileRepository>().Put(**txn, profiles));
    ASSERT_OK(repo<ProfileRepository>().SetCheckpoint(**txn, 2));
    std::vector<OrderRecord> orders{{"o1", CustomerId(1), 10, 99.5, "CNY", "web", "[]"}};
    ASSERT_OK(repo<ActivityRepository>().AddOrders(**txn, orders));
    ASSERT_OK(repo<EventLog>().RaiseNewestEventAt(**txn, 10));
    // destroyed without Commit: rolled back
  }
  EXPECT_EQ(*repo<EventLog>().Count(), 0);
  EXPECT_EQ(*repo<EventLog>().LastSeq(), 0);
  EXPECT_EQ(*repo<EventLog>().NewestEventAt(), 0);
  EXPECT_FALSE(repo<IdentityRepository>().FindCustomer(CustomerId(1))->has_value());
  EXPECT_FALSE(repo<ProfileRepository>().Find(CustomerId(1))->has_value());
  EXPECT_EQ(*repo<ProfileRepository>().Checkpoint(), 0);
  EXPECT_EQ(repo<ActivityRepository>().Counts()->orders, 0);
  // The next transaction numbers its events as if the rolled-back one never happened.
  std::vector<EventRecord> events{Event(7)};
  InTxn([&](Transaction& t) { ASSERT_OK(repo<EventLog>().Append(t, events)); });
  EXPECT_EQ(events[0].seq, 1);
}

TEST_P(StoreContractTest, ACommittedTransactionShowsEveryRepositorysWrites) {
  std::vector<EventRecord> events{Event(0), Event(1), Event(2)};
  InTxn([&](Transaction& t) {
    ASSERT_OK(repo<EventLog>().Append(t, events));
    std::vector<CustomerRecord> customers{{CustomerId(1), CustomerId(), 10}, {CustomerId(2), CustomerId(1), 20}};
    ASSERT_OK(repo<IdentityRepository>().PutCustomers(t, customers));
    std::vector<ProfileRecord> profiles{{CustomerId(1), R"({"o":1})", 30}};
    ASSERT_OK(repo<ProfileRepository>().Put(t, profiles));
    ASSERT_OK(repo<ProfileRepository>().SetCheckpoint(t, events.back().seq));
    std::vector<MessageRecord> messages{{"m1", CustomerId(1), 40, "c1", "chat", "customer", "in", "hi", "en",
                                         "neutral", 0.0, "greeting", "hi"}};
    ASSERT_OK(repo<ActivityRepository>().AddMessages(t, messages));
    std::vector<EscalationRecord> escalations{{50, CustomerId(1), "c1", "m1", "refund", "handoff", "keyword"}};
    ASSERT_OK(repo<EscalationRepository>().Add(t, escalations));
  });
  EXPECT_EQ(*repo<EventLog>().Count(), 3);
  EXPECT_EQ(repo<IdentityRepository>().Counts()->live_customers, 1);
  EXPECT_EQ((*repo<ProfileRepository>().Find(CustomerId(1)))->data, R"({"o":1})");
  EXPECT_EQ(*repo<ProfileRepository>().Checkpoint(), 3);
  EXPECT_EQ(repo<ActivityRepository>().Counts()->messages, 1);
  EXPECT_EQ(*repo<EscalationRepository>().Count(), 1);
  std::vector<EscalationRecord> escalations;
  ASSERT_OK(repo<EscalationRepository>().Scan([&](EscalationRecord&& e) { escalations.push_back(std::move(e)); }));
  EXPECT_EQ(escalations,
            (std::vector<EscalationRecord>{{50, CustomerId(1), "c1", "m1", "refund", "handoff", "keyword"}}));
}

TEST_P(StoreContractTest, IdentityUpsertsKeepOneRowAndTheFirstSighting) {
  InTxn([&](Transaction& t) {
    std::vector<IdentifierRecord> ids{{IdentifierId(1), "email", "a@example.com", CustomerId(3), false, 0, 100, "m1"},
                                      {IdentifierId(2), "device", "d-1", CustomerId(3), false, 0, 100, "m1"},
                                      {IdentifierId(3), "phone", "+8613800000000", CustomerId(4), false, 0, 200, "m2"}};
    ASSERT_OK(repo<IdentityRepository>().PutIdentifiers(t, ids));
    std::vector<CustomerRecord> customers{{CustomerId(3), CustomerId(), 100}, {CustomerId(4), CustomerId(), 200}};
    ASSERT_OK(repo<IdentityRepository>().PutCustomers(t, customers));
  });
  InTxn([&](Transaction& t) {  // the device became shared; customer 4 merged into 3
    std::vector<IdentifierRecord> ids{{IdentifierId(2), "device", "d-1", CustomerId(3), true, 2, 100, "m1"}};
    ASSERT_OK(repo<IdentityRepository>().PutIdentifiers(t, ids));
    std::vector<CustomerRecord> customers{{CustomerId(4), CustomerId(3), 999}};
    ASSERT_OK(repo<IdentityRepository>().PutCustomers(t, customers));
    std::vector<MergeRecord> merges{{MergeId(1), 300, CustomerId(3), CustomerId(4), IdentifierId(3), "m3", "phone", 0}};
    ASSERT_OK(repo<IdentityRepository>().PutMerges(t, merges));
  });
  auto& identity = repo<IdentityRepository>();
  std::vector<IdentifierRecord> rows;
  ASSERT_OK(identity.ScanIdentifiers([&](IdentifierRecord&& r) { rows.push_back(std::move(r)); }));
  ASSERT_EQ(rows.size(), 3u) << "an update must not add a row";
  EXPECT_EQ(rows[1].value, "d-1");
  EXPECT_TRUE(rows[1].blocked);
  EXPECT_EQ(rows[1].joins, 2);
  EXPECT_EQ(rows[1].first_message_id, "m1");
  auto found = identity.FindIdentifier("device", "d-1");
  ASSERT_OK(found.status());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, IdentifierId(2));
  EXPECT_FALSE(identity.FindIdentifier("email", "d-1")->has_value()) << "kind and value both count";
  EXPECT_FALSE(identity.FindIdentifier("device", "d-2")->has_value());
  auto four = identity.FindCustomer(CustomerId(4));
  ASSERT_TRUE(four->has_value());
  EXPECT_EQ((*four)->merged_into, CustomerId(3));
  EXPECT_EQ((*four)->created_at, 200) << "a customer's creation time never changes";
  EXPECT_FALSE(identity.FindCustomer(CustomerId(99))->has_value());
  EXPECT_EQ(*identity.CustomersMergedInto(CustomerId(3)), std::vector<CustomerId>{CustomerId(4)});
  EXPECT_TRUE(identity.CustomersMergedInto(CustomerId(4))->empty());
  std::vector<CustomerId> both{CustomerId(4), CustomerId(3)};
  auto of = identity.IdentifiersOf(both);
  ASSERT_OK(of.status());
  ASSERT_EQ(of->size(), 3u);
  EXPECT_EQ((*of)[0].id, IdentifierId(1)) << "in id order";
  EXPECT_EQ((*of)[2].id, IdentifierId(3));
  auto merges = identity.MergesInvolving(both);
  ASSERT_OK(merges.status());
  ASSERT_EQ(merges->size(), 1u) << "a merge involving two of the customers is listed once";
  EXPECT_EQ((*merges)[0].reason, "phone");
  auto blocked = identity.BlockedIdentifiers();
  ASSERT_OK(blocked.status());
  ASSERT_EQ(blocked->size(), 1u);
  EXPECT_EQ((*blocked)[0].value, "d-1");
  auto counts = identity.Counts();
  ASSERT_OK(counts.status());
  EXPECT_EQ(counts->live_customers, 1);
  EXPECT_EQ(counts->identifiers, 3);
  EXPECT_EQ(counts->merges, 1);
  InTxn([&](Transaction& t) {  // the merge is undone
    std::vector<MergeRecord> undone{{MergeId(1), 300, CustomerId(3), CustomerId(4), IdentifierId(3), "m3", "phone", 400}};
    ASSERT_OK(identity.PutMerges(t, undone));
  });
  EXPECT_EQ(identity.Counts()->merges, 0);
}

TEST_P(StoreContractTest, MergeBlocksAreASet) {
  InTxn([&](Transaction& t) {
    std::vector<MergeBlock> blocks{{CustomerId(2), CustomerId(5)}, {CustomerId(1), CustomerId(9)}};
    ASSERT_OK(repo<IdentityRepository>().AddMergeBlocks(t, blocks));
  });
  InTxn([&](Transaction& t) {
    std::vector<MergeBlock> again{{CustomerId(2), CustomerId(5)}};
    ASSERT_OK(repo<IdentityRepository>().AddMergeBlocks(t, again));
  });
  std::vector<MergeBlock> seen;
  ASSERT_OK(repo<IdentityRepository>().ScanMergeBlocks([&](CustomerId a, CustomerId b) { seen.emplace_back(a, b); }));
  EXPECT_EQ(seen, (std::vector<MergeBlock>{{CustomerId(1), CustomerId(9)}, {CustomerId(2), CustomerId(5)}}));
}

TEST_P(StoreContractTest, ProfilesAreReplacedByCustomerAndScannedInOrder) {
  auto& profiles = repo<ProfileRepository>();
  EXPECT_EQ(*profiles.Checkpoint(), 0);
  InTxn([&](Transaction& t) {
    std::vector<ProfileRecord> p{{CustomerId(9), "nine", 1}, {CustomerId(2), "two", 1}};
    ASSERT_OK(profiles.Put(t, p));
  });
  InTxn([&](Transaction& t) {
    std::vector<ProfileRecord> p{{CustomerId(2), "two again", 2}};
    ASSERT_OK(profiles.Put(t, p));
    ASSERT_OK(profiles.SetCheckpoint(t, 17));
  });
  std::vector<ProfileRecord> all;
  ASSERT_OK(profiles.Scan([&](ProfileRecord&& r) { all.push_back(std::move(r)); }));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], (ProfileRecord{CustomerId(2), "two again", 2}));
  EXPECT_EQ(all[1].customer, CustomerId(9));
  EXPECT_EQ(*profiles.Checkpoint(), 17);
  EXPECT_FALSE(profiles.Find(CustomerId(3))->has_value());
}

TEST_P(StoreContractTest, ActivityKeepsInsertionOrderAndUnansweredSurveyScores) {
  auto& activity = repo<ActivityRepository>();
  InTxn([&](Transaction& t) {
    std::vector<OrderRecord> orders{{"o2", CustomerId(2), 20, 10.5, "CNY", "app", R"([{"product_id":"p"}])"},
                                    {"o1", CustomerId(1), 10, -3, "CNY", "web", "[]"}};
    ASSERT_OK(activity.AddOrders(t, orders));
    std::vector<SurveyRecord> surveys{{"s1", CustomerId(1), 30, 9, -1, "good", "delivery"},
                                      {"s2", CustomerId(2), 31, -1, 4, "", "chat"}};
    ASSERT_OK(activity.AddSurveys(t, surveys));
    std::vector<MessageRecord> messages{{"m1", CustomerId(1), 40, "c1", "chat", "customer", "in", "退款", "zh",
                                         "negative", -0.8, "refund", "退款"},
                                        {"m2", CustomerId(1), 41, "c1", "chat", "agent", "out", "好的", "zh",
                                         "positive", 0.5, "", "好的"}};
    ASSERT_OK(activity.AddMessages(t, messages));
  });
  std::vector<OrderRecord> orders;
  ASSERT_OK(activity.ScanOrders([&](OrderRecord&& o) { orders.push_back(std::move(o)); }));
  ASSERT_EQ(orders.size(), 2u);
  EXPECT_EQ(orders[0], (OrderRecord{"o2", CustomerId(2), 20, 10.5, "CNY", "app", R"([{"product_id":"p"}])"}));
  EXPECT_EQ(orders[1].total, -3);
  std::vector<SurveyRecord> surveys;
  ASSERT_OK(activity.ScanSurveys([&](SurveyRecord&& r) { surveys.push_back(std::move(r)); }));
  ASSERT_EQ(surveys.size(), 2u);
  EXPECT_EQ(surveys[0].nps, 9);
  EXPECT_EQ(surveys[0].csat, -1);
  EXPECT_EQ(surveys[1].nps, -1);
  EXPECT_EQ(surveys[1].csat, 4);
  std::vector<MessageRecord> messages;
  ASSERT_OK(activity.ScanMessages([&](MessageRecord&& m) { messages.push_back(std::move(m)); }));
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].text, "退款");
  EXPECT_EQ(messages[0].sentiment_score, -0.8);
  EXPECT_EQ(messages[1].direction, "out");
  auto counts = activity.Counts();
  EXPECT_EQ(counts->orders, 2);
  EXPECT_EQ(counts->messages, 2);
  EXPECT_EQ(counts->surveys, 2);
}

TEST_P(StoreContractTest, ApiKeysAreCreatedFoundAndRevokedByIdOrPrefix) {
  auto& keys = repo<ApiKeyRepository>();
  auto a = keys.Create("admin", "hash-a", "tp_aaaa", 100);
  ASSERT_OK(a.status());
  auto b = keys.Create("ingest", "hash-b", "tp_bbbb", 200);
  ASSERT_OK(b.status());
  EXPECT_LT(a->id, b->id);
  EXPECT_THAT(keys.Create("agent", "hash-a", "tp_cccc", 300).status(), StatusIs(StatusCode::kAlreadyExists));
  auto found = keys.FindByHash("hash-b");
  ASSERT_OK(found.status());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->role, "ingest");
  EXPECT_EQ((*found)->revoked_at, 0);
  EXPECT_FALSE(keys.FindByHash("hash-none")->has_value());
  ASSERT_OK(keys.Revoke("tp_bbbb", 500));
  EXPECT_EQ((*keys.FindByHash("hash-b"))->revoked_at, 500);
  EXPECT_THAT(keys.Revoke("tp_bbbb", 600), StatusIs(StatusCode::kNotFound)) << "already revoked";
  ASSERT_OK(keys.Revoke(std::to_string(a->id), 700));
  EXPECT_THAT(keys.Revoke("tp_nope", 800), StatusIs(StatusCode::kNotFound));
  auto all = keys.List();
  ASSERT_OK(all.status());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].prefix, "tp_aaaa");
  EXPECT_EQ((*all)[0].revoked_at, 700);
}

TEST_P(StoreContractTest, JobRecordsSurviveAndUnfinishedOnesAreFound) {
  auto& jobs = repo<JobRepository>();
  JobRecord j;
  j.name = "rfm";
  j.state = "queued";
  j.params_json = R"({"gold":5000})";
  j.trigger = "api";
  j.created_at = 10;
  auto first = jobs.Create(j);
  ASSERT_OK(first.status());
  j.name = "kmeans";
  j.state = "done";
  j.result_json = R"({"k":4})";
  auto second = jobs.Create(j);
  ASSERT_OK(second.status());
  EXPECT_LT(first->id, second->id);
  JobRecord running = *first;
  running.state = "running";
  running.started_at = 20;
  ASSERT_OK(jobs.Update(running));
  Reopen();
  auto& reopened = repo<JobRepository>();
  auto got = reopened.Find(first->id);
  ASSERT_OK(got.status());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, running);
  auto unfinished = reopened.Unfinished();
  ASSERT_OK(unfinished.status());
  ASSERT_EQ(unfinished->size(), 1u);
  EXPECT_EQ((*unfinished)[0].name, "rfm");
  auto recent = reopened.Recent(1);
  ASSERT_OK(recent.status());
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ((*recent)[0].name, "kmeans") << "newest first";
  EXPECT_FALSE(reopened.Find(999)->has_value());
  JobRecord ghost = running;
  ghost.id = 999;
  EXPECT_THAT(reopened.Update(ghost), StatusIs(StatusCode::kNotFound));
}

TEST_P(StoreContractTest, SegmentsAreKeptByNameWithTheirFirstCreationTime) {
  auto& segments = repo<SegmentRepository>();
  ASSERT_OK(segments.Put({"vip", "monetary_365d >= 20000", "big spenders", 100, 100}));
  ASSERT_OK(segments.Put({"app", R"(preferred_channel = "app")", "", 200, 200}));
  ASSERT_OK(segments.Put({"vip", "monetary_365d >= 30000", "bigger", 300, 300}));
  auto vip = segments.Find("vip");
  ASSERT_OK(vip.status());
  ASSERT_TRUE(vip->has_value());
  EXPECT_EQ(**vip, (SegmentRecord{"vip", "monetary_365d >= 30000", "bigger", 100, 300}));
  auto all = segments.List();
  ASSERT_OK(all.status());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "app") << "in name order";
  ASSERT_OK(segments.Delete("app"));
  EXPECT_THAT(segments.Delete("app"), StatusIs(StatusCode::kNotFound));
  EXPECT_FALSE(segments.Find("app")->has_value());
}

UserRecord User(const std::string& email, const std::string& role) {
  UserRecord u;
  u.email = email;
  u.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
  u.role = role;
  u.created_at = 100;
  u.password_changed_at = 100;
  return u;
}

TEST_P(StoreContractTest, UsersAreUniqueByEmailIgnoringCaseAndSurviveARestart) {
  auto& users = repo<UserRepository>();
  auto ann = users.Create(User("ann@example.com", "admin"));
  ASSERT_OK(ann.status());
  auto bob = users.Create(User("bob@example.com", "agent"));
  ASSERT_OK(bob.status());
  EXPECT_LT(ann->id, bob->id);
  EXPECT_THAT(users.Create(User("ANN@Example.COM", "agent")).status(), StatusIs(StatusCode::kAlreadyExists));
  Reopen();
  auto& reopened = repo<UserRepository>();
  auto found = reopened.FindByEmail("Ann@EXAMPLE.com");
  ASSERT_OK(found.status());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, *ann) << "every field round-trips, the hash string byte for byte";
  EXPECT_FALSE(reopened.FindByEmail("nobody@example.com")->has_value());
  EXPECT_FALSE(reopened.Find(999)->has_value());
  auto all = reopened.List();
  ASSERT_OK(all.status());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].email, "ann@example.com") << "in id order";
  EXPECT_EQ((*all)[1].email, "bob@example.com");
}

TEST_P(StoreContractTest, UserUpdatesChangeOnlyTheFieldsGiven) {
  auto& users = repo<UserRepository>();
  auto ann = users.Create(User("ann@example.com", "agent"));
  ASSERT_OK(ann.status());
  UserUpdate role;
  role.role = "supervisor";
  role.team_id = 7;
  ASSERT_OK(users.Update(ann->id, role));
  UserUpdate totp;
  totp.totp_secret = "JBSWY3DPEHPK3PXP";
  ASSERT_OK(users.Update(ann->id, totp));
  EXPECT_TRUE(*users.AdvanceTotpStep(ann->id, 50));
  UserUpdate lock;
  lock.failed_logins = 0;
  lock.locked_until = 900;
  lock.disabled_at = 800;
  lock.password_hash = "$argon2id$new";
  lock.password_changed_at = 700;
  ASSERT_OK(users.Update(ann->id, lock));
  UserRecord want = *ann;
  want.role = "supervisor";
  want.team_id = 7;
  want.totp_secret = "JBSWY3DPEHPK3PXP";
  want.totp_last_step = 50;
  want.locked_until = 900;
  want.disabled_at = 800;
  want.password_hash = "$argon2id$new";
  want.password_changed_at = 700;
  EXPECT_EQ(**users.Find(ann->id), want);
  // A new TOTP secret starts its replay window afresh.
  ASSERT_OK(users.Update(ann->id, totp));
  EXPECT_EQ((*users.Find(ann->id))->totp_last_step, 0);
  EXPECT_THAT(users.Update(999, role), StatusIs(StatusCode::kNotFound));
}

TEST_P(StoreContractTest, ATotpStepIsAcceptedOnceAndFailedLoginsCount) {
  auto& users = repo<UserRepository>();
  auto ann = users.Create(User("ann@example.com", "admin"));
  ASSERT_OK(ann.status());
  EXPECT_TRUE(*users.AdvanceTotpStep(ann->id, 100));
  EXPECT_FALSE(*users.AdvanceTotpStep(ann->id, 100)) << "the same step again is a replay";
  EXPECT_FALSE(*users.AdvanceTotpStep(ann->id, 99)) << "an older step too";
  EXPECT_TRUE(*users.AdvanceTotpStep(ann->id, 101));
  EXPECT_THAT(users.AdvanceTotpStep(999, 1).status(), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(*users.AddFailedLogin(ann->id), 1);
  EXPECT_EQ(*users.AddFailedLogin(ann->id), 2);
  EXPECT_EQ((*users.Find(ann->id))->failed_logins, 2);
  EXPECT_THAT(users.AddFailedLogin(999).status(), StatusIs(StatusCode::kNotFound));
}

TEST_P(StoreContractTest, TeamsHaveUniqueNamesAndASetOfSupervisors) {
  auto& teams = repo<TeamRepository>();
  auto north = teams.Create("north", 10);
  ASSERT_OK(north.status());
  auto south = teams.Create("south", 20);
  ASSERT_OK(south.status());
  EXPECT_THAT(teams.Create("north", 30).status(), StatusIs(StatusCode::kAlreadyExists));
  ASSERT_OK(teams.AddSupervisor(north->id, 9));
  ASSERT_OK(teams.AddSupervisor(north->id, 3));
  ASSERT_OK(teams.AddSupervisor(north->id, 9));  // twice is fine
  ASSERT_OK(teams.AddSupervisor(south->id, 3));
  EXPECT_THAT(teams.AddSupervisor(999, 3), StatusIs(StatusCode::kNotFound));
  Reopen();
  auto& reopened = repo<TeamRepository>();
  auto got = reopened.FindByName("north");
  ASSERT_OK(got.status());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, (TeamRecord{north->id, "north", 10, {3, 9}}));
  ASSERT_OK(reopened.RemoveSupervisor(north->id, 9));
  EXPECT_THAT(reopened.RemoveSupervisor(north->id, 9), StatusIs(StatusCode::kNotFound));
  auto all = reopened.List();
  ASSERT_OK(all.status());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0], (TeamRecord{north->id, "north", 10, {3}}));
  EXPECT_EQ((*all)[1], (TeamRecord{south->id, "south", 20, {3}}));
  EXPECT_FALSE(reopened.Find(999)->has_value());
  EXPECT_FALSE(reopened.FindByName("west")->has_value());
}

TEST_P(StoreContractTest, SessionsAreFoundByTokenHashTouchedAndRevoked) {
  auto& sessions = repo<SessionRepository>();
  auto a = sessions.Create({0, "hash-a", 1, "csrf-a", 100, 100, 0});
  ASSERT_OK(a.status());
  auto b = sessions.Create({0, "hash-b", 1, "", 200, 200, 0});
  ASSERT_OK(b.status());
  auto c = sessions.Create({0, "hash-c", 2, "csrf-c", 300, 300, 0});
  ASSERT_OK(c.status());
  EXPECT_THAT(sessions.Create({0, "hash-a", 3, "", 1, 1, 0}).status(), StatusIs(StatusCode::kAlreadyExists));
  ASSERT_OK(sessions.Touch(a->id, 150));
  ASSERT_OK(sessions.Touch(a->id, 120));  // never moves back
  auto found = sessions.FindByHash("hash-a");
  ASSERT_OK(found.status());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, (SessionRecord{a->id, "hash-a", 1, "csrf-a", 100, 150, 0}));
  EXPECT_FALSE(sessions.FindByHash("hash-none")->has_value());
  EXPECT_EQ(*sessions.RevokeForUser(1, 400), 2);
  EXPECT_EQ(*sessions.RevokeForUser(1, 500), 0) << "already revoked";
  EXPECT_EQ((*sessions.FindByHash("hash-b"))->revoked_at, 400);
  ASSERT_OK(sessions.Revoke(c->id, 600));
  ASSERT_OK(sessions.Revoke(c->id, 700));
  EXPECT_EQ((*sessions.FindByHash("hash-c"))->revoked_at, 600) << "the first revocation time stays";
  EXPECT_THAT(sessions.Touch(999, 1), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(sessions.Revoke(999, 1), StatusIs(StatusCode::kNotFound));
  auto d = sessions.Create({0, "hash-d", 3, "", 1000, 1000, 0});
  ASSERT_OK(d.status());
  auto e = sessions.Create({0, "hash-e", 3, "", 2000, 2000, 0});
  ASSERT_OK(e.status());
  // Revoked ones (a, b, c) and d (created before 1500) go; e stays.
  EXPECT_EQ(*sessions.DeleteExpired(/*created_before=*/1500, /*seen_before=*/0), 4);
  EXPECT_TRUE(sessions.FindByHash("hash-e")->has_value());
  EXPECT_FALSE(sessions.FindByHash("hash-d")->has_value());
  EXPECT_EQ(*sessions.DeleteExpired(0, /*seen_before=*/2001), 1);
  EXPECT_FALSE(sessions.FindByHash("hash-e")->has_value());
}

// A stand-in for privacy's SHA-256 chain: any deterministic function of the predecessor's hash
// and the entry's fields shows whether the store fed each entry the right predecessor.
std::string ToyChain(std::string_view prev, const AuditEntryRecord& e) {
  const std::size_t h = std::hash<std::string>{}(std::string(prev) + "|" + std::to_string(e.seq) + "|" +
                                                 std::to_string(e.time) + "|" + e.actor + "|" + e.action + "|" +
                                                 e.target + "|" + e.details_json);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016zx", h);
  return buf;
}

AuditEntryRecord AuditDraft(const std::string& actor, const std::string& action, Millis time) {
  AuditEntryRecord e;
  e.time = time;
  e.actor = actor;
  e.action = action;
  e.target = "api_key:1";
  e.details_json = R"({"role":"admin","note":"名前 \"quoted\" \\ tab\t"})";
  return e;
}

// Checks that `all` is one chain: seq 1..n, each entry linked to its predecessor by ToyChain.
void ExpectOneChain(const std::vector<AuditEntryRecord>& all) {
  std::string prev(64, '0');
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i].seq, static_cast<std::int64_t>(i) + 1);
    ASSERT_EQ(all[i].prev_hash, prev) << "entry " << all[i].seq;
    ASSERT_EQ(all[i].hash, ToyChain(prev, all[i])) << "entry " << all[i].seq;
    prev = all[i].hash;
  }
}

std::vector<AuditEntryRecord> AllAudit(AuditRepository& audit, std::int64_t after = 0) {
  std::vector<AuditEntryRecord> out;
  EXPECT_OK(audit.Scan(after, [&](AuditEntryRecord&& e) {
    out.push_back(std::move(e));
    return true;
  }));
  return out;
}

TEST_P(StoreContractTest, AuditAppendsChainEntriesFromTheHeadAcrossRestarts) {
  auto& audit = repo<AuditRepository>();
  EXPECT_FALSE(audit.Head()->has_value());
  std::vector<AuditEntryRecord> batch{AuditDraft("cli:uid:1000", "api_key.create", 100),
                                      AuditDraft("key:tp_3f9c12", "segment.define", 200)};
  batch[0].seq = 77;  // ignored: the store numbers entries
  batch[0].hash = "forged";
  auto appended = audit.Append(batch, ToyChain);
  ASSERT_OK(appended.status());
  ASSERT_EQ(appended->size(), 2u);
  EXPECT_EQ((*appended)[0].seq, 1);
  EXPECT_EQ((*appended)[1].prev_hash, (*appended)[0].hash);
  Reopen();
  auto& reopened = repo<AuditRepository>();
  ASSERT_OK(reopened.Append(std::vector<AuditEntryRecord>{AuditDraft("user:7", "api_key.revoke", 300)}, ToyChain)
                .status());
  auto all = AllAudit(reopened);
  ASSERT_EQ(all.size(), 3u);
  ExpectOneChain(all);
  EXPECT_EQ(all[0].details_json, batch[0].details_json) << "details are kept byte for byte";
  EXPECT_EQ(all[0], (*appended)[0]);
  auto head = reopened.Head();
  ASSERT_OK(head.status());
  ASSERT_TRUE(head->has_value());
  EXPECT_EQ(**head, all[2]);
  auto tail = AllAudit(reopened, 2);
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_EQ(tail[0].seq, 3);
  auto reader = OpenStore(/*read_only=*/true);
  ASSERT_NE(reader, nullptr);
  EXPECT_THAT(reader->Get<AuditRepository>().Append(batch, ToyChain).status(),
              StatusIs(StatusCode::kFailedPrecondition));
}

TEST_P(StoreContractTest, AuditQueryFiltersNewestFirstAndPagesBySeq) {
  auto& audit = repo<AuditRepository>();
  std::vector<AuditEntryRecord> batch;
  for (int i = 0; i < 10; ++i) {
    batch.push_back(AuditDraft(i % 2 == 0 ? "user:1" : "user:2", i % 3 == 0 ? "login" : "api_key.create",
                               1000 + i * 10));
  }
  ASSERT_OK(audit.Append(batch, ToyChain).status());
  auto seqs = [](const Result<std::vector<AuditEntryRecord>>& r) {
    std::vector<std::int64_t> out;
    if (r.ok()) {
      for (const auto& e : *r) out.push_back(e.seq);
    }
    return out;
  };
  AuditQuery q;
  q.limit = 3;
  EXPECT_EQ(seqs(audit.Query(q)), (std::vector<std::int64_t>{10, 9, 8})) << "newest first";
  q.before_seq = 8;
  EXPECT_EQ(seqs(audit.Query(q)), (std::vector<std::int64_t>{7, 6, 5})) << "the next page";
  AuditQuery by_actor;
  by_actor.actor = "user:1";
  EXPECT_EQ(seqs(audit.Query(by_actor)), (std::vector<std::int64_t>{9, 7, 5, 3, 1}));
  AuditQuery by_action;
  by_action.action = "login";
  by_action.from = 1030;  // seq 4 is at 1030
  by_action.to = 1090;    // seq 10 is at 1090: excluded
  EXPECT_EQ(seqs(audit.Query(by_action)), (std::vector<std::int64_t>{7, 4}));
}

TEST_P(StoreContractTest, TwoWritersAppendingAtOnceKeepOneChain) {
  // Two connections (two processes: the CLI beside a running server) appending concurrently.
  auto other = OpenStore();
  ASSERT_NE(other, nullptr);
  constexpr int kBatches = 40;
  auto writer = [](AuditRepository* audit, std::string actor, std::atomic<int>* failures) {
    for (int i = 0; i < kBatches; ++i) {
      std::vector<AuditEntryRecord> batch{AuditDraft(actor, "a", i), AuditDraft(actor, "b", i)};
      if (!audit->Append(batch, ToyChain).ok()) ++*failures;
    }
  };
  std::atomic<int> failures{0};
  std::thread a(writer, &repo<AuditRepository>(), "writer:a", &failures);
  std::thread b(writer, &other->Get<AuditRepository>(), "writer:b", &failures);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  auto all = AllAudit(repo<AuditRepository>());
  ASSERT_EQ(all.size(), static_cast<size_t>(4 * kBatches));
  ExpectOneChain(all);
  int from_a = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].actor == "writer:a") ++from_a;
    if (all[i].action == "a") {
      ASSERT_LT(i + 1, all.size());
      EXPECT_EQ(all[i + 1].actor, all[i].actor) << "a batch stays together";
    }
  }
  EXPECT_EQ(from_a, 2 * kBatches);
}

TEST_P(StoreContractTest, AuditCheckpointsAndSigningKeysAreKept) {
  auto& audit = repo<AuditRepository>();
  auto first = audit.AddCheckpoint({0, 0, std::string(64, '0'), 10, "0123456789abcdef", "c2lnMQ=="});
  ASSERT_OK(first.status());
  auto second = audit.AddCheckpoint({0, 100, std::string(64, 'a'), 20, "0123456789abcdef", "c2lnMg=="});
  ASSERT_OK(second.status());
  EXPECT_LT(first->id, second->id);
  auto& keys = repo<SigningKeyRepository>();
  ASSERT_OK(keys.Put({"0123456789abcdef", "cHViMQ==", 5}));
  ASSERT_OK(keys.Put({"0123456789abcdef", "cHViMQ==", 9})) << "the same key again changes nothing";
  EXPECT_THAT(keys.Put({"0123456789abcdef", "b3RoZXI=", 9}), StatusIs(StatusCode::kAlreadyExists));
  ASSERT_OK(keys.Put({"fedcba9876543210", "cHViMg==", 7}));
  Reopen();
  auto checkpoints = repo<AuditRepository>().Checkpoints();
  ASSERT_OK(checkpoints.status());
  ASSERT_EQ(checkpoints->size(), 2u);
  EXPECT_EQ((*checkpoints)[1], *second);
  auto listed = repo<SigningKeyRepository>().List();
  ASSERT_OK(listed.status());
  EXPECT_EQ(*listed, (std::vector<SigningKeyRecord>{{"0123456789abcdef", "cHViMQ==", 5},
                                                    {"fedcba9876543210", "cHViMg==", 7}}));
}

TEST_P(StoreContractTest, PrivacyBudgetIsSpentUpToItsLimitAndRefusedBeyond) {
  auto& dp = repo<DpBudgetRepository>();
  const auto release = [](const std::string& dataset, std::int64_t micros, Millis at) {
    DpRelease r;
    r.dataset = dataset;
    r.report = "segment-report";
    r.epsilon_micros = micros;
    r.actor = "cli";
    r.released_at = at;
    return r;
  };
  EXPECT_FALSE(dp.Budget("customers")->has_value());
  EXPECT_EQ(*dp.Spent("customers"), 0);
  // Without a configured budget the default applies; exactly up to it is allowed.
  auto first = dp.Spend(release("customers", 600'000, 10), 1'000'000);
  ASSERT_OK(first);
  EXPECT_GT(first->id, 0);
  auto second = dp.Spend(release("customers", 400'000, 20), 1'000'000);
  ASSERT_OK(second);
  EXPECT_GT(second->id, first->id);
  auto refused = dp.Spend(release("customers", 1, 30), 1'000'000);
  EXPECT_THAT(refused, StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(refused.status().message(), ::testing::HasSubstr("spent 1 of 1, this release needs 0.000001"));
  EXPECT_EQ(*dp.Spent("customers"), 1'000'000) << "a refused release records nothing";
  // A configured budget replaces the default; other data sets have their own.
  ASSERT_OK(dp.SetBudget("customers", 1'500'000, 40));
  EXPECT_EQ(*dp.Budget("customers"), std::optional<std::int64_t>(1'500'000));
  ASSERT_OK(dp.Spend(release("customers", 500'000, 50), 1'000'000));
  EXPECT_THAT(dp.Spend(release("customers", 1, 60), 1'000'000), StatusIs(StatusCode::kFailedPrecondition));
  ASSERT_OK(dp.Spend(release("orders-2024", 250'000, 70), 1'000'000));
  EXPECT_THAT(dp.SetBudget("customers", 0, 80), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(dp.Spend(release("customers", 0, 90), 1'000'000), StatusIs(StatusCode::kInvalidArgument));
  // The ledger, oldest first, survives a restart.
  Reopen();
  auto& reopened = repo<DpBudgetRepository>();
  auto ledger = reopened.Releases("customers");
  ASSERT_OK(ledger);
  ASSERT_EQ(ledger->size(), 3u);
  DpRelease expected = release("customers", 600'000, 10);
  expected.id = first->id;
  EXPECT_EQ((*ledger)[0], expected);
  EXPECT_EQ((*ledger)[2].epsilon_micros, 500'000);
  EXPECT_EQ(*reopened.Spent("customers"), 1'500'000);
  EXPECT_EQ(reopened.Releases("orders-2024")->size(), 1u);
  // Data sets with a budget or a release, in name order; one with only a budget counts too.
  ASSERT_OK(reopened.SetBudget("Zeta", 1'000'000, 100));
  auto datasets = reopened.Datasets();
  ASSERT_OK(datasets);
  EXPECT_EQ(*datasets, (std::vector<std::string>{"Zeta", "customers", "orders-2024"}));
}

TEST_P(StoreContractTest, ConcurrentPrivacySpendsFromSeveralConnectionsNeverExceedTheBudget) {
  ASSERT_OK(repo<DpBudgetRepository>().SetBudget("customers", 1'000'000, 1));
  constexpr int kThreads = 4;
  constexpr int kTries = 10;  // 40 tries of 0.1 against a budget of 1: exactly 10 succeed
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kThreads; ++i) {
    stores.push_back(OpenStore());
    ASSERT_NE(stores.back(), nullptr);
  }
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int t = 0; t < kTries; ++t) {
        DpRelease r;
        r.dataset = "customers";
        r.report = "rfm-report";
        r.epsilon_micros = 100'000;
        r.actor = "thread-" + std::to_string(i);
        for (int attempt = 0; attempt < 50; ++attempt) {  // a busy database is retried, a refusal is not
          auto spent = stores[static_cast<size_t>(i)]->Get<DpBudgetRepository>().Spend(r, 1'000'000);
          if (spent.ok()) ++granted;
          if (spent.status().code() != StatusCode::kUnavailable) break;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 10);
  EXPECT_EQ(*repo<DpBudgetRepository>().Spent("customers"), 1'000'000);
}

Delivery Webhook(const std::string& key, const std::string& target = "crm", Millis due = 100) {
  Delivery d;
  d.kind = DeliveryKind::kWebhook;
  d.target = target;
  d.event = "ticket.created";
  d.payload = R"({"type":"ticket.created","data":{"number":"TP-000001","subject":"退款"}})";
  d.idempotency_key = key;
  d.next_attempt_at = due;
  d.created_at = due;
  return d;
}

TEST_P(StoreContractTest, OutboxEnqueueJoinsTheCallersTransactionAndIsIdempotentByKey) {
  auto& outbox = repo<OutboxRepository>();
  std::int64_t first = 0;
  InTxn([&](Transaction& t) {
    auto id = outbox.Enqueue(t, Webhook("k1"));
    ASSERT_OK(id);
    first = *id;
  });
  {  // rolled back with the rest of its transaction
    auto txn = s().Begin();
    ASSERT_OK(txn);
    ASSERT_OK(outbox.Enqueue(**txn, Webhook("k-rolled-back")));
  }
  std::int64_t again = 0;
  InTxn([&](Transaction& t) {
    auto id = outbox.Enqueue(t, Webhook("k1"));  // the same event emitted twice
    ASSERT_OK(id);
    again = *id;
    ASSERT_OK(outbox.Enqueue(t, Webhook("k2")));
  });
  EXPECT_EQ(again, first);
  InTxn([&](Transaction& t) {
    EXPECT_THAT(outbox.Enqueue(t, Webhook("")), StatusIs(StatusCode::kInvalidArgument));
    EXPECT_THAT(outbox.Enqueue(t, Webhook("k3", "")), StatusIs(StatusCode::kInvalidArgument));
  });
  auto all = outbox.List({});
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].id, first);
  EXPECT_GT((*all)[0].id, first) << "newest first";
  Delivery expected = Webhook("k1");
  expected.id = first;
  EXPECT_EQ((*all)[1], expected) << "stored as given, pending with no attempts";
  // Survives a restart.
  Reopen();
  auto found = repo<OutboxRepository>().Find(first);
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, expected);
  EXPECT_FALSE(repo<OutboxRepository>().Find(first + 1000)->has_value());
}

TEST_P(StoreContractTest, OutboxClaimsDueDeliveriesOncePerTargetAndRecordsOutcomes) {
  auto& outbox = repo<OutboxRepository>();
  InTxn([&](Transaction& t) {
    ASSERT_OK(outbox.Enqueue(t, Webhook("a1", "crm", 100)));
    ASSERT_OK(outbox.Enqueue(t, Webhook("a2", "crm", 300)));  // not due yet at 200
    ASSERT_OK(outbox.Enqueue(t, Webhook("b1", "sms-gateway", 100)));
    Delivery mail = Webhook("m1", "li@example.com", 100);
    mail.kind = DeliveryKind::kEmail;
    ASSERT_OK(outbox.Enqueue(t, mail));
  });
  EXPECT_EQ(*outbox.NextDue(DeliveryKind::kWebhook, "crm"), std::optional<Millis>(100));
  auto claimed = outbox.Claim(DeliveryKind::kWebhook, "crm", 200, 10'200, 10);
  ASSERT_OK(claimed);
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].idempotency_key, "a1");
  EXPECT_EQ((*claimed)[0].state, DeliveryState::kDelivering);
  EXPECT_EQ((*claimed)[0].attempts, 1);
  EXPECT_EQ((*claimed)[0].next_attempt_at, 10'200);
  EXPECT_TRUE(outbox.Claim(DeliveryKind::kWebhook, "crm", 200, 10'200, 10)->empty()) << "claimed once";
  auto mails = outbox.Claim(DeliveryKind::kEmail, "", 200, 10'200, 10);
  ASSERT_OK(mails);
  ASSERT_EQ(mails->size(), 1u);
  EXPECT_EQ((*mails)[0].target, "li@example.com");

  // A failure is due again at its next attempt; a success is final.
  const std::int64_t a1 = (*claimed)[0].id;
  std::vector<DeliveryOutcome> outcomes{{a1, DeliveryState::kFailed, 250, 5'000, "HTTP 503"},
                                        {(*mails)[0].id, DeliveryState::kDelivered, 260, 0, ""}};
  ASSERT_OK(outbox.Finish(outcomes));
  auto failed = *outbox.Find(a1);
  EXPECT_EQ(failed->state, DeliveryState::kFailed);
  EXPECT_EQ(failed->last_error, "HTTP 503");
  EXPECT_EQ(failed->next_attempt_at, 5'000);
  auto mail = *outbox.Find((*mails)[0].id);
  EXPECT_EQ(mail->state, DeliveryState::kDelivered);
  EXPECT_EQ(mail->delivered_at, 260);
  ASSERT_OK(outbox.Finish(outcomes));  // no longer delivering: skipped
  EXPECT_EQ((*outbox.Find((*mails)[0].id))->delivered_at, 260);

  auto later = outbox.Claim(DeliveryKind::kWebhook, "crm", 5'000, 15'000, 10);
  ASSERT_OK(later);
  ASSERT_EQ(later->size(), 2u) << "a1 (retry) and a2";
  EXPECT_EQ((*later)[0].id, a1);
  EXPECT_EQ((*later)[0].attempts, 2);
  std::vector<DeliveryOutcome> dead{{a1, DeliveryState::kDead, 5'100, 0, "HTTP 503; gave up after 2 attempts"}};
  ASSERT_OK(outbox.Finish(dead));

  auto counts = outbox.CountByState();
  ASSERT_OK(counts);
  EXPECT_EQ((*counts)[static_cast<size_t>(DeliveryState::kDelivering)], 1);  // a2
  EXPECT_EQ((*counts)[static_cast<size_t>(DeliveryState::kPending)], 1);     // b1, never claimed
  EXPECT_EQ((*counts)[static_cast<size_t>(DeliveryState::kDead)], 1);
  EXPECT_EQ((*counts)[static_cast<size_t>(DeliveryState::kDelivered)], 1);

  // The log filters by state and target, newest first, with a cursor.
  DeliveryQuery q;
  q.state = DeliveryState::kDead;
  auto dead_log = outbox.List(q);
  ASSERT_OK(dead_log);
  ASSERT_EQ(dead_log->size(), 1u);
  EXPECT_EQ((*dead_log)[0].idempotency_key, "a1");
  DeliveryQuery page;
  page.limit = 2;
  auto p1 = *outbox.List(page);
  ASSERT_EQ(p1.size(), 2u);
  page.before_id = p1.back().id;
  auto p2 = *outbox.List(page);
  ASSERT_EQ(p2.size(), 2u);
  EXPECT_LT(p2.front().id, p1.back().id);
  DeliveryQuery by_target;
  by_target.target = "sms-gateway";
  EXPECT_EQ(outbox.List(by_target)->size(), 1u);

  // An operator's retry makes the dead delivery pending again.
  EXPECT_EQ(*outbox.Retry(0, 9'000), 1);
  auto retried = *outbox.Find(a1);
  EXPECT_EQ(retried->state, DeliveryState::kPending);
  EXPECT_EQ(retried->attempts, 0);
  EXPECT_EQ(retried->next_attempt_at, 9'000);
  EXPECT_THAT(outbox.Retry(a1 + 1000, 9'000), StatusIs(StatusCode::kNotFound));

  // Delivered rows are pruned by age.
  EXPECT_EQ(*outbox.PruneDelivered(261), 1);
  EXPECT_FALSE(outbox.Find((*mails)[0].id)->has_value());
}

TEST_P(StoreContractTest, OutboxClaimsExpireAndAreReleasedAfterARestart) {
  auto& outbox = repo<OutboxRepository>();
  InTxn([&](Transaction& t) { ASSERT_OK(outbox.Enqueue(t, Webhook("k", "crm", 100))); });
  ASSERT_EQ(outbox.Claim(DeliveryKind::kWebhook, "crm", 100, 60'100, 10)->size(), 1u);
  EXPECT_TRUE(outbox.Claim(DeliveryKind::kWebhook, "crm", 60'099, 120'000, 10)->empty()) << "claim still held";
  auto expired = outbox.Claim(DeliveryKind::kWebhook, "crm", 60'100, 120'100, 10);
  ASSERT_OK(expired);
  ASSERT_EQ(expired->size(), 1u) << "the claim expired: its dispatcher died";
  EXPECT_EQ((*expired)[0].attempts, 2);
  // A restarted dispatcher releases every claim at once.
  Reopen();
  auto& reopened = repo<OutboxRepository>();
  EXPECT_EQ(*reopened.ReleaseClaims(500), 1);
  auto again = reopened.Claim(DeliveryKind::kWebhook, "crm", 500, 60'500, 10);
  ASSERT_OK(again);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].attempts, 3);
}

TEST_P(StoreContractTest, OutboxConcurrentClaimsFromSeveralConnectionsNeverShareADelivery) {
  constexpr int kDeliveries = 60;
  InTxn([&](Transaction& t) {
    for (int i = 0; i < kDeliveries; ++i) ASSERT_OK(repo<OutboxRepository>().Enqueue(t, Webhook("k" + std::to_string(i))));
  });
  constexpr int kThreads = 3;
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kThreads; ++i) {
    stores.push_back(OpenStore());
    ASSERT_NE(stores.back(), nullptr);
  }
  std::vector<std::vector<std::int64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 200; ++round) {
        auto c = stores[static_cast<size_t>(i)]->Get<OutboxRepository>().Claim(DeliveryKind::kWebhook, "crm", 1'000,
                                                                               100'000, 4);
        if (!c.ok()) continue;  // busy: try again
        for (const Delivery& d : *c) got[static_cast<size_t>(i)].push_back(d.id);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::int64_t> all;
  for (auto& g : got) all.insert(all.end(), g.begin(), g.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kDeliveries));
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "a delivery claimed twice";
}

TEST_P(StoreContractTest, ConsentsAreAppendedInOrderReadPerCustomerAndSurviveARestart) {
  auto& consents = repo<ConsentRepository>();
  const auto decision = [](std::int64_t customer, std::string_view purpose, std::string_view channel,
                           std::string_view value, std::string_view source, Millis at) {
    ConsentRecord r;
    r.customer = CustomerId(customer);
    r.purpose = purpose;
    r.channel = channel;
    r.value = value;
    r.source = source;
    r.wording_version = "2026-01";
    r.at = at;
    r.actor = "key:tp_3f9c12";
    return r;
  };
  // The write path's: inside the commit of the events that carried them.
  std::vector<ConsentRecord> in_commit = {
      decision(7, kConsentMarketing, "email", kConsentOptIn, "identify", 100),
      decision(8, kConsentPersonalisation, "", "high", "identify", 100)};
  in_commit[0].actor = "message:m-1";
  InTxn([&](Transaction& t) { ASSERT_OK(consents.Add(t, in_commit)); });
  // An uncommitted transaction leaves nothing.
  {
    auto txn = s().Begin();
    ASSERT_OK(txn);
    std::vector<ConsentRecord> lost = {decision(7, kConsentMarketing, "sms", kConsentOptIn, "identify", 150)};
    ASSERT_OK(consents.Add(**txn, lost));
  }
  EXPECT_EQ(*consents.Count(), 2);
  // The API's and the CLI's: a transaction of their own, returned with ids.
  std::vector<ConsentRecord> own = {decision(7, kConsentMarketing, "email", kConsentOptOut, "api", 200),
                                    decision(9, kConsentMarketing, "push", kConsentOptIn, "cli", 50)};
  auto stored = consents.Record(own);
  ASSERT_OK(stored);
  ASSERT_EQ(stored->size(), 2u);
  EXPECT_GT((*stored)[1].id, (*stored)[0].id);
  Reopen();
  auto& reopened = repo<ConsentRepository>();
  const std::vector<CustomerId> seven_and_nine = {CustomerId(7), CustomerId(9)};
  auto history = reopened.ForCustomers(seven_and_nine);
  ASSERT_OK(history);
  ASSERT_EQ(history->size(), 3u) << "customer 8's record is not theirs";
  // In recording order, every field as written (the in-commit record's id assigned at commit).
  EXPECT_EQ((*history)[0].actor, "message:m-1");
  EXPECT_GT((*history)[0].id, 0);
  ConsentRecord expected = own[0];
  expected.id = (*stored)[0].id;
  EXPECT_EQ((*history)[1], expected);
  EXPECT_EQ((*history)[2].source, "cli");
  EXPECT_LT((*history)[0].id, (*history)[1].id);
  EXPECT_LT((*history)[1].id, (*history)[2].id);
  const std::vector<CustomerId> none = {CustomerId(12345)};
  EXPECT_TRUE(reopened.ForCustomers(none)->empty());
  std::vector<ConsentRecord> all;
  ASSERT_OK(reopened.Scan([&](ConsentRecord&& r) { all.push_back(std::move(r)); }));
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[1].customer, CustomerId(8));
  EXPECT_EQ(all[1].value, "high");
  // A read-only connection reads them and refuses to record.
  auto reader = OpenStore(/*read_only=*/true);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->Get<ConsentRepository>().ForCustomers(seven_and_nine)->size(), 3u);
  EXPECT_THAT(reader->Get<ConsentRepository>().Record(own).status(), StatusIs(StatusCode::kFailedPrecondition));
}

// ---- subject rights (store/erasure_repository.h, store/suppression_repository.h) ----

TEST_P(StoreContractTest, SuppressionEntriesAreASetAndSurviveARestart) {
  std::vector<SuppressionRecord> first{{-42, 1, 1000}, {7, 1, 1000}};
  InTxn([&](Transaction& t) { ASSERT_OK(repo<SuppressionRepository>().Add(t, first)); });
  std::vector<SuppressionRecord> again{{7, 1, 2000}, {7, 2, 2000}};  // (7, 1) is there: kept as it was
  InTxn([&](Transaction& t) { ASSERT_OK(repo<SuppressionRepository>().Add(t, again)); });
  Reopen();
  std::vector<SuppressionRecord> got;
  ASSERT_OK(repo<SuppressionRepository>().Scan([&](const SuppressionRecord& r) { got.push_back(r); }));
  EXPECT_EQ(got, (std::vector<SuppressionRecord>{{-42, 1, 1000}, {7, 1, 1000}, {7, 2, 2000}}));
  EXPECT_EQ(*repo<SuppressionRepository>().Count(), 3);
}

class ErasureContractTest : public StoreContractTest {
 protected:
  // Customers 5 and 6 (6 merged into 5) are one person; 7 is someone else. Events of customers
  // 1..100 (customer = 1 + i % 100) in two appends.
  void Populate() {
    std::vector<EventRecord> a, b;
    for (int i = 0; i < 200; ++i) a.push_back(Event(i));
    for (int i = 200; i < 300; ++i) b.push_back(Event(i));
    InTxn([&](Transaction& t) { ASSERT_OK(repo<EventLog>().Append(t, a)); });
    InTxn([&](Transaction& t) { ASSERT_OK(repo<EventLog>().Append(t, b)); });
    const CustomerId c5(5), c6(6), c7(7);
    std::vector<CustomerRecord> customers{{c5, {}, 10}, {c6, c5, 11}, {c7, {}, 12}};
    std::vector<IdentifierRecord> ids{{IdentifierId(1), "phone", "13800000005", c5, false, 0, 10, "m5"},
                                      {IdentifierId(2), "email", "six@example.com", c6, false, 0, 11, "m6"},
                                      {IdentifierId(3), "phone", "13800000007", c7, false, 0, 12, "m7"}};
    std::vector<MergeRecord> merges{{MergeId(1), 20, c5, c6, IdentifierId(1), "m56", "bridge", 0},
                                    {MergeId(2), 21, c7, CustomerId(8), IdentifierId(3), "m78", "bridge", 0}};
    std::vector<MergeBlock> blocks{{c5, c7}, {c7, CustomerId(9)}};
    std::vector<ProfileRecord> profiles{{c5, "{\"p\":5}", 1}, {c6, "{\"p\":6}", 1}, {c7, "{\"p\":7}", 1}};
    std::vector<OrderRecord> orders{{"o5", c5, 1, 10, "CNY", "web", "[]"}, {"o7", c7, 2, 20, "CNY", "web", "[]"}};
    std::vector<MessageRecord> messages{
        {"m5", c5, 1, "conv5", "chat", "customer", "in", "my phone is 13800000005", "en", "neutral", 0, "", ""},
        {"m6", c6, 2, "conv6", "chat", "customer", "in", "hello from six", "en", "neutral", 0, "", ""},
        {"m7", c7, 3, "conv7", "chat", "customer", "in", "hello from seven", "en", "neutral", 0, "", ""}};
    std::vector<SurveyRecord> surveys{{"s6", c6, 1, 9, -1, "great", "web"}, {"s7", c7, 1, 3, -1, "bad", "web"}};
    std::vector<EscalationRecord> escalations{{1, c5, "conv5", "m5", "angry", "handoff", "r"},
                                              {2, c7, "conv7", "m7", "angry", "handoff", "r"}};
    InTxn([&](Transaction& t) {
      ASSERT_OK(repo<IdentityRepository>().PutCustomers(t, customers));
      ASSERT_OK(repo<IdentityRepository>().PutIdentifiers(t, ids));
      ASSERT_OK(repo<IdentityRepository>().PutMerges(t, merges));
      ASSERT_OK(repo<IdentityRepository>().AddMergeBlocks(t, blocks));
      ASSERT_OK(repo<ProfileRepository>().Put(t, profiles));
      ASSERT_OK(repo<ActivityRepository>().AddOrders(t, orders));
      ASSERT_OK(repo<ActivityRepository>().AddMessages(t, messages));
      ASSERT_OK(repo<ActivityRepository>().AddSurveys(t, surveys));
      ASSERT_OK(repo<EscalationRepository>().Add(t, escalations));
    });
  }
};

TEST_P(ErasureContractTest, EraseRemovesEveryRecordOfThePersonAndNothingElse) {
  Populate();
  const std::vector<CustomerId> person{CustomerId(5), CustomerId(6)};
  ErasureCounts counts;
  InTxn([&](Transaction& t) {
    auto erased = repo<ErasureRepository>().Erase(t, person);
    ASSERT_OK(erased);
    counts = *erased;
  });
  EXPECT_EQ(counts, (ErasureCounts{.events = 6, .customers = 2, .identifiers = 2, .merges = 1, .merge_blocks = 1,
                                   .profiles = 2, .orders = 1, .messages = 2, .surveys = 1, .escalations = 1}));
  ASSERT_OK(repo<ErasureRepository>().Scrub());
  Reopen();
  // Events: theirs gone, everyone else's kept with their seq; numbering goes on after the last.
  std::vector<EventRecord> events = AllEvents();
  ASSERT_EQ(events.size(), 294u);
  for (const EventRecord& e : events) {
    EXPECT_NE(e.customer, CustomerId(5));
    EXPECT_NE(e.customer, CustomerId(6));
    EXPECT_EQ(e.message_id, "msg-" + std::to_string(e.seq - 1));  // Event(i) got seq i + 1
  }
  EXPECT_EQ(*repo<EventLog>().Count(), 294);
  EXPECT_EQ(*repo<EventLog>().LastSeq(), 300);
  std::int64_t hashes = 0;
  ASSERT_OK(repo<EventLog>().ScanHashes([&](const MessageHash& h) {
    ++hashes;
    EXPECT_FALSE(h == Event(4).hash) << "an erased event's hash";
  }));
  EXPECT_EQ(hashes, 294);
  std::vector<EventRecord> next{Event(300)};
  InTxn([&](Transaction& t) { ASSERT_OK(repo<EventLog>().Append(t, next)); });
  EXPECT_EQ(next[0].seq, 301);
  // Identity: the person's rows are gone, the other person's are whole.
  IdentityRepository& idr = repo<IdentityRepository>();
  EXPECT_FALSE(idr.FindIdentifier("phone", "13800000005")->has_value());
  EXPECT_FALSE(idr.FindIdentifier("email", "six@example.com")->has_value());
  EXPECT_TRUE(idr.FindIdentifier("phone", "13800000007")->has_value());
  EXPECT_FALSE(idr.FindCustomer(CustomerId(5))->has_value());
  EXPECT_FALSE(idr.FindCustomer(CustomerId(6))->has_value());
  EXPECT_TRUE(idr.FindCustomer(CustomerId(7))->has_value());
  EXPECT_TRUE(idr.MergesInvolving(person)->empty());
  EXPECT_EQ(idr.MergesInvolving(std::vector<CustomerId>{CustomerId(7)})->size(), 1u);
  std::vector<MergeBlock> blocks;
  ASSERT_OK(idr.ScanMergeBlocks([&](CustomerId a, CustomerId b) { blocks.emplace_back(a, b); }));
  EXPECT_EQ(blocks, (std::vector<MergeBlock>{{CustomerId(7), CustomerId(9)}}));
  EXPECT_TRUE(idr.CustomersMergedInto(CustomerId(5))->empty());
  // Profiles and activity.
  EXPECT_FALSE(repo<ProfileRepository>().Find(CustomerId(5))->has_value());
  EXPECT_FALSE(repo<ProfileRepository>().Find(CustomerId(6))->has_value());
  EXPECT_TRUE(repo<ProfileRepository>().Find(CustomerId(7))->has_value());
  std::vector<std::int64_t> owners;
  ASSERT_OK(repo<ActivityRepository>().ScanOrders([&](OrderRecord&& r) { owners.push_back(r.customer.value()); }));
  ASSERT_OK(repo<ActivityRepository>().ScanMessages([&](MessageRecord&& r) { owners.push_back(r.customer.value()); }));
  ASSERT_OK(repo<ActivityRepository>().ScanSurveys([&](SurveyRecord&& r) { owners.push_back(r.customer.value()); }));
  ASSERT_OK(repo<EscalationRepository>().Scan([&](EscalationRecord&& r) { owners.push_back(r.customer.value()); }));
  EXPECT_EQ(owners, (std::vector<std::int64_t>{7, 7, 7, 7}));
}

TEST_P(ErasureContractTest, AnErasureNotCommittedLeavesEverything) {
  Populate();
  {
    auto txn = s().Begin();
    ASSERT_OK(txn);
    ASSERT_OK(repo<ErasureRepository>().Erase(**txn, std::vector<CustomerId>{CustomerId(5)}));
  }  // rolled back
  Reopen();
  EXPECT_EQ(*repo<EventLog>().Count(), 300);
  EXPECT_TRUE(repo<IdentityRepository>().FindIdentifier("phone", "13800000005")->has_value());
  EXPECT_TRUE(repo<ProfileRepository>().Find(CustomerId(5))->has_value());
}

TEST_P(ErasureContractTest, ErasingTwiceOrAnUnknownCustomerFindsNothing) {
  Populate();
  InTxn([&](Transaction& t) { ASSERT_OK(repo<ErasureRepository>().Erase(t, std::vector<CustomerId>{CustomerId(5)})); });
  InTxn([&](Transaction& t) {
    auto again = repo<ErasureRepository>().Erase(t, std::vector<CustomerId>{CustomerId(5), CustomerId(424242)});
    ASSERT_OK(again);
    EXPECT_EQ(*again, ErasureCounts{});
  });
  EXPECT_EQ(*repo<EventLog>().Count(), 297);
}

TEST_P(ErasureContractTest, RetentionDeletesTheOldestInSmallBatchesButNeverTheLastChunk) {
  Populate();
  RetentionKind messages = RetentionKind::kMessages;
  // Messages at t = 1, 2, 3: those before 3, one at a time.
  for (std::int64_t want : {1, 1, 0}) {
    InTxn([&](Transaction& t) {
      auto n = repo<ErasureRepository>().DeleteOlderThan(t, messages, 3, 1);
      ASSERT_OK(n);
      EXPECT_EQ(*n, want);
    });
  }
  std::vector<std::string> left;
  ASSERT_OK(repo<ActivityRepository>().ScanMessages([&](MessageRecord&& m) { left.push_back(m.message_id); }));
  EXPECT_EQ(left, std::vector<std::string>{"m7"});
  // Events: the first append (times ..0 to ..199) is older than ..200; the second append is the
  // last chunk and stays even when everything is older.
  InTxn([&](Transaction& t) {
    auto n = repo<ErasureRepository>().DeleteOlderThan(t, RetentionKind::kEvents, 1'700'000'000'200, 10'000);
    ASSERT_OK(n);
    EXPECT_EQ(*n, 200);
  });
  InTxn([&](Transaction& t) {
    auto n = repo<ErasureRepository>().DeleteOlderThan(t, RetentionKind::kEvents, 1'800'000'000'000, 10'000);
    ASSERT_OK(n);
    EXPECT_LE(*n, 99);  // the memory store keeps only the very last event; chunked stores the last chunk
  });
  std::vector<EventRecord> events = AllEvents();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().seq, 300);
  EXPECT_EQ(*repo<EventLog>().LastSeq(), 300);
}

INSTANTIATE_TEST_SUITE_P(Backends, ErasureContractTest, kContractBackends, BackendName);

TEST_P(StoreContractTest, AReadOnlyStoreRefusesTransactionsButReads) {
  std::vector<EventRecord> events{Event(0)};
  InTxn([&](Transaction& t) { ASSERT_OK(repo<EventLog>().Append(t, events)); });
  auto reader = OpenStore(/*read_only=*/true);
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->read_only());
  EXPECT_THAT(reader->Begin().status(), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_EQ(*reader->Get<EventLog>().Count(), 1);
}

// ---- the desk's channels (store/channel_repository.h) ----

TEST_P(StoreContractTest, ChannelMessagesAreFoundByKeyAndByTheNewestMailId) {
  ChannelMessageRecord out{"out-1", 7, "out", "email", 42, "k1@example.com", 1000};
  ChannelMessageRecord in{"in-1", 7, "in", "email", 0, "abc@mail.example.org", 2000};
  InTxn([&](Transaction& t) {
    ASSERT_OK(repo<ChannelRepository>().PutMessage(t, out));
    ASSERT_OK(repo<ChannelRepository>().PutMessage(t, in));
  });
  EXPECT_EQ(*repo<ChannelRepository>().FindMessage("out-1"), out);
  EXPECT_EQ(*repo<ChannelRepository>().FindByMailId("abc@mail.example.org"), in);
  EXPECT_FALSE(repo<ChannelRepository>().FindByMailId("")->has_value());
  EXPECT_FALSE(repo<ChannelRepository>().FindMessage("nope")->has_value());
  // Put replaces (the inbound route's thread hint becomes the ticket the desk chose).
  ChannelMessageRecord joined = in;
  joined.ticket = 9;
  joined.at = 3000;
  InTxn([&](Transaction& t) { ASSERT_OK(repo<ChannelRepository>().PutMessage(t, joined)); });
  EXPECT_EQ(*repo<ChannelRepository>().FindByMailId("abc@mail.example.org"), joined);
  Reopen();
  EXPECT_EQ(*repo<ChannelRepository>().FindMessage("in-1"), joined);
}

TEST_P(StoreContractTest, ASurveyIsAnsweredOnceAndKeepsItsTimes) {
  CsatSurveyRecord a{"s-a", 5, "email", 3, 1000, 0, 0, ""};
  CsatSurveyRecord b{"s-b", 5, "chat", 0, 2000, 0, 0, ""};
  InTxn([&](Transaction& t) {
    ASSERT_OK(repo<ChannelRepository>().AddSurvey(t, a));
    ASSERT_OK(repo<ChannelRepository>().AddSurvey(t, b));
  });
  {
    auto t = s().Begin();
    ASSERT_OK(t);
    EXPECT_THAT(repo<ChannelRepository>().AddSurvey(**t, a), StatusIs(StatusCode::kAlreadyExists));
  }
  InTxn([&](Transaction& t) { ASSERT_OK(repo<ChannelRepository>().AnswerSurvey(t, "s-a", 4, "快，谢谢", 5000)); });
  {
    auto t = s().Begin();
    ASSERT_OK(t);
    EXPECT_THAT(repo<ChannelRepository>().AnswerSurvey(**t, "s-a", 1, "again", 6000),
                StatusIs(StatusCode::kFailedPrecondition));
    EXPECT_THAT(repo<ChannelRepository>().AnswerSurvey(**t, "s-x", 1, "", 6000), StatusIs(StatusCode::kNotFound));
  }
  Reopen();
  auto all = repo<ChannelRepository>().Surveys(5);
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0], (CsatSurveyRecord{"s-a", 5, "email", 3, 1000, 5000, 4, "快，谢谢"}));
  EXPECT_EQ((*all)[1], b);
  EXPECT_TRUE(repo<ChannelRepository>().Surveys(6)->empty());
  EXPECT_EQ(repo<ChannelRepository>().FindSurvey("s-b")->value(), b);
}

TEST_P(StoreContractTest, AttachmentsAreStoredOnceByHashAndLinkedToMessages) {
  std::string bytes = "%PDF-1.4\n";
  bytes += std::string("\0\x01\xff binary", 10);
  AttachmentRecord a{"h1", "application/pdf", static_cast<std::int64_t>(bytes.size()), bytes, 1000};
  InTxn([&](Transaction& t) {
    ASSERT_OK(repo<ChannelRepository>().PutAttachment(t, a));
    AttachmentRecord again = a;
    again.created_at = 2000;  // the first copy stays
    ASSERT_OK(repo<ChannelRepository>().PutAttachment(t, again));
    std::vector<MessageAttachmentRecord> links{{7, "m1", "h1", "invoice.pdf", "application/pdf", a.size},
                                               {7, "m1", "h1", "dup.pdf", "application/pdf", a.size},
                                               {7, "m2", "h1", "copy.pdf", "application/pdf", a.size},
                                               {7, "m3", "hz", "z.png", "image/png", 1},
                                               {7, "m3", "ha", "a.png", "image/png", 2}};
    ASSERT_OK(repo<ChannelRepository>().LinkAttachments(t, links));
  });
  Reopen();
  auto found = repo<ChannelRepository>().FindAttachment("h1");
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, a) << "bytes round-trip, NUL and 0xff included";
  EXPECT_FALSE(repo<ChannelRepository>().FindAttachment("h2")->has_value());
  auto m1 = repo<ChannelRepository>().MessageAttachments("m1");
  ASSERT_OK(m1);
  ASSERT_EQ(m1->size(), 1u) << "a message links a file once";
  EXPECT_EQ((*m1)[0].filename, "invoice.pdf");
  EXPECT_EQ(repo<ChannelRepository>().MessageAttachments("m2")->size(), 1u);
  auto m3 = repo<ChannelRepository>().MessageAttachments("m3");
  ASSERT_OK(m3);
  ASSERT_EQ(m3->size(), 2u);
  EXPECT_EQ((*m3)[0].filename, "z.png") << "in link order, not by hash or name";
  EXPECT_EQ((*m3)[1].filename, "a.png");
}

TEST_P(StoreContractTest, AGivenLookupKeyReplacesTheHashedOneAndFindsEveryCandidate) {
  InTxn([&](Transaction& t) {
    std::vector<IdentifierRecord> ids{{IdentifierId(1), "phone", "sealed-1", CustomerId(3), false, 0, 100, "m1"},
                                      {IdentifierId(2), "phone", "sealed-2", CustomerId(4), false, 0, 100, "m2"},
                                      {IdentifierId(3), "email", "sealed-3", CustomerId(4), false, 0, 100, "m2"},
                                      {IdentifierId(4), "device", "d-1", CustomerId(4), false, 0, 100, "m2"}};
    ids[0].lookup_key = 77;
    ids[1].lookup_key = 77;  // two values may share a key: both are candidates
    ids[2].lookup_key = 77;
    ASSERT_OK(repo<IdentityRepository>().PutIdentifiers(t, ids));
  });
  auto& identity = repo<IdentityRepository>();
  auto phones = identity.FindIdentifiersByKey("phone", 77);
  ASSERT_OK(phones);
  ASSERT_EQ(phones->size(), 2u);
  EXPECT_EQ((*phones)[0].value, "sealed-1");
  EXPECT_EQ((*phones)[1].id, IdentifierId(2));
  EXPECT_EQ((*phones)[1].lookup_key, 0) << "written only";
  EXPECT_EQ(identity.FindIdentifiersByKey("email", 77)->size(), 1u) << "the kind counts";
  EXPECT_TRUE(identity.FindIdentifiersByKey("phone", 78)->empty());
  // Without a given key the adapter's own one still finds it by value.
  EXPECT_TRUE(identity.FindIdentifier("device", "d-1")->has_value());
  // An update keeps the stored key.
  InTxn([&](Transaction& t) {
    std::vector<IdentifierRecord> ids{{IdentifierId(1), "phone", "sealed-1", CustomerId(3), true, 2, 100, "m1"}};
    ids[0].lookup_key = 77;
    ASSERT_OK(repo<IdentityRepository>().PutIdentifiers(t, ids));
  });
  EXPECT_TRUE((*identity.FindIdentifiersByKey("phone", 77))[0].blocked);
}

TEST_P(StoreContractTest, KeyringKeepsTheFirstKeyAndDestroysKeysForGood) {
  auto& keyring = repo<KeyringRepository>();
  std::vector<WrappedKeyRecord> keys{{CustomerId(5), 1, "w5"}, {CustomerId(3), 1, "w3"}};
  ASSERT_OK(keyring.AddKeys(keys));
  std::vector<WrappedKeyRecord> again{{CustomerId(5), 1, "other"}, {CustomerId(7), 2, "w7"}};
  ASSERT_OK(keyring.AddKeys(again));
  EXPECT_EQ(**keyring.FindKey(CustomerId(5)), (WrappedKeyRecord{CustomerId(5), 1, "w5"})) << "the first key stays";
  EXPECT_FALSE(keyring.FindKey(CustomerId(6))->has_value());
  std::vector<WrappedKeyRecord> rewrapped{{CustomerId(3), 2, "w3-v2"}, {CustomerId(9), 2, "never stored"}};
  ASSERT_OK(keyring.ReplaceKeys(rewrapped));
  EXPECT_EQ((*keyring.FindKey(CustomerId(3)))->wrapped, "w3-v2");
  EXPECT_FALSE(keyring.FindKey(CustomerId(9))->has_value()) << "replacing does not add";
  // A tombstone (an erased person's key, destroyed) is never replaced by a re-wrapped key.
  std::vector<WrappedKeyRecord> tombstone{{CustomerId(11), 1, ""}};
  ASSERT_OK(keyring.AddKeys(tombstone));
  std::vector<WrappedKeyRecord> resurrect{{CustomerId(11), 2, "w11-v2"}};
  ASSERT_OK(keyring.ReplaceKeys(resurrect));
  EXPECT_EQ((*keyring.FindKey(CustomerId(11)))->wrapped, "") << "an erased key stays destroyed";
  const std::vector<CustomerId> erased{CustomerId(5), CustomerId(99), CustomerId(11)};
  ASSERT_OK(keyring.DestroyKeys(erased));
  ASSERT_OK(keyring.PutSetting("encryption.installation", "abc"));
  ASSERT_OK(keyring.PutSetting("encryption.installation", "def"));
  Reopen();
  auto& reopened = repo<KeyringRepository>();
  std::vector<std::int64_t> customers;
  ASSERT_OK(reopened.ScanKeys([&](WrappedKeyRecord&& k) { customers.push_back(k.customer.value()); }));
  EXPECT_EQ(customers, (std::vector<std::int64_t>{3, 7}));
  EXPECT_EQ(*reopened.Setting("encryption.installation"), std::optional<std::string>("def"));
  EXPECT_FALSE(reopened.Setting("nothing")->has_value());
  auto ro = OpenStore(/*read_only=*/true);
  ASSERT_NE(ro, nullptr);
  EXPECT_THAT(ro->Get<KeyringRepository>().AddKeys(keys), StatusIs(StatusCode::kFailedPrecondition));
}

// Master key rotation's rewrites (store/rekey_repository.h): identifiers as stored (with their
// stored lookup key), pages by id; a new lookup key finds the identifier and the old one no
// longer does; field-key cells page in key order and are replaced only where they still hold the
// value read, also across a restart.
TEST_P(StoreContractTest, RekeyPagesIdentifiersAndCellsAndReplacesOnlyUnchangedValues) {
  InTxn([&](Transaction& t) {
    std::vector<IdentifierRecord> ids;
    for (int i = 1; i <= 5; ++i) {
      IdentifierRecord r{IdentifierId(i), "phone", "sealed-" + std::to_string(i), CustomerId(i), false, 0, 100, "m"};
      r.lookup_key = 1000 + i;
      ids.push_back(r);
    }
    ASSERT_OK(repo<IdentityRepository>().PutIdentifiers(t, ids));
  });
  auto& rekey = repo<RekeyRepository>();
  auto first = rekey.IdentifiersAfter(IdentifierId(0), 3);
  ASSERT_OK(first);
  ASSERT_EQ(first->size(), 3u);
  EXPECT_EQ((*first)[0].id, IdentifierId(1));
  EXPECT_EQ((*first)[0].value, "sealed-1") << "as stored";
  EXPECT_EQ((*first)[2].lookup_key, 1003) << "the stored key";
  auto rest = rekey.IdentifiersAfter(IdentifierId(3), 3);
  ASSERT_OK(rest);
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[1].id, IdentifierId(5));
  EXPECT_TRUE(rekey.IdentifiersAfter(IdentifierId(5), 3)->empty());
  InTxn([&](Transaction& t) {
    std::vector<IdentifierRecord> moved{(*first)[1], (*rest)[0]};
    moved[0].lookup_key = 2002;
    moved[1].lookup_key = 2004;
    moved.push_back(IdentifierRecord{IdentifierId(99), "phone", "x", CustomerId(1), false, 0, 1, "m"});
    moved.back().lookup_key = 2099;  // unknown id: skipped
    ASSERT_OK(rekey.SetIdentifierKeys(t, moved));
  });
  auto& identity = repo<IdentityRepository>();
  ASSERT_EQ(identity.FindIdentifiersByKey("phone", 2002)->size(), 1u);
  EXPECT_EQ((*identity.FindIdentifiersByKey("phone", 2002))[0].id, IdentifierId(2));
  EXPECT_TRUE(identity.FindIdentifiersByKey("phone", 1002)->empty()) << "the old key is gone";
  EXPECT_EQ(identity.FindIdentifiersByKey("phone", 1001)->size(), 1u) << "others keep theirs";
  EXPECT_TRUE(identity.FindIdentifiersByKey("phone", 2099)->empty());

  // Cells: outbox payloads, attachment bytes, TOTP secrets (users without one are not listed).
  InTxn([&](Transaction& t) {
    ASSERT_OK(repo<OutboxRepository>().Enqueue(t, Webhook("k1")).status());
    ASSERT_OK(repo<OutboxRepository>().Enqueue(t, Webhook("k2")).status());
    AttachmentRecord a{"ab01", "image/png", 4, std::string("\x00\x01\xff\x02", 4), 5};
    ASSERT_OK(repo<ChannelRepository>().PutAttachment(t, a));
    AttachmentRecord b{"0f", "image/png", 2, "zz", 5};
    ASSERT_OK(repo<ChannelRepository>().PutAttachment(t, b));
  });
  auto& users = repo<UserRepository>();
  UserRecord with = User("tina@example.com", "agent");
  with.totp_secret = "tpe1:secret";
  ASSERT_OK(users.Create(with).status());
  ASSERT_OK(users.Create(User("otto@example.com", "agent")).status());

  auto payloads = rekey.CellsAfter(SealedColumn::kOutboxPayload, "", 1);
  ASSERT_OK(payloads);
  ASSERT_EQ(payloads->size(), 1u);
  EXPECT_EQ((*payloads)[0].row, "k1");
  EXPECT_EQ((*payloads)[0].value, Webhook("k1").payload);
  auto next = rekey.CellsAfter(SealedColumn::kOutboxPayload, (*payloads)[0].key, 5);
  ASSERT_OK(next);
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].row, "k2");
  auto files = rekey.CellsAfter(SealedColumn::kAttachmentData, "", 5);
  ASSERT_OK(files);
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].key, "0f") << "byte order";
  EXPECT_EQ((*files)[1].value, std::string("\x00\x01\xff\x02", 4)) << "bytes as stored";
  EXPECT_EQ(rekey.CellsAfter(SealedColumn::kAttachmentData, "0f", 5)->size(), 1u);
  auto secrets = rekey.CellsAfter(SealedColumn::kUserTotpSecret, "", 5);
  ASSERT_OK(secrets);
  ASSERT_EQ(secrets->size(), 1u);
  EXPECT_EQ((*secrets)[0].row, "tina@example.com");
  EXPECT_EQ((*secrets)[0].value, "tpe1:secret");

  InTxn([&](Transaction& t) {
    std::vector<SealedCellUpdate> p{{(*payloads)[0].key, (*payloads)[0].value, "tpe1:new-k1"},
                                    {(*next)[0].key, "not what is stored", "tpe1:new-k2"}};
    auto n = rekey.ReplaceCells(t, SealedColumn::kOutboxPayload, p);
    ASSERT_OK(n);
    EXPECT_EQ(*n, 1) << "only where the value read is still there";
    std::vector<SealedCellUpdate> f{{(*files)[1].key, (*files)[1].value, std::string("\x03\x00\xfe", 3)}};
    EXPECT_EQ(*rekey.ReplaceCells(t, SealedColumn::kAttachmentData, f), 1);
    std::vector<SealedCellUpdate> u{{(*secrets)[0].key, "tpe1:secret", "tpe1:secret-v2"}};
    EXPECT_EQ(*rekey.ReplaceCells(t, SealedColumn::kUserTotpSecret, u), 1);
  });
  Reopen();
  auto& again = repo<RekeyRepository>();
  auto p2 = again.CellsAfter(SealedColumn::kOutboxPayload, "", 5);
  ASSERT_OK(p2);
  ASSERT_EQ(p2->size(), 2u);
  EXPECT_EQ((*p2)[0].value, "tpe1:new-k1");
  EXPECT_EQ((*p2)[1].value, Webhook("k2").payload);
  EXPECT_EQ((*again.CellsAfter(SealedColumn::kAttachmentData, "0f", 5))[0].value, std::string("\x03\x00\xfe", 3));
  EXPECT_EQ((*again.CellsAfter(SealedColumn::kUserTotpSecret, "", 5))[0].value, "tpe1:secret-v2");
  EXPECT_EQ((*repo<IdentityRepository>().FindIdentifiersByKey("phone", 2004))[0].id, IdentifierId(4));
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest, kContractBackends, BackendName);

TEST(StoreOpenTest, UnknownSchemesAndMissingDatabasesAreClearErrorsWithoutPasswords) {
  auto unknown = Open("mysql://app:s3cret@db.example.com/cx");
  EXPECT_THAT(unknown.status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_NE(unknown.status().message().find("mysql://app:***@db.example.com/cx"), std::string::npos)
      << unknown.status().message();
  EXPECT_EQ(unknown.status().message().find("s3cret"), std::string::npos);
  auto pg = Open("postgresql://app:s3cret@localhost/cx");
  EXPECT_FALSE(pg.ok());
  EXPECT_EQ(pg.status().message().find("s3cret"), std::string::npos);
  EXPECT_THAT(Open("sqlite://").status(), StatusIs(StatusCode::kInvalidArgument));
  ::touchpoint::testing::TempDir tmp;
  OpenOptions ro;
  ro.read_only = true;
  EXPECT_THAT(Open("sqlite://" + tmp.File("none.db"), ro).status(), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_EQ(RedactUrl("postgresql://u:pw@h:5432/db?sslmode=require"), "postgresql://u:***@h:5432/db?sslmode=require");
  EXPECT_EQ(RedactUrl("sqlite:///var/lib/tp.db"), "sqlite:///var/lib/tp.db");
  EXPECT_EQ(UrlForDataDir("/data"), "sqlite:///data/touchpoint.db");
}

TEST(StoreOpenTest, ASecondWriterOfOneSqliteDatabaseIsToldWhoHoldsIt) {
  ::touchpoint::testing::TempDir tmp;
  OpenOptions w;
  w.purpose = "touchpoint serve";
  auto first = Open(UrlForDataDir(tmp.path()), w);
  ASSERT_OK(first.status());
  w.purpose = "touchpoint ingest";
  auto second = Open(UrlForDataDir(tmp.path()), w);
  EXPECT_THAT(second.status(), StatusIs(StatusCode::kUnavailable));
  EXPECT_NE(second.status().message().find("touchpoint serve"), std::string::npos) << second.status().message();
  OpenOptions ro_opts;
  ro_opts.read_only = true;
  auto reader = Open(UrlForDataDir(tmp.path()), ro_opts);
  EXPECT_OK(reader.status()) << "readers never need the writer lock";
  first->reset();
  EXPECT_OK(Open(UrlForDataDir(tmp.path()), w).status()) << "released when the first writer closes";
}

// ---- store/cluster.h: run for every backend whose store has a cluster() (memory, PostgreSQL) ----

class ClusterContractTest : public StoreContractTest {
 protected:
  void SetUp() override {
    StoreContractTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (s().cluster() == nullptr) GTEST_SKIP() << GetParam() << " has no cluster(): a single-node backend";
    // Ids unique to this test: a shared PostgreSQL database keeps other runs' rows.
    prefix_ = std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "-";
  }
  Cluster& c() { return *s().cluster(); }
  std::unique_ptr<Store> OpenFenced(std::int64_t epoch) {
    OpenOptions o;
    o.purpose = "contract test";
    o.fence_epoch = epoch;
    auto st = Open(url_, o);
    EXPECT_OK(st);
    return st.ok() ? std::move(*st) : nullptr;
  }
  // Ends the session of the lease held now (a crashed or cut-off writer).
  void EndLeaseSession() {
    if (GetParam() == "memory") {
      memory::ExpireLeases(url_.substr(std::string("memory:").size()));
    } else if (GetParam() == "postgres") {
      // The session holding the writer lock: the only session-level advisory lock in the database.
      ASSERT_OK(pg_->Exec("SELECT pg_terminate_backend(l.pid, 5000) FROM pg_locks l WHERE l.locktype = 'advisory' "
                          "AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = "
                          "current_database())"));
    } else {
      FAIL() << "no way to end a lease's session on " << GetParam();
    }
  }
  std::unique_ptr<WriterLease> Acquire(Cluster& cluster, const std::string& node) {
    auto lease = cluster.TryAcquire(prefix_ + node);
    EXPECT_OK(lease);
    return lease.ok() ? std::move(*lease) : nullptr;
  }
  std::string prefix_;
};

TEST_P(ClusterContractTest, OneWriterAtATimeAndTheLockIsFreedWithTheLease) {
  auto other = OpenStore();
  ASSERT_NE(other, nullptr);
  ASSERT_NE(other->cluster(), nullptr);
  auto a = Acquire(c(), "a");
  ASSERT_NE(a, nullptr) << "nobody holds the lock: the first node gets it";
  EXPECT_EQ(Acquire(*other->cluster(), "b"), nullptr) << "held by a";
  EXPECT_EQ(Acquire(c(), "a2"), nullptr) << "held, also for another caller on the same store";
  const std::int64_t epoch_a = a->epoch();
  a.reset();  // a leaves: the lock is free
  auto b = Acquire(*other->cluster(), "b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->epoch(), epoch_a + 1);
}

TEST_P(ClusterContractTest, TwoNodesRacingForTheLockGetOneWinner) {
  auto other = OpenStore();
  ASSERT_NE(other, nullptr);
  for (int round = 0; round < 20; ++round) {
    std::atomic<bool> go{false};
    std::unique_ptr<WriterLease> a, b;
    std::thread ta([&] {
      while (!go.load()) std::this_thread::yield();
      a = Acquire(c(), "a");
    });
    std::thread tb([&] {
      while (!go.load()) std::this_thread::yield();
      b = Acquire(*other->cluster(), "b");
    });
    go = true;
    ta.join();
    tb.join();
    ASSERT_EQ((a != nullptr) + (b != nullptr), 1) << "round " << round;
  }
}

TEST_P(ClusterContractTest, EachElectionIncrementsTheEpoch) {
  auto before = c().CurrentEpoch();
  ASSERT_OK(before);
  for (int i = 1; i <= 3; ++i) {
    auto lease = Acquire(c(), "n");
    ASSERT_NE(lease, nullptr);
    EXPECT_EQ(lease->epoch(), *before + i);
    EXPECT_EQ(*c().CurrentEpoch(), *before + i);
    EXPECT_OK(lease->Check());
  }
}

TEST_P(ClusterContractTest, AWriterFencedAtAnOldEpochCannotBeginAfterANewElection) {
  auto a = Acquire(c(), "a");
  ASSERT_NE(a, nullptr);
  auto writer = OpenFenced(a->epoch());
  ASSERT_NE(writer, nullptr);
  std::vector<EventRecord> events{Event(0)};
  {
    auto txn = writer->Begin();
    ASSERT_OK(txn) << "fenced at the current epoch: writes";
    ASSERT_OK(writer->Get<EventLog>().Append(**txn, events));
    ASSERT_OK((*txn)->Commit());
  }
  a.reset();
  auto b = Acquire(c(), "b");  // a new election while the old writer's store is still open
  ASSERT_NE(b, nullptr);
  auto refused = writer->Begin();
  EXPECT_THAT(refused.status(), StatusIs(StatusCode::kFailedPrecondition)) << "store/open.h: Begin() fails";
  EXPECT_NE(refused.status().message().find("fenced"), std::string::npos) << refused.status().message();
  if (refused.ok()) {  // then at least its commit must fail
    std::vector<EventRecord> more{Event(1)};
    ASSERT_OK(writer->Get<EventLog>().Append(**refused, more));
    EXPECT_THAT((*refused)->Commit(), StatusIs(StatusCode::kFailedPrecondition));
  }
  EXPECT_EQ(*repo<EventLog>().Count(), 1) << "nothing more was written";
  auto current = OpenFenced(b->epoch());
  ASSERT_NE(current, nullptr);
  EXPECT_OK(current->Begin().status()) << "the new writer writes";
}

TEST_P(ClusterContractTest, ALeaseCheckFailsOnceItsSessionEndsAndAfterANewElection) {
  auto a = Acquire(c(), "a");
  ASSERT_NE(a, nullptr);
  EXPECT_OK(a->Check());
  EndLeaseSession();
  EXPECT_THAT(a->Check(), StatusIs(StatusCode::kUnavailable)) << "the lock's session is gone";
  auto b = Acquire(c(), "b");
  ASSERT_NE(b, nullptr) << "the lock is free once the holder's session ended";
  EXPECT_EQ(b->epoch(), a->epoch() + 1);
  // kFailedPrecondition (fenced) or kUnavailable (the session is gone): the holder stops either way.
  EXPECT_FALSE(a->Check().ok()) << "another node was elected";
  EXPECT_OK(b->Check());
  a.reset();  // the stale lease going away must not free b's lock
  EXPECT_OK(b->Check());
  EXPECT_EQ(Acquire(c(), "c"), nullptr);
}

TEST_P(ClusterContractTest, NodeRegistryKeepsOneRowPerNodeUntilItLeaves) {
  NodeRecord a{prefix_ + "a", "127.0.0.1:8081", "writer", 7, 0};
  NodeRecord b{prefix_ + "b", "127.0.0.1:8082", "follower", 0, 0};
  ASSERT_OK(c().Heartbeat(a));
  ASSERT_OK(c().Heartbeat(b));
  const auto ours = [&] {
    std::vector<NodeRecord> out;
    auto all = c().Nodes();
    EXPECT_OK(all);
    if (all.ok()) {
      for (auto& n : *all) {
        if (n.id.rfind(prefix_, 0) == 0) out.push_back(n);
      }
    }
    return out;
  };
  auto nodes = ours();
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].id, a.id) << "by id";
  EXPECT_EQ(nodes[0].address, a.address);
  EXPECT_EQ(nodes[0].role, "writer");
  EXPECT_EQ(nodes[0].epoch, 7);
  EXPECT_GT(nodes[0].heartbeat_at, 0) << "stamped by the store";
  EXPECT_EQ(nodes[1].role, "follower");
  a.role = "follower";
  a.epoch = 0;
  ASSERT_OK(c().Heartbeat(a));  // replaces the row
  nodes = ours();
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].role, "follower");
  EXPECT_EQ(nodes[0].epoch, 0);
  ASSERT_OK(c().Leave(a.id));
  nodes = ours();
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].id, b.id);
  ASSERT_OK(c().Leave(b.id));
  EXPECT_TRUE(ours().empty());
}

TEST_P(ClusterContractTest, TheChangePointAdvancesWithCommitsThatAppendEvents) {
  auto before = c().Committed();
  ASSERT_OK(before);
  std::vector<EventRecord> events{Event(0), Event(1)};
  InTxn([&](Transaction& t) { ASSERT_OK(repo<EventLog>().Append(t, events)); });
  auto after = c().Committed();
  ASSERT_OK(after);
  EXPECT_EQ(after->seq, *repo<EventLog>().LastSeq()) << "every event up to it is committed";
  EXPECT_GT(after->seq, before->seq);
  EXPECT_GT(after->committed_at, 0);
  auto seen = c().WaitForChange(before->seq, std::chrono::seconds(10));
  ASSERT_OK(seen);
  EXPECT_EQ(seen->seq, after->seq) << "already past after_seq: returns at once";

  // A commit without events announces nothing: the wait times out with the same point.
  InTxn([&](Transaction& t) { ASSERT_OK(repo<EventLog>().RaiseNewestEventAt(t, 1'800'000'000'000)); });
  auto same = c().WaitForChange(after->seq, std::chrono::milliseconds(50));
  ASSERT_OK(same);
  EXPECT_EQ(same->seq, after->seq);
}

TEST_P(ClusterContractTest, AWaiterWakesWhenAnotherConnectionCommits) {
  auto start = c().Committed();
  ASSERT_OK(start);
  auto follower = OpenStore(/*read_only=*/true);
  ASSERT_NE(follower, nullptr);
  ASSERT_NE(follower->cluster(), nullptr) << "a read-only store follows the change sequence too";
  Result<ChangePoint> seen = ChangePoint{};
  std::chrono::steady_clock::duration waited{};
  std::thread waiter([&] {
    const auto t0 = std::chrono::steady_clock::now();
    seen = follower->cluster()->WaitForChange(start->seq, std::chrono::seconds(30));
    waited = std::chrono::steady_clock::now() - t0;
  });
  std::vector<EventRecord> events{Event(0)};
  InTxn([&](Transaction& t) { ASSERT_OK(repo<EventLog>().Append(t, events)); });
  waiter.join();
  ASSERT_OK(seen);
  EXPECT_EQ(seen->seq, *repo<EventLog>().LastSeq());
  EXPECT_LT(waited, std::chrono::seconds(30)) << "woken by the commit, not by the timeout";
}

// The memory backend re-checks the epoch at Commit: a transaction begun before an election
// cannot commit after it. (PostgreSQL serialises the check with the election instead.)
TEST(MemoryClusterTest, ATransactionBegunBeforeAnElectionCannotCommitAfterIt) {
  const std::string name = "cluster-commit-fence";
  auto control = memory::OpenShared(name);
  auto a = control->cluster()->TryAcquire("a");
  ASSERT_OK(a);
  ASSERT_NE(*a, nullptr);
  auto writer = memory::OpenShared(name, false, (*a)->epoch());
  auto txn = writer->Begin();
  ASSERT_OK(txn);
  std::vector<EventRecord> events{Event(0)};
  ASSERT_OK(writer->Get<EventLog>().Append(**txn, events));
  memory::ExpireLeases(name);
  auto b = control->cluster()->TryAcquire("b");
  ASSERT_OK(b);
  ASSERT_NE(*b, nullptr);
  EXPECT_THAT((*txn)->Commit(), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_EQ(*control->Get<EventLog>().Count(), 0);
  EXPECT_EQ(control->cluster()->Committed()->seq, 0) << "nothing announced";
  EXPECT_EQ(memory::OpenShared("cluster-unnamed-check", true)->read_only(), true);
  EXPECT_EQ(memory::Open()->cluster(), nullptr) << "a private store has no other nodes";
}

INSTANTIATE_TEST_SUITE_P(Backends, ClusterContractTest, kContractBackends, BackendName);

}  // namespace
}  // namespace touchpoint::store

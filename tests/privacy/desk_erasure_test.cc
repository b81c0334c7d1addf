// The service desk's personal texts under encryption at rest, and what an erasure leaves of them
// (store/erasure_repository.h, privacy/encrypted_store.h; docs/service-desk.md "Erasure"), on
// every backend — memory, SQLite, PostgreSQL (ctest's `pg` fixture, a fresh database per case) —
// both on a clear store and through the encryption layer:
//   - what the layer stores of ticket texts, CSAT comments, attachment names and bytes and custom
//     field values is sealed, and the search index holds keyed tokens only;
//   - an erasure deletes the person's consents and de-identifies their tickets: texts read
//     [erased], numbers, statuses, times, tags and scores stay, another person's are untouched;
//   - destroying the person's keys alone (an old copy of the data) reads their texts as [erased].
#include <array>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <touchpoint/privacy/encrypted_store.h>
#include <touchpoint/store/channel_repository.h>
#include <touchpoint/store/consent_repository.h>
#include <touchpoint/store/deskflow_repository.h>
#include <touchpoint/store/erasure_repository.h>
#include <touchpoint/store/memory.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/outbox_repository.h>
#include <touchpoint/store/ticket_repository.h>

#include "pipeline/test_dir.h"
#include "testing/matchers.h"
#include "testing/pg.h"

namespace touchpoint::privacy {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using store::kErasedText;

MasterKey KeyOf(unsigned char fill) {
  std::array<unsigned char, kMasterKeyBytes> bytes{};
  bytes.fill(fill);
  return MasterKey::FromBytes(bytes);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Texts of the person (customers 5 and 6, one person) and of someone else (customer 7).
constexpr char kSubject5[] = "ZQX-FIVE card blocked";
constexpr char kText5[] = "ZQX-FIVE my card 6222000011112222 is blocked";
constexpr char kReply5[] = "ZQX-FIVE-REPLY we unblocked it";
constexpr char kSubject6[] = "ZQX-SIX refund";
constexpr char kSubject7[] = "ZQX-SEVEN invoice";
constexpr char kText7[] = "ZQX-SEVEN where is my invoice";
constexpr char kComment5[] = "ZQX-FIVE-COMMENT thanks";
constexpr char kComment7[] = "ZQX-SEVEN-COMMENT thanks";
constexpr char kField5[] = "ZQX-FIVE-ORDER-555";
constexpr char kField7[] = "ZQX-SEVEN-ORDER-777";
constexpr char kFile5[] = "ZQX-FIVE-passport.jpg";
constexpr char kFileBytes5[] = "ZQX-FIVE-FILE-BYTES \x01\x02\xff";
constexpr char kFileBytesShared[] = "ZQX-SHARED-FILE-BYTES";
constexpr std::int64_t kSharedSize = static_cast<std::int64_t>(sizeof(kFileBytesShared) - 1);

store::TicketRecord Ticket(std::int64_t number, std::int64_t customer, std::string subject) {
  store::TicketRecord t;
  t.number = number;
  t.customer = CustomerId(customer);
  t.status = "open";
  t.priority = "high";
  t.type = "complaint";
  t.channel = "email";
  t.skill = "cards";
  t.language = "zh";
  t.queue = "general";
  t.assignee = 3;
  t.subject = std::move(subject);
  t.created_at = 1'700'000'000'000 + number;
  t.updated_at = t.created_at + 5;
  t.last_message_at = t.created_at + 5;
  return t;
}

store::TicketMessageRecord Message(std::int64_t ticket, Millis at, std::string author, std::string text,
                                   std::string key) {
  store::TicketMessageRecord m;
  m.ticket = ticket;
  m.at = at;
  m.author = std::move(author);
  m.agent = m.author == "agent" ? 3 : 0;
  m.channel = "email";
  m.text = std::move(text);
  m.message_id = std::move(key);
  m.sentiment_label = "negative";
  m.intent = "card_blocked";
  return m;
}

store::ConsentRecord Consent(std::int64_t customer, std::string value, Millis at) {
  return store::ConsentRecord{0, CustomerId(customer), "marketing", "email", std::move(value), "api", "v3", at,
                              "key:abc"};
}

// (backend, encrypted)
class DeskErasureTest : public ::testing::TestWithParam<std::tuple<std::string, bool>> {
 protected:
  void SetUp() override {
    static int counter = 0;
    const std::string& backend = std::get<0>(GetParam());
    if (backend == "sqlite") {
      url_ = "sqlite://" + tmp_.File("desk.db");
    } else if (backend == "memory") {
      url_ = "memory:desk-erasure-" + std::to_string(counter++);
    } else {
      auto db = ::touchpoint::testing::PgDatabase::Create();
      if (!db.ok()) GTEST_SKIP() << db.status().message();
      pg_ = std::move(*db);
      url_ = pg_->url();
    }
    store::OpenOptions o;
    o.without_layer = true;
    auto raw = store::Open(url_, o);
    ASSERT_OK(raw);
    inner_ = raw->get();
    if (encrypted()) {
      ctx_ = std::make_shared<EncryptionContext>(master_,
                                                 std::make_unique<Keyring>(store::memory::Open(), master_));
      store_ = std::make_unique<EncryptedStore>(std::move(*raw), ctx_);
    } else {
      store_ = std::move(*raw);
    }
  }

  bool encrypted() const { return std::get<1>(GetParam()); }
  store::Store& s() { return *store_; }
  template <class R>
  R& repo() {
    return store_->Get<R>();
  }
  void InTxn(const std::function<void(store::Transaction&)>& fn) {
    auto txn = s().Begin();
    ASSERT_OK(txn);
    fn(**txn);
    ASSERT_OK((*txn)->Commit());
  }

  // Tickets 1 (customer 5), 2 (customer 6) and 3 (customer 7) with their texts, fields, tags,
  // tokens, attachments, surveys and channel messages; consents of 5, 6 and 7.
  void Populate() {
    InTxn([&](store::Transaction& t) {
      auto& tickets = repo<store::TicketRepository>();
      for (const auto& ticket : {Ticket(1, 5, kSubject5), Ticket(2, 6, kSubject6), Ticket(3, 7, kSubject7)}) {
        auto n = tickets.NextNumber(t);
        ASSERT_OK(n);
        ASSERT_OK(tickets.Create(t, ticket));
      }
      std::vector<store::TicketMessageRecord> messages{
          Message(1, 1'700'000'000'010, "customer", kText5, "m1"),
          Message(1, 1'700'000'000'020, "agent", kReply5, "m2"),
          Message(3, 1'700'000'000'030, "customer", kText7, "m3")};
      ASSERT_OK(tickets.AddMessages(t, messages));
      std::vector<store::TicketHistoryRecord> history{
          {0, 1, 1'700'000'000'015, "agent", "a@example.com", "status", "new", "open"}};
      ASSERT_OK(tickets.AddHistory(t, history));
      auto& flow = repo<store::DeskflowRepository>();
      ASSERT_OK(flow.SetField(t, 1, "order", kField5));
      ASSERT_OK(flow.SetField(t, 3, "order", kField7));
      ASSERT_OK(flow.AddTag(t, 1, "vip"));
      const std::vector<std::int64_t> tokens1{11, 12};
      const std::vector<std::int64_t> tokens3{12, 13};
      ASSERT_OK(flow.AddTokens(t, 1, tokens1));
      ASSERT_OK(flow.AddTokens(t, 3, tokens3));
      ASSERT_OK(flow.PutContact(t, store::TicketContactRecord{1, CustomerId(5), "card_blocked", "email",
                                                              1'700'000'000'001, 1, {}}));
      store::Delivery reply;
      reply.kind = store::DeliveryKind::kEmail;
      reply.target = "five@example.com";
      reply.event = "ticket.reply";
      reply.payload = std::string("To: <five@example.com>\r\n\r\n") + kReply5;
      reply.idempotency_key = "reply-1";
      reply.next_attempt_at = 1'700'000'000'020;
      auto id = repo<store::OutboxRepository>().Enqueue(t, reply);
      ASSERT_OK(id);
      delivery_ = *id;
      auto& channels = repo<store::ChannelRepository>();
      const std::string bytes5(kFileBytes5, sizeof(kFileBytes5) - 1);
      ASSERT_OK(channels.PutAttachment(t, store::AttachmentRecord{"hA", "image/jpeg",
                                                                  static_cast<std::int64_t>(bytes5.size()), bytes5,
                                                                  1000}));
      ASSERT_OK(channels.PutAttachment(t, store::AttachmentRecord{"hB", "application/pdf",
                                                                  kSharedSize, kFileBytesShared,
                                                                  1000}));
      std::vector<store::MessageAttachmentRecord> links{
          {1, "m1", "hA", kFile5, "image/jpeg", static_cast<std::int64_t>(bytes5.size())},
          {1, "m1", "hB", "terms.pdf", "application/pdf", kSharedSize},
          {3, "m3", "hB", "terms.pdf", "application/pdf", kSharedSize}};
      ASSERT_OK(channels.LinkAttachments(t, links));
      ASSERT_OK(channels.PutMessage(t, store::ChannelMessageRecord{"m1", 1, "in", "email", 0, "abc@five.example",
                                                                   1'700'000'000'010}));
      ASSERT_OK(channels.PutMessage(t, store::ChannelMessageRecord{"m2", 1, "out", "email", delivery_, "k2@desk.example",
                                                                   1'700'000'000'020}));
      ASSERT_OK(channels.PutMessage(t, store::ChannelMessageRecord{"m3", 3, "in", "email", 0,
                                                                   "xyz@seven.example", 1'700'000'000'030}));
      ASSERT_OK(channels.AddSurvey(t, store::CsatSurveyRecord{"s1", 1, "email", 0, 1'700'000'000'040, 0, 0, ""}));
      ASSERT_OK(channels.AddSurvey(t, store::CsatSurveyRecord{"s3", 3, "email", 0, 1'700'000'000'040, 0, 0, ""}));
      std::vector<store::ConsentRecord> consents{Consent(5, "opt_in", 100), Consent(6, "opt_out", 200),
                                                 Consent(7, "opt_in", 300)};
      ASSERT_OK(repo<store::ConsentRepository>().Add(t, consents));
    });
    InTxn([&](store::Transaction& t) {
      auto& channels = repo<store::ChannelRepository>();
      ASSERT_OK(channels.AnswerSurvey(t, "s1", 2, kComment5, 1'700'000'000'050));
      ASSERT_OK(channels.AnswerSurvey(t, "s3", 5, kComment7, 1'700'000'000'050));
    });
  }

  store::ErasureCounts ErasePerson() {
    store::ErasureCounts counts;
    const std::vector<CustomerId> person{CustomerId(5), CustomerId(6)};
    InTxn([&](store::Transaction& t) {
      auto erased = repo<store::ErasureRepository>().Erase(t, person);
      ASSERT_OK(erased);
      counts = *erased;
      if (ctx_ != nullptr) {
        ASSERT_OK(ctx_->keyring().Destroy(person));  // the shred callback's part
      }
    });
    EXPECT_OK(repo<store::ErasureRepository>().Scrub());
    return counts;
  }

  // Customer 7's desk data, whole.
  void ExpectSevenUntouched() {
    auto t3 = repo<store::TicketRepository>().Find(3);
    ASSERT_OK(t3);
    ASSERT_TRUE(t3->has_value());
    EXPECT_EQ((*t3)->subject, kSubject7);
    auto m3 = repo<store::TicketRepository>().Messages(3);
    ASSERT_OK(m3);
    ASSERT_EQ(m3->size(), 1u);
    EXPECT_EQ((*m3)[0].text, kText7);
    using P = std::pair<std::string, std::string>;
    EXPECT_THAT(*repo<store::DeskflowRepository>().Fields(3), ElementsAre(P{"order", kField7}));
    EXPECT_THAT(*repo<store::DeskflowRepository>().TicketsWithToken(13, 0, 10), ElementsAre(3));
    auto s3 = repo<store::ChannelRepository>().FindSurvey("s3");
    ASSERT_OK(s3);
    EXPECT_EQ((*s3)->comment, kComment7);
    auto links = repo<store::ChannelRepository>().MessageAttachments("m3");
    ASSERT_OK(links);
    ASSERT_EQ(links->size(), 1u);
    auto shared = repo<store::ChannelRepository>().FindAttachment("hB");
    ASSERT_OK(shared);
    ASSERT_TRUE(shared->has_value()) << "a file another ticket links stays";
    EXPECT_EQ((*shared)->data, kFileBytesShared);
    EXPECT_EQ((*repo<store::ChannelRepository>().FindByMailId("xyz@seven.example"))->ticket, 3);
    auto seven = repo<store::ConsentRepository>().ForCustomers(std::vector<CustomerId>{CustomerId(7)});
    ASSERT_OK(seven);
    ASSERT_EQ(seven->size(), 1u);
    EXPECT_EQ((*seven)[0].value, "opt_in");
    EXPECT_EQ((*seven)[0].wording_version, "v3");
  }

  ::touchpoint::testing::TempDir tmp_;
  std::unique_ptr<::touchpoint::testing::PgDatabase> pg_;  // dropped after the stores close
  std::string url_;
  MasterKey master_ = KeyOf(7);
  std::shared_ptr<EncryptionContext> ctx_;
  store::Store* inner_ = nullptr;  // the backend's store (owned by store_ when encrypted)
  std::unique_ptr<store::Store> store_;
  std::int64_t delivery_ = 0;  // the reply e-mail queued for customer 5
};

TEST_P(DeskErasureTest, DeskTextsReadBackAndAreSealedInTheStoreWhenEncrypted) {
  Populate();
  ExpectSevenUntouched();
  auto t1 = repo<store::TicketRepository>().Find(1);
  ASSERT_OK(t1);
  EXPECT_EQ((*t1)->subject, kSubject5);
  EXPECT_EQ((*repo<store::ChannelRepository>().FindSurvey("s1"))->comment, kComment5);
  auto a = repo<store::ChannelRepository>().FindAttachment("hA");
  ASSERT_OK(a);
  EXPECT_EQ((*a)->data, std::string(kFileBytes5, sizeof(kFileBytes5) - 1)) << "bytes round-trip";
  auto links = repo<store::ChannelRepository>().MessageAttachments("m1");
  ASSERT_OK(links);
  ASSERT_EQ(links->size(), 2u);
  EXPECT_EQ((*links)[0].filename, kFile5);
  EXPECT_THAT(*repo<store::DeskflowRepository>().TicketsWithToken(11, 0, 10), ElementsAre(1));
  EXPECT_THAT(*repo<store::DeskflowRepository>().TicketsWithToken(12, 0, 10), ElementsAre(3, 1));
  auto queued = repo<store::OutboxRepository>().Find(delivery_);
  ASSERT_OK(queued);
  ASSERT_TRUE(queued->has_value());
  EXPECT_NE((*queued)->payload.find(kReply5), std::string::npos);
  if (!encrypted()) return;

  // What the backend holds: no clear text, and no token a word's unkeyed hash would find.
  auto raw_ticket = inner_->Get<store::TicketRepository>().Find(1);
  ASSERT_OK(raw_ticket);
  EXPECT_EQ((*raw_ticket)->subject.find("ZQX"), std::string::npos);
  EXPECT_EQ((*raw_ticket)->status, "open") << "statuses stay clear";
  auto raw_messages = inner_->Get<store::TicketRepository>().Messages(1);
  ASSERT_OK(raw_messages);
  for (const auto& m : *raw_messages) EXPECT_EQ(m.text.find("ZQX"), std::string::npos);
  auto& raw_channels = inner_->Get<store::ChannelRepository>();
  EXPECT_EQ((*raw_channels.FindSurvey("s1"))->comment.find("ZQX"), std::string::npos);
  EXPECT_EQ((*raw_channels.FindSurvey("s1"))->score, 2) << "scores stay clear";
  EXPECT_EQ((*raw_channels.FindAttachment("hA"))->data.find("ZQX"), std::string::npos);
  auto raw_links = raw_channels.MessageAttachments("m1");
  ASSERT_OK(raw_links);
  for (const auto& l : *raw_links) EXPECT_EQ(l.filename.find("ZQX"), std::string::npos);
  auto& raw_flow = inner_->Get<store::DeskflowRepository>();
  auto raw_fields = raw_flow.Fields(1);
  ASSERT_OK(raw_fields);
  ASSERT_EQ(raw_fields->size(), 1u);
  for (const auto& [name, value] : *raw_fields) {
    EXPECT_EQ(name, "order");
    EXPECT_EQ(value.find("ZQX"), std::string::npos);
  }
  EXPECT_THAT(*raw_flow.TicketsWithToken(11, 0, 10), IsEmpty()) << "the index holds keyed tokens only";
  EXPECT_THAT(*raw_flow.TicketsWithToken(12, 0, 10), IsEmpty());
  EXPECT_THAT(*raw_flow.Tags(1), ElementsAre("vip"));
  auto raw_queued = inner_->Get<store::OutboxRepository>().Find(delivery_);
  ASSERT_OK(raw_queued);
  EXPECT_EQ((*raw_queued)->payload.find("ZQX"), std::string::npos) << "a queued e-mail's text is sealed";
  EXPECT_EQ((*raw_queued)->target, "five@example.com") << "the envelope recipient stays clear (claims)";
  auto raw_consents = inner_->Get<store::ConsentRepository>().ForCustomers(std::vector<CustomerId>{CustomerId(5)});
  ASSERT_OK(raw_consents);
  ASSERT_EQ(raw_consents->size(), 1u);
  EXPECT_NE((*raw_consents)[0].value, "opt_in");
}

TEST_P(DeskErasureTest, AnErasureDeletesConsentsAndDeIdentifiesTicketsKeepingWhatTheKpisCount) {
  Populate();
  auto before = repo<store::TicketRepository>().Find(1);
  ASSERT_OK(before);
  const store::TicketRecord t1_before = **before;
  const store::ErasureCounts counts = ErasePerson();
  EXPECT_EQ(counts.consents, 2);
  EXPECT_EQ(counts.tickets, 2);
  EXPECT_EQ(counts.ticket_messages, 2);
  EXPECT_EQ(counts.ticket_fields, 1);
  EXPECT_EQ(counts.attachments, 2);
  EXPECT_EQ(counts.deliveries, 1) << "the reply e-mail still queued for them";

  for (std::int64_t n : {1, 2}) {
    auto t = repo<store::TicketRepository>().Find(n);
    ASSERT_OK(t);
    ASSERT_TRUE(t->has_value()) << "the ticket stays for the statistics";
    EXPECT_EQ((*t)->subject, kErasedText);
  }
  // What the KPIs count is whole: status, times, queue, assignee, priority, type, the customer
  // number; the version moved on (a desk holding the old row cannot write its texts back).
  store::TicketRecord t1 = **repo<store::TicketRepository>().Find(1);
  EXPECT_EQ(t1.version, t1_before.version + 1);
  store::TicketRecord expected = t1_before;
  expected.subject = kErasedText;
  expected.version = t1.version;
  EXPECT_EQ(t1, expected);
  // The desk can still change a de-identified ticket (an erased person gets no new data key).
  InTxn([&](store::Transaction& t) {
    store::TicketRecord closed = t1;
    closed.status = "closed";
    ASSERT_OK(repo<store::TicketRepository>().Update(t, closed, t1.version));
  });
  EXPECT_EQ((*repo<store::TicketRepository>().Find(1))->status, "closed");
  EXPECT_EQ((*repo<store::TicketRepository>().Find(1))->subject, kErasedText);
  auto messages = repo<store::TicketRepository>().Messages(1);
  ASSERT_OK(messages);
  ASSERT_EQ(messages->size(), 2u);
  EXPECT_EQ((*messages)[0].text, kErasedText);
  EXPECT_EQ((*messages)[1].text, kErasedText);
  EXPECT_EQ((*messages)[0].author, "customer");
  EXPECT_EQ((*messages)[1].at, 1'700'000'000'020);
  EXPECT_EQ((*messages)[0].intent, "card_blocked");
  EXPECT_EQ(repo<store::TicketRepository>().History(1)->size(), 1u);
  auto& flow = repo<store::DeskflowRepository>();
  EXPECT_THAT(*flow.Fields(1), IsEmpty());
  EXPECT_THAT(*flow.Tags(1), ElementsAre("vip"));
  EXPECT_THAT(*flow.TicketsWithToken(11, 0, 10), IsEmpty());
  EXPECT_THAT(*flow.TicketsWithToken(12, 0, 10), ElementsAre(3));
  auto contact = flow.FindContact(1);
  ASSERT_OK(contact);
  EXPECT_TRUE(contact->has_value()) << "the repeat-inquiry row counts for the KPIs";
  auto& channels = repo<store::ChannelRepository>();
  auto s1 = channels.FindSurvey("s1");
  ASSERT_OK(s1);
  EXPECT_EQ((*s1)->comment, kErasedText);
  EXPECT_EQ((*s1)->score, 2) << "the CSAT score stays";
  EXPECT_THAT(*channels.MessageAttachments("m1"), IsEmpty());
  EXPECT_FALSE(channels.FindAttachment("hA")->has_value()) << "a file only their messages linked goes";
  EXPECT_FALSE(channels.FindByMailId("abc@five.example")->has_value());
  auto m1 = channels.FindMessage("m1");
  ASSERT_OK(m1);
  ASSERT_TRUE(m1->has_value());
  EXPECT_EQ((*m1)->mail_id, "");
  EXPECT_FALSE(repo<store::OutboxRepository>().Find(delivery_)->has_value());
  auto& consents = repo<store::ConsentRepository>();
  EXPECT_THAT(*consents.ForCustomers(std::vector<CustomerId>{CustomerId(5), CustomerId(6)}), IsEmpty());
  EXPECT_EQ(*consents.Count(), 1);
  ExpectSevenUntouched();
  // Consent ids are not handed out again after records were deleted.
  auto recorded = consents.Record(std::vector<store::ConsentRecord>{Consent(7, "opt_out", 400)});
  ASSERT_OK(recorded);
  EXPECT_GT((*recorded)[0].id, 3);
  // An erasure of the same person again finds nothing more to do on the desk.
  InTxn([&](store::Transaction& t) {
    auto again = repo<store::ErasureRepository>().Erase(t, std::vector<CustomerId>{CustomerId(5), CustomerId(6)});
    ASSERT_OK(again);
    EXPECT_EQ(again->consents, 0);
    EXPECT_EQ(again->ticket_fields, 0);
    EXPECT_EQ(again->attachments, 0);
    EXPECT_EQ(again->deliveries, 0);
  });

  if (std::get<0>(GetParam()) == "sqlite") {
    // The raw bytes of the data: none of the person's desk texts (secure_delete, WAL truncated).
    store_.reset();
    std::string bytes = Slurp(tmp_.File("desk.db"));
    bytes += Slurp(tmp_.File("desk.db") + "-wal");
    for (const char* v : {kSubject5, kText5, kReply5, kSubject6, kComment5, kField5, kFile5, "abc@five.example"}) {
      EXPECT_EQ(bytes.find(v), std::string::npos) << v;
    }
    EXPECT_EQ(bytes.find("ZQX-FIVE-FILE-BYTES"), std::string::npos);
    if (!encrypted()) {
      EXPECT_NE(bytes.find(kText7), std::string::npos) << "the other person's text is there";
    }
  }
}

TEST_P(DeskErasureTest, DestroyedKeysAloneReadAsErasedAsAnOldCopyWould) {
  if (!encrypted()) GTEST_SKIP() << "crypto-shredding needs encryption at rest";
  Populate();
  // No erasure of the rows: the person's keys go, as in a backup taken before the erasure.
  ASSERT_OK(ctx_->keyring().Destroy(std::vector<CustomerId>{CustomerId(5), CustomerId(6)}));
  EXPECT_EQ((*repo<store::TicketRepository>().Find(1))->subject, kErasedText);
  EXPECT_EQ((*repo<store::TicketRepository>().Find(2))->subject, kErasedText);
  auto texts = repo<store::TicketRepository>().Messages(1);
  ASSERT_OK(texts);
  for (const auto& m : *texts) EXPECT_EQ(m.text, kErasedText);
  EXPECT_EQ((*repo<store::ChannelRepository>().FindSurvey("s1"))->comment, kErasedText);
  using P = std::pair<std::string, std::string>;
  EXPECT_THAT(*repo<store::DeskflowRepository>().Fields(1), ElementsAre(P{"order", kErasedText}));
  auto links = repo<store::ChannelRepository>().MessageAttachments("m1");
  ASSERT_OK(links);
  ASSERT_EQ(links->size(), 2u);
  EXPECT_EQ((*links)[0].filename, kErasedText);
  EXPECT_THAT(*repo<store::ConsentRepository>().ForCustomers(std::vector<CustomerId>{CustomerId(5)}), IsEmpty());
  ExpectSevenUntouched();
}

INSTANTIATE_TEST_SUITE_P(Backends, DeskErasureTest,
                         ::testing::Combine(::testing::Values("memory", "sqlite", "postgres"), ::testing::Bool()),
                         [](const ::testing::TestParamInfo<std::tuple<std::string, bool>>& p) {
                           return std::get<0>(p.param) + (std::get<1>(p.param) ? "_encrypted" : "_clear");
                         });

}  // namespace
}  // namespace touchpoint::privacy

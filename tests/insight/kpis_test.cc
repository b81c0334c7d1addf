// The desk's spans stored once and the service KPIs over them (insight/kpi_facts.h, kpis.h),
// through the real desk over a memory store with a fake clock: a small history computed by hand —
// a reopen, a bot hand-off, a pause with its reason, a reply across a weekend on the cn business
// calendar — gives exactly the stored spans and the figures below; a rebuild from the history
// gives the same facts; bad parameters are named; an empty group has count 0 and no mean.
#include <touchpoint/insight/kpis.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/calendar/calendar_file.h>
#include <touchpoint/insight/kpi_facts.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/service/repeats.h>
#include <touchpoint/service/sla.h>
#include <touchpoint/store/memory.h>

#include "testing/matchers.h"

namespace touchpoint::insight {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::testing::StatusIs;
using json = nlohmann::json;

// 2026-03-02 (Monday) 09:00 Asia/Shanghai = 01:00Z.
constexpr Millis kT0 = 1'772'413'200'000;
constexpr Millis kMin = 60'000;
constexpr Millis kHour = 3'600'000;
constexpr Millis kDay = 86'400'000;

class FakeClock final : public Clock {
 public:
  Millis Now() const override { return now.load(); }
  std::atomic<Millis> now{kT0};
};

const service::Actor kAgent{service::Actor::Kind::kAdmin, 0, "li@example.com"};
const service::Actor kBot{service::Actor::Kind::kBot, 0, "bot"};

// Committed customer messages as the engine's hook delivers them.
class Feed {
 public:
  // Returns the message's id.
  std::string Message(std::int64_t customer, Millis at, const std::string& channel, const std::string& intent = "refund") {
    store::MessageRecord m;
    m.message_id = "m" + std::to_string(seq_ + 1);
    m.customer = CustomerId(customer);
    m.timestamp = at;
    m.channel = channel;
    m.author = "customer";
    m.direction = "in";
    m.text = "text " + m.message_id;
    m.masked_text = m.text;
    m.sentiment_label = "negative";
    m.sentiment_score = -0.7;
    m.intent = intent;
    messages_.push_back(std::make_unique<store::MessageRecord>(std::move(m)));
    pipeline::CommittedEvent e;
    e.seq = ++seq_;
    e.customer = CustomerId(customer);
    e.original = e.customer;
    e.timestamp = at;
    e.message = messages_.back().get();
    e.message_id = messages_.back()->message_id;
    pending_.push_back(e);
    return messages_.back()->message_id;
  }
  void Commit(service::Desk& desk) {
    desk.OnCommitted(pending_);
    pending_.clear();
  }

 private:
  std::int64_t seq_ = 0;
  std::vector<std::unique_ptr<store::MessageRecord>> messages_;
  std::vector<pipeline::CommittedEvent> pending_;
};

class KpiDeskTest : public ::testing::Test {
 protected:
  void Open(MeasureFn measure) {
    static int counter = 0;
    name_ = "kpi-desk-" + std::to_string(counter++);
    measure_ = measure;
    service::DeskOptions options;
    listener_ = std::make_shared<KpiSpanListener>(clock_, std::move(measure));
    options.listeners = {std::make_shared<service::RepeatDetector>(), listener_};
    desk_ = std::make_unique<service::Desk>(store::memory::OpenShared(name_), clock_, options);
    ASSERT_OK(desk_->CatchUp({}));
    reader_ = store::memory::OpenShared(name_);
  }
  void At(Millis t) { clock_.now = t; }
  void Reply(std::int64_t number, Millis at, const service::Actor& actor = kAgent) {
    At(at);
    ASSERT_OK(desk_->AddMessage(number, service::NewMessage{"on it", false, ""}, actor));
  }
  void Move(std::int64_t number, Millis at, service::TicketStatus status, const std::string& reason = "") {
    At(at);
    ASSERT_OK(desk_->ChangeStatus(number, status, kAgent, reason, false));
  }
  std::vector<store::KpiSpanRecord> Spans(std::int64_t number) {
    auto spans = reader_->Get<store::KpiRepository>().Spans(number);
    EXPECT_OK(spans);
    return spans.ok() ? *spans : std::vector<store::KpiSpanRecord>{};
  }
  const store::KpiSpanRecord* Find(const std::vector<store::KpiSpanRecord>& spans, const std::string& kind, int seq = 0) {
    for (const auto& s : spans) {
      if (s.kind == kind && s.seq == seq) return &s;
    }
    ADD_FAILURE() << "no span " << kind << "#" << seq;
    return nullptr;
  }
  json Report(const std::string& metrics, const std::string& by, const std::string& interval = "",
              const std::string& unit = "", const calendar::TimeZone& zone = calendar::TimeZone::Fixed("UTC", 0)) {
    auto q = ParseKpiQuery(metrics, by, interval, "", "", unit, zone);
    EXPECT_OK(q);
    if (!q.ok()) return json();
    q->as_of = kT0 + 30 * kDay;
    auto data = LoadKpiData(*reader_, *q);
    EXPECT_OK(data);
    if (!data.ok()) return json();
    auto report = ComputeKpis(*q, *data, zone);
    EXPECT_OK(report);
    if (!report.ok()) return json();
    const std::string text = KpiReportJson(*report);
    EXPECT_THAT(text, ::testing::Not(HasSubstr("nan")));
    return json::parse(text);
  }
  // The row of `group` (no interval: one bucket).
  static json Row(const json& report, const std::string& group) {
    for (const auto& r : report["rows"]) {
      if (r["group"] == group) return r;
    }
    ADD_FAILURE() << "no row " << group << " in " << report.dump();
    return json::object();
  }

  // The hand-computed history (wall clock, the baseline policy: replies within 24 h):
  //  TP-1 chat, customer 7: message 0:00, reply 1:00, solved 2:00, customer back 3:00 (reopens),
  //       reply 3:30, solved 4:00.
  //  TP-2 chat, customer 9: message 0:00, the bot answers 0:01, hand-off with the customer's
  //       message 0:10, an agent's reply 0:40; still open.
  //  TP-3 email, created by an agent 0:00, reply 0:30, pending_customer 1:00–3:00, solved 5:00,
  //       closed 6:00.
  void History() {
    Feed feed;
    At(kT0);
    feed.Message(7, kT0, "chat");
    feed.Message(9, kT0, "chat");
    feed.Commit(*desk_);
    service::NewTicket b;
    b.customer = CustomerId(8);
    b.subject = "invoice copy";
    b.channel = "email";
    auto created = desk_->Create(b, kAgent);
    ASSERT_OK(created);
    ASSERT_EQ(created->number, 3);  // TP-1 (customer 7), TP-2 (customer 9), TP-3 (customer 8)
    Reply(2, kT0 + 1 * kMin, kBot);
    const std::string handoff = feed.Message(9, kT0 + 10 * kMin, "chat");
    desk_->OnEscalations(std::vector<store::EscalationRecord>{
        store::EscalationRecord{kT0 + 10 * kMin, CustomerId(9), "", handoff, "bot_handoff", "handoff", ""}});
    At(kT0 + 10 * kMin);
    feed.Commit(*desk_);
    Reply(3, kT0 + 30 * kMin);
    Reply(2, kT0 + 40 * kMin);
    Reply(1, kT0 + 1 * kHour);
    Move(3, kT0 + 1 * kHour, service::TicketStatus::kPendingCustomer, "waiting for the invoice number");
    Move(1, kT0 + 2 * kHour, service::TicketStatus::kSolved);
    At(kT0 + 3 * kHour);
    feed.Message(7, kT0 + 3 * kHour, "chat");
    feed.Commit(*desk_);
    Move(3, kT0 + 3 * kHour, service::TicketStatus::kOpen);
    Reply(1, kT0 + 3 * kHour + 30 * kMin);
    Move(1, kT0 + 4 * kHour, service::TicketStatus::kSolved);
    Move(3, kT0 + 5 * kHour, service::TicketStatus::kSolved);
    Move(3, kT0 + 6 * kHour, service::TicketStatus::kClosed);  // closing is no reopen
  }

  FakeClock clock_;
  std::string name_;
  MeasureFn measure_;
  std::shared_ptr<KpiSpanListener> listener_;
  std::unique_ptr<service::Desk> desk_;
  std::unique_ptr<store::Store> reader_;
};

MeasureFn Baseline() {
  static const service::SlaPolicy baseline = service::BaselinePolicy();
  return [](const store::TicketRecord&) { return TicketMeasure{nullptr, &baseline, nullptr, "baseline", ""}; };
}

TEST_F(KpiDeskTest, EverySpanIsStoredWithItsEventsAndSeconds) {
  Open(Baseline());
  History();
  // TP-1: first response 1 h; the turn after the reopen 30 min; resolution 4 h less the hour it
  // stood solved; since the reopen 1 h.
  auto one = Spans(1);
  const auto* fr = Find(one, "first_response");
  ASSERT_NE(fr, nullptr);
  EXPECT_EQ(fr->start, kT0);
  EXPECT_EQ(fr->stop, kT0 + kHour);
  EXPECT_EQ(fr->start_event, "customer_message");
  EXPECT_EQ(fr->end_event, "agent_reply");
  EXPECT_EQ(fr->wall_seconds, 3600);
  EXPECT_EQ(fr->business_seconds, 3600);  // no calendar: wall clock
  EXPECT_EQ(fr->target_seconds, 24 * 3600);
  EXPECT_EQ(fr->met, 1);
  const auto* nr = Find(one, "next_response");
  ASSERT_NE(nr, nullptr);
  EXPECT_EQ(nr->start, kT0 + 3 * kHour);
  EXPECT_EQ(nr->wall_seconds, 1800);
  const auto* res = Find(one, "resolution");
  ASSERT_NE(res, nullptr);
  EXPECT_EQ(res->stop, kT0 + 4 * kHour);
  EXPECT_EQ(res->end_event, "solved");
  EXPECT_EQ(res->wall_seconds, 3 * 3600);
  EXPECT_EQ(res->met, -1);  // the baseline has no resolution target
  const auto* again = Find(one, "resolution_since_reopen");
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->start_event, "reopened");
  EXPECT_EQ(again->wall_seconds, 3600);

  // TP-2: the bot answered first; the span starts at the hand-off, not at the customer's first
  // message, and the bot's reply does not stop it.
  auto two = Spans(2);
  fr = Find(two, "first_response");
  ASSERT_NE(fr, nullptr);
  EXPECT_EQ(fr->start, kT0 + 10 * kMin);
  EXPECT_EQ(fr->start_event, "bot_handoff");
  EXPECT_EQ(fr->wall_seconds, 1800);
  res = Find(two, "resolution");
  ASSERT_NE(res, nullptr);
  EXPECT_EQ(res->stop, 0);  // still running
  EXPECT_EQ(res->end_event, "");

  // TP-3: no customer message: from its creation; the pause is a span of its own and does not
  // count in the resolution.
  auto three = Spans(3);
  fr = Find(three, "first_response");
  ASSERT_NE(fr, nullptr);
  EXPECT_EQ(fr->start_event, "created");
  EXPECT_EQ(fr->wall_seconds, 1800);
  const auto* pause = Find(three, "pause");
  ASSERT_NE(pause, nullptr);
  EXPECT_EQ(pause->start_event, "pending_customer");
  EXPECT_EQ(pause->end_event, "resumed");
  EXPECT_EQ(pause->wall_seconds, 2 * 3600);
  res = Find(three, "resolution");
  ASSERT_NE(res, nullptr);
  EXPECT_EQ(res->wall_seconds, 3 * 3600);
  EXPECT_EQ(res->stop, kT0 + 5 * kHour);  // closed at 6:00: still the solve's
  auto closed = reader_->Get<store::KpiRepository>().FindTicket(3);
  ASSERT_OK(closed);
  EXPECT_EQ((*closed)->status, "closed");
  EXPECT_TRUE((*closed)->reopened_at.empty());
  EXPECT_EQ((*closed)->solved_at, kT0 + 5 * kHour);

  auto facts = reader_->Get<store::KpiRepository>().FindTicket(1);
  ASSERT_OK(facts);
  ASSERT_TRUE(facts->has_value());
  EXPECT_EQ((*facts)->agent_replies, 1);  // before the first solve
  EXPECT_EQ((*facts)->reopened_at, std::vector<Millis>{kT0 + 3 * kHour});
  EXPECT_EQ((*facts)->intent, "refund");
  EXPECT_EQ((*facts)->sentiment_count, 2);
  auto bot = reader_->Get<store::KpiRepository>().FindTicket(2);
  ASSERT_OK(bot);
  EXPECT_TRUE((*bot)->bot_first);
  EXPECT_FALSE((*bot)->escalated);  // a hand-off is no escalation
}

TEST_F(KpiDeskTest, KpisByChannelMatchTheHandComputedFigures) {
  Open(Baseline());
  History();
  const json report = Report("frt,nrt,art,aht,sla,resolution_rate,fcr,escalation_rate,sentiment,repeat_rate,deflection",
                             "channel");
  EXPECT_EQ(report["by"], "channel");
  EXPECT_TRUE(report["interval"].is_null());
  ASSERT_EQ(report["rows"].size(), 2u) << report.dump();
  const json chat = Row(report, "chat");
  const json email = Row(report, "email");
  EXPECT_EQ(chat["bucket"], "all");
  // First response: chat 3600 and 1800 → mean = median 2700, p90 = 1800 + 0.9·1800 = 3420.
  EXPECT_EQ(chat["frt"]["count"], 2);
  EXPECT_DOUBLE_EQ(chat["frt"]["mean"].get<double>(), 2700);
  EXPECT_DOUBLE_EQ(chat["frt"]["median"].get<double>(), 2700);
  EXPECT_DOUBLE_EQ(chat["frt"]["p90"].get<double>(), 3420);
  EXPECT_EQ(chat["frt"]["target"], 86400);
  EXPECT_EQ(chat["frt"]["met"], true);
  EXPECT_FALSE(chat["frt"].contains("ci_low"));  // a duration has no interval
  EXPECT_EQ(email["frt"]["count"], 1);
  EXPECT_DOUBLE_EQ(email["frt"]["median"].get<double>(), 1800);
  // Next response: only TP-1's turn after the reopen; email has none: count 0 and no mean.
  EXPECT_EQ(chat["nrt"]["count"], 1);
  EXPECT_DOUBLE_EQ(chat["nrt"]["mean"].get<double>(), 1800);
  EXPECT_EQ(email["nrt"]["count"], 0);
  EXPECT_FALSE(email["nrt"].contains("mean"));
  EXPECT_FALSE(email["nrt"].contains("median"));
  // Resolution: TP-1 3 h (TP-2 still open); TP-3 3 h. Handling counts the pause back: 5 h.
  EXPECT_EQ(chat["art"]["count"], 1);
  EXPECT_DOUBLE_EQ(chat["art"]["mean"].get<double>(), 10800);
  EXPECT_DOUBLE_EQ(email["art"]["mean"].get<double>(), 10800);
  EXPECT_DOUBLE_EQ(chat["aht"]["mean"].get<double>(), 10800);
  EXPECT_DOUBLE_EQ(email["aht"]["mean"].get<double>(), 18000);
  // SLA: every response span within its 24 h (the baseline has no resolution target).
  EXPECT_EQ(chat["sla"]["count"], 3);
  EXPECT_DOUBLE_EQ(chat["sla"]["value"].get<double>(), 1);
  EXPECT_EQ(chat["sla"]["targets"]["first_response"]["count"], 2);
  EXPECT_EQ(chat["sla"]["targets"]["next_response"]["count"], 1);
  EXPECT_EQ(chat["sla"]["targets"]["resolution"]["count"], 0);
  // Resolution rate: chat 1 of 2 (under the 95 % target), email 1 of 1, with Wilson intervals.
  EXPECT_EQ(chat["resolution_rate"]["count"], 2);
  EXPECT_DOUBLE_EQ(chat["resolution_rate"]["value"].get<double>(), 0.5);
  EXPECT_EQ(chat["resolution_rate"]["met"], false);
  EXPECT_DOUBLE_EQ(chat["resolution_rate"]["target"].get<double>(), 0.95);
  EXPECT_NEAR(chat["resolution_rate"]["ci_low"].get<double>(), 0.0945, 1e-4);
  EXPECT_NEAR(chat["resolution_rate"]["ci_high"].get<double>(), 0.9055, 1e-4);
  EXPECT_EQ(email["resolution_rate"]["met"], true);
  // FCR: TP-1 was reopened within 7 days (fails), TP-2 is not solved (not judged), TP-3 passes.
  EXPECT_EQ(chat["fcr"]["count"], 1);
  EXPECT_DOUBLE_EQ(chat["fcr"]["value"].get<double>(), 0);
  EXPECT_EQ(email["fcr"]["count"], 1);
  EXPECT_DOUBLE_EQ(email["fcr"]["value"].get<double>(), 1);
  // The bot's hand-off is not an escalation.
  EXPECT_DOUBLE_EQ(chat["escalation_rate"]["value"].get<double>(), 0);
  // Sentiment: four customer messages on chat, all negative at −0.7.
  EXPECT_EQ(chat["sentiment"]["count"], 4);
  EXPECT_NEAR(chat["sentiment"]["mean"].get<double>(), -0.7, 1e-12);
  EXPECT_DOUBLE_EQ(chat["sentiment"]["negative_share"].get<double>(), 1);
  EXPECT_EQ(email["sentiment"]["count"], 0);
  // Repeat contacts: two first contacts about refunds on chat.
  EXPECT_EQ(chat["repeat_rate"]["count"], 2);
  EXPECT_DOUBLE_EQ(chat["repeat_rate"]["value"].get<double>(), 0);
  // Deflection needs the bot's conversations: said so, not invented.
  EXPECT_FALSE(chat.contains("deflection"));
  EXPECT_EQ(report["notes"]["deflection"], "not available: no bot conversations");
}

TEST_F(KpiDeskTest, ARebuildFromTheHistoryGivesTheSameFacts) {
  Open(Baseline());
  History();
  store::KpiRepository& repo = reader_->Get<store::KpiRepository>();
  std::vector<store::KpiTicketRecord> before;
  ASSERT_OK(repo.ScanTickets(0, 0, [&](store::KpiTicketRecord&& t) { before.push_back(std::move(t)); }));
  std::vector<std::vector<store::KpiSpanRecord>> spans_before;
  for (const auto& t : before) spans_before.push_back(Spans(t.ticket));
  ASSERT_EQ(before.size(), 3u);
  auto rebuilt = RebuildKpiFacts(*reader_, measure_, clock_.Now());
  ASSERT_OK(rebuilt);
  EXPECT_EQ(*rebuilt, 3);
  std::vector<store::KpiTicketRecord> after;
  ASSERT_OK(repo.ScanTickets(0, 0, [&](store::KpiTicketRecord&& t) { after.push_back(std::move(t)); }));
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    // Running spans are measured to now; the rest is the same to the second.
    after[i].measured_at = before[i].measured_at = 0;
    EXPECT_EQ(after[i], before[i]) << "TP-" << before[i].ticket;
    if (before[i].ticket != 2) {
      EXPECT_EQ(Spans(after[i].ticket), spans_before[i]) << "TP-" << before[i].ticket;
    }
  }
}

TEST_F(KpiDeskTest, BusinessSecondsAcrossAWeekendAndWeeksInTheCompanyZone) {
  auto spec = calendar::FindBuiltinCalendar("cn");
  ASSERT_TRUE(spec);
  auto built = calendar::Calendar::Build(*spec);
  ASSERT_OK(built);
  static calendar::Calendar cal = std::move(*built);
  static service::SlaPolicy hour;
  hour.name = "cn_hour";
  hour.calendar = "cn";
  hour.first_response = service::SlaGoal{60, 0};
  Open([](const store::TicketRecord&) { return TicketMeasure{&cal, &hour, &cal, "cn_hour", "gold"}; });
  Feed feed;
  // TP-1: Friday 17:30 → Monday 09:30: 30 business minutes on each side of the weekend, exactly
  // the hour of the target (met); 64 hours on the wall clock.
  const Millis fri1730 = kT0 + 4 * kDay + 8 * kHour + 30 * kMin;
  At(fri1730);
  feed.Message(7, fri1730, "chat");
  feed.Commit(*desk_);
  Reply(1, kT0 + 7 * kDay + 30 * kMin);
  // TP-2: Monday 09:00 → 11:00: two business hours, the target missed.
  At(kT0 + 7 * kDay);
  feed.Message(8, kT0 + 7 * kDay, "chat");
  feed.Commit(*desk_);
  Reply(2, kT0 + 7 * kDay + 2 * kHour);
  const auto one = Spans(1);  // Find points into it: it must outlive fr
  const auto* fr = Find(one, "first_response");
  ASSERT_NE(fr, nullptr);
  EXPECT_EQ(fr->business_seconds, 3600);
  EXPECT_EQ(fr->wall_seconds, 64 * 3600);
  EXPECT_EQ(fr->met, 1);
  const auto two = Spans(2);
  ASSERT_NE(Find(two, "first_response"), nullptr);
  EXPECT_EQ(Find(two, "first_response")->met, 0);

  auto zone = calendar::TimeZone::Load("Asia/Shanghai");
  ASSERT_OK(zone);
  const json weekly = Report("frt,sla", "tier", "week", "", *zone);
  ASSERT_EQ(weekly["rows"].size(), 2u) << weekly.dump();
  EXPECT_EQ(weekly["time_zone"], "Asia/Shanghai");
  EXPECT_EQ(weekly["rows"][0]["bucket"], "2026-03-02T00:00:00+08:00");
  EXPECT_EQ(weekly["rows"][0]["group"], "gold");
  EXPECT_DOUBLE_EQ(weekly["rows"][0]["frt"]["median"].get<double>(), 3600);
  EXPECT_DOUBLE_EQ(weekly["rows"][0]["sla"]["value"].get<double>(), 1);
  EXPECT_EQ(weekly["rows"][1]["bucket"], "2026-03-09T00:00:00+08:00");
  EXPECT_DOUBLE_EQ(weekly["rows"][1]["frt"]["median"].get<double>(), 7200);
  EXPECT_DOUBLE_EQ(weekly["rows"][1]["sla"]["value"].get<double>(), 0);
  // On the wall clock the weekend counts: 64 h, over the documents' 24 h.
  const json wall = Report("frt", "", "week", "wall", *zone);
  EXPECT_EQ(wall["unit"], "wall-clock seconds");
  EXPECT_DOUBLE_EQ(wall["rows"][0]["frt"]["median"].get<double>(), 64 * 3600);
  EXPECT_EQ(wall["rows"][0]["frt"]["met"], false);
}

TEST_F(KpiDeskTest, TheRollupsGiveTheFiguresOfTheScan) {
  Open(Baseline());
  const auto utc = calendar::TimeZone::Fixed("UTC", 0);
  KpiRollup fed(utc);  // fed change by change
  listener_->SetObserver([&fed](std::span<const KpiFacts> facts) { fed.Apply(facts); });
  History();
  KpiRollup loaded(utc);  // loaded once from the store
  ASSERT_OK(loaded.Load(reader_->Get<store::KpiRepository>()));
  EXPECT_EQ(fed.tickets(), 3u);
  EXPECT_EQ(loaded.tickets(), 3u);
  for (const char* by : {"", "channel", "queue"}) {
    for (const char* interval : {"", "day", "week", "month"}) {
      auto q = ParseKpiQuery("frt,nrt,art,aht,sla,resolution_rate,escalation_rate,sentiment", by, interval, "2026-03-01",
                             "2026-04-01", "", utc);
      ASSERT_OK(q);
      ASSERT_TRUE(fed.Covers(*q));
      auto data = LoadKpiData(*reader_, *q);
      ASSERT_OK(data);
      auto scan = ComputeKpis(*q, *data, utc);
      ASSERT_OK(scan);
      for (const KpiRollup* rollup : {&fed, &loaded}) {
        auto rolled = rollup->Compute(*q);
        ASSERT_OK(rolled);
        ASSERT_EQ(rolled->rows.size(), scan->rows.size()) << by << " " << interval;
        for (size_t i = 0; i < scan->rows.size(); ++i) {
          const KpiRow& a = scan->rows[i];
          const KpiRow& b = rolled->rows[i];
          EXPECT_EQ(a.bucket, b.bucket);
          EXPECT_EQ(a.group, b.group);
          for (const auto& [metric, v] : a.metrics) {
            const KpiValue& w = b.metrics.at(metric);
            EXPECT_EQ(v.count, w.count) << metric;
            // Exact up to rounding: the sums are kept (added and taken out again as tickets change).
            auto same = [&](const std::optional<double>& x, const std::optional<double>& y) {
              ASSERT_EQ(x.has_value(), y.has_value()) << metric;
              if (x) {
                EXPECT_NEAR(*x, *y, 1e-9 * (1 + std::abs(*x))) << metric;
              }
            };
            same(v.value, w.value);
            same(v.mean, w.mean);
            same(v.ci_low, w.ci_low);
            EXPECT_EQ(v.met, w.met) << metric;
            ASSERT_EQ(v.median.has_value(), w.median.has_value()) << metric;
            if (v.median) {  // log bins 2 % wide
              EXPECT_NEAR(*w.median, *v.median, 0.01 * *v.median) << metric;
            }
            if (v.p90) {
              EXPECT_NEAR(*w.p90, *v.p90, 0.01 * *v.p90) << metric;
            }
          }
        }
      }
    }
  }
  // Hours, CSAT and ranges within a day are not theirs: the scan answers those.
  auto hourly = ParseKpiQuery("frt", "", "hour", "", "", "", utc);
  ASSERT_OK(hourly);
  EXPECT_FALSE(fed.Covers(*hourly));
  auto csat = ParseKpiQuery("frt,csat", "", "", "", "", "", utc);
  ASSERT_OK(csat);
  EXPECT_FALSE(fed.Covers(*csat));
  auto midday = ParseKpiQuery("frt", "", "", "2026-03-02T12:00:00Z", "", "", utc);
  ASSERT_OK(midday);
  EXPECT_FALSE(fed.Covers(*midday));
}

TEST(KpiQueryTest, UnknownNamesAreRefusedNamingThemAndTheValidOnes) {
  const auto utc = calendar::TimeZone::Fixed("UTC", 0);
  auto bad = ParseKpiQuery("csat,speed", "", "", "", "", "", utc);
  EXPECT_THAT(bad, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(bad.status().message(), HasSubstr("\"speed\""));
  EXPECT_THAT(bad.status().message(), HasSubstr("csat, csat_mean, nps, fcr, frt, nrt, art, aht, sla"));
  bad = ParseKpiQuery("csat", "colour", "", "", "", "", utc);
  EXPECT_THAT(bad.status().message(), HasSubstr("by: unknown dimension \"colour\"; valid: channel, agent, team"));
  bad = ParseKpiQuery("csat", "", "fortnight", "", "", "", utc);
  EXPECT_THAT(bad.status().message(), HasSubstr("interval: unknown interval \"fortnight\"; valid: hour, day, week, month"));
  EXPECT_THAT(ParseKpiQuery("", "", "", "", "", "", utc), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseKpiQuery("frt", "", "", "yesterday", "", "", utc).status().message(), HasSubstr("from"));
  EXPECT_THAT(ParseKpiQuery("frt", "", "", "2026-03-02", "2026-03-01", "", utc), StatusIs(StatusCode::kInvalidArgument));
  auto ok = ParseKpiQuery(" frt , csat,frt", "queue", "day", "2026-03-02", "2026-03-09T00:00:00Z", "wall", utc);
  ASSERT_OK(ok);
  EXPECT_EQ(ok->metrics, (std::vector<std::string>{"frt", "csat"}));
  EXPECT_EQ(ok->from, 1'772'409'600'000);  // the date's midnight in the zone
  EXPECT_TRUE(ok->wall);
}

TEST(KpiComputeTest, SurveysGiveCsatWithResponseRateAndNpsClippedAt100) {
  const auto utc = calendar::TimeZone::Fixed("UTC", 0);
  KpiData data;
  store::KpiTicketRecord t;
  t.ticket = 1;
  t.created_at = kT0;
  t.channel = "email";
  data.tickets.push_back(t);
  // Ten surveys sent, eight answered: 4, 5, 5, 4, 3, 5, 2, 4 → 6 of 8 satisfied.
  const int scores[] = {4, 5, 5, 4, 3, 5, 2, 4, 0, 0};
  for (int i = 0; i < 10; ++i) {
    store::CsatSurveyRecord s;
    s.id = "s" + std::to_string(i);
    s.ticket = 1;
    s.sent_at = kT0;
    s.score = scores[i];
    s.answered_at = scores[i] > 0 ? kT0 + kHour : 0;
    data.csat[1].push_back(s);
  }
  // NPS: 9 promoters and 2 detractors of 11 → 63.6 with its interval clipped at 100.
  for (int i = 0; i < 11; ++i) {
    store::SurveyRecord s;
    s.timestamp = kT0;
    s.nps = i < 9 ? 10 : 3;
    data.nps.push_back(s);
  }
  auto q = ParseKpiQuery("csat,csat_mean,nps", "", "", "", "", "", utc);
  ASSERT_OK(q);
  auto report = ComputeKpis(*q, data, utc);
  ASSERT_OK(report);
  const json j = json::parse(KpiReportJson(*report));
  ASSERT_EQ(j["rows"].size(), 1u);
  const json row = j["rows"][0];
  EXPECT_EQ(row["csat"]["count"], 8);
  EXPECT_DOUBLE_EQ(row["csat"]["value"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(row["csat"]["response_rate"].get<double>(), 0.8);
  EXPECT_EQ(row["csat"]["surveys_sent"], 10);
  EXPECT_NEAR(row["csat"]["ci_low"].get<double>(), 0.4093, 1e-4);
  EXPECT_DOUBLE_EQ(row["csat_mean"]["mean"].get<double>(), 4);
  EXPECT_EQ(row["nps"]["count"], 11);
  EXPECT_NEAR(row["nps"]["value"].get<double>(), 63.636, 1e-3);
  EXPECT_DOUBLE_EQ(row["nps"]["ci_high"].get<double>(), 100);
  EXPECT_TRUE(row["nps"].contains("bootstrap_low"));  // n < 30
  // The same as CSV and a table: one line per row and metric.
  const std::string csv = KpiReportCsv(*report);
  EXPECT_THAT(csv, HasSubstr("bucket,group,metric,count,value,mean,median,p90,ci_low,ci_high,target,met\n"));
  EXPECT_THAT(csv, HasSubstr("all,all,csat,8,0.75,"));
  EXPECT_THAT(KpiReportTable(*report), HasSubstr("csat_mean"));
  // Grouped by a ticket dimension, NPS is said to be ungrouped rather than attributed.
  q = ParseKpiQuery("nps,csat", "channel", "", "", "", "", utc);
  ASSERT_OK(q);
  report = ComputeKpis(*q, data, utc);
  ASSERT_OK(report);
  const json grouped = json::parse(KpiReportJson(*report));
  EXPECT_FALSE(grouped["rows"][0].contains("nps"));
  EXPECT_THAT(grouped["notes"]["nps"].get<std::string>(), HasSubstr("not grouped by channel"));
}

TEST(KpiComputeTest, EmptyBucketsBetweenFromAndToHaveCountZeroAndNoMean) {
  const auto utc = calendar::TimeZone::Fixed("UTC", 0);
  KpiData data;
  store::KpiTicketRecord t;
  t.ticket = 1;
  t.created_at = kT0;
  t.channel = "chat";
  data.tickets.push_back(t);
  data.spans[1].push_back(store::KpiSpanRecord{1, "first_response", 0, kT0, kT0 + kMin, "customer_message",
                                               "agent_reply", 60, 60, 0, -1});
  auto q = ParseKpiQuery("frt,resolution_rate", "channel", "day", "2026-03-01", "2026-03-04", "", utc);
  ASSERT_OK(q);
  auto report = ComputeKpis(*q, data, utc);
  ASSERT_OK(report);
  const json j = json::parse(KpiReportJson(*report));
  ASSERT_EQ(j["rows"].size(), 3u);  // 1, 2 and 3 March
  EXPECT_EQ(j["rows"][0]["bucket"], "2026-03-01T00:00:00+00:00");
  EXPECT_EQ(j["rows"][0]["frt"]["count"], 0);
  EXPECT_FALSE(j["rows"][0]["frt"].contains("mean"));
  EXPECT_FALSE(j["rows"][0]["resolution_rate"].contains("value"));
  EXPECT_EQ(j["rows"][1]["frt"]["count"], 1);
  EXPECT_DOUBLE_EQ(j["rows"][1]["frt"]["mean"].get<double>(), 60);
  // Too many buckets is refused, naming the interval.
  q = ParseKpiQuery("frt", "", "hour", "2020-01-01", "2026-01-01", "", utc);
  ASSERT_OK(q);
  EXPECT_THAT(ComputeKpis(*q, data, utc).status().message(), HasSubstr("interval: hour"));
}

}  // namespace
}  // namespace touchpoint::insight

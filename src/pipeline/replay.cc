#include <touchpoint/pipeline/replay.h>

#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include <touchpoint/ingest/parser.h>
#include <touchpoint/store/activity_repository.h>
#include <touchpoint/store/event_log.h>
#include <touchpoint/store/identity_repository.h>

namespace touchpoint::pipeline {
namespace {

// The live root of `original` (following merged_into), cached per replay.
Result<CustomerId> LiveRoot(store::IdentityRepository& identity, CustomerId original,
                            std::unordered_map<std::int64_t, CustomerId>& cache) {
  auto it = cache.find(original.value());
  if (it != cache.end()) return it->second;
  CustomerId at = original;
  for (int hops = 0; hops < 64; ++hops) {
    TP_ASSIGN_OR_RETURN(auto rec, identity.FindCustomer(at));
    if (!rec || !rec->merged_into.valid()) break;
    at = rec->merged_into;
  }
  cache.emplace(original.value(), at);
  return at;
}

}  // namespace

Status ReplayCommitted(store::Store& store, std::int64_t from_seq, std::int64_t to_seq,
                       const std::function<void(ingest::MessagePayload&)>& analyze,
                       const std::function<Status(std::span<const CommittedEvent>)>& fn, size_t batch) {
  store::EventLog& log = store.Get<store::EventLog>();
  store::IdentityRepository& identity = store.Get<store::IdentityRepository>();
  if (to_seq <= 0) {
    TP_ASSIGN_OR_RETURN(to_seq, log.LastSeq());
  }
  if (batch == 0) batch = 1;
  ingest::Parser parser;
  std::unordered_map<std::int64_t, CustomerId> roots;
  std::int64_t next = std::max<std::int64_t>(from_seq, 1);
  while (next <= to_seq) {
    std::vector<store::EventRecord> records;
    TP_RETURN_IF_ERROR(log.ScanFrom(next, [&](store::EventRecord&& rec) {
      if (rec.seq > to_seq) return false;
      records.push_back(std::move(rec));
      return records.size() < batch;
    }));
    if (records.empty()) break;
    next = records.back().seq + 1;
    // Rebuilt records; reserved up front so the pointers in `events` stay valid.
    std::vector<store::OrderRecord> orders;
    std::vector<store::MessageRecord> messages;
    std::vector<store::SurveyRecord> surveys;
    std::vector<std::string> normalized;
    orders.reserve(records.size());
    messages.reserve(records.size());
    surveys.reserve(records.size());
    normalized.reserve(records.size());
    std::vector<CommittedEvent> events;
    events.reserve(records.size());
    for (const store::EventRecord& rec : records) {
      CommittedEvent ce;
      ce.seq = rec.seq;
      ce.original = rec.customer;
      TP_ASSIGN_OR_RETURN(ce.customer, LiveRoot(identity, rec.customer, roots));
      ce.timestamp = rec.timestamp;
      ce.kind = rec.kind;
      ce.message_id = rec.message_id;
      ce.name = rec.name;
      auto ev = parser.ParseMessage(rec.body);
      if (ev.ok()) {
        if (ev->order) {
          orders.push_back(store::OrderRecord{ev->order->order_id,
                                              rec.customer, rec.timestamp, ev->order->total, ev->order->currency,
                                              ev->channel, ""});
          ce.order = &orders.back();
        }
        if (ev->message) {
          ingest::MessagePayload& m = *ev->message;
          if (analyze) analyze(m);
          normalized.push_back(std::move(m.normalized_text));
          messages.push_back(store::MessageRecord{rec.message_id, rec.customer, rec.timestamp, m.conversation_id,
                                                  m.channel, m.author, m.inbound ? "in" : "out", std::move(m.text),
                                                  m.language, m.sentiment_label, m.sentiment_score, m.intent,
                                                  std::move(m.masked_text)});
          ce.message = &messages.back();
          ce.normalized_text = normalized.back();
        }
        if (ev->survey) {
          surveys.push_back(store::SurveyRecord{rec.message_id, rec.customer, rec.timestamp, ev->survey->nps,
                                                ev->survey->csat, ev->survey->comment, ev->survey->touchpoint});
          ce.survey = &surveys.back();
        }
      }
      events.push_back(ce);
    }
    TP_RETURN_IF_ERROR(fn(events));
  }
  return Status::Ok();
}

}  // namespace touchpoint::pipeline

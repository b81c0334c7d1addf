#include <touchpoint/privacy/subject_rights.h>

#include <sodium.h>

#include <algorithm>
#include <unordered_set>

#include <nlohmann/json.hpp>
#include <touchpoint/store/experiment_repository.h>
#include <touchpoint/store/activity_repository.h>
#include <touchpoint/privacy/consent.h>
#include <touchpoint/store/audit_repository.h>
#include <touchpoint/store/consent_repository.h>
#include <touchpoint/store/escalation_repository.h>
#include <touchpoint/store/event_log.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/profile_repository.h>
#include <touchpoint/store/ticket_repository.h>

#include "privacy/sodium_internal.h"

namespace touchpoint::privacy {
namespace {

using Json = nlohmann::ordered_json;

// A stored JSON text as a value (a string when it does not parse: shown as stored).
Json Embedded(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? Json(text) : j;
}

const char* KindName(store::EventKind k) {
  switch (k) {
    case store::EventKind::kIdentify: return "identify";
    case store::EventKind::kTrack: return "track";
    case store::EventKind::kPage: return "page";
    case store::EventKind::kAlias: return "alias";
  }
  return "unknown";
}

Json CountsJson(const store::ErasureCounts& c) {
  // Sorted keys anyway (canonical form); listed in that order for the reader.
  return Json{{"attachments", c.attachments}, {"consents", c.consents},
              {"customers", c.customers},     {"deliveries", c.deliveries},
              {"escalations", c.escalations},
              {"events", c.events},           {"identifiers", c.identifiers},
              {"merge_blocks", c.merge_blocks}, {"merges", c.merges},
              {"messages", c.messages},       {"orders", c.orders},
              {"profiles", c.profiles},       {"surveys", c.surveys},
              {"ticket_fields", c.ticket_fields}, {"ticket_messages", c.ticket_messages},
              {"tickets_deidentified", c.tickets}};
}

}  // namespace

Result<SubjectExport> ExportSubject(store::Store& store, const Subject& subject, const ExportOptions& options) {
  SubjectExport out;
  ExportCounts& n = out.counts;
  std::unordered_set<std::int64_t> members;
  for (CustomerId c : subject.members) members.insert(c.value());
  const auto mine = [&](CustomerId c) { return members.count(c.value()) > 0; };

  Json doc = Json::object();
  Json ids = Json::array();
  for (CustomerId c : subject.members) ids.push_back(c.value());
  doc["export"] = {{"version", 1},
                   {"kind", "touchpoint.subject_export"},
                   {"generated_at", FormatTimestamp(options.now)},
                   {"requested_by", options.requested_by},
                   {"customer", subject.customer.value()},
                   {"customer_ids", ids}};
  doc["profile"] = options.profile_json.empty() ? Json(nullptr) : Embedded(options.profile_json);

  store::IdentityRepository& identity = store.Get<store::IdentityRepository>();
  Json identifiers = Json::array();
  TP_ASSIGN_OR_RETURN(auto id_rows, identity.IdentifiersOf(subject.members));
  for (const auto& r : id_rows) {
    identifiers.push_back({{"kind", r.kind},
                           {"value", r.value},
                           {"first_seen", FormatTimestamp(r.first_seen)},
                           {"first_message_id", r.first_message_id},
                           {"customer", r.customer.value()},
                           {"shared", r.blocked}});
  }
  n.identifiers = static_cast<std::int64_t>(identifiers.size());
  doc["identifiers"] = std::move(identifiers);

  Json merges = Json::array();
  TP_ASSIGN_OR_RETURN(auto merge_rows, identity.MergesInvolving(subject.members));
  for (const auto& m : merge_rows) {
    merges.push_back({{"id", m.id.value()},
                      {"at", FormatTimestamp(m.at)},
                      {"winner", m.winner.value()},
                      {"loser", m.loser.value()},
                      {"message_id", m.message_id},
                      {"reason", m.reason},
                      {"undone", m.undone_at != 0}});
  }
  n.merges = static_cast<std::int64_t>(merges.size());
  doc["merges"] = std::move(merges);

  // Stored accumulators per original customer: traits, tags and scores as they are kept.
  Json stored = Json::array();
  for (CustomerId c : subject.members) {
    TP_ASSIGN_OR_RETURN(auto p, store.Get<store::ProfileRepository>().Find(c));
    if (p) stored.push_back({{"customer", c.value()}, {"data", Embedded(p->data)}, {"updated_at", FormatTimestamp(p->updated_at)}});
  }
  doc["stored_profiles"] = std::move(stored);

  Json events = Json::array();
  TP_RETURN_IF_ERROR(store.Get<store::EventLog>().ScanFrom(1, [&](store::EventRecord&& e) {
    if (!mine(e.customer)) return true;
    events.push_back({{"seq", e.seq},
                      {"message_id", e.message_id},
                      {"timestamp", FormatTimestamp(e.timestamp)},
                      {"type", KindName(e.kind)},
                      {"name", e.name},
                      {"customer", e.customer.value()},
                      {"body", Embedded(e.body)}});
    return true;
  }));
  n.events = static_cast<std::int64_t>(events.size());
  doc["events"] = std::move(events);

  store::ActivityRepository& activity = store.Get<store::ActivityRepository>();
  Json orders = Json::array();
  TP_RETURN_IF_ERROR(activity.ScanOrders([&](store::OrderRecord&& o) {
    if (!mine(o.customer)) return;
    orders.push_back({{"order_id", o.order_id},
                      {"timestamp", FormatTimestamp(o.timestamp)},
                      {"total", o.total},
                      {"currency", o.currency},
                      {"channel", o.channel},
                      {"items", Embedded(o.items_json)}});
  }));
  n.orders = static_cast<std::int64_t>(orders.size());
  doc["orders"] = std::move(orders);

  Json messages = Json::array();
  TP_RETURN_IF_ERROR(activity.ScanMessages([&](store::MessageRecord&& m) {
    if (!mine(m.customer)) return;
    messages.push_back({{"message_id", m.message_id},
                        {"timestamp", FormatTimestamp(m.timestamp)},
                        {"conversation_id", m.conversation_id},
                        {"channel", m.channel},
                        {"author", m.author},
                        {"direction", m.direction},
                        {"text", m.text},
                        {"language", m.language},
                        {"sentiment", m.sentiment_label},
                        {"sentiment_score", m.sentiment_score},
                        {"intent", m.intent}});
  }));
  n.messages = static_cast<std::int64_t>(messages.size());
  doc["messages"] = std::move(messages);

  Json surveys = Json::array();
  TP_RETURN_IF_ERROR(activity.ScanSurveys([&](store::SurveyRecord&& v) {
    if (!mine(v.customer)) return;
    surveys.push_back({{"message_id", v.message_id},
                       {"timestamp", FormatTimestamp(v.timestamp)},
                       {"nps", v.nps >= 0 ? Json(v.nps) : Json(nullptr)},
                       {"csat", v.csat >= 0 ? Json(v.csat) : Json(nullptr)},
                       {"comment", v.comment},
                       {"touchpoint", v.touchpoint}});
  }));
  n.surveys = static_cast<std::int64_t>(surveys.size());
  doc["surveys"] = std::move(surveys);

  Json escalations = Json::array();
  TP_RETURN_IF_ERROR(store.Get<store::EscalationRepository>().Scan([&](store::EscalationRecord&& e) {
    if (!mine(e.customer)) return;
    escalations.push_back({{"at", FormatTimestamp(e.at)},
                           {"conversation_id", e.conversation_id},
                           {"message_id", e.message_id},
                           {"rule", e.rule},
                           {"action", e.action},
                           {"reason", e.reason}});
  }));
  n.escalations = static_cast<std::int64_t>(escalations.size());
  doc["escalations"] = std::move(escalations);

  // Their consent decisions, oldest first (the history the consent routes answer).
  TP_ASSIGN_OR_RETURN(auto consents, store.Get<store::ConsentRepository>().ForCustomers(subject.members));
  doc["consents"] = Embedded(ConsentHistoryJson(consents));
  n.consents = static_cast<std::int64_t>(consents.size());

  // Their service tickets, with the threads and what changed (who changed it only as a kind:
  // a staff member's name is not the person's data).
  Json tickets = Json::array();
  Json ticket_messages = Json::array();
  Json ticket_history = Json::array();
  store::TicketRepository& desk = store.Get<store::TicketRepository>();
  for (CustomerId c : subject.members) {
    store::TicketFilter filter;
    filter.customer = c;
    filter.limit = 500;
    for (;;) {
      TP_ASSIGN_OR_RETURN(std::vector<store::TicketRecord> page, desk.List(filter));
      for (const store::TicketRecord& t : page) {
        tickets.push_back({{"number", t.number},
                           {"customer", t.customer.value()},
                           {"status", t.status},
                           {"priority", t.priority},
                           {"type", t.type},
                           {"channel", t.channel},
                           {"subject", t.subject},
                           {"created_at", FormatTimestamp(t.created_at)},
                           {"updated_at", FormatTimestamp(t.updated_at)},
                           {"solved_at", t.solved_at != 0 ? Json(FormatTimestamp(t.solved_at)) : Json(nullptr)}});
        TP_ASSIGN_OR_RETURN(auto thread, desk.Messages(t.number));
        for (const store::TicketMessageRecord& m : thread) {
          ticket_messages.push_back({{"ticket", m.ticket},
                                     {"at", FormatTimestamp(m.at)},
                                     {"author", m.author},
                                     {"channel", m.channel},
                                     {"internal", m.internal},
                                     {"text", m.text}});
        }
        TP_ASSIGN_OR_RETURN(auto history, desk.History(t.number));
        for (const store::TicketHistoryRecord& h : history) {
          ticket_history.push_back({{"ticket", h.ticket},
                                    {"at", FormatTimestamp(h.at)},
                                    {"actor_kind", h.actor_kind},
                                    {"field", h.field},
                                    {"before", h.before},
                                    {"after", h.after}});
        }
      }
      if (page.size() < static_cast<size_t>(filter.limit)) break;
      filter.before = page.back().number;  // newest first: the next page is below it
    }
  }
  n.tickets = static_cast<std::int64_t>(tickets.size());
  doc["tickets"] = std::move(tickets);
  doc["ticket_messages"] = std::move(ticket_messages);
  doc["ticket_history"] = std::move(ticket_history);

  // Their exposures in experiments: as a customer (unit customer) and through their tickets (unit
  // ticket), with the experiment's name and the variant they saw.
  {
    store::ExperimentRepository& experiments = store.Get<store::ExperimentRepository>();
    TP_ASSIGN_OR_RETURN(std::vector<store::ExperimentRecord> all, experiments.List());
    std::unordered_map<std::int64_t, std::string> names;
    for (const auto& e : all) names[e.id] = e.name;
    std::vector<std::string> customer_units, ticket_units;
    for (CustomerId c : subject.members) customer_units.push_back(std::to_string(c.value()));
    for (const auto& t : n.tickets > 0 ? doc["tickets"] : Json::array()) {
      ticket_units.push_back(std::to_string(t["number"].get<std::int64_t>()));
    }
    Json exposures = Json::array();
    for (const auto& [kind, units] : {std::pair<const char*, const std::vector<std::string>*>{"customer", &customer_units},
                                      {"ticket", &ticket_units}}) {
      if (units->empty()) continue;
      TP_ASSIGN_OR_RETURN(std::vector<store::ExposureRecord> found, experiments.ExposuresOfUnits(kind, *units));
      for (const store::ExposureRecord& x : found) {
        exposures.push_back({{"experiment", x.experiment},
                             {"name", names[x.experiment]},
                             {"unit_kind", kind},
                             {"unit", x.unit},
                             {"variant", x.variant},
                             {"exposed_at", FormatTimestamp(x.exposed_at)}});
      }
    }
    doc["experiment_exposures"] = std::move(exposures);
  }

  // Audit entries about them: targets name customer ids ("customer:42").
  std::unordered_set<std::string> targets;
  for (CustomerId c : subject.members) targets.insert("customer:" + std::to_string(c.value()));
  Json audit = Json::array();
  TP_RETURN_IF_ERROR(store.Get<store::AuditRepository>().Scan(0, [&](store::AuditEntryRecord&& e) {
    if (targets.count(e.target)) {
      audit.push_back({{"seq", e.seq},
                       {"time", FormatTimestamp(e.time)},
                       {"actor", e.actor},
                       {"action", e.action},
                       {"target", e.target},
                       {"details", Embedded(e.details_json)}});
    }
    return true;
  }));
  n.audit_entries = static_cast<std::int64_t>(audit.size());
  doc["audit"] = std::move(audit);

  out.json = doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  return out;
}

std::string NewErasureId() {
  InitSodium();
  unsigned char bytes[16];
  randombytes_buf(bytes, sizeof bytes);
  return HexOf(bytes, sizeof bytes);
}

std::string ReceiptJson(const ErasureFacts& f) {
  Json ids = Json::array();
  for (CustomerId c : f.subject.members) ids.push_back(c.value());
  Json kinds = Json::array();
  std::vector<std::string> sorted = f.identifier_kinds;
  std::sort(sorted.begin(), sorted.end());
  for (const auto& k : sorted) kinds.push_back(k);
  Json suppression = Json::array();
  for (const auto& s : f.suppressed) {
    suppression.push_back({{"blind_index", std::to_string(s.value)}, {"key_version", s.key_version}});
  }
  std::string guarantee;
  if (f.backend == "sqlite") {
    guarantee = "rows deleted with secure_delete; WAL checkpointed and truncated";
  } else if (f.backend == "postgres") {
    guarantee = "rows deleted; old row versions, WAL and backups are unreadable once the person's keys are destroyed";
  } else {
    guarantee = "rows deleted";
  }
  if (f.keys_destroyed) guarantee += "; the person's data keys were destroyed";
  Json r = {{"backend", f.backend},
            {"by", f.by},
            {"counts", CountsJson(f.counts)},
            {"customer", f.subject.customer.value()},
            {"customer_ids", ids},
            {"erased_at", FormatTimestamp(f.at)},
            {"erasure_id", f.erasure_id},
            {"guarantee", guarantee},
            {"identifier_kinds", kinds},
            {"kind", "touchpoint.erasure_receipt"},
            {"reason", f.reason},
            {"suppression", suppression},
            {"version", 1}};
  return r.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string ErasureAuditDetails(const ErasureFacts& f) {
  Json ids = Json::array();
  for (CustomerId c : f.subject.members) ids.push_back(c.value());
  Json d = {{"erasure_id", f.erasure_id},
            {"customer_ids", ids},
            {"counts", CountsJson(f.counts)},
            {"suppression_entries", f.suppressed.size()},
            {"keys_destroyed", f.keys_destroyed}};
  return d.dump();
}

}  // namespace touchpoint::privacy

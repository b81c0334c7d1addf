// insight/kpi_facts.h — the service desk's spans, stored once (issue 16 item 1; docs/measurement.md
// "Spans, stored once"): every span a KPI is computed from is a stored fact
// (store/kpi_repository.h) with its start and end instants, the events that started and ended it,
// wall-clock and business seconds on the ticket's calendar, and its SLA target with whether it was
// met. The spans are service::ComputeSpans' (service/spans.h) — the same code the SLA timer runs —
// and the targets' due times service::DueAfter's under the policy that applies, so this module
// holds no second span definition.
//
// KpiSpanListener writes a ticket's facts in the desk's transaction of every change of it (the
// desk's change-listener seam, service/desk.h); RebuildKpiFacts recomputes every ticket's from the
// history (`touchpoint kpi rebuild`), so a corrected history gives corrected figures.
//
// Thread safety: MeasureTicket is pure. KpiSpanListener is called under the desk's lock; its
// setters may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include <touchpoint/calendar/calendar.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/thread_annotations.h>
#include <touchpoint/core/time.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/service/sla.h>
#include <touchpoint/store/kpi_repository.h>
#include <touchpoint/store/store.h>
#include <touchpoint/store/ticket_repository.h>

namespace touchpoint::insight {

// How one ticket is measured (the SLA service knows it: SlaService::ClockOf).
struct TicketMeasure {
  const calendar::Calendar* calendar = nullptr;         // business seconds; null: wall clock
  const service::SlaPolicy* policy = nullptr;           // its targets; null: no targets
  const calendar::Calendar* target_calendar = nullptr;  // the targets' clock; null: wall clock
  std::string policy_name;
  std::string tier;  // the customer's tier ("" unknown)
};
using MeasureFn = std::function<TicketMeasure(const store::TicketRecord&)>;

struct KpiFacts {
  store::KpiTicketRecord ticket;
  std::vector<store::KpiSpanRecord> spans;  // by kind, then seq
};

// The facts of `ticket` from its whole history and thread. `team` is its assignee's team name.
// `now` measures running spans. kInvalidArgument when an instant lies outside the calendar's years.
Result<KpiFacts> MeasureTicket(const store::TicketRecord& ticket, std::span<const store::TicketHistoryRecord> history,
                               std::span<const store::TicketMessageRecord> messages, const TicketMeasure& measure,
                               std::string team, Millis now);

// Reads `ticket`'s history and thread from `store` — adding the rows of the change in flight
// (`messages`, `history`) where the backend's reads do not show the open transaction yet — and
// its assignee's team, measures it and writes the facts in `txn`.
Status MeasureAndPut(store::Store& store, store::Transaction& txn, const store::TicketRecord& ticket,
                     std::span<const store::TicketMessageRecord> messages,
                     std::span<const store::TicketHistoryRecord> history, const TicketMeasure& measure, Millis now,
                     KpiFacts* out = nullptr);

// The desk's change listener that keeps the facts: in the transaction of each change, the changed
// tickets' facts are recomputed and replaced. After the commit, `observer` (if set) gets them
// (the in-memory roll-ups, insight/kpis.h).
class KpiSpanListener final : public service::ChangeListener {
 public:
  // `clock` must outlive the listener. Without a measure function: wall clock, no targets.
  explicit KpiSpanListener(const Clock& clock, MeasureFn measure = {});
  void SetMeasure(MeasureFn measure);
  void SetObserver(std::function<void(std::span<const KpiFacts>)> observer);

  Status BeforeCommit(store::Store& store, store::Transaction& txn, std::span<const service::TicketChange> changes) override;
  void AfterCommit(std::span<const service::TicketChange> changes) override;

 private:
  const Clock& clock_;
  std::mutex mu_;
  MeasureFn measure_ TP_GUARDED_BY(mu_);
  std::function<void(std::span<const KpiFacts>)> observer_ TP_GUARDED_BY(mu_);
  std::vector<KpiFacts> staged_ TP_GUARDED_BY(mu_);  // the facts of the transaction in flight
};

// Recomputes every ticket's facts from its history, replacing all stored facts, in one
// transaction on `store`. Returns how many tickets were measured.
Result<std::int64_t> RebuildKpiFacts(store::Store& store, const MeasureFn& measure, Millis now);

}  // namespace touchpoint::insight

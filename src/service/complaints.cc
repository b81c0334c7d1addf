#include <touchpoint/service/complaints.h>

#include <string>

namespace touchpoint::service {

std::optional<Millis> ComplaintSince(const store::TicketRecord& ticket,
                                     std::span<const store::TicketHistoryRecord> history) {
  if (ticket.type != TypeName(TicketType::kComplaint)) return std::nullopt;
  Millis since = ticket.created_at;
  std::int64_t best_id = -1;
  for (const store::TicketHistoryRecord& h : history) {
    if (h.field == "type" && h.after == "complaint" && h.id > best_id) {
      since = h.at;
      best_id = h.id;
    }
  }
  return since;
}

Result<std::vector<store::ComplaintTaskRecord>> ComplaintTasks(std::int64_t ticket, Millis since,
                                                               const calendar::Calendar* calendar) {
  std::vector<store::ComplaintTaskRecord> out;
  store::ComplaintTaskRecord followup;
  followup.ticket = ticket;
  followup.kind = std::string(kFollowupTask);
  followup.created_at = since;
  followup.due_at = since + kFollowupWithin;
  out.push_back(followup);
  store::ComplaintTaskRecord feedback = followup;
  feedback.kind = std::string(kFeedbackTask);
  if (calendar != nullptr) {
    TP_ASSIGN_OR_RETURN(calendar::UnixSeconds close,
                        calendar->CloseOfWorkingDayAfter(since / 1000, kFeedbackWorkingDays));
    feedback.due_at = close * 1000;
  } else {
    feedback.due_at = since + Millis{kFeedbackWorkingDays} * kMillisPerDay;
  }
  out.push_back(feedback);
  return out;
}

Desk::StatusGuard ComplaintGuard() {
  return [](store::Store& store, const store::TicketRecord& ticket, TicketStatus to, const Actor& actor,
            bool override_tasks, std::vector<store::TicketHistoryRecord>* rows) -> Status {
    if (ticket.type != TypeName(TicketType::kComplaint)) return Status::Ok();
    if (to != TicketStatus::kSolved && to != TicketStatus::kClosed) return Status::Ok();
    TP_ASSIGN_OR_RETURN(auto tasks, store.Get<store::SlaRepository>().Tasks(ticket.number));
    std::string open;
    for (const auto& t : tasks) {
      if (t.completed_at == 0) open += (open.empty() ? "" : ", ") + t.kind;
    }
    if (open.empty()) return Status::Ok();
    if (!override_tasks) {
      return Status::FailedPrecondition(FormatTicketNumber(ticket.number) + " is a complaint with open tasks (" + open +
                                        "): complete them, or a supervisor overrides (\"override\": true)");
    }
    if (actor.kind != Actor::Kind::kSupervisor && actor.kind != Actor::Kind::kAdmin) {
      return Status::PermissionDenied("only a supervisor may override a complaint's open tasks");
    }
    rows->push_back(store::TicketHistoryRecord{0, ticket.number, 0, std::string(ActorKindName(actor.kind)), actor.name,
                                               "override", "open tasks: " + open, std::string(StatusName(to))});
    return Status::Ok();
  };
}

}  // namespace touchpoint::service

// service/complaints.h — the complaint loop: a ticket of type complaint (created so, or changed
// to it) gets two tracked tasks with their own SLA — the supervisor's one-to-one follow-up within
// 24 hours (wall clock) and feedback to the customer within 3 working days (the close of the 3rd
// working day after the complaint's day on the ticket's calendar,
// Calendar::CloseOfWorkingDayAfter) — and solving or closing it while a task is open needs a
// supervisor's override, recorded in the history. SlaService spawns the tasks and fires their
// overdue events (service/sla.h); the desk asks ComplaintGuard before solving.
//
// Thread safety: pure functions.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include <touchpoint/calendar/calendar.h>
#include <touchpoint/core/result.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/store/sla_repository.h>
#include <touchpoint/store/ticket_repository.h>

namespace touchpoint::service {

inline constexpr std::string_view kFollowupTask = "followup";
inline constexpr std::string_view kFeedbackTask = "feedback";
inline constexpr Millis kFollowupWithin = 24 * 3'600'000;
inline constexpr int kFeedbackWorkingDays = 3;

// When the ticket became a complaint: the last history row setting its type to complaint, else
// its creation (a ticket created as a complaint). nullopt when it is not a complaint.
std::optional<Millis> ComplaintSince(const store::TicketRecord& ticket,
                                     std::span<const store::TicketHistoryRecord> history);

// The two tasks of a complaint since `since` (ids 0): followup due since + 24 h; feedback due at
// the close of the 3rd working day after since's local date on `calendar` (null: since + 72 h).
// kInvalidArgument outside the calendar's years.
Result<std::vector<store::ComplaintTaskRecord>> ComplaintTasks(std::int64_t ticket, Millis since,
                                                               const calendar::Calendar* calendar);

// The desk's status guard (Desk::SetStatusGuard): solving or closing a complaint with an open
// task is kFailedPrecondition naming the tasks, unless overridden by a supervisor or an admin
// (others: kPermissionDenied); an override adds an `override` history row naming the tasks.
Desk::StatusGuard ComplaintGuard();

}  // namespace touchpoint::service

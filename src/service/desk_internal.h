// service/desk_internal.h — one ticket's change as the desk writes it, shared by the desk's parts
// (desk.cc, desk_flow.cc, agents.cc) so that every change goes through one commit point,
// Desk::CommitLocked: the change listeners' BeforeCommit, the commit, their AfterCommit, routing.
#pragma once

#include <optional>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/store/ticket_repository.h>

namespace touchpoint::service {

struct DeskChange {
  store::TicketRecord ticket;                 // as it will be written
  std::optional<store::TicketRecord> loaded;  // as loaded; nullopt: created in this transaction
  std::vector<store::TicketMessageRecord> messages;
  std::vector<store::TicketHistoryRecord> history;

  // A change of `t` as loaded: the ticket starts as a copy.
  static DeskChange Of(const store::TicketRecord& t) { return DeskChange{t, t, {}, {}}; }
  std::int64_t loaded_version() const { return loaded ? loaded->version : 0; }
};

// A history row of ticket `number` by `actor`.
store::TicketHistoryRecord HistoryRow(std::int64_t number, Millis at, const Actor& actor, std::string field,
                                      std::string before, std::string after);

// Creates or updates (checking the loaded version) the ticket, and appends its messages and
// history rows, in `txn`.
Status WriteChange(store::TicketRepository& repo, store::Transaction& txn, const DeskChange& c);

}  // namespace touchpoint::service

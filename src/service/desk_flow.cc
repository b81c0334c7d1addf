// Deskflow's part of service::Desk (desk.h, "deskflow"): the one commit point every ticket change
// goes through (the change listeners around the commit, then routing), tags and custom fields with
// their history rows, and the auto-close of solved tickets.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <touchpoint/core/strings.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/service/search.h>
#include <touchpoint/store/deskflow_repository.h>

#include "service/desk_internal.h"

namespace touchpoint::service {
namespace {

constexpr size_t kMaxTags = 20;
constexpr size_t kMaxTagBytes = 40;
constexpr size_t kMaxFieldValue = 500;

bool NameChars(std::string_view s, bool punctuation) {
  if (s.empty() || s.size() > kMaxTagBytes) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                    (punctuation && (c == '-' || c == '.' || c == ':'));
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Status CheckTag(std::string_view tag) {
  if (!NameChars(tag, true)) {
    return Status::InvalidArgument("tags: \"" + std::string(tag) + "\" is not a tag (1-40 of a-z 0-9 _ - . :)");
  }
  return Status::Ok();
}

void Desk::AddChangeListener(std::shared_ptr<ChangeListener> listener) {
  std::scoped_lock lock(mu_);
  listeners_.push_back(std::move(listener));
}

void Desk::RemoveChangeListener(const ChangeListener* listener) {
  std::scoped_lock lock(mu_);
  std::erase_if(listeners_, [&](const auto& l) { return l.get() == listener; });
}

Status Desk::CommitLocked(std::unique_ptr<store::Transaction> txn, std::span<const DeskChange> changes) {
  std::vector<TicketChange> flow;
  flow.reserve(changes.size());
  for (const DeskChange& c : changes) flow.push_back(TicketChange{!c.loaded, &c.ticket, c.messages, c.history});
  for (const auto& l : listeners_) TP_RETURN_IF_ERROR(l->BeforeCommit(*store_, *txn, flow));
  TP_RETURN_IF_ERROR(txn->Commit());
  txn.reset();  // routing (below) may begin transactions of its own
  for (const auto& l : listeners_) l->AfterCommit(flow);
  // Routing: every change's loads first, then (when one freed an agent) the waiting tickets.
  bool freed = false;
  for (const DeskChange& c : changes) {
    if (RoutingAfterChangeLocked(c.loaded ? &*c.loaded : nullptr, c.ticket)) freed = true;
  }
  if (freed) (void)RouteWaitingLocked();  // a failure leaves the tickets waiting for the next chance
  return Status::Ok();
}

Status Desk::CommitTouched(std::unique_ptr<store::Transaction> txn, const store::TicketRecord& ticket, Millis now,
                           std::vector<store::TicketHistoryRecord> history) {
  DeskChange c = DeskChange::Of(ticket);
  c.ticket.updated_at = now;
  c.history = std::move(history);
  TP_RETURN_IF_ERROR(WriteChange(store_->Get<store::TicketRepository>(), *txn, c));
  return CommitLocked(std::move(txn), std::span(&c, 1));
}

Result<std::vector<std::string>> Desk::ChangeTags(std::int64_t number, const TagChange& change, const Actor& actor) {
  std::vector<std::string> add, remove;
  for (const std::string& t : change.add) {
    std::string tag = AsciiLower(t);
    TP_RETURN_IF_ERROR(CheckTag(tag));
    add.push_back(std::move(tag));
  }
  for (const std::string& t : change.remove) {
    std::string tag = AsciiLower(t);
    TP_RETURN_IF_ERROR(CheckTag(tag));
    remove.push_back(std::move(tag));
  }
  std::scoped_lock lock(mu_);
  TP_ASSIGN_OR_RETURN(store::TicketRecord t, Load(number));
  TP_RETURN_IF_ERROR(CheckCanChangeLocked(t, actor));
  store::DeskflowRepository& repo = store_->Get<store::DeskflowRepository>();
  TP_ASSIGN_OR_RETURN(std::vector<std::string> tags, repo.Tags(number));
  const Millis now = clock_.Now();
  std::vector<store::TicketHistoryRecord> history;
  std::vector<std::string> after = tags;
  for (const std::string& tag : remove) {
    auto it = std::find(after.begin(), after.end(), tag);
    if (it == after.end()) continue;
    after.erase(it);
    history.push_back(HistoryRow(number, now, actor, "tag", tag, ""));
  }
  std::vector<std::string> added;
  for (const std::string& tag : add) {
    if (std::find(after.begin(), after.end(), tag) != after.end()) continue;
    after.push_back(tag);
    added.push_back(tag);
    history.push_back(HistoryRow(number, now, actor, "tag", "", tag));
  }
  if (after.size() > kMaxTags) {
    return Status::InvalidArgument("tags: a ticket has at most " + std::to_string(kMaxTags) + " tags");
  }
  std::sort(after.begin(), after.end());
  if (history.empty()) return after;  // nothing changes: no history row
  TP_ASSIGN_OR_RETURN(auto txn, store_->Begin());
  for (const auto& h : history) {
    if (!h.before.empty()) TP_RETURN_IF_ERROR(repo.RemoveTag(*txn, number, h.before));
  }
  for (const std::string& tag : added) TP_RETURN_IF_ERROR(repo.AddTag(*txn, number, tag));
  TP_RETURN_IF_ERROR(CommitTouched(std::move(txn), t, now, std::move(history)));
  return after;
}

Result<std::vector<std::pair<std::string, std::string>>> Desk::SetFields(
    std::int64_t number, const std::vector<std::pair<std::string, std::string>>& fields, const Actor& actor) {
  for (const auto& [name, value] : fields) {
    if (!NameChars(name, false)) {
      return Status::InvalidArgument("fields: \"" + name + "\" is not a field name (1-40 of a-z 0-9 _)");
    }
    if (value.size() > kMaxFieldValue) {
      return Status::InvalidArgument("fields." + name + ": longer than " + std::to_string(kMaxFieldValue) + " bytes");
    }
  }
  std::scoped_lock lock(mu_);
  TP_ASSIGN_OR_RETURN(store::TicketRecord t, Load(number));
  TP_RETURN_IF_ERROR(CheckCanChangeLocked(t, actor));
  store::DeskflowRepository& repo = store_->Get<store::DeskflowRepository>();
  TP_ASSIGN_OR_RETURN(auto current, repo.Fields(number));
  const Millis now = clock_.Now();
  std::vector<store::TicketHistoryRecord> history;
  std::vector<std::pair<std::string, std::string>> changed;
  for (const auto& [name, value] : fields) {
    auto it = std::find_if(current.begin(), current.end(), [&](const auto& f) { return f.first == name; });
    const std::string before = it == current.end() ? "" : it->second;
    if (before == value) continue;
    // Field values are data the company defines (order numbers, account types): the history
    // keeps them, as it keeps statuses; texts never go there.
    history.push_back(HistoryRow(number, now, actor, "field:" + name, before, value));
    changed.emplace_back(name, value);
    if (it == current.end()) {
      current.emplace_back(name, value);
    } else if (value.empty()) {
      current.erase(it);
    } else {
      it->second = value;
    }
  }
  std::sort(current.begin(), current.end());
  if (history.empty()) return current;
  TP_ASSIGN_OR_RETURN(auto txn, store_->Begin());
  for (const auto& [name, value] : changed) TP_RETURN_IF_ERROR(repo.SetField(*txn, number, name, value));
  TP_RETURN_IF_ERROR(CommitTouched(std::move(txn), t, now, std::move(history)));
  return current;
}

Result<int> Desk::AutoClose(Millis after, int limit) {
  std::vector<std::int64_t> due;
  {
    std::scoped_lock lock(mu_);
    if (store_ == nullptr) return Status::Unavailable("the desk is closed");
    const Millis cutoff = clock_.Now() - after;
    store::TicketFilter f;
    f.status = std::string(StatusName(TicketStatus::kSolved));
    f.limit = 500;
    for (;;) {
      TP_ASSIGN_OR_RETURN(auto page, store_->Get<store::TicketRepository>().List(f));
      for (const store::TicketRecord& t : page) {
        if (t.solved_at > 0 && t.solved_at <= cutoff) due.push_back(t.number);
      }
      if (static_cast<int>(page.size()) < f.limit) break;
      f.before = page.back().number;
    }
  }
  // Oldest first; each its own change through SetStatus (lock, version check, history, events).
  std::sort(due.begin(), due.end());
  const Actor rule{Actor::Kind::kSystem, 0, "auto_close"};
  int closed = 0;
  for (std::int64_t number : due) {
    if (closed >= limit) break;
    auto r = SetStatus(number, TicketStatus::kClosed, rule);
    if (r.ok()) {
      ++closed;
    } else if (r.status().code() != StatusCode::kFailedPrecondition && r.status().code() != StatusCode::kNotFound) {
      return r.status();  // the store failed; a ticket reopened meanwhile is simply skipped
    }
  }
  return closed;
}

}  // namespace touchpoint::service

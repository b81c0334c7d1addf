// Deskflow's part of service::Desk (desk.h, "deskflow"): the change listeners' hook around each
// commit, tags and custom fields with their history rows, and the auto-close of solved tickets.
// Kept out of desk.cc so that the desk core only has its call sites.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <touchpoint/service/desk.h>
#include <touchpoint/service/search.h>
#include <touchpoint/store/deskflow_repository.h>

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

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

store::TicketHistoryRecord Row(std::int64_t number, Millis at, const Actor& actor, std::string field, std::string before,
                               std::string after) {
  return store::TicketHistoryRecord{0,          number, at, std::string(ActorKindName(actor.kind)), actor.name,
                                    std::move(field), std::move(before), std::move(after)};
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

Status Desk::CommitFlow(store::Transaction& txn, std::span<const TicketChange> changes) {
  for (const auto& l : listeners_) TP_RETURN_IF_ERROR(l->BeforeCommit(*store_, txn, changes));
  TP_RETURN_IF_ERROR(txn.Commit());
  for (const auto& l : listeners_) l->AfterCommit(changes);
  return Status::Ok();
}

Result<std::vector<std::string>> Desk::ChangeTags(std::int64_t number, const TagChange& change, const Actor& actor) {
  std::vector<std::string> add, remove;
  for (const std::string& t : change.add) {
    std::string tag = Lower(t);
    TP_RETURN_IF_ERROR(CheckTag(tag));
    add.push_back(std::move(tag));
  }
  for (const std::string& t : change.remove) {
    std::string tag = Lower(t);
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
    history.push_back(Row(number, now, actor, "tag", tag, ""));
  }
  std::vector<std::string> added;
  for (const std::string& tag : add) {
    if (std::find(after.begin(), after.end(), tag) != after.end()) continue;
    after.push_back(tag);
    added.push_back(tag);
    history.push_back(Row(number, now, actor, "tag", "", tag));
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
  store::TicketRecord updated = t;
  updated.updated_at = now;
  store::TicketRepository& tickets = store_->Get<store::TicketRepository>();
  TP_RETURN_IF_ERROR(tickets.Update(*txn, updated, t.version));
  TP_RETURN_IF_ERROR(tickets.AddHistory(*txn, history));
  const TicketChange flow{false, &updated, {}, history};
  TP_RETURN_IF_ERROR(CommitFlow(*txn, std::span<const TicketChange>(&flow, 1)));
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
    history.push_back(Row(number, now, actor, "field:" + name, before, value));
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
  store::TicketRecord updated = t;
  updated.updated_at = now;
  store::TicketRepository& tickets = store_->Get<store::TicketRepository>();
  TP_RETURN_IF_ERROR(tickets.Update(*txn, updated, t.version));
  TP_RETURN_IF_ERROR(tickets.AddHistory(*txn, history));
  const TicketChange flow{false, &updated, {}, history};
  TP_RETURN_IF_ERROR(CommitFlow(*txn, std::span<const TicketChange>(&flow, 1)));
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

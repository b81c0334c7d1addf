#include <touchpoint/service/repeats.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include <touchpoint/service/ticket.h>
#include <touchpoint/store/ticket_repository.h>

namespace touchpoint::service {
namespace {

std::string ChannelWord(const std::string& channel) { return channel == "email" ? "e-mail" : channel; }

// MM-DD of `t` in UTC.
std::string MonthDay(Millis t) {
  const std::string iso = FormatTimestamp(t);  // 2026-11-02T…
  return iso.size() >= 10 ? iso.substr(5, 5) : iso;
}

std::vector<RepeatRate> Rates(const std::map<std::string, std::pair<std::int64_t, std::int64_t>>& counts) {
  std::vector<RepeatRate> out;
  for (const auto& [key, c] : counts) {
    out.push_back(RepeatRate{key, c.first, c.second, c.first > 0 ? static_cast<double>(c.second) / static_cast<double>(c.first) : 0});
  }
  std::stable_sort(out.begin(), out.end(), [](const RepeatRate& a, const RepeatRate& b) { return a.contacts > b.contacts; });
  return out;
}

}  // namespace

std::string ContactIntent(const TicketChange& change) {
  std::string intent;
  for (const store::TicketMessageRecord& m : change.messages) {
    if (m.author == "customer") {
      intent = m.intent;
      break;
    }
  }
  if (intent.empty() && change.ticket != nullptr) intent = change.ticket->skill;
  if (intent == "other") intent.clear();
  return intent;
}

Status RepeatDetector::BeforeCommit(store::Store& store, store::Transaction& txn, std::span<const TicketChange> changes) {
  store::DeskflowRepository& repo = store.Get<store::DeskflowRepository>();
  for (const TicketChange& c : changes) {
    if (!c.created || c.ticket == nullptr) continue;
    const std::string intent = ContactIntent(c);
    if (intent.empty()) continue;
    const store::TicketRecord& t = *c.ticket;
    TP_ASSIGN_OR_RETURN(auto earlier, repo.Contacts(t.customer, t.created_at - options_.window_days * kMillisPerDay));
    store::TicketContactRecord row{t.number, t.customer, intent, t.channel, t.created_at, 1, {}};
    for (const store::TicketContactRecord& e : earlier) {
      if (e.ticket == t.number || e.intent != intent || e.at > t.created_at) continue;
      row.previous.push_back(e.ticket);
    }
    row.ordinal = static_cast<std::int32_t>(row.previous.size()) + 1;
    TP_RETURN_IF_ERROR(repo.PutContact(txn, row));
  }
  return Status::Ok();
}

Result<std::optional<RepeatInfo>> FindRepeat(store::Store& store, std::int64_t number, int window_days,
                                             const std::function<std::string(std::int64_t)>& user_name) {
  TP_ASSIGN_OR_RETURN(auto contact, store.Get<store::DeskflowRepository>().FindContact(number));
  if (!contact) return std::optional<RepeatInfo>();
  RepeatInfo info;
  info.number = number;
  info.intent = contact->intent;
  info.ordinal = contact->ordinal;
  info.window_days = window_days;
  info.channel = contact->channel;
  store::TicketRepository& tickets = store.Get<store::TicketRepository>();
  for (std::int64_t n : contact->previous) {
    TP_ASSIGN_OR_RETURN(auto t, tickets.Find(n));
    if (!t) continue;
    EarlierContact e{n, t->created_at, t->channel, t->status, ""};
    if (t->assignee != 0 && user_name) {
      std::string name = user_name(t->assignee);
      e.agent = name.substr(0, name.find('@'));
    }
    info.previous.push_back(std::move(e));
  }
  return std::optional<RepeatInfo>(std::move(info));
}

std::string Ordinal(int n) {
  const int mod100 = n % 100;
  const char* suffix = "th";
  if (mod100 < 11 || mod100 > 13) {
    if (n % 10 == 1) suffix = "st";
    if (n % 10 == 2) suffix = "nd";
    if (n % 10 == 3) suffix = "rd";
  }
  return std::to_string(n) + suffix;
}

std::string RepeatSummary(const RepeatInfo& info) {
  if (!info.repeat()) return "";
  std::string s = Ordinal(info.ordinal) + " contact in " + std::to_string(info.window_days) + " days about " +
                  info.intent + ":";
  bool first = true;
  for (const EarlierContact& e : info.previous) {
    s += first ? " " : ", ";
    first = false;
    s += MonthDay(e.at) + " " + ChannelWord(e.channel) + " (" + e.status;
    if (!e.agent.empty()) s += ", agent " + e.agent;
    s += ")";
  }
  s += (first ? " " : ", ") + std::string("now ") + ChannelWord(info.channel);
  return s;
}

Result<RepeatReport> RepeatRates(store::DeskflowRepository& repo, Millis from, Millis to) {
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> by_intent, by_channel;
  RepeatReport r;
  TP_RETURN_IF_ERROR(repo.ScanContacts(from, to, [&](store::TicketContactRecord&& c) {
    const std::int64_t repeat = c.ordinal >= 2 ? 1 : 0;
    ++r.contacts;
    r.repeats += repeat;
    auto& i = by_intent[c.intent];
    ++i.first;
    i.second += repeat;
    auto& ch = by_channel[c.channel];
    ++ch.first;
    ch.second += repeat;
  }));
  r.rate = r.contacts > 0 ? static_cast<double>(r.repeats) / static_cast<double>(r.contacts) : 0;
  r.by_intent = Rates(by_intent);
  r.by_channel = Rates(by_channel);
  return r;
}

}  // namespace touchpoint::service

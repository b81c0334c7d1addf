#include <touchpoint/insight/fcr.h>

#include <algorithm>
#include <map>
#include <utility>

namespace touchpoint::insight {

FcrResult FirstContactResolution(std::span<const TicketFacts> tickets, Millis as_of, Millis window) {
  // Tickets opened per (customer, intent), by creation time, for the "no new ticket" check.
  std::map<std::pair<std::int64_t, std::string>, std::vector<Millis>> opened;
  for (const auto& t : tickets) {
    if (!t.intent.empty()) opened[{t.customer.value(), t.intent}].push_back(t.created_at);
  }
  for (auto& [key, v] : opened) std::sort(v.begin(), v.end());
  FcrResult r;
  for (const auto& t : tickets) {
    if (t.first_solved_at == 0) continue;
    const Millis end = t.first_solved_at + window;
    if (end > as_of) {
      ++r.pending;
      continue;
    }
    ++r.judged;
    bool ok = t.agent_replies_before_solved == 1;
    ok = ok && std::none_of(t.reopened_at.begin(), t.reopened_at.end(),
                            [&](Millis at) { return at > t.first_solved_at && at <= end; });
    if (ok && !t.intent.empty()) {
      const auto& v = opened[{t.customer.value(), t.intent}];
      // another ticket of the same customer and intent opened in (solved, solved + window]
      auto it = std::upper_bound(v.begin(), v.end(), t.first_solved_at);
      ok = it == v.end() || *it > end;
    }
    if (ok) {
      ++r.resolved;
    } else if (r.failed_numbers.size() < 100) {
      r.failed_numbers.push_back(t.number);
    }
  }
  if (r.judged > 0) {
    r.rate = static_cast<double>(r.resolved) / static_cast<double>(r.judged);
    r.ci = WilsonInterval(r.resolved, r.judged);
  }
  return r;
}

}  // namespace touchpoint::insight

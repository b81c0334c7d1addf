#include <touchpoint/service/spans.h>

#include <algorithm>
#include <limits>
#include <utility>

namespace touchpoint::service {
namespace {

using store::TicketHistoryRecord;
using store::TicketMessageRecord;

bool IsPending(std::string_view status) { return status == "pending_customer" || status == "pending_third_party"; }

calendar::UnixSeconds Sec(Millis t) { return t >= 0 ? t / 1000 : -((-t + 999) / 1000); }

// History rows in time order (stable: rows of one instant keep their insertion order).
std::vector<const TicketHistoryRecord*> Ordered(std::span<const TicketHistoryRecord> history) {
  std::vector<const TicketHistoryRecord*> rows;
  rows.reserve(history.size());
  for (const auto& h : history) rows.push_back(&h);
  std::stable_sort(rows.begin(), rows.end(), [](const auto* a, const auto* b) {
    if (a->at != b->at) return a->at < b->at;
    return a->id < b->id;
  });
  return rows;
}

// The union of [from, to) spans clipped to [lo, hi), as whole seconds, sorted and disjoint.
std::vector<calendar::Pause> Clip(std::span<const PauseSpan> pauses, Millis lo, Millis hi) {
  std::vector<calendar::Pause> out;
  for (const PauseSpan& p : pauses) {
    const Millis to = p.to == 0 ? hi : p.to;
    const Millis a = std::max(p.from, lo), b = std::min(to, hi);
    if (b > a) out.push_back({Sec(a), Sec(b)});
  }
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.from < y.from; });
  std::vector<calendar::Pause> merged;
  for (const auto& p : out) {
    if (!merged.empty() && p.from <= merged.back().to) {
      merged.back().to = std::max(merged.back().to, p.to);
    } else {
      merged.push_back(p);
    }
  }
  return merged;
}

// Measures [start, stop or now) less the pauses.
Status Measure(Span& s, std::span<const PauseSpan> pauses, const SpanOptions& o) {
  const Millis end = s.stop != 0 ? s.stop : std::max(o.now, s.start);
  const auto clipped = Clip(pauses, s.start, end);
  std::int64_t paused = 0;
  for (const auto& p : clipped) paused += p.to - p.from;
  s.wall_seconds = std::max<std::int64_t>(0, Sec(end) - Sec(s.start) - paused);
  if (o.calendar == nullptr) {
    s.business_seconds = s.wall_seconds;
    return Status::Ok();
  }
  TP_ASSIGN_OR_RETURN(s.business_seconds, o.calendar->BusinessSeconds(Sec(s.start), Sec(end), clipped));
  return Status::Ok();
}

}  // namespace

std::vector<PauseSpan> PausesOf(std::span<const TicketHistoryRecord> history) {
  std::vector<PauseSpan> out;
  std::string status;
  for (const TicketHistoryRecord* h : Ordered(history)) {
    if (h->field == "pause_reason") {
      if (!out.empty() && out.back().to == 0) out.back().reason = h->after;
      continue;
    }
    if (h->field != "status") continue;
    const bool was = IsPending(status), is = IsPending(h->after);
    if (was && !out.empty() && out.back().to == 0 && (!is || h->after != status)) out.back().to = h->at;
    if (is && (!was || h->after != status)) out.push_back(PauseSpan{h->at, 0, h->after, ""});
    status = h->after;
  }
  // A pause that ends at its start counts nothing; keep the list to what counts.
  std::erase_if(out, [](const PauseSpan& p) { return p.to != 0 && p.to <= p.from; });
  return out;
}

std::vector<PauseSpan> SolvedPeriodsOf(std::span<const TicketHistoryRecord> history) {
  std::vector<PauseSpan> out;
  std::string status;
  for (const TicketHistoryRecord* h : Ordered(history)) {
    if (h->field != "status") continue;
    // Closing a solved ticket ends nothing: it stays solved (its resolution stopped at the solve).
    if (status == "solved" && h->after != "solved" && h->after != "closed" && !out.empty() && out.back().to == 0) {
      out.back().to = h->at;
    }
    if (h->after == "solved" && status != "solved") out.push_back(PauseSpan{h->at, 0, "solved", ""});
    status = h->after;
  }
  return out;
}

Result<std::optional<Millis>> DueAfter(Millis start, std::int64_t seconds, std::span<const PauseSpan> pauses,
                                       const calendar::Calendar* cal) {
  if (seconds < 0) return Status::InvalidArgument("seconds: negative");
  // Closed pauses first; a lasting pause that begins before the answer makes it unknown.
  std::vector<PauseSpan> closed;
  Millis lasting = 0;  // the start of a lasting pause; 0: none
  for (const PauseSpan& p : pauses) {
    if (p.to == 0) {
      lasting = lasting == 0 ? p.from : std::min(lasting, p.from);
    } else {
      closed.push_back(p);
    }
  }
  const auto clipped = Clip(closed, start, std::numeric_limits<Millis>::max() / 2);
  calendar::UnixSeconds due = 0;
  if (cal != nullptr) {
    TP_ASSIGN_OR_RETURN(due, cal->Due(Sec(start), seconds, clipped));
  } else {
    calendar::UnixSeconds t = Sec(start);
    std::int64_t left = seconds;
    for (const auto& p : clipped) {
      if (p.from > t) {
        if (p.from - t >= left) break;
        left -= p.from - t;
      }
      t = std::max(t, p.to);
    }
    due = t + left;
  }
  const Millis due_ms = due * 1000;
  // A pause still lasting that began before the answer makes it unknown until the pause ends.
  if (lasting != 0 && seconds > 0 && Sec(lasting) < due) return std::optional<Millis>();
  return std::optional<Millis>(due_ms);
}

Result<TicketSpans> ComputeSpans(const store::TicketRecord& ticket, std::span<const TicketHistoryRecord> history,
                                 std::span<const TicketMessageRecord> messages, const SpanOptions& o) {
  TicketSpans out;
  out.pauses = PausesOf(history);
  out.solved = SolvedPeriodsOf(history);
  const auto rows = Ordered(history);

  // The timeline: messages (customer, agent replies, bot) and solve instants, in time order.
  struct Point {
    Millis at;
    int kind;  // 0 customer, 1 agent reply, 2 bot, 3 solved, 4 handoff
    std::int64_t order;
  };
  std::vector<Point> points;
  for (const TicketMessageRecord& m : messages) {
    if (m.internal) continue;
    if (m.author == "customer") points.push_back({m.at, 0, m.id});
    if (m.author == "agent") points.push_back({m.at, 1, m.id});
    if (m.author == "bot") points.push_back({m.at, 2, m.id});
  }
  for (const PauseSpan& s : out.solved) points.push_back({s.from, 3, 0});
  for (const TicketHistoryRecord* h : rows) {
    if (h->field == "handoff" || (h->field == "escalation" && h->after == "handoff")) {
      points.push_back({h->at, 4, 0});
    }
  }
  // At one instant: messages before a solve (a reply and a solve together: the reply counts).
  std::stable_sort(points.begin(), points.end(), [](const Point& a, const Point& b) {
    if (a.at != b.at) return a.at < b.at;
    if ((a.kind == 3) != (b.kind == 3)) return b.kind == 3;
    return a.order < b.order;
  });

  // First response.
  bool has_customer = false;
  for (const Point& p : points) has_customer = has_customer || p.kind == 0;
  std::optional<Millis> start;
  if (!has_customer) start = ticket.created_at;
  bool bot_first = false;
  size_t i = 0;
  for (; i < points.size(); ++i) {
    const Point& p = points[i];
    if (p.kind == 1) break;  // the first agent reply
    if (p.kind == 3 && start) break;
    if (p.kind == 0 && !start && !bot_first) start = p.at;
    if (p.kind == 2 && !bot_first) {
      // The bot answered first: the span starts at its hand-off.
      bot_first = true;
      start.reset();
      continue;
    }
    if (bot_first && !start && (p.kind == 4 || p.kind == 0)) start = p.at;
  }
  if (start) {
    Span s;
    s.start = *start;
    if (i < points.size()) {
      s.stop = std::max(points[i].at, s.start);
      s.ended_by = points[i].kind == 1 ? "reply" : "solved";
    }
    TP_RETURN_IF_ERROR(Measure(s, out.pauses, o));
    out.first_response = s;
  }

  // Next responses: after the first agent reply.
  if (i < points.size() && points[i].kind == 1) {
    // The customer's oldest unanswered message, or -1 (a plain value: GCC 12's -O2 flow analysis
    // reports a std::optional<Millis> here as maybe uninitialised).
    Millis waiting = -1;
    for (size_t k = i + 1; k < points.size(); ++k) {
      const Point& p = points[k];
      if (p.kind == 0 && waiting < 0) waiting = p.at;
      if ((p.kind == 1 || p.kind == 3) && waiting >= 0) {
        Span s;
        s.start = waiting;
        s.stop = p.at;
        s.ended_by = p.kind == 1 ? "reply" : "solved";
        TP_RETURN_IF_ERROR(Measure(s, out.pauses, o));
        out.next_responses.push_back(s);
        waiting = -1;
      }
    }
    if (waiting >= 0) {
      Span s;
      s.start = waiting;
      TP_RETURN_IF_ERROR(Measure(s, out.pauses, o));
      out.next_responses.push_back(s);
    }
  }

  // Resolution: creation → solved, the solved periods before a reopen not counting.
  {
    Span s;
    s.start = ticket.created_at;
    std::vector<PauseSpan> stops = out.pauses;
    Millis last_reopen = 0;
    for (const PauseSpan& solved : out.solved) {
      if (solved.to == 0) {
        s.stop = solved.from;
        s.ended_by = "solved";
      } else {
        stops.push_back(solved);
        last_reopen = solved.to;
      }
    }
    TP_RETURN_IF_ERROR(Measure(s, stops, o));
    out.resolution = s;
    if (last_reopen != 0) {
      Span r;
      r.start = last_reopen;
      r.stop = s.stop;
      r.ended_by = s.ended_by;
      TP_RETURN_IF_ERROR(Measure(r, out.pauses, o));
      out.resolution_since_reopen = r;
    }
  }
  return out;
}

double CalendarMeter::Seconds(Millis from, Millis to) const {
  if (to <= from) return 0;
  auto s = calendar_.BusinessSeconds(Sec(from), Sec(to));
  return s.ok() ? static_cast<double>(*s) : 0;
}

}  // namespace touchpoint::service

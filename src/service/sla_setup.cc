// service/sla.h: SlaSetup and ResolveClock — the policies in force and their calendars, resolved
// the same way by the server's SLA timer and by every command that measures tickets.
#include <algorithm>

#include <touchpoint/calendar/calendar_file.h>
#include <touchpoint/service/sla.h>

namespace touchpoint::service {

SlaClock ResolveClock(const SlaOptions& options, const SlaPolicy& baseline, const store::TicketRecord& ticket,
                      const CustomerFacts& facts) {
  const SlaPolicy* p = MatchPolicy(options.policies, ticket, facts);
  const SlaPolicy& policy = p != nullptr ? *p : baseline;
  const std::string& name = policy.calendar.empty() ? options.default_calendar : policy.calendar;
  const calendar::Calendar* cal = nullptr;
  if (!name.empty()) {
    auto it = options.calendars.find(name);
    if (it != options.calendars.end()) cal = it->second;
  }
  return SlaClock{&policy, cal, policy.calendar.empty() ? nullptr : cal, facts.tier};
}

Result<std::unique_ptr<SlaSetup>> SlaSetup::Load(store::SlaRepository& stored, std::span<const std::string> configured,
                                                 const std::string& default_calendar) {
  std::unique_ptr<SlaSetup> setup(new SlaSetup());
  SlaOptions& o = setup->options_;
  TP_ASSIGN_OR_RETURN(auto records, stored.Policies());
  for (const store::SlaPolicyRecord& r : records) {
    auto p = PolicyFromJson(r.body);
    if (!p.ok()) return p.status().WithContext("stored sla policy " + r.name);
    o.policies.push_back(std::move(*p));
  }
  setup->stored_ = o.policies.size();
  for (const std::string& json : configured) {
    auto p = PolicyFromJson(json);
    if (!p.ok()) return p.status().WithContext("[[sla.policies]]");
    const bool shadowed = std::any_of(o.policies.begin(), o.policies.begin() + static_cast<std::ptrdiff_t>(setup->stored_),
                                      [&](const SlaPolicy& s) { return s.name == p->name; });
    if (shadowed) continue;
    p->position += 1'000'000'000;  // after the stored ones
    o.policies.push_back(std::move(*p));
  }
  std::stable_sort(o.policies.begin(), o.policies.end(),
                   [](const SlaPolicy& x, const SlaPolicy& y) { return x.position < y.position; });
  // Calendars: the desk's default and those the policies name, each a built-in name or a file.
  auto load = [&](const std::string& name) -> Status {
    if (name.empty() || o.calendars.count(name)) return Status::Ok();
    std::optional<calendar::CalendarSpec> spec = calendar::FindBuiltinCalendar(name);
    if (!spec) {
      auto doc = calendar::ReadCalendarFile(name);
      if (!doc.ok()) return Status::InvalidArgument("sla calendar " + name + ": " + std::string(doc.status().message()));
      if (!doc->calendar) return Status::InvalidArgument("sla calendar " + name + ": not a calendar file");
      spec = std::move(*doc->calendar);
    }
    TP_ASSIGN_OR_RETURN(calendar::Calendar cal, calendar::Calendar::Build(std::move(*spec)));
    setup->owned_.push_back(std::make_unique<calendar::Calendar>(std::move(cal)));
    o.calendars[name] = setup->owned_.back().get();
    return Status::Ok();
  };
  TP_RETURN_IF_ERROR(load(default_calendar));
  o.default_calendar = default_calendar;
  for (const SlaPolicy& p : o.policies) TP_RETURN_IF_ERROR(load(p.calendar));
  return setup;
}

SlaOptions SlaSetup::Options() const {
  SlaOptions out;
  out.policies = options_.policies;
  out.calendars = options_.calendars;
  out.default_calendar = options_.default_calendar;
  return out;
}

const calendar::Calendar* SlaSetup::default_calendar() const {
  auto it = options_.calendars.find(options_.default_calendar);
  return options_.default_calendar.empty() || it == options_.calendars.end() ? nullptr : it->second;
}

SlaClock SlaSetup::ClockOf(const store::TicketRecord& ticket) const {
  return ResolveClock(options_, baseline_, ticket, CustomerFacts{});
}

}  // namespace touchpoint::service

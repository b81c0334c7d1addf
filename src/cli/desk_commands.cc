// `touchpoint ticket list|show|create|reply|status|assign|merge` and `touchpoint desk steps`: the
// service desk from the command line (service/desk.h), over the data directory's store next to
// a running server (no writer lock; the tickets' versions catch concurrent changes). The operator
// acts as "cli" with an administrator's scope. Customers are shown by id and a masked
// identifier, message texts with the personal data the text module finds masked.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <touchpoint/core/time.h>
#include <touchpoint/pipeline/customer_view.h>
#include <touchpoint/privacy/masking.h>
#include <touchpoint/server/config.h>
#include <touchpoint/calendar/calendar.h>
#include <touchpoint/calendar/calendar_file.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/service/sla.h>
#include <touchpoint/service/spans.h>
#include <touchpoint/service/ticket.h>
#include <touchpoint/store/sla_repository.h>
#include <touchpoint/store/ticket_repository.h>
#include <touchpoint/store/user_repository.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/data_access.h"
#include "cli/desk_access.h"

namespace touchpoint::cli {
namespace {

std::string Time(Millis t) { return t > 0 ? FormatTimestamp(t) : "-"; }

// The customer as the CLI shows it: id and the first identifier, masked.
std::string CustomerLabel(const DeskHandle& h, CustomerId id) {
  auto data = h.customers->Find(std::to_string(id.value()));
  if (!data.ok() || data->identifiers.empty()) return "customer " + std::to_string(id.value());
  const auto& first = data->identifiers.front();
  const std::string kind(identity::KindName(first.identifier.kind));
  return "customer " + std::to_string(id.value()) + " (" + kind + ":" +
         privacy::DefaultMasker().MaskField(kind, first.identifier.value) + ")";
}

void PrintTicketLine(const store::TicketRecord& t) {
  std::printf("%-10s %-20s %-7s %-9s %-7s %-12s %-8s %s\n", service::FormatTicketNumber(t.number).c_str(),
              t.status.c_str(), t.priority.c_str(), t.type.c_str(), t.channel.c_str(), t.queue.c_str(),
              t.assignee ? std::to_string(t.assignee).c_str() : "-",
              privacy::DefaultMasker().MaskText(t.subject).c_str());
}

Result<std::int64_t> AgentId(DeskHandle& h, const std::string& agent) {
  if (agent == "none") return std::int64_t{0};
  if (agent.find('@') != std::string::npos) {
    TP_ASSIGN_OR_RETURN(auto u, h.reader->Get<store::UserRepository>().FindByEmail(agent));
    if (!u) return Status::NotFound("no user " + agent);
    return u->id;
  }
  return service::ParseTicketNumber(agent, "AGENT (a user id, an e-mail or none)");
}

// The tickets with a fired SLA breach of a target not met yet, highest number first: what the
// server's timer holds (SlaService::Breaching), computed read-only from the store — the stored
// breach events, the SLA setup the server runs (CliSlaSetup) and each ticket's spans now — so
// the command works next to a running server and fires nothing itself.
Result<std::vector<std::int64_t>> BreachingTickets(store::Store& st, const std::string& data_dir, Millis now) {
  std::map<std::int64_t, std::set<std::pair<std::string, std::int64_t>>> breached;  // ticket → (target, cycle)
  TP_RETURN_IF_ERROR(st.Get<store::SlaRepository>().ScanEvents(0, [&](store::SlaEventRecord&& e) {
    if (e.kind == "breach" && e.target.rfind("task:", 0) != 0) breached[e.ticket].insert({e.target, e.cycle});
  }));
  std::vector<std::int64_t> out;
  if (breached.empty()) return out;
  TP_ASSIGN_OR_RETURN(std::shared_ptr<service::SlaSetup> setup, CliSlaSetup(st, data_dir));
  store::TicketRepository& repo = st.Get<store::TicketRepository>();
  for (const auto& [number, targets] : breached) {
    TP_ASSIGN_OR_RETURN(auto t, repo.Find(number));
    if (!t || t->status == "closed" || t->merged_into != 0) continue;
    const service::SlaClock clock = setup->ClockOf(*t);
    TP_ASSIGN_OR_RETURN(auto history, repo.History(number));
    TP_ASSIGN_OR_RETURN(auto messages, repo.Messages(number));
    auto spans = service::ComputeSpans(*t, history, messages, service::SpanOptions{clock.calendar, now});
    if (!spans.ok()) continue;
    auto dues = service::ComputeDues(*clock.policy, clock.calendar, *t, *spans);
    if (!dues.ok()) continue;
    for (const service::SlaDue& d : *dues) {
      if (d.kind == "breach" && targets.count({d.target, d.cycle})) {
        out.push_back(number);
        break;
      }
    }
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

}  // namespace

Result<DeskHandle> OpenDesk(const std::string& data_dir) {
  DeskHandle h;
  auto store = OpenForKeys(data_dir);
  if (!store.ok()) return Status::Unavailable(store.status().message());
  auto reader = OpenForKeys(data_dir);
  if (!reader.ok()) return Status::Unavailable(reader.status().message());
  h.reader = std::move(*reader);
  h.customers = pipeline::StoreCustomerView(*h.reader);
  h.desk = std::make_unique<service::Desk>(std::move(*store), SystemClock::Instance(), DeskflowDeskOptions(data_dir));
  return h;
}

Result<std::shared_ptr<service::SlaSetup>> CliSlaSetup(store::Store& store, const std::string& data_dir,
                                                       const std::string& calendar_override) {
  server::ServerConfig defaults;
  defaults.data_dir = data_dir;
  auto config = server::LoadConfig(data_dir + "/touchpoint.toml", defaults, /*must_exist=*/false);
  const server::ServerConfig& cfg = config.ok() ? *config : defaults;
  TP_ASSIGN_OR_RETURN(std::unique_ptr<service::SlaSetup> setup,
                      service::SlaSetup::Load(store.Get<store::SlaRepository>(), cfg.sla_policies,
                                              calendar_override.empty() ? cfg.sla_calendar : calendar_override));
  return std::shared_ptr<service::SlaSetup>(std::move(setup));
}

void RegisterDeskCommands(CLI::App& app, int* exit_code) {
  auto data = std::make_shared<std::string>(DefaultDataDir());
  struct Args {
    std::string status, queue, assignee, customer, cursor, number, text, channel, subject, priority, type, skill,
        language, agent, source, target, from, to, calendar;
    int limit = 50;
    bool breaching = false;
    bool internal = false;
    bool history = false;
  };
  auto a = std::make_shared<Args>();

  CLI::App* ticket = app.add_subcommand("ticket", "Service desk tickets: list, show, create, reply, status, assign, merge");
  ticket->require_subcommand(1);

  CLI::App* list = ticket->add_subcommand("list", "Tickets, newest first (filters combine)");
  list->add_option("--data", *data, "Data directory");
  list->add_option("--status", a->status, "new | open | pending_customer | pending_third_party | solved | closed");
  list->add_option("--queue", a->queue, "Queue name");
  list->add_option("--assignee", a->assignee, "Agent user id, e-mail, or none (unassigned)");
  list->add_option("--customer", a->customer, "Customer as kind:value or id");
  list->add_option("--cursor", a->cursor, "Continue below this ticket number (the last one printed)");
  list->add_option("--limit", a->limit, "At most this many (default 50)");
  list->add_flag("--breaching", a->breaching, "Only tickets past an SLA target (a fired breach not met yet)");
  list->callback([=] {
    WithDesk(*data, exit_code, [&](DeskHandle& h) -> Status {
      store::TicketFilter f;
      f.limit = a->limit;
      if (!a->status.empty()) {
        TP_RETURN_IF_ERROR(service::ParseStatus(a->status, "--status").status());
        f.status = a->status;
      }
      f.queue = a->queue;
      if (!a->assignee.empty()) {
        TP_ASSIGN_OR_RETURN(f.assignee, AgentId(h, a->assignee));
      }
      if (!a->customer.empty()) {
        TP_ASSIGN_OR_RETURN(auto c, h.customers->Find(a->customer));
        f.customer = c.id;
      }
      if (!a->cursor.empty()) {
        TP_ASSIGN_OR_RETURN(f.before, service::ParseTicketNumber(a->cursor, "--cursor"));
      }
      std::vector<store::TicketRecord> tickets;
      if (a->breaching) {
        TP_ASSIGN_OR_RETURN(auto numbers, BreachingTickets(*h.reader, *data, SystemClock::Instance().Now()));
        for (std::int64_t n : numbers) {
          if (static_cast<int>(tickets.size()) >= f.limit) break;
          if (f.before > 0 && n >= f.before) continue;
          TP_ASSIGN_OR_RETURN(service::TicketView v, h.desk->Get(n));
          const store::TicketRecord& t = v.ticket;
          if ((!f.status.empty() && t.status != f.status) || (!f.queue.empty() && t.queue != f.queue) ||
              (f.assignee >= 0 && t.assignee != f.assignee) || (f.customer.valid() && t.customer != f.customer)) {
            continue;
          }
          tickets.push_back(t);
        }
      } else {
        TP_ASSIGN_OR_RETURN(tickets, h.desk->List(f));
      }
      std::printf("%-10s %-20s %-7s %-9s %-7s %-12s %-8s %s\n", "NUMBER", "STATUS", "PRIO", "TYPE", "CHANNEL",
                  "QUEUE", "ASSIGNEE", "SUBJECT");
      for (const auto& t : tickets) PrintTicketLine(t);
      return Status::Ok();
    });
  });

  CLI::App* show = ticket->add_subcommand("show", "A ticket with its thread (and --history)");
  show->add_option("--data", *data, "Data directory");
  show->add_option("NUMBER", a->number, "TP-000123")->required();
  show->add_flag("--history", a->history, "Also print every change");
  show->callback([=] {
    WithDesk(*data, exit_code, [&](DeskHandle& h) -> Status {
      TP_ASSIGN_OR_RETURN(std::int64_t n, service::ParseTicketNumber(a->number, "NUMBER"));
      TP_ASSIGN_OR_RETURN(service::TicketView v, h.desk->Get(n));
      const store::TicketRecord& t = v.ticket;
      const privacy::Masker& masker = privacy::DefaultMasker();
      std::printf("%s  %s  priority %s  %s via %s\n", service::FormatTicketNumber(t.number).c_str(), t.status.c_str(),
                  t.priority.c_str(), t.type.c_str(), t.channel.c_str());
      std::printf("subject:   %s\n", masker.MaskText(t.subject).c_str());
      std::printf("customer:  %s\n", CustomerLabel(h, t.customer).c_str());
      std::printf("queue:     %s   assignee: %s   skill: %s   language: %s\n", t.queue.c_str(),
                  t.assignee ? std::to_string(t.assignee).c_str() : "-", t.skill.empty() ? "-" : t.skill.c_str(),
                  t.language.empty() ? "-" : t.language.c_str());
      std::printf("created:   %s   updated: %s   reopened: %d\n", Time(t.created_at).c_str(),
                  Time(t.updated_at).c_str(), t.reopen_count);
      if (t.merged_into) std::printf("merged into %s\n", service::FormatTicketNumber(t.merged_into).c_str());
      PrintDeskflowLines(*h.desk, n);  // deskflow: repeat summary, tags, fields
      std::printf("\n");
      for (const auto& m : v.messages) {
        std::printf("[%s] %s%s via %s%s: %s\n", Time(m.at).c_str(), m.author.c_str(),
                    m.agent ? (" " + std::to_string(m.agent)).c_str() : "", m.channel.c_str(),
                    m.internal ? " (internal note)" : "", masker.MaskText(m.text).c_str());
      }
      if (a->history) {
        TP_ASSIGN_OR_RETURN(auto rows, h.desk->History(n));
        std::printf("\nhistory:\n");
        for (const auto& r : rows) {
          std::printf("  %s  %-10s %-16s %-10s %s → %s\n", Time(r.at).c_str(), r.actor_kind.c_str(), r.actor.c_str(),
                      r.field.c_str(), r.before.empty() ? "∅" : r.before.c_str(), r.after.c_str());
        }
      }
      return Status::Ok();
    });
  });

  CLI::App* create = ticket->add_subcommand("create", "Open a ticket for a customer");
  create->add_option("--data", *data, "Data directory");
  create->add_option("--customer", a->customer, "Customer as kind:value (phone:…, email:…, user:…) or id")->required();
  create->add_option("--subject", a->subject, "Subject")->required();
  create->add_option("--channel", a->channel, "chat | email | social | phone | ivr | app")->required();
  create->add_option("--priority", a->priority, "high | medium | low (default: from the customer's value)");
  create->add_option("--type", a->type, "request | complaint | incident (default request)");
  create->add_option("--skill", a->skill, "Skill needed (credit_card, loan, refund, …)");
  create->add_option("--language", a->language, "Language (zh, en, …)");
  create->add_option("--queue", a->queue, "Queue (default general)");
  create->callback([=] {
    WithDesk(*data, exit_code, [&](DeskHandle& h) -> Status {
      service::NewTicket t;
      auto c = h.customers->Find(a->customer);
      if (!c.ok()) {
        return c.status().code() == StatusCode::kNotFound ? Status::NotFound("--customer: no such customer")
                                                          : c.status();
      }
      t.customer = c->id;
      t.customer_revenue = c->profile.revenue();
      t.subject = a->subject;
      t.channel = a->channel;
      if (!a->priority.empty()) {
        TP_ASSIGN_OR_RETURN(t.priority, service::ParsePriority(a->priority, "--priority"));
      }
      if (!a->type.empty()) {
        TP_ASSIGN_OR_RETURN(t.type, service::ParseType(a->type, "--type"));
      }
      t.skill = a->skill;
      t.language = a->language;
      t.queue = a->queue;
      TP_ASSIGN_OR_RETURN(auto created, h.desk->Create(t, kCliDeskActor));
      PrintTicketLine(created);
      return Status::Ok();
    });
  });

  CLI::App* reply = ticket->add_subcommand("reply", "Add an agent reply (or --internal note) to a ticket");
  reply->add_option("--data", *data, "Data directory");
  reply->add_option("NUMBER", a->number, "TP-000123")->required();
  reply->add_option("--text", a->text, "The reply")->required();
  reply->add_flag("--internal", a->internal, "An internal note (never sent to the customer)");
  reply->add_option("--channel", a->channel, "Channel of the reply (default: the ticket's)");
  reply->callback([=] {
    WithDesk(*data, exit_code, [&](DeskHandle& h) -> Status {
      TP_ASSIGN_OR_RETURN(std::int64_t n, service::ParseTicketNumber(a->number, "NUMBER"));
      TP_ASSIGN_OR_RETURN(auto t, h.desk->AddMessage(n, service::NewMessage{a->text, a->internal, a->channel}, kCliDeskActor));
      PrintTicketLine(t);
      return Status::Ok();
    });
  });

  CLI::App* status = ticket->add_subcommand("status", "Move a ticket to another status (the machine's rules apply)");
  status->add_option("--data", *data, "Data directory");
  status->add_option("NUMBER", a->number, "TP-000123")->required();
  status->add_option("STATUS", a->status, "open | pending_customer | pending_third_party | solved | closed")->required();
  status->callback([=] {
    WithDesk(*data, exit_code, [&](DeskHandle& h) -> Status {
      TP_ASSIGN_OR_RETURN(std::int64_t n, service::ParseTicketNumber(a->number, "NUMBER"));
      TP_ASSIGN_OR_RETURN(service::TicketStatus to, service::ParseStatus(a->status, "STATUS"));
      TP_ASSIGN_OR_RETURN(auto t, h.desk->SetStatus(n, to, kCliDeskActor));
      PrintTicketLine(t);
      return Status::Ok();
    });
  });

  CLI::App* assign = ticket->add_subcommand("assign", "Assign a ticket to an agent (user id or e-mail; none unassigns)");
  assign->add_option("--data", *data, "Data directory");
  assign->add_option("NUMBER", a->number, "TP-000123")->required();
  assign->add_option("AGENT", a->agent, "User id, e-mail, or none")->required();
  assign->callback([=] {
    WithDesk(*data, exit_code, [&](DeskHandle& h) -> Status {
      TP_ASSIGN_OR_RETURN(std::int64_t n, service::ParseTicketNumber(a->number, "NUMBER"));
      TP_ASSIGN_OR_RETURN(std::int64_t agent, AgentId(h, a->agent));
      TP_ASSIGN_OR_RETURN(auto t, h.desk->Assign(n, agent, kCliDeskActor));
      PrintTicketLine(t);
      return Status::Ok();
    });
  });

  CLI::App* merge = ticket->add_subcommand("merge", "Merge SOURCE into TARGET (same customer; SOURCE is closed)");
  merge->add_option("--data", *data, "Data directory");
  merge->add_option("SOURCE", a->source, "TP-…")->required();
  merge->add_option("TARGET", a->target, "TP-…")->required();
  merge->callback([=] {
    WithDesk(*data, exit_code, [&](DeskHandle& h) -> Status {
      TP_ASSIGN_OR_RETURN(std::int64_t s, service::ParseTicketNumber(a->source, "SOURCE"));
      TP_ASSIGN_OR_RETURN(std::int64_t t, service::ParseTicketNumber(a->target, "TARGET"));
      TP_ASSIGN_OR_RETURN(auto merged, h.desk->Merge(s, t, kCliDeskActor));
      PrintTicketLine(merged);
      return Status::Ok();
    });
  });

  CLI::App* desk = app.add_subcommand("desk", "Service desk reports: steps");
  desk->require_subcommand(1);
  CLI::App* steps = desk->add_subcommand(
      "steps", "Time spent in each status, queue and assignee across tickets: count, median, p90, share; slowest first");
  steps->add_option("--data", *data, "Data directory");
  steps->add_option("--from", a->from, "Tickets created at or after (ISO 8601)");
  steps->add_option("--to", a->to, "… and before (ISO 8601)");
  steps->add_option("--type", a->type, "request | complaint | incident");
  steps->add_option("--channel", a->channel, "chat | email | social | phone | ivr | app");
  steps->add_option("--calendar", a->calendar,
                    "Business seconds on this calendar (a built-in or imported name such as cn, or a calendar file)");
  steps->callback([=] {
    WithDesk(*data, exit_code, [&](DeskHandle& h) -> Status {
      service::StepQuery q;
      if (!a->from.empty()) {
        TP_ASSIGN_OR_RETURN(q.from, ParseTimestamp(a->from));
      }
      if (!a->to.empty()) {
        TP_ASSIGN_OR_RETURN(q.to, ParseTimestamp(a->to));
      }
      if (!a->type.empty()) {
        TP_RETURN_IF_ERROR(service::ParseType(a->type, "--type").status());
        q.type = a->type;
      }
      if (!a->channel.empty()) {
        TP_RETURN_IF_ERROR(service::CheckChannel(a->channel, "--channel"));
        q.channel = a->channel;
      }
      // SLA: --calendar reports business seconds (service::CalendarMeter).
      const service::WallClockMeter wall;
      std::optional<calendar::Calendar> cal;
      std::optional<service::CalendarMeter> business;
      if (!a->calendar.empty()) {
        TP_ASSIGN_OR_RETURN(calendar::Calendar built, ResolveCalendar(a->calendar, *data));
        cal.emplace(std::move(built));
        business.emplace(*cal);
      }
      const service::StepMeter& meter = business ? static_cast<const service::StepMeter&>(*business) : wall;
      TP_ASSIGN_OR_RETURN(service::StepReport r, h.desk->Steps(q, meter));
      std::printf("%lld tickets, %.1f hours of handling time (%s)\n", static_cast<long long>(r.tickets),
                  r.handling_seconds / 3600.0, r.unit.c_str());
      std::printf("%-9s %-24s %7s %12s %12s %7s\n", "KIND", "STEP", "COUNT", "MEDIAN_H", "P90_H", "SHARE");
      for (const auto& s : r.steps) {
        std::printf("%-9s %-24s %7lld %12.2f %12.2f %6.1f%%\n", s.kind.c_str(), s.name.c_str(),
                    static_cast<long long>(s.count), s.median_seconds / 3600.0, s.p90_seconds / 3600.0,
                    s.share * 100.0);
      }
      return Status::Ok();
    });
  });
}

}  // namespace touchpoint::cli

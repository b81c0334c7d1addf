// Service desk routes: tickets (create, read, list, reply, status, assign, merge, history) and
// the step report (docs/service-desk.md, docs/http-api.md). Every change goes through
// service::Desk, which serialises changes and scopes them by the caller (agents: their tickets
// and their team's queue; supervisors: their teams; admins: everything).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include <touchpoint/core/time.h>
#include <touchpoint/http/query.h>
#include <touchpoint/privacy/masking.h>
#include <touchpoint/privacy/roles.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/service/sla.h>
#include <touchpoint/service/spans.h>
#include <touchpoint/service/ticket.h>

#include "server/desk_request_internal.h"
#include "server/routes.h"

namespace touchpoint::server {
namespace {

using desk_http::ActorOf;
using desk_http::Error;
using desk_http::Json;
using desk_http::NumberParam;
using desk_http::ParseObject;
using desk_http::StringField;
using desk_http::Time;
using desk_http::Unavailable;

// Texts (subject, messages) leave with the personal data the text module finds in them masked
// (privacy::Masker::MaskText, as every other exit does); `masker` null: as stored.
Json TicketJson(const store::TicketRecord& t, const privacy::Masker* masker) {
  Json j;
  j["number"] = service::FormatTicketNumber(t.number);
  j["status"] = t.status;
  j["priority"] = t.priority;
  j["type"] = t.type;
  j["channel"] = t.channel;
  j["skill"] = t.skill;
  j["language"] = t.language;
  j["queue"] = t.queue;
  j["assignee"] = t.assignee != 0 ? Json(t.assignee) : Json(nullptr);
  j["customer_id"] = t.customer.value();
  j["subject"] = masker ? masker->MaskText(t.subject) : t.subject;
  j["created_at"] = Time(t.created_at);
  j["updated_at"] = Time(t.updated_at);
  j["last_message_at"] = Time(t.last_message_at);
  j["solved_at"] = Time(t.solved_at);
  j["reopen_count"] = t.reopen_count;
  j["merged_into"] = t.merged_into != 0 ? Json(service::FormatTicketNumber(t.merged_into)) : Json(nullptr);
  j["version"] = t.version;
  return j;
}

Json MessageJson(const store::TicketMessageRecord& m, const privacy::Masker* masker) {
  Json j;
  j["id"] = m.id;
  j["at"] = Time(m.at);
  j["author"] = m.author;
  if (m.agent != 0) j["agent"] = m.agent;
  j["channel"] = m.channel;
  j["internal"] = m.internal;
  j["text"] = masker ? masker->MaskText(m.text) : m.text;
  if (!m.sentiment_label.empty()) {
    j["sentiment"] = m.sentiment_label;
    j["sentiment_score"] = m.sentiment_score;
  }
  if (!m.intent.empty()) j["intent"] = m.intent;
  return j;
}

// The customer a request's "customer" names (kind:value or an id): 404 for nobody, 400 for a
// malformed reference, both naming the field.
Result<pipeline::CustomerData> FindCustomer(const pipeline::CustomerView& customers, const std::string& ref) {
  auto data = customers.Find(ref);
  if (data.ok()) return data;
  if (data.status().code() == StatusCode::kNotFound) return Status::NotFound("customer: no customer with this identifier");
  return Status::InvalidArgument("customer: " + std::string(data.status().message()));
}

// The tickets the SLA timer holds breached (highest number first), filtered and paged as `f`
// says: the timer's in-memory set, each ticket then read by number.
Result<std::vector<store::TicketRecord>> BreachingTickets(service::Desk& desk, service::SlaService& sla,
                                                          const store::TicketFilter& f) {
  std::vector<store::TicketRecord> out;
  for (std::int64_t number : sla.Breaching()) {
    if (static_cast<int>(out.size()) >= f.limit) break;
    if (f.before > 0 && number >= f.before) continue;
    auto view = desk.Get(number);
    if (!view.ok()) {
      if (view.status().code() == StatusCode::kNotFound) continue;
      return view.status();
    }
    const store::TicketRecord& t = view->ticket;
    if (!f.status.empty() && t.status != f.status) continue;
    if (!f.queue.empty() && t.queue != f.queue) continue;
    if (f.assignee >= 0 && t.assignee != f.assignee) continue;
    if (f.customer.valid() && t.customer != f.customer) continue;
    out.push_back(t);
  }
  return out;
}

}  // namespace

void RegisterDeskRoutes(Router& router, const ServerContext& context) {
  router.Add({"POST", "/v1/tickets", privacy::Permission::kChangeTickets,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.desk == nullptr || context.customers == nullptr) return Unavailable();
                auto body = ParseObject(req.body, {"customer", "subject", "channel", "priority", "skill", "language",
                                                   "type", "queue", "routing_policy"});
                if (!body.ok()) return Error(body.status());
                service::NewTicket t;
                for (auto [name, required, out] :
                     {std::tuple<std::string_view, bool, std::string*>{"subject", true, &t.subject},
                      {"channel", true, &t.channel},
                      {"skill", false, &t.skill},
                      {"language", false, &t.language},
                      {"queue", false, &t.queue},
                      {"routing_policy", false, &t.routing_policy}}) {  // routing: a policy by name
                  auto v = StringField(*body, name, required);
                  if (!v.ok()) return Error(v.status());
                  if (*v) *out = **v;
                }
                auto priority = StringField(*body, "priority", false);
                if (!priority.ok()) return Error(priority.status());
                if (*priority) {
                  auto p = service::ParsePriority(**priority);
                  if (!p.ok()) return Error(p.status());
                  t.priority = *p;
                }
                auto type = StringField(*body, "type", false);
                if (!type.ok()) return Error(type.status());
                if (*type) {
                  auto ty = service::ParseType(**type);
                  if (!ty.ok()) return Error(ty.status());
                  t.type = *ty;
                }
                auto customer = StringField(*body, "customer", true);
                if (!customer.ok()) return Error(customer.status());
                if (Status s = service::CheckChannel(t.channel); !s.ok()) return Error(s);
                auto data = FindCustomer(*context.customers, **customer);
                if (!data.ok()) return Error(data.status());
                t.customer = data->id;
                t.customer_revenue = data->profile.revenue();
                auto created = context.desk->Create(t, ActorOf(req, match));
                if (!created.ok()) return Error(created.status());
                return JsonResponse(201, TicketJson(*created, context.masker).dump());
              }});

  router.Add({"GET", "/v1/tickets", privacy::Permission::kReadTickets,
              [&context](const http::Request& req, const RouteMatch&) {
                if (context.desk == nullptr) return Unavailable();
                store::TicketFilter f;
                f.limit = desk_http::kDefaultPage;
                bool breaching = false;  // SLA: only tickets with a breached target (service/sla.h)
                for (std::string_view key :
                     {"status", "queue", "assignee", "customer", "cursor", "limit", "breaching"}) {
                  auto v = http::QueryParam(req.query, key);
                  if (!v.ok()) return Error(v.status());
                  if (!*v) continue;
                  const std::string& value = **v;
                  if (key == "status") {
                    auto s = service::ParseStatus(value, "status");
                    if (!s.ok()) return Error(s.status());
                    f.status = value;
                  } else if (key == "queue") {
                    f.queue = value;
                  } else if (key == "assignee") {
                    if (value == "none") {
                      f.assignee = 0;
                    } else {
                      std::optional<std::int64_t> n = desk_http::ParseDigits(value);
                      if (!n || *n <= 0) return Error(Status::InvalidArgument("assignee: expected a user id or none"));
                      f.assignee = *n;
                    }
                  } else if (key == "customer") {
                    if (context.customers == nullptr) return Unavailable();
                    auto data = FindCustomer(*context.customers, value);
                    if (!data.ok()) return Error(data.status());
                    f.customer = data->id;
                  } else if (key == "cursor") {
                    auto n = service::ParseTicketNumber(value, "cursor");
                    if (!n.ok()) return Error(n.status());
                    f.before = *n;
                  } else if (key == "breaching") {
                    if (value != "true" && value != "false") {
                      return Error(Status::InvalidArgument("breaching: expected true or false"));
                    }
                    breaching = value == "true";
                  } else if (key == "limit") {
                    auto n = desk_http::ParsePageLimit(value);
                    if (!n.ok()) return Error(n.status());
                    f.limit = *n;
                  }
                }
                Result<std::vector<store::TicketRecord>> list = std::vector<store::TicketRecord>();
                if (breaching) {
                  if (context.sla == nullptr) return Unavailable();
                  list = BreachingTickets(*context.desk, *context.sla, f);
                } else {
                  list = context.desk->List(f);
                }
                if (!list.ok()) return Error(list.status());
                Json out;
                out["tickets"] = Json::array();
                for (const auto& t : *list) out["tickets"].push_back(TicketJson(t, context.masker));
                out["next_cursor"] = static_cast<int>(list->size()) == f.limit && !list->empty()
                                         ? Json(service::FormatTicketNumber(list->back().number))
                                         : Json(nullptr);
                return JsonResponse(200, out.dump());
              }});

  router.Add({"GET", "/v1/tickets/{number}", privacy::Permission::kReadTickets,
              [&context](const http::Request&, const RouteMatch& match) {
                if (context.desk == nullptr) return Unavailable();
                auto n = NumberParam(match);
                if (!n.ok()) return Error(n.status());
                auto view = context.desk->Get(*n);
                if (!view.ok()) return Error(view.status());
                Json j = TicketJson(view->ticket, context.masker);
                j["messages"] = Json::array();
                for (const auto& m : view->messages) j["messages"].push_back(MessageJson(m, context.masker));
                AddDeskflowTicketJson(context, *n, j);  // deskflow: repeat, tags, fields
                // channels: delivery states, files and CSAT surveys (routes_channels.cc).
                if (Status s = DecorateTicketJson(context, *n, view->messages, j); !s.ok()) return Error(s);
                return JsonResponse(200, j.dump());
              }});

  router.Add({"GET", "/v1/tickets/{number}/history", privacy::Permission::kReadTickets,
              [&context](const http::Request&, const RouteMatch& match) {
                if (context.desk == nullptr) return Unavailable();
                auto n = NumberParam(match);
                if (!n.ok()) return Error(n.status());
                auto rows = context.desk->History(*n);
                if (!rows.ok()) return Error(rows.status());
                Json out;
                out["number"] = service::FormatTicketNumber(*n);
                out["history"] = Json::array();
                for (const auto& h : *rows) {
                  out["history"].push_back(Json{{"at", Time(h.at)},
                                                {"actor_kind", h.actor_kind},
                                                {"actor", h.actor},
                                                {"field", h.field},
                                                {"before", h.before},
                                                {"after", h.after}});
                }
                return JsonResponse(200, out.dump());
              }});

  router.Add({"POST", "/v1/tickets/{number}/messages", privacy::Permission::kChangeTickets,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.desk == nullptr) return Unavailable();
                auto n = NumberParam(match);
                if (!n.ok()) return Error(n.status());
                auto body = ParseObject(req.body, {"text", "internal", "channel", "attachments"});
                if (!body.ok()) return Error(body.status());
                service::NewMessage m;
                auto text = StringField(*body, "text", true);
                if (!text.ok()) return Error(text.status());
                m.text = **text;
                auto channel = StringField(*body, "channel", false);
                if (!channel.ok()) return Error(channel.status());
                if (*channel) m.channel = **channel;
                if (auto it = body->find("internal"); it != body->end()) {
                  if (!it->is_boolean()) return Error(Status::InvalidArgument("internal: expected true or false"));
                  m.internal = it->get<bool>();
                }
                // channels: files of the reply (routes_channels.cc); the desk stores and links them.
                auto files = ReplyAttachments(*body);
                if (!files.ok()) return Error(files.status());
                m.attachments = std::move(*files);
                auto t = context.desk->AddMessage(*n, m, ActorOf(req, match));
                if (!t.ok()) return Error(t.status());
                if (context.channels != nullptr) context.channels->channels->Notify();  // its delivery is committed
                return JsonResponse(200, TicketJson(*t, context.masker).dump());
              }});

  router.Add({"POST", "/v1/tickets/{number}/status", privacy::Permission::kChangeTickets,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.desk == nullptr) return Unavailable();
                auto n = NumberParam(match);
                if (!n.ok()) return Error(n.status());
                auto body = ParseObject(req.body, {"status", "reason", "override"});
                if (!body.ok()) return Error(body.status());
                auto status = StringField(*body, "status", true);
                if (!status.ok()) return Error(status.status());
                auto to = service::ParseStatus(**status);
                if (!to.ok()) return Error(to.status());
                // SLA: a pause's reason; the complaint loop: a supervisor's override of open tasks.
                auto reason = StringField(*body, "reason", false);
                if (!reason.ok()) return Error(reason.status());
                bool override_tasks = false;
                if (auto it = body->find("override"); it != body->end() && !it->is_null()) {
                  if (!it->is_boolean()) return Error(Status::InvalidArgument("override: expected true or false"));
                  override_tasks = it->get<bool>();
                }
                auto t = context.desk->ChangeStatus(*n, *to, ActorOf(req, match), reason->value_or(""), override_tasks);
                if (!t.ok()) return Error(t.status());
                if (context.channels != nullptr) context.channels->channels->Notify();  // a survey may be queued
                return JsonResponse(200, TicketJson(*t, context.masker).dump());
              }});

  router.Add({"POST", "/v1/tickets/{number}/assign", privacy::Permission::kChangeTickets,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.desk == nullptr) return Unavailable();
                auto n = NumberParam(match);
                if (!n.ok()) return Error(n.status());
                auto body = ParseObject(req.body, {"agent"});
                if (!body.ok()) return Error(body.status());
                const service::Actor actor = ActorOf(req, match);
                std::int64_t agent = 0;
                auto it = body->find("agent");
                if (it == body->end()) return Error(Status::InvalidArgument("agent: required (a user id, \"me\" or null)"));
                if (it->is_string() && it->get<std::string>() == "me") {
                  if (actor.user_id == 0) return Error(Status::InvalidArgument("agent: \"me\" needs a user login"));
                  agent = actor.user_id;
                } else if (it->is_number_integer() && it->get<std::int64_t>() > 0) {
                  agent = it->get<std::int64_t>();
                } else if (!it->is_null()) {
                  return Error(Status::InvalidArgument("agent: expected a user id, \"me\" or null"));
                }
                auto t = context.desk->Assign(*n, agent, actor);
                if (!t.ok()) return Error(t.status());
                return JsonResponse(200, TicketJson(*t, context.masker).dump());
              }});

  router.Add({"POST", "/v1/tickets/merge", privacy::Permission::kChangeTickets,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.desk == nullptr) return Unavailable();
                auto body = ParseObject(req.body, {"source", "target"});
                if (!body.ok()) return Error(body.status());
                std::int64_t numbers[2] = {0, 0};
                int i = 0;
                for (std::string_view field : {"source", "target"}) {
                  auto v = StringField(*body, field, true);
                  if (!v.ok()) return Error(v.status());
                  auto n = service::ParseTicketNumber(**v, field);
                  if (!n.ok()) return Error(n.status());
                  numbers[i++] = *n;
                }
                auto t = context.desk->Merge(numbers[0], numbers[1], ActorOf(req, match));
                if (!t.ok()) return Error(t.status());
                return JsonResponse(200, TicketJson(*t, context.masker).dump());
              }});

  router.Add({"GET", "/v1/desk/steps", privacy::Permission::kReadDeskReports,
              [&context](const http::Request& req, const RouteMatch&) {
                if (context.desk == nullptr) return Unavailable();
                service::StepQuery q;
                for (std::string_view key : {"from", "to", "type", "channel"}) {
                  auto v = http::QueryParam(req.query, key);
                  if (!v.ok()) return Error(v.status());
                  if (!*v) continue;
                  if (key == "from" || key == "to") {
                    auto t = ParseTimestamp(**v);
                    if (!t.ok()) return Error(Status::InvalidArgument(std::string(key) + ": " + t.status().message()));
                    (key == "from" ? q.from : q.to) = *t;
                  } else if (key == "type") {
                    auto ty = service::ParseType(**v);
                    if (!ty.ok()) return Error(ty.status());
                    q.type = **v;
                  } else {
                    if (Status s = service::CheckChannel(**v); !s.ok()) return Error(s);
                    q.channel = **v;
                  }
                }
                // ?unit=business: business seconds on the desk's calendar ([sla] calendar).
                auto unit = http::QueryParam(req.query, "unit");
                if (!unit.ok()) return Error(unit.status());
                const service::WallClockMeter wall;
                std::optional<service::CalendarMeter> business;
                if (*unit && **unit == "business") {
                  const calendar::Calendar* cal = context.sla != nullptr ? context.sla->DefaultCalendar() : nullptr;
                  if (cal == nullptr) {
                    return Error(Status::FailedPrecondition("unit: business time needs [sla] calendar in the config"));
                  }
                  business.emplace(*cal);
                } else if (*unit && **unit != "wall") {
                  return Error(Status::InvalidArgument("unit: expected wall or business"));
                }
                const service::StepMeter& meter = business ? static_cast<const service::StepMeter&>(*business) : wall;
                auto report = context.desk->Steps(q, meter);
                if (!report.ok()) return Error(report.status());
                Json out;
                out["tickets"] = report->tickets;
                out["unit"] = report->unit;
                out["handling_seconds"] = report->handling_seconds;
                out["steps"] = Json::array();
                for (const auto& s : report->steps) {
                  out["steps"].push_back(Json{{"kind", s.kind},
                                              {"name", s.name},
                                              {"count", s.count},
                                              {"median_seconds", s.median_seconds},
                                              {"p90_seconds", s.p90_seconds},
                                              {"total_seconds", s.total_seconds},
                                              {"share", s.share}});
                }
                return JsonResponse(200, out.dump());
              }});
}

}  // namespace touchpoint::server

// SLA and complaint-loop routes (docs/service-desk.md, "SLA policies and timers", "Complaint
// loop"; docs/http-api.md): targets in warning or breached, a ticket's spans and SLA state, the
// complaint tasks (all open ones, a ticket's, completing one) and changing a ticket's type (a
// complaint spawns its tasks). Changes go through service::Desk / service::SlaService, scoped by
// the caller as every desk change.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <touchpoint/core/time.h>
#include <touchpoint/http/query.h>
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
using desk_http::Time;

http::Response Unavailable() {
  return desk_http::Unavailable("the service desk's SLA timer is not running on this node");
}

Json SpanJson(const service::Span& s) {
  return Json{{"start", Time(s.start)},
              {"stop", Time(s.stop)},
              {"ended_by", s.ended_by.empty() ? Json(nullptr) : Json(s.ended_by)},
              {"wall_seconds", s.wall_seconds},
              {"business_seconds", s.business_seconds}};
}

Json TaskJson(const service::SlaService::TaskView& v) {
  const store::ComplaintTaskRecord& t = v.task;
  return Json{{"id", t.id},
              {"ticket", service::FormatTicketNumber(t.ticket)},
              {"kind", t.kind},
              {"state", v.state},
              {"created_at", Time(t.created_at)},
              {"due_at", Time(t.due_at)},
              {"completed_at", Time(t.completed_at)},
              {"completed_by", t.completed_by.empty() ? Json(nullptr) : Json(t.completed_by)}};
}

Json StateJson(const service::SlaState& s) {
  return Json{{"ticket", service::FormatTicketNumber(s.ticket)},
              {"target", s.target},
              {"cycle", s.cycle},
              {"state", s.state},
              {"warning_at", Time(s.warning_at)},
              {"due_at", Time(s.due_at)},
              {"policy", s.policy}};
}

// ?state= among `allowed` (absent: ""); kInvalidArgument naming the field otherwise.
Result<std::string> StateParam(const http::Request& req, std::initializer_list<std::string_view> allowed) {
  TP_ASSIGN_OR_RETURN(auto v, http::QueryParam(req.query, "state"));
  if (!v) return std::string();
  for (std::string_view a : allowed) {
    if (*v == a) return *v;
  }
  std::string list;
  for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  return Status::InvalidArgument("state: expected one of " + list);
}

}  // namespace

void RegisterSlaRoutes(Router& router, const ServerContext& context) {
  router.Add({"GET", "/v1/desk/sla", privacy::Permission::kReadTickets,
              [&context](const http::Request& req, const RouteMatch&) {
                if (context.sla == nullptr) return Unavailable();
                auto state = StateParam(req, {"warning", "breached"});
                if (!state.ok()) return Error(state.status());
                Json out;
                out["targets"] = Json::array();
                for (const auto& s : context.sla->States(*state)) out["targets"].push_back(StateJson(s));
                out["warnings_fired"] = context.sla->warnings_fired();
                out["breaches_fired"] = context.sla->breaches_fired();
                return JsonResponse(200, out.dump());
              }});

  router.Add({"GET", "/v1/desk/tasks", privacy::Permission::kReadTickets,
              [&context](const http::Request& req, const RouteMatch&) {
                if (context.sla == nullptr) return Unavailable();
                auto state = StateParam(req, {"due", "overdue"});
                if (!state.ok()) return Error(state.status());
                Json out;
                out["tasks"] = Json::array();
                for (const auto& t : context.sla->Tasks(*state)) out["tasks"].push_back(TaskJson(t));
                return JsonResponse(200, out.dump());
              }});

  router.Add({"GET", "/v1/tickets/{number}/sla", privacy::Permission::kReadTickets,
              [&context](const http::Request&, const RouteMatch& match) {
                if (context.sla == nullptr) return Unavailable();
                auto n = NumberParam(match);
                if (!n.ok()) return Error(n.status());
                auto spans = context.sla->Spans(*n);
                if (!spans.ok()) return Error(spans.status());
                auto policy = context.sla->PolicyFor(*n);
                if (!policy.ok()) return Error(policy.status());
                Json out;
                out["ticket"] = service::FormatTicketNumber(*n);
                out["policy"] = Json::parse(service::PolicyToJson(*policy));
                Json spans_json;
                spans_json["first_response"] = spans->first_response ? SpanJson(*spans->first_response) : Json(nullptr);
                spans_json["next_responses"] = Json::array();
                for (const auto& s : spans->next_responses) spans_json["next_responses"].push_back(SpanJson(s));
                spans_json["resolution"] = spans->resolution ? SpanJson(*spans->resolution) : Json(nullptr);
                spans_json["resolution_since_reopen"] =
                    spans->resolution_since_reopen ? SpanJson(*spans->resolution_since_reopen) : Json(nullptr);
                spans_json["pauses"] = Json::array();
                for (const auto& p : spans->pauses) {
                  spans_json["pauses"].push_back(
                      Json{{"from", Time(p.from)}, {"to", Time(p.to)}, {"status", p.status}, {"reason", p.reason}});
                }
                out["spans"] = spans_json;
                out["targets"] = Json::array();
                for (const auto& s : context.sla->States("")) {
                  if (s.ticket == *n) out["targets"].push_back(StateJson(s));
                }
                return JsonResponse(200, out.dump());
              }});

  router.Add({"GET", "/v1/tickets/{number}/tasks", privacy::Permission::kReadTickets,
              [&context](const http::Request&, const RouteMatch& match) {
                if (context.sla == nullptr) return Unavailable();
                auto n = NumberParam(match);
                if (!n.ok()) return Error(n.status());
                auto tasks = context.sla->TicketTasks(*n);
                if (!tasks.ok()) return Error(tasks.status());
                Json out;
                out["tasks"] = Json::array();
                for (const auto& t : *tasks) out["tasks"].push_back(TaskJson(t));
                return JsonResponse(200, out.dump());
              }});

  router.Add({"POST", "/v1/tickets/{number}/tasks/{id}/complete", privacy::Permission::kChangeTickets,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.sla == nullptr) return Unavailable();
                auto n = NumberParam(match);
                if (!n.ok()) return Error(n.status());
                std::optional<std::int64_t> id = desk_http::ParseDigits(match.Param("id"));
                if (!id) return Error(Status::InvalidArgument("id: expected a task id"));
                auto done = context.sla->CompleteTask(*n, *id, ActorOf(req, match));
                if (!done.ok()) return Error(done.status());
                return JsonResponse(200, TaskJson(service::SlaService::TaskView{*done, "done"}).dump());
              }});

  router.Add({"POST", "/v1/tickets/{number}/type", privacy::Permission::kChangeTickets,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.desk == nullptr) return Unavailable();
                auto n = NumberParam(match);
                if (!n.ok()) return Error(n.status());
                auto body = ParseObject(req.body, {"type"});
                if (!body.ok()) return Error(body.status());
                auto it = body->find("type");
                if (it == body->end() || !it->is_string()) {
                  return Error(Status::InvalidArgument("type: required (request, complaint or incident)"));
                }
                auto type = service::ParseType(it->get<std::string>());
                if (!type.ok()) return Error(type.status());
                const service::Actor actor = ActorOf(req, match);
                auto view = context.desk->Get(*n);
                if (!view.ok()) return Error(view.status());
                if (Status s = context.desk->CheckCanChange(view->ticket, actor); !s.ok()) return Error(s);
                if (view->ticket.status == "closed") {
                  return Error(Status::FailedPrecondition(service::FormatTicketNumber(*n) + " is closed"));
                }
                const std::string to(service::TypeName(*type));
                const Millis now = SystemClock::Instance().Now();
                auto changed = context.desk->ApplyChange(
                    *n, [&](store::Store&, store::Transaction&, store::TicketRecord& t,
                            std::vector<store::TicketHistoryRecord>& rows) -> Status {
                      if (t.type == to) return Status::AlreadyExists("unchanged");
                      rows.push_back(store::TicketHistoryRecord{0, t.number, now,
                                                                std::string(service::ActorKindName(actor.kind)),
                                                                actor.name, "type", t.type, to});
                      t.type = to;
                      t.updated_at = now;
                      return Status::Ok();
                    });
                if (!changed.ok()) return Error(changed.status());
                Json out{{"number", service::FormatTicketNumber(*n)}, {"type", to}, {"changed", changed->has_value()}};
                return JsonResponse(200, out.dump());
              }});
}

}  // namespace touchpoint::server

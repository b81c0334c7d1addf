// Service desk routing routes: agents (list, create, state), a ticket's routing decisions and the
// queues (docs/service-desk.md "Routing", docs/http-api.md). Changes go through service::Desk,
// which routes waiting tickets to agents as they come online or free up.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/core/time.h>
#include <touchpoint/privacy/roles.h>
#include <touchpoint/service/agents.h>
#include <touchpoint/service/desk.h>
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
using desk_http::StringList;
using desk_http::Time;
using desk_http::Unavailable;

Json AgentJson(const service::AgentView& v) {
  const store::AgentRecord& a = v.agent;
  Json j;
  j["id"] = a.user_id;
  j["name"] = a.name;
  j["email"] = v.email;
  j["skills"] = a.skills;
  j["languages"] = a.languages;
  j["attributes"] = a.attributes;
  j["capacity"] = a.capacity;
  j["load"] = v.load;
  j["state"] = a.state;
  j["state_changed_at"] = Time(a.state_changed_at);
  j["team"] = a.team.empty() ? Json(nullptr) : Json(a.team);
  j["shift"] = a.shift.empty() ? Json(nullptr) : Json::parse(a.shift, nullptr, false);
  j["in_shift"] = v.in_shift;
  return j;
}

Result<std::int64_t> AgentParam(const RouteMatch& match) {
  const std::string_view text = match.Param("id");
  std::optional<std::int64_t> id = desk_http::ParseDigits(text);
  if (!id || *id == 0) return Status::NotFound("no agent " + std::string(text));
  return *id;
}

Result<service::NewAgent> ParseAgent(const std::string& body) {
  TP_ASSIGN_OR_RETURN(Json j, ParseObject(body, {"name", "skills", "languages", "attributes", "capacity", "state",
                                                 "team", "user", "email", "shift"}));
  service::NewAgent a;
  auto name = j.find("name");
  if (name == j.end() || !name->is_string()) return Status::InvalidArgument("name: required (a string)");
  a.name = name->get<std::string>();
  TP_ASSIGN_OR_RETURN(a.skills, StringList(j, "skills"));
  TP_ASSIGN_OR_RETURN(a.languages, StringList(j, "languages"));
  TP_ASSIGN_OR_RETURN(a.attributes, StringList(j, "attributes"));
  if (auto it = j.find("capacity"); it != j.end()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::int64_t>() > 1000) {
      return Status::InvalidArgument("capacity: expected a whole number from 1 to 1000");
    }
    a.capacity = static_cast<std::int32_t>(it->get<std::int64_t>());
  }
  if (auto it = j.find("state"); it != j.end()) {
    if (!it->is_string()) return Status::InvalidArgument("state: expected online, away or offline");
    TP_ASSIGN_OR_RETURN(a.state, service::ParseAgentState(it->get<std::string>()));
  }
  if (auto it = j.find("team"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return Status::InvalidArgument("team: expected a team's name");
    a.team = it->get<std::string>();
  }
  if (auto it = j.find("user"); it != j.end() && !it->is_null()) {
    if (it->is_number_integer() && it->get<std::int64_t>() > 0) {
      a.user_id = it->get<std::int64_t>();
    } else if (it->is_string() && !it->get<std::string>().empty()) {
      a.user_email = it->get<std::string>();
    } else {
      return Status::InvalidArgument("user: expected a user id or e-mail");
    }
  }
  if (auto it = j.find("email"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return Status::InvalidArgument("email: expected a string");
    a.email = it->get<std::string>();
  }
  if (auto it = j.find("shift"); it != j.end() && !it->is_null()) {
    if (it->is_object()) {
      a.shift = it->dump();
    } else if (it->is_string()) {
      a.shift = it->get<std::string>();
    } else {
      return Status::InvalidArgument("shift: expected a calendar object ({\"zone\": …, \"week\": {…}})");
    }
  }
  return a;
}

}  // namespace

void RegisterAgentRoutes(Router& router, const ServerContext& context) {
  router.Add({"GET", "/v1/agents", privacy::Permission::kReadTickets,
              [&context](const http::Request&, const RouteMatch&) {
                if (context.desk == nullptr) return Unavailable();
                auto agents = context.desk->Agents();
                if (!agents.ok()) return Error(agents.status());
                Json out;
                out["agents"] = Json::array();
                for (const auto& a : *agents) out["agents"].push_back(AgentJson(a));
                return JsonResponse(200, out.dump());
              }});

  router.Add({"POST", "/v1/agents", privacy::Permission::kManageUsers,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.desk == nullptr) return Unavailable();
                auto in = ParseAgent(req.body);
                if (!in.ok()) return Error(in.status());
                auto view = context.desk->PutAgent(std::move(*in), ActorOf(req, match));
                if (!view.ok()) return Error(view.status());
                RecordAudit(context, req, match, "agent.put", "user:" + std::to_string(view->agent.user_id));
                return JsonResponse(201, AgentJson(*view).dump());
              }});

  router.Add({"GET", "/v1/agents/{id}", privacy::Permission::kReadTickets,
              [&context](const http::Request&, const RouteMatch& match) {
                if (context.desk == nullptr) return Unavailable();
                auto id = AgentParam(match);
                if (!id.ok()) return Error(id.status());
                auto view = context.desk->Agent(*id);
                if (!view.ok()) return Error(view.status());
                return JsonResponse(200, AgentJson(*view).dump());
              }});

  router.Add({"POST", "/v1/agents/{id}/state", privacy::Permission::kChangeTickets,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.desk == nullptr) return Unavailable();
                auto id = AgentParam(match);
                if (!id.ok()) return Error(id.status());
                auto body = ParseObject(req.body, {"state"});
                if (!body.ok()) return Error(body.status());
                auto it = body->find("state");
                if (it == body->end() || !it->is_string()) {
                  return Error(Status::InvalidArgument("state: required (online, away or offline)"));
                }
                auto state = service::ParseAgentState(it->get<std::string>());
                if (!state.ok()) return Error(state.status());
                auto view = context.desk->SetAgentState(*id, *state, ActorOf(req, match));
                if (!view.ok()) return Error(view.status());
                return JsonResponse(200, AgentJson(*view).dump());
              }});

  router.Add({"GET", "/v1/tickets/{number}/routing", privacy::Permission::kReadTickets,
              [&context](const http::Request&, const RouteMatch& match) {
                if (context.desk == nullptr) return Unavailable();
                auto n = NumberParam(match);
                if (!n.ok()) return Error(n.status());
                auto decisions = context.desk->Routing(*n);
                if (!decisions.ok()) return Error(decisions.status());
                Json out;
                out["number"] = service::FormatTicketNumber(*n);
                out["decisions"] = Json::array();
                for (const auto& d : *decisions) {
                  Json e;
                  e["at"] = Time(d.at);
                  e["policy"] = d.policy;
                  e["rule"] = d.rule.empty() ? Json(nullptr) : Json(d.rule);
                  e["agent"] = d.agent != 0 ? Json(d.agent) : Json(nullptr);
                  Json detail = Json::parse(d.detail, nullptr, false);
                  if (detail.is_object()) {
                    for (auto it = detail.begin(); it != detail.end(); ++it) e[it.key()] = it.value();
                  }
                  out["decisions"].push_back(std::move(e));
                }
                return JsonResponse(200, out.dump());
              }});

  router.Add({"GET", "/v1/desk/queues", privacy::Permission::kReadTickets,
              [&context](const http::Request&, const RouteMatch&) {
                if (context.desk == nullptr) return Unavailable();
                auto queues = context.desk->Queues();
                if (!queues.ok()) return Error(queues.status());
                Json out;
                out["queues"] = Json::array();
                for (const auto& q : *queues) {
                  out["queues"].push_back(Json{{"queue", q.queue},
                                               {"waiting", q.waiting},
                                               {"oldest_waiting_since", Time(q.oldest_created_at)},
                                               {"by_priority", {{"high", q.high}, {"medium", q.medium}, {"low", q.low}}},
                                               {"breaching", q.breaching}});
                }
                out["breaching_note"] = "breaching counts SLA breaches once SLA timers run; 0 until then";
                return JsonResponse(200, out.dump());
              }});
}

}  // namespace touchpoint::server

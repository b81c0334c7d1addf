// Deskflow routes (docs/service-desk.md, "Repeat inquiries", "Events and webhooks", "Canned
// replies, tags, search, auto-close"; docs/http-api.md): search, tags and custom fields, canned
// replies, the live event feed and the repeat-rate report. Changes go through service::Desk
// (its lock, its scoping of agents and supervisors, one transaction with the history rows).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <touchpoint/core/time.h>
#include <touchpoint/http/query.h>
#include <touchpoint/privacy/roles.h>
#include <touchpoint/service/canned.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/service/desk_events.h>
#include <touchpoint/service/repeats.h>
#include <touchpoint/service/search.h>
#include <touchpoint/service/ticket.h>
#include <touchpoint/store/deskflow_repository.h>
#include <touchpoint/store/user_repository.h>

#include "server/desk_request_internal.h"
#include "server/routes.h"

namespace touchpoint::server {
namespace {

using desk_http::ActorOf;
using desk_http::Error;
using desk_http::Json;
using desk_http::LimitParam;
using desk_http::NumberParam;
using desk_http::ParseObject;
using desk_http::StringList;
using desk_http::Time;
using desk_http::Unavailable;

Json CannedJson(const store::CannedReplyRecord& c) {
  return Json{{"name", c.name}, {"title", c.title}, {"body", c.body}, {"created_at", Time(c.created_at)},
              {"updated_at", Time(c.updated_at)}};
}

// The values of the placeholders for `ticket` answered by `actor`.
std::map<std::string, std::string> CannedValues(const ServerContext& context, const store::TicketRecord& t,
                                                const service::Actor& actor) {
  std::map<std::string, std::string> v;
  v["ticket.number"] = service::FormatTicketNumber(t.number);
  v["ticket.subject"] = t.subject;
  v["ticket.status"] = t.status;
  v["ticket.priority"] = t.priority;
  v["ticket.channel"] = t.channel;
  v["ticket.queue"] = t.queue;
  v["customer.id"] = std::to_string(t.customer.value());
  if (context.customers != nullptr) {
    auto data = context.customers->Find(std::to_string(t.customer.value()));
    if (data.ok()) {
      if (const std::string* name = data->profile.FindTrait("name"); name != nullptr) {
        Json parsed = Json::parse(*name, nullptr, false);
        v["customer.name"] = parsed.is_string() ? parsed.get<std::string>() : std::string();
      }
    }
  }
  if (actor.user_id != 0) {
    v["agent.email"] = actor.name;
    v["agent.name"] = actor.name.substr(0, actor.name.find('@'));
  }
  return v;
}

// Supervisors and admins manage canned replies; agents use them.
bool MayManageCanned(const service::Actor& actor) {
  return actor.kind == service::Actor::Kind::kAdmin || actor.kind == service::Actor::Kind::kSupervisor;
}

}  // namespace

void AddDeskflowTicketJson(const ServerContext& context, std::int64_t number, Json& ticket) {
  if (context.desk == nullptr) return;
  Json out = Json::object();
  auto filled = context.desk->WithStore([&](store::Store& s) -> Status {
    auto user_name = [&s](std::int64_t id) -> std::string {
      auto u = s.Get<store::UserRepository>().Find(id);
      return u.ok() && u->has_value() ? (*u)->email : "user:" + std::to_string(id);
    };
    TP_ASSIGN_OR_RETURN(auto info, service::FindRepeat(s, number, context.desk_repeat_window_days, user_name));
    out["repeat"] = info.has_value() && info->repeat();
    out["contact_intent"] = info ? Json(info->intent) : Json(nullptr);
    out["repeat_ordinal"] = info ? Json(info->ordinal) : Json(nullptr);
    out["repeat_summary"] = info && info->repeat() ? Json(service::RepeatSummary(*info)) : Json(nullptr);
    out["repeat_of"] = Json::array();
    if (info) {
      for (const auto& e : info->previous) {
        out["repeat_of"].push_back(Json{{"number", service::FormatTicketNumber(e.number)},
                                        {"at", Time(e.at)},
                                        {"channel", e.channel},
                                        {"status", e.status},
                                        {"agent", e.agent.empty() ? Json(nullptr) : Json(e.agent)}});
      }
    }
    store::DeskflowRepository& repo = s.Get<store::DeskflowRepository>();
    TP_ASSIGN_OR_RETURN(auto tags, repo.Tags(number));
    out["tags"] = tags;
    TP_ASSIGN_OR_RETURN(auto fields, repo.Fields(number));
    out["fields"] = Json::object();
    for (const auto& [k, v] : fields) out["fields"][k] = v;
    return Status::Ok();
  });
  if (!filled.ok()) {
    if (context.log != nullptr) {
      context.log->warn("ticket view without repeat, tags and fields ticket={} error={}",
                        service::FormatTicketNumber(number), filled.message());
    }
    return;
  }
  ticket.update(out);
}

void RegisterDeskflowRoutes(Router& router, const ServerContext& context) {
  router.Add({"GET", "/v1/tickets/search", privacy::Permission::kReadTickets,
              [&context](const http::Request& req, const RouteMatch&) {
                if (context.desk == nullptr || context.desk_search == nullptr) return Unavailable();
                std::string q;
                for (std::string_view key : {"q", "tag", "status"}) {
                  auto v = http::QueryParam(req.query, key);
                  if (!v.ok()) return Error(v.status());
                  if (!*v) continue;
                  q += (q.empty() ? "" : " ") + (key == "q" ? **v : std::string(key) + ":" + **v);
                }
                auto limit = LimitParam(req);
                if (!limit.ok()) return Error(limit.status());
                auto parsed = service::ParseSearchQuery(q, [&context](const std::string& ref) -> Result<CustomerId> {
                  if (context.customers == nullptr) return Status::Unavailable("no customers on this node");
                  auto data = context.customers->Find(ref);
                  if (!data.ok()) {
                    if (data.status().code() == StatusCode::kNotFound) {
                      return Status::NotFound("q: no customer with the identifier " + ref.substr(0, ref.find(':')) +
                                              ":…");
                    }
                    return Status::InvalidArgument("q: " + std::string(data.status().message()));
                  }
                  return data->id;
                });
                if (!parsed.ok()) return Error(parsed.status());
                parsed->limit = *limit;
                auto cursor = http::QueryParam(req.query, "cursor");
                if (!cursor.ok()) return Error(cursor.status());
                if (*cursor) {
                  auto n = service::ParseTicketNumber(**cursor, "cursor");
                  if (!n.ok()) return Error(n.status());
                  parsed->before = *n;
                }
                auto found = context.desk->WithStore(
                    [&](store::Store& s) { return service::Search(s, *context.desk_search, *parsed); });
                if (!found.ok()) return Error(found.status());
                Json out;
                out["tickets"] = Json::array();
                for (const auto& t : *found) {
                  out["tickets"].push_back(Json{{"number", service::FormatTicketNumber(t.number)},
                                                {"status", t.status},
                                                {"priority", t.priority},
                                                {"channel", t.channel},
                                                {"queue", t.queue},
                                                {"assignee", t.assignee != 0 ? Json(t.assignee) : Json(nullptr)},
                                                {"customer_id", t.customer.value()},
                                                {"subject", context.masker ? context.masker->MaskText(t.subject)
                                                                           : t.subject},
                                                {"created_at", Time(t.created_at)}});
                }
                out["next_cursor"] = static_cast<int>(found->size()) == *limit && !found->empty()
                                         ? Json(service::FormatTicketNumber(found->back().number))
                                         : Json(nullptr);
                return JsonResponse(200, out.dump());
              }});

  router.Add({"POST", "/v1/tickets/{number}/tags", privacy::Permission::kChangeTickets,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.desk == nullptr) return Unavailable();
                auto n = NumberParam(match);
                if (!n.ok()) return Error(n.status());
                auto body = ParseObject(req.body, {"add", "remove"});
                if (!body.ok()) return Error(body.status());
                service::TagChange change;
                auto add = StringList(*body, "add");
                if (!add.ok()) return Error(add.status());
                auto remove = StringList(*body, "remove");
                if (!remove.ok()) return Error(remove.status());
                change.add = std::move(*add);
                change.remove = std::move(*remove);
                auto tags = context.desk->ChangeTags(*n, change, ActorOf(req, match));
                if (!tags.ok()) return Error(tags.status());
                return JsonResponse(200, Json{{"number", service::FormatTicketNumber(*n)}, {"tags", *tags}}.dump());
              }});

  router.Add({"POST", "/v1/tickets/{number}/fields", privacy::Permission::kChangeTickets,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.desk == nullptr) return Unavailable();
                auto n = NumberParam(match);
                if (!n.ok()) return Error(n.status());
                auto body = ParseObject(req.body, {"fields"});
                if (!body.ok()) return Error(body.status());
                auto it = body->find("fields");
                if (it == body->end() || !it->is_object()) {
                  return Error(Status::InvalidArgument("fields: expected an object of name → string (or null)"));
                }
                std::vector<std::pair<std::string, std::string>> fields;
                for (auto f = it->begin(); f != it->end(); ++f) {
                  if (f->is_null()) {
                    fields.emplace_back(f.key(), "");
                  } else if (f->is_string()) {
                    fields.emplace_back(f.key(), f->get<std::string>());
                  } else {
                    return Error(Status::InvalidArgument("fields." + f.key() + ": expected a string or null"));
                  }
                }
                auto set = context.desk->SetFields(*n, fields, ActorOf(req, match));
                if (!set.ok()) return Error(set.status());
                Json out{{"number", service::FormatTicketNumber(*n)}, {"fields", Json::object()}};
                for (const auto& [k, v] : *set) out["fields"][k] = v;
                return JsonResponse(200, out.dump());
              }});

  router.Add({"POST", "/v1/tickets/{number}/canned", privacy::Permission::kChangeTickets,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.desk == nullptr) return Unavailable();
                auto n = NumberParam(match);
                if (!n.ok()) return Error(n.status());
                auto body = ParseObject(req.body, {"name", "send", "internal", "channel"});
                if (!body.ok()) return Error(body.status());
                auto name = body->find("name");
                if (name == body->end() || !name->is_string()) return Error(Status::InvalidArgument("name: required"));
                bool send = false, internal = false;
                for (auto [key, out] : {std::pair<const char*, bool*>{"send", &send}, {"internal", &internal}}) {
                  auto it = body->find(key);
                  if (it == body->end()) continue;
                  if (!it->is_boolean()) return Error(Status::InvalidArgument(std::string(key) + ": expected true or false"));
                  *out = it->get<bool>();
                }
                std::string channel;
                if (auto it = body->find("channel"); it != body->end()) {
                  if (!it->is_string()) return Error(Status::InvalidArgument("channel: expected a string"));
                  channel = it->get<std::string>();
                }
                auto view = context.desk->Get(*n);
                if (!view.ok()) return Error(view.status());
                const std::string reply_name = name->get<std::string>();
                auto canned = context.desk->WithStore(
                    [&](store::Store& s) { return s.Get<store::DeskflowRepository>().FindCanned(reply_name); });
                if (!canned.ok()) return Error(canned.status());
                if (!*canned) return http::JsonError(404, "not_found", "name: no canned reply " + reply_name);
                const service::Actor actor = ActorOf(req, match);
                auto text = service::RenderCanned((*canned)->body, CannedValues(context, view->ticket, actor));
                if (!text.ok()) return Error(text.status());
                Json out{{"name", reply_name}, {"text", *text}, {"sent", false}};
                if (send) {
                  auto t = context.desk->AddMessage(*n, service::NewMessage{*text, internal, channel}, actor);
                  if (!t.ok()) return Error(t.status());
                  out["sent"] = true;
                  out["status"] = t->status;
                }
                return JsonResponse(200, out.dump());
              }});

  router.Add({"GET", "/v1/canned", privacy::Permission::kReadTickets,
              [&context](const http::Request&, const RouteMatch&) {
                if (context.desk == nullptr) return Unavailable();
                auto list = context.desk->WithStore(
                    [](store::Store& s) { return s.Get<store::DeskflowRepository>().ListCanned(); });
                if (!list.ok()) return Error(list.status());
                Json out{{"canned", Json::array()}};
                for (const auto& c : *list) out["canned"].push_back(CannedJson(c));
                return JsonResponse(200, out.dump());
              }});

  router.Add({"POST", "/v1/canned", privacy::Permission::kChangeTickets,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.desk == nullptr) return Unavailable();
                if (!MayManageCanned(ActorOf(req, match))) {
                  return http::JsonError(403, "forbidden", "supervisors and admins manage canned replies");
                }
                auto body = ParseObject(req.body, {"name", "title", "body"});
                if (!body.ok()) return Error(body.status());
                store::CannedReplyRecord r;
                for (auto [key, out] : {std::pair<const char*, std::string*>{"name", &r.name}, {"title", &r.title},
                                        {"body", &r.body}}) {
                  auto it = body->find(key);
                  if (it == body->end() || it->is_null()) continue;
                  if (!it->is_string()) return Error(Status::InvalidArgument(std::string(key) + ": expected a string"));
                  *out = it->get<std::string>();
                }
                const Millis now = SystemClock::Instance().Now();
                auto saved = context.desk->WithStore([&](store::Store& s) { return service::PutCanned(s, r, now); });
                if (!saved.ok()) return Error(saved.status());
                return JsonResponse(200, CannedJson(*saved).dump());
              }});

  router.Add({"GET", "/v1/canned/{name}", privacy::Permission::kReadTickets,
              [&context](const http::Request&, const RouteMatch& match) {
                if (context.desk == nullptr) return Unavailable();
                const std::string name(match.Param("name"));
                auto found = context.desk->WithStore(
                    [&](store::Store& s) { return s.Get<store::DeskflowRepository>().FindCanned(name); });
                if (!found.ok()) return Error(found.status());
                if (!*found) return http::JsonError(404, "not_found", "no canned reply " + name);
                return JsonResponse(200, CannedJson(**found).dump());
              }});

  router.Add({"DELETE", "/v1/canned/{name}", privacy::Permission::kChangeTickets,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.desk == nullptr) return Unavailable();
                if (!MayManageCanned(ActorOf(req, match))) {
                  return http::JsonError(403, "forbidden", "supervisors and admins manage canned replies");
                }
                const std::string name(match.Param("name"));
                Status deleted = context.desk->WithStore([&](store::Store& s) -> Status {
                  TP_ASSIGN_OR_RETURN(auto txn, s.Begin());
                  TP_RETURN_IF_ERROR(s.Get<store::DeskflowRepository>().DeleteCanned(*txn, name));
                  return txn->Commit();
                });
                if (!deleted.ok()) return Error(deleted);
                return JsonResponse(200, Json{{"deleted", name}}.dump());
              }});

  router.Add({"GET", "/v1/desk/feed", privacy::Permission::kReadTickets,
              [&context](const http::Request& req, const RouteMatch&) {
                if (context.desk_events == nullptr) return Unavailable();
                std::int64_t after = 0;
                auto v = http::QueryParam(req.query, "after");
                if (!v.ok()) return Error(v.status());
                if (*v) {
                  std::optional<std::int64_t> n = desk_http::ParseDigits(**v);
                  if (!n) return Error(Status::InvalidArgument("after: expected a feed sequence number"));
                  after = *n;
                }
                auto limit = LimitParam(req);
                if (!limit.ok()) return Error(limit.status());
                bool gap = false;
                auto entries = context.desk_events->Feed(after, *limit, &gap);
                Json out{{"events", Json::array()}, {"gap", gap}};
                for (const auto& e : entries) {
                  Json data = Json::parse(e.data_json, nullptr, false);
                  out["events"].push_back(Json{{"seq", e.seq},
                                               {"id", e.id},
                                               {"type", e.kind},
                                               {"at", Time(e.at)},
                                               {"data", data.is_discarded() ? Json::object() : data}});
                }
                out["last_seq"] = entries.empty() ? Json(context.desk_events->last_seq()) : Json(entries.back().seq);
                return JsonResponse(200, out.dump());
              }});

  router.Add({"GET", "/v1/desk/repeats", privacy::Permission::kReadDeskReports,
              [&context](const http::Request& req, const RouteMatch&) {
                if (context.desk == nullptr) return Unavailable();
                Millis range[2] = {0, 0};
                int i = 0;
                for (std::string_view key : {"from", "to"}) {
                  auto v = http::QueryParam(req.query, key);
                  if (!v.ok()) return Error(v.status());
                  if (*v) {
                    auto t = ParseTimestamp(**v);
                    if (!t.ok()) return Error(Status::InvalidArgument(std::string(key) + ": " + t.status().message()));
                    range[i] = *t;
                  }
                  ++i;
                }
                auto report = context.desk->WithStore([&](store::Store& s) {
                  return service::RepeatRates(s.Get<store::DeskflowRepository>(), range[0], range[1]);
                });
                if (!report.ok()) return Error(report.status());
                auto rates = [](const std::vector<service::RepeatRate>& v) {
                  Json a = Json::array();
                  for (const auto& r : v) {
                    a.push_back(Json{{"key", r.key}, {"contacts", r.contacts}, {"repeats", r.repeats}, {"rate", r.rate}});
                  }
                  return a;
                };
                Json out{{"window_days", context.desk_repeat_window_days},
                         {"contacts", report->contacts},
                         {"repeats", report->repeats},
                         {"rate", report->rate},
                         {"by_intent", rates(report->by_intent)},
                         {"by_channel", rates(report->by_channel)}};
                return JsonResponse(200, out.dump());
              }});
}

}  // namespace touchpoint::server

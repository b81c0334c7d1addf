// Experiment routes (docs/measurement.md "Experiments as stored objects"; docs/http-api.md): the
// experiments of insight/experiments.h on a store connection of their own (App). Reading them and
// their results is read_experiments; creating, starting and stopping them manage_experiments
// (each audited: experiment.create|start|stop); GET /v1/assignments — the router's and the bot's
// question "which variant does this unit get?" — assign_experiments, and it logs the unit's first
// exposure. The salt is shown to admins only: with it a unit's variant can be predicted.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <touchpoint/http/query.h>
#include <touchpoint/insight/experiments.h>
#include <touchpoint/privacy/roles.h>

#include "server/routes.h"

namespace touchpoint::server {
namespace {

using Json = nlohmann::ordered_json;

http::Response NotRunning() {
  return http::JsonError(503, "unavailable", "experiments are not available on this node");
}

bool IsAdmin(const RouteMatch& match) { return match.role() == privacy::Role::kAdmin; }

// POST /v1/experiments/{id}/start|stop.
http::Response ChangeStatus(const ServerContext& context, const http::Request& req, const RouteMatch& match,
                            bool start) {
  if (context.experiments == nullptr) return NotRunning();
  auto e = context.experiments->Find(match.Param("id"));
  if (!e.ok()) return ResponseFromStatus(e.status());
  auto changed = start ? context.experiments->Start(e->id) : context.experiments->Stop(e->id);
  if (!changed.ok()) return ResponseFromStatus(changed.status());
  RecordAudit(context, req, match, start ? "experiment.start" : "experiment.stop",
              "experiment:" + std::to_string(changed->id));
  return JsonResponse(200, insight::ExperimentJson(*changed, IsAdmin(match)));
}

}  // namespace

void RegisterExperimentRoutes(Router& router, const ServerContext& context) {
  router.Add({"POST", "/v1/experiments", privacy::Permission::kManageExperiments,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.experiments == nullptr) return NotRunning();
                auto spec = insight::ParseExperimentSpec(req.body);
                if (!spec.ok()) return ResponseFromStatus(spec.status());
                auto created = context.experiments->Create(*spec, AuditActor(req, match));
                if (!created.ok()) return ResponseFromStatus(created.status());
                RecordAudit(context, req, match, "experiment.create", "experiment:" + std::to_string(created->id),
                            Json{{"name", created->name}}.dump());
                return JsonResponse(201, insight::ExperimentJson(*created, IsAdmin(match)));
              }});

  router.Add({"GET", "/v1/experiments", privacy::Permission::kReadExperiments,
              [&context](const http::Request&, const RouteMatch& match) {
                if (context.experiments == nullptr) return NotRunning();
                auto list = context.experiments->List();
                if (!list.ok()) return ResponseFromStatus(list.status());
                return JsonResponse(200, insight::ExperimentListJson(*list, IsAdmin(match)));
              }});

  router.Add({"GET", "/v1/experiments/{id}", privacy::Permission::kReadExperiments,
              [&context](const http::Request&, const RouteMatch& match) {
                if (context.experiments == nullptr) return NotRunning();
                auto e = context.experiments->Find(match.Param("id"));
                if (!e.ok()) return ResponseFromStatus(e.status());
                return JsonResponse(200, insight::ExperimentJson(*e, IsAdmin(match)));
              }});

  router.Add({"POST", "/v1/experiments/{id}/start", privacy::Permission::kManageExperiments,
              [&context](const http::Request& req, const RouteMatch& match) {
                return ChangeStatus(context, req, match, /*start=*/true);
              }});

  router.Add({"POST", "/v1/experiments/{id}/stop", privacy::Permission::kManageExperiments,
              [&context](const http::Request& req, const RouteMatch& match) {
                return ChangeStatus(context, req, match, /*start=*/false);
              }});

  router.Add({"GET", "/v1/experiments/{id}/results", privacy::Permission::kReadExperiments,
              [&context](const http::Request&, const RouteMatch& match) {
                if (context.experiments == nullptr) return NotRunning();
                auto e = context.experiments->Find(match.Param("id"));
                if (!e.ok()) return ResponseFromStatus(e.status());
                auto results = context.experiments->Results(e->id);
                if (!results.ok()) return ResponseFromStatus(results.status());
                return JsonResponse(200, insight::ExperimentResultsJson(*results));
              }});

  router.Add({"GET", "/v1/assignments", privacy::Permission::kAssignExperiments,
              [&context](const http::Request& req, const RouteMatch&) {
                if (context.experiments == nullptr) return NotRunning();
                auto experiment = http::QueryParam(req.query, "experiment");
                if (!experiment.ok()) return ResponseFromStatus(experiment.status());
                auto unit = http::QueryParam(req.query, "unit");
                if (!unit.ok()) return ResponseFromStatus(unit.status());
                if (!*experiment || (*experiment)->empty()) {
                  return ResponseFromStatus(Status::InvalidArgument("experiment: give the experiment's id or name"));
                }
                if (!*unit || (*unit)->empty()) {
                  return ResponseFromStatus(Status::InvalidArgument("unit: give the customer id or ticket number"));
                }
                auto e = context.experiments->Find(**experiment);
                if (!e.ok()) return ResponseFromStatus(e.status());
                auto a = context.experiments->Assign(e->id, **unit);
                if (!a.ok()) return ResponseFromStatus(a.status());
                return JsonResponse(200, insight::AssignmentJson(*e, **unit, *a));
              }});
}

}  // namespace touchpoint::server

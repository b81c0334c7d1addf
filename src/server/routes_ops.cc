// Operations routes: health and metrics (public), store-wide counts.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "server/routes.h"

namespace touchpoint::server {
namespace {

// The store gauges appended to the metrics text.
std::string Gauges(const pipeline::Engine& engine) {
  const pipeline::EngineStats s = engine.Stats();
  std::string out;
  const auto gauge = [&](const char* name, const char* help, std::int64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + " " +
           std::to_string(v) + "\n";
  };
  gauge("touchpoint_store_events", "Events stored.", s.events);
  gauge("touchpoint_store_customers", "Customers (after merges).", s.customers);
  gauge("touchpoint_store_identifiers", "Identifiers known.", s.identifiers);
  return out;
}

}  // namespace

void RegisterOpsRoutes(Router& router, const ServerContext& context) {
  router.Add({"GET", "/healthz", kPublic, [](const http::Request&, const RouteMatch&) {
                return JsonResponse(200, "{\"status\":\"ok\"}");
              }});

  router.Add({"GET", "/metrics", kPublic, [&context](const http::Request&, const RouteMatch&) {
                http::Response r;
                r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                r.body = context.metrics->Render(Gauges(*context.engine));
                return r;
              }});

  router.Add({"GET", "/v1/stats", privacy::Permission::kReadStats,
              [&context](const http::Request&, const RouteMatch&) {
                const pipeline::EngineStats s = context.engine->Stats();
                nlohmann::json body = {
                    {"events", s.events},     {"customers", s.customers}, {"identifiers", s.identifiers},
                    {"messages", s.messages}, {"surveys", s.surveys},     {"orders", s.orders},
                    {"merges", s.merges}};
                return JsonResponse(200, body.dump());
              }});
}

}  // namespace touchpoint::server

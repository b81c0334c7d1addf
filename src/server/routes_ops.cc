// Operations routes: health and metrics (public), store-wide counts. Every node answers them
// itself (server/node.h): health and metrics are the node's own, counts come from the database.
#include <cstdint>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <touchpoint/service/sla.h>

#include "server/routes.h"

namespace touchpoint::server {
namespace {

void Gauge(std::string& out, const char* name, const char* help, const std::string& value,
           const std::string& labels = "") {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + labels + " " +
         value + "\n";
}

// The node and store gauges appended to the metrics text.
std::string Gauges(const ServerContext& context) {
  std::string out;
  if (context.node != nullptr) {
    const NodeState::Snapshot node = context.node->Get();
    Gauge(out, "touchpoint_node_role", "This node's role (1 for the role it has).", "1",
          "{role=\"" + std::string(NodeRoleName(node.role)) + "\"}");
    char lag[32];
    std::snprintf(lag, sizeof(lag), "%.3f", node.lag_seconds);
    Gauge(out, "touchpoint_replication_lag_seconds",
          "Followers: seconds since this node last confirmed the database's committed change point; 0 on a "
          "writer.",
          lag);
    if (node.read_replica) {
      std::snprintf(lag, sizeof(lag), "%.3f", node.replica_lag_seconds);
      Gauge(out, "touchpoint_read_replica_lag_seconds",
            "Followers with a read replica: seconds since the replica was last seen holding every commit of "
            "the primary.",
            lag);
      Gauge(out, "touchpoint_read_replica_in_use",
            "Followers with a read replica: 1 while reads go to it, 0 while they go to the primary.",
            node.reads_on_replica ? "1" : "0");
    }
  }
  if (context.stats) {
    auto s = context.stats();
    if (s.ok()) {
      Gauge(out, "touchpoint_store_events", "Events stored.", std::to_string(s->events));
      Gauge(out, "touchpoint_store_customers", "Customers (after merges).", std::to_string(s->customers));
      Gauge(out, "touchpoint_store_identifiers", "Identifiers known.", std::to_string(s->identifiers));
      Gauge(out, "touchpoint_events_suppressed",
            "Events dropped since start-up because an identifier of theirs belongs to an erased person.",
            std::to_string(s->suppressed_events));
      Gauge(out, "touchpoint_suppression_entries", "Identifiers of erased people on the suppression list.",
            std::to_string(s->suppression_entries));
    } else {
      context.log->warn("metrics store gauges unavailable error={}", s.status().message());
    }
  }
  if (context.sla != nullptr) {  // the SLA timer's events since start-up (service/sla.h)
    out += "# HELP touchpoint_sla_warnings_total SLA warnings fired since start-up.\n"
           "# TYPE touchpoint_sla_warnings_total counter\ntouchpoint_sla_warnings_total " +
           std::to_string(context.sla->warnings_fired()) + "\n";
    out += "# HELP touchpoint_sla_breaches_total SLA breaches fired since start-up.\n"
           "# TYPE touchpoint_sla_breaches_total counter\ntouchpoint_sla_breaches_total " +
           std::to_string(context.sla->breaches_fired()) + "\n";
    out += "# HELP touchpoint_complaint_tasks_overdue_total Complaint tasks that became overdue since start-up.\n"
           "# TYPE touchpoint_complaint_tasks_overdue_total counter\ntouchpoint_complaint_tasks_overdue_total " +
           std::to_string(context.sla->overdue_fired()) + "\n";
    Gauge(out, "touchpoint_sla_tracked_tickets", "Open tickets the SLA timer tracks.",
          std::to_string(context.sla->tracked()));
  }
  if (context.outbox != nullptr) {
    auto s = context.outbox->Stats();
    if (s.ok()) {
      std::string lines = "# HELP touchpoint_outbox_deliveries Outgoing deliveries (webhooks, e-mail) in the store by "
                          "state.\n# TYPE touchpoint_outbox_deliveries gauge\n";
      for (int i = 0; i < store::kDeliveryStateCount; ++i) {
        lines += "touchpoint_outbox_deliveries{state=\"" +
                 std::string(store::DeliveryStateName(static_cast<store::DeliveryState>(i))) + "\"} " +
                 std::to_string(s->by_state[static_cast<size_t>(i)]) + "\n";
      }
      out += lines;
    } else {
      context.log->warn("metrics outbox gauges unavailable error={}", s.status().message());
    }
  }
  return out;
}

std::string HealthJson(const ServerContext& context) {
  nlohmann::ordered_json body = {{"status", "ok"}};
  if (context.node == nullptr) return body.dump();
  const NodeState::Snapshot node = context.node->Get();
  body["role"] = NodeRoleName(node.role);
  if (node.role == NodeRole::kSingle) return body.dump();
  body["node_id"] = context.node->node_id();
  body["epoch"] = node.epoch;
  body["address"] = node.address;
  body["writer"] = node.writer_address.empty() ? nlohmann::ordered_json(nullptr)
                                               : nlohmann::ordered_json(node.writer_address);
  body["committed_seq"] = node.committed_seq;
  body["lag_seconds"] = static_cast<double>(static_cast<std::int64_t>(node.lag_seconds * 1000)) / 1000;
  if (node.read_replica) {
    body["read_replica"] = {
        {"in_use", node.reads_on_replica},
        {"reachable", node.replica_reachable},
        {"lag_seconds", static_cast<double>(static_cast<std::int64_t>(node.replica_lag_seconds * 1000)) / 1000}};
  }
  return body.dump();
}

}  // namespace

void RegisterOpsRoutes(Router& router, const ServerContext& context) {
  router.Add(
      {"GET", "/healthz", kPublic,
       [&context](const http::Request&, const RouteMatch&) { return JsonResponse(200, HealthJson(context)); },
       Served::kByAnyNode});

  router.Add({"GET", "/metrics", kPublic,
              [&context](const http::Request&, const RouteMatch&) {
                http::Response r;
                r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                r.body = context.metrics->Render(Gauges(context));
                return r;
              },
              Served::kByAnyNode});

  router.Add({"GET", "/v1/stats", privacy::Permission::kReadStats,
              [&context](const http::Request& req, const RouteMatch&) {
                auto s = context.fresh_stats && WantsFresh(req) ? context.fresh_stats() : context.stats();
                if (!s.ok()) return ResponseFromStatus(s.status());
                nlohmann::json body = {
                    {"events", s->events},     {"customers", s->customers}, {"identifiers", s->identifiers},
                    {"messages", s->messages}, {"surveys", s->surveys},     {"orders", s->orders},
                    {"merges", s->merges}};
                return JsonResponse(200, body.dump());
              },
              Served::kByAnyNode});
}

}  // namespace touchpoint::server

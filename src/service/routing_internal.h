// service/routing_internal.h — what the desk keeps for routing between decisions: the policies,
// the agents as the router sees them (with their loads and compiled shifts), read from the store
// when first needed and again after DeskOptions::routing_refresh_ms, kept current by the desk's
// own changes in between. Guarded by the desk's lock.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <touchpoint/calendar/calendar.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/service/router.h>
#include <touchpoint/store/agent_repository.h>

namespace touchpoint::service {

struct RoutingCache {
  explicit RoutingCache(const DeskOptions& options);

  std::map<std::string, RoutingPolicy> policies;  // by name; "default" always
  std::vector<std::string> policy_order;          // default first, then as configured
  bool loaded = false;
  Millis loaded_at = 0;
  std::vector<store::AgentRecord> records;  // by user id
  std::vector<RoutingAgent> agents;         // the same order
  std::vector<std::string> emails;          // the same order
  std::unordered_map<std::int64_t, size_t> index;  // user id → position
  // Compiled shifts by their JSON text (shared by agents with the same hours).
  std::map<std::string, std::unique_ptr<calendar::Calendar>> shifts;
};

}  // namespace touchpoint::service

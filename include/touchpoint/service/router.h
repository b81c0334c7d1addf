// service/router.h — who gets a ticket, and why: routing policies as data, and the router.
//
// The router is pure: given a ticket's needs, its customer's facts, the agents (with their
// current load) and a policy, it returns a decision naming every candidate considered, the rule
// that chose, and why each other agent was passed over. It reads no store and no clock; the desk
// (service/desk.h) gathers the inputs, applies the decision and stores it.
//
// Candidates are the agents that are online, in their shift, have the ticket's skill and
// language (when it names them) and free capacity. Among them each policy rule gives a match in
// [0, 1] and the agent's score is the sum of weight × match; the highest score wins, ties go to
// the longest idle agent (earliest state change), then the lowest id. The rules:
//   dedicated_advisor      1 for the customer's dedicated advisor, when the customer's tier is a
//                          VIP tier of the policy;
//   continuity             1 for the last agent who served this customer, within the policy's
//                          continuity_hours;
//   senior_for_vulnerable  1 for an agent with one of the policy's vulnerable_attributes (senior,
//                          patient) when the customer is flagged elderly or at high churn risk;
//   least_loaded           the agent's free share of capacity, 1 − load / capacity.
// With the default weights (1000, 100, 10, 1) this is the strict order of the rules: each rule
// outweighs everything after it. The rule that chose is the first rule, in policy order, that the
// winner matched (least_loaded when it matched none of the others).
//
// Thread safety: pure functions; a RoutingPolicy is a value.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>

namespace touchpoint::calendar {
class Calendar;
}

namespace touchpoint::service {

enum class AgentState { kOnline, kAway, kOffline };
std::string_view AgentStateName(AgentState state);
// "online" | "away" | "offline"; kInvalidArgument naming `field` otherwise.
Result<AgentState> ParseAgentState(std::string_view name, std::string_view field = "state");

enum class RoutingRule { kDedicatedAdvisor, kContinuity, kSeniorForVulnerable, kLeastLoaded };
std::string_view RoutingRuleName(RoutingRule rule);
Result<RoutingRule> ParseRoutingRule(std::string_view name, std::string_view field = "rule");

struct WeightedRule {
  RoutingRule rule = RoutingRule::kLeastLoaded;
  double weight = 1;  // > 0
};

// A named routing policy. `default` is DefaultRoutingPolicy().
struct RoutingPolicy {
  std::string name = "default";
  std::vector<WeightedRule> rules;  // in order; a rule not listed is not used
  std::vector<std::string> vip_tiers = {"gold", "vip"};  // profile tag/trait `tier` values with an advisor
  int continuity_hours = 72;            // the last agent counts this long after they last served
  double churn_risk_threshold = 0.7;    // profile tag churn_risk at or above: "at high churn risk"
  int elderly_age = 65;                 // profile trait age at or above (or trait elderly = true)
  std::vector<std::string> vulnerable_attributes = {"senior", "patient"};
};

// dedicated_advisor 1000, continuity 100, senior_for_vulnerable 10, least_loaded 1.
RoutingPolicy DefaultRoutingPolicy();
// kInvalidArgument naming the field: empty or bad name, no rules, a rule twice, weight ≤ 0,
// continuity_hours < 0, churn_risk_threshold outside [0, 1].
Status ValidateRoutingPolicy(const RoutingPolicy& policy);
// Policies from TOML text: `[[policies]]` tables (in the server's config `[[routing.policies]]`)
// with name, rules = [{rule = "…", weight = …}, …] (or plain rule names: weights 1000, 100, 10, 1
// by position), vip_tiers, continuity_hours, churn_risk_threshold, elderly_age,
// vulnerable_attributes. kInvalidArgument naming the field ("policies[1].rules[0].rule").
Result<std::vector<RoutingPolicy>> ParseRoutingPolicies(std::string_view toml_text);
// The policy as TOML (one [[policies]] table), as ParseRoutingPolicies reads it.
std::string RoutingPolicyToml(const RoutingPolicy& policy);

// An agent as the router sees it.
struct RoutingAgent {
  std::int64_t id = 0;  // user id
  std::string name;
  std::vector<std::string> skills;      // sorted
  std::vector<std::string> languages;   // sorted
  std::vector<std::string> attributes;  // sorted
  std::int32_t capacity = 0;
  std::int32_t load = 0;  // open tickets assigned now
  AgentState state = AgentState::kOffline;
  Millis state_since = 0;  // longest idle = earliest
  const calendar::Calendar* shift = nullptr;  // null: always in shift; must outlive Route()
};

// What the router knows of the ticket and its customer.
struct RoutingRequest {
  std::int64_t ticket = 0;
  std::string skill;     // empty: any agent
  std::string language;  // empty: any agent
  Millis now = 0;
  // The customer (the desk reads them from the profile; docs/service-desk.md, "Routing").
  std::string tier;               // tag or trait `tier`; empty: none
  std::int64_t advisor = 0;       // the dedicated advisor's agent id; 0: none
  bool elderly = false;           // trait elderly = true, or trait age ≥ policy.elderly_age (desk)
  int age = 0;                    // trait age; 0: unknown
  double churn_risk = -1;         // tag churn_risk; < 0: unknown
  std::int64_t last_agent = 0;    // who last served this customer; 0: nobody
  Millis last_served_at = 0;      // when
};

// Why an agent was not chosen (kChosen for the winner).
enum class PassReason {
  kChosen,
  kOffline,
  kAway,
  kNoSkill,
  kNoLanguage,
  kAtCapacity,
  kOutsideShift,
  kOutscored,  // a candidate, but another agent won
};

struct Candidate {
  std::int64_t agent = 0;
  PassReason reason = PassReason::kChosen;
  double score = 0;  // candidates only
  std::int32_t load = 0;
  std::int32_t capacity = 0;
  std::uint8_t matched = 0;  // bit per RoutingRule the agent matched (binary rules)
};

struct RoutingDecision {
  std::string policy;
  std::int64_t agent = 0;  // 0: nobody fits; the ticket waits in its queue
  std::string rule;        // the rule that chose; empty when nobody fits
  std::vector<Candidate> candidates;  // every agent considered, the chosen one first, then by score
};

// Routes one ticket. REQUIRES: ValidateRoutingPolicy(policy).ok(); agents' lists sorted.
RoutingDecision Route(const RoutingRequest& request, std::span<const RoutingAgent> agents,
                      const RoutingPolicy& policy);

// The explanation of one candidate: "chosen by dedicated_advisor: dedicated advisor of a gold
// customer", "no skill loan", "at capacity 8/8", "offline", "outside shift", "not chosen: load
// 3/8, Li had 1/8". `agents` are those given to Route (for names).
std::string ExplainCandidate(const Candidate& candidate, const RoutingDecision& decision,
                             const RoutingRequest& request, std::span<const RoutingAgent> agents,
                             const RoutingPolicy& policy);

}  // namespace touchpoint::service

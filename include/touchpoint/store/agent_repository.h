// store/agent_repository.h — the service desk's agents and its routing decisions.
//
// An agent is a privacy user (store/user_repository.h) with the desk's facts about them: skills,
// languages, capacity, state, attributes, team and shift (service/agents.h explains them). The
// agent's id is its user's id. Routing decisions (service/router.h) are append-only rows, written
// in the transaction that assigns the ticket (or leaves it waiting).
//
// The two read views over the tickets table (OpenLoads, Waiting) are here because routing is
// their only reader; they carry no ticket text (an encrypting ticket wrapper has nothing to do).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/transaction.h>

namespace touchpoint::store {

struct AgentRecord {
  std::int64_t user_id = 0;  // the agent's user; also the agent's id
  std::string name;          // shown in explanations ("Li Na")
  std::vector<std::string> skills;      // products: credit_card, loan, refund … (sorted, unique)
  std::vector<std::string> languages;   // zh, en … (sorted, unique)
  std::vector<std::string> attributes;  // senior, patient … (sorted, unique)
  std::int32_t capacity = 0;            // most open tickets at once
  std::string state;                    // online | away | offline
  std::string team;                     // a team's name (its queue); empty: none
  std::string shift;                    // working hours as a calendar file (JSON); empty: always
  Millis state_changed_at = 0;          // "longest idle" counts from here
  Millis created_at = 0;
  Millis updated_at = 0;
  friend bool operator==(const AgentRecord&, const AgentRecord&) = default;
};

struct RoutingDecisionRecord {
  std::int64_t id = 0;      // assigned by AddDecision (ascending)
  std::int64_t ticket = 0;  // number
  Millis at = 0;
  std::string policy;       // the routing policy's name
  std::string rule;         // the rule that chose; empty when nobody fits (the ticket waits)
  std::int64_t agent = 0;   // the agent chosen; 0: nobody
  std::string detail;       // every candidate with its reason (the service's JSON; no personal data)
  friend bool operator==(const RoutingDecisionRecord&, const RoutingDecisionRecord&) = default;
};

// An unassigned ticket in a handling status (new, open, pending_*), for the queues.
struct WaitingTicket {
  std::int64_t number = 0;
  CustomerId customer;
  std::string status;
  std::string priority;
  std::string skill;
  std::string language;
  std::string queue;
  Millis created_at = 0;
  friend bool operator==(const WaitingTicket&, const WaitingTicket&) = default;
};

// Writes take the transaction they belong to; reads see committed data. Safe for one thread at a
// time (as its store).
class AgentRepository {
 public:
  virtual ~AgentRepository() = default;

  // Inserts or replaces the agent of agent.user_id.
  virtual Status Put(Transaction& txn, const AgentRecord& agent) = 0;
  virtual Result<std::optional<AgentRecord>> Find(std::int64_t user_id) = 0;
  // Every agent, by user id.
  virtual Result<std::vector<AgentRecord>> List() = 0;

  // Appends a decision (id assigned).
  virtual Status AddDecision(Transaction& txn, const RoutingDecisionRecord& decision) = 0;
  // The decisions about `ticket`, oldest first.
  virtual Result<std::vector<RoutingDecisionRecord>> Decisions(std::int64_t ticket) = 0;

  // assignee → number of their tickets in new, open, pending_customer or pending_third_party.
  virtual Result<std::map<std::int64_t, std::int32_t>> OpenLoads() = 0;
  // Unassigned tickets in those statuses that are not merged away, in number order.
  virtual Result<std::vector<WaitingTicket>> Waiting() = 0;
};

}  // namespace touchpoint::store

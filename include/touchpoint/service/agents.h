// service/agents.h — the desk's agents and its queues, as the desk's API takes and gives them.
//
// An agent is a privacy user (store/user_repository.h) with the agent role (or supervisor/admin
// when an existing user is named); the desk keeps, per agent (store/agent_repository.h): skills
// (products such as credit_card, loan, refund), languages (zh, en), capacity (most open tickets
// at once), state (online, away, offline), attributes (senior, patient), team, shift and the time
// of the last state change. A shift is a weekly schedule in the calendar module's file format
// (calendar/calendar_file.h: zone, week, optional holidays as days off):
//   {"zone": "Asia/Shanghai", "week": {"mon": ["09:00-18:00"], …}}
// and routing takes only agents inside it (docs/service-desk.md, "Routing").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/service/router.h>
#include <touchpoint/store/agent_repository.h>

namespace touchpoint::service {

struct NewAgent {
  std::string name;  // required: shown in routing explanations
  std::vector<std::string> skills;
  std::vector<std::string> languages;
  std::vector<std::string> attributes;
  std::int32_t capacity = 5;  // 1 … 1000
  AgentState state = AgentState::kOffline;
  std::string team;   // an existing team's name; empty: the user's team, if any
  std::string shift;  // a calendar file's JSON or TOML text; empty: always in shift
  // The agent's user: an existing user's id, or 0 to create one with the agent role and e-mail
  // `email` (empty: "agent-<n>@agents.invalid"; such a user logs in after a password reset).
  std::int64_t user_id = 0;
  std::string user_email;  // or an existing user by e-mail (kNotFound when none)
  std::string email;
};

// Checks names and lists: kInvalidArgument naming the field ("skills[1]: …", "capacity: …").
// Lists are sorted and de-duplicated in place; `shift` becomes its canonical JSON.
Status NormalizeAgent(NewAgent* agent);
// A shift text (JSON, or TOML when it does not start with '{') → canonical calendar JSON.
// kInvalidArgument naming "shift…" (bad interval, unknown zone).
Result<std::string> NormalizeShift(const std::string& text);

// An agent with their current load (open tickets assigned to them).
struct AgentView {
  store::AgentRecord agent;
  std::string email;  // the user's
  std::int32_t load = 0;
  bool in_shift = true;  // now
};

// One queue's waiting tickets (unassigned, in a handling status).
struct QueueStat {
  std::string queue;
  std::int64_t waiting = 0;
  Millis oldest_created_at = 0;  // 0: none waiting
  std::int64_t high = 0, medium = 0, low = 0;  // waiting by priority
  std::int64_t breaching = 0;  // waiting tickets past an SLA target: not filled yet (SlaService::Breaching has them)
};

}  // namespace touchpoint::service

// `touchpoint desk agents|agent-add|agent-state|queues|routing|routing-policies`: the desk's agents
// and routing from the command line (service/agents.h, service/router.h), over the data
// directory's store next to a running server (whose cached agents follow within
// DeskOptions::routing_refresh_ms). The operator acts as "cli" with an administrator's scope.
// Routing policies come from [[routing.policies]] of DATA/touchpoint.toml (or --config).
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/core/time.h>
#include <touchpoint/server/config.h>
#include <touchpoint/service/agents.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/service/router.h>
#include <touchpoint/service/ticket.h>
#include <touchpoint/store/user_repository.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/data_access.h"

namespace touchpoint::cli {
namespace {

const service::Actor kCli{service::Actor::Kind::kAdmin, 0, "cli"};

Result<std::unique_ptr<service::Desk>> OpenDesk(const std::string& data_dir) {
  auto store = OpenForKeys(data_dir);
  if (!store.ok()) return Status::Unavailable(store.status().message());
  return std::make_unique<service::Desk>(std::move(*store), SystemClock::Instance());
}

template <class Fn>
void WithDesk(const std::string& data_dir, int* exit_code, Fn&& fn) {
  auto desk = OpenDesk(data_dir);
  if (!desk.ok()) {
    *exit_code = Fail(desk.status());
    return;
  }
  Status s = fn(**desk);
  if (!s.ok()) *exit_code = Fail(s);
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ",") + s;
  return out.empty() ? "-" : out;
}

void PrintAgentHeader() {
  std::printf("%-6s %-20s %-8s %-7s %-24s %-8s %-10s %s\n", "ID", "NAME", "STATE", "LOAD", "SKILLS", "LANGS", "TEAM",
              "SHIFT");
}
void PrintAgent(const service::AgentView& v) {
  const store::AgentRecord& a = v.agent;
  const std::string load = std::to_string(v.load) + "/" + std::to_string(a.capacity);
  std::printf("%-6lld %-20s %-8s %-7s %-24s %-8s %-10s %s\n", static_cast<long long>(a.user_id), a.name.c_str(),
              a.state.c_str(), load.c_str(), Join(a.skills).c_str(), Join(a.languages).c_str(),
              a.team.empty() ? "-" : a.team.c_str(), a.shift.empty() ? "always" : (v.in_shift ? "in" : "out"));
}

// An agent named by user id or e-mail.
Result<std::int64_t> AgentIdOf(const std::string& data_dir, const std::string& agent) {
  if (agent.find('@') != std::string::npos) {
    TP_ASSIGN_OR_RETURN(auto store, OpenForKeys(data_dir));
    TP_ASSIGN_OR_RETURN(auto u, store->Get<store::UserRepository>().FindByEmail(agent));
    if (!u) return Status::NotFound("no user " + agent);
    return u->id;
  }
  auto n = service::ParseTicketNumber(agent, "AGENT (a user id or e-mail)");
  if (!n.ok() || agent.rfind("TP-", 0) == 0 || agent.rfind("tp-", 0) == 0) {
    return Status::InvalidArgument("AGENT: expected a user id or e-mail");
  }
  return *n;
}

// The configured policies: [[routing.policies]] of the config file.
Result<std::vector<service::RoutingPolicy>> ConfiguredPolicies(const std::string& data_dir, const std::string& config) {
  server::ServerConfig defaults;
  defaults.data_dir = data_dir;
  const bool named = !config.empty();
  TP_ASSIGN_OR_RETURN(auto loaded, server::LoadConfig(named ? config : data_dir + "/touchpoint.toml", defaults, named));
  if (loaded.routing_policies_toml.empty()) return std::vector<service::RoutingPolicy>();
  return service::ParseRoutingPolicies(loaded.routing_policies_toml);
}

}  // namespace

void RegisterAgentCommands(CLI::App& app, int* exit_code) {
  auto data = std::make_shared<std::string>(DefaultDataDir());
  struct Args {
    std::string name, skills, languages, attributes, state = "offline", team, user, email, shift, agent, number,
        config;
    int capacity = 5;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* desk = app.get_subcommand("desk");  // cli/desk_commands.cc made it

  CLI::App* agents = desk->add_subcommand("agents", "The desk's agents: state, load/capacity, skills, languages, team, shift");
  agents->add_option("--data", *data, "Data directory");
  agents->callback([=] {
    WithDesk(*data, exit_code, [&](service::Desk& d) -> Status {
      TP_ASSIGN_OR_RETURN(auto list, d.Agents());
      PrintAgentHeader();
      for (const auto& v : list) PrintAgent(v);
      return Status::Ok();
    });
  });

  CLI::App* add = desk->add_subcommand(
      "agent-add", "Create or replace an agent (its user is created with the agent role unless --user names one)");
  add->add_option("--data", *data, "Data directory");
  add->add_option("--name", a->name, "Shown in routing explanations")->required();
  add->add_option("--skills", a->skills, "Comma-separated: credit_card,loan,refund");
  add->add_option("--languages", a->languages, "Comma-separated: zh,en");
  add->add_option("--attributes", a->attributes, "Comma-separated: senior,patient");
  add->add_option("--capacity", a->capacity, "Most open tickets at once (default 5)");
  add->add_option("--state", a->state, "online | away | offline (default offline)");
  add->add_option("--team", a->team, "An existing team (its name is the agent's queue)");
  add->add_option("--user", a->user, "An existing user (id or e-mail) instead of a new one");
  add->add_option("--email", a->email, "The new user's e-mail (default agent-N@agents.invalid)");
  add->add_option("--shift", a->shift, "Working hours: a calendar file (JSON or TOML: zone, week)");
  add->callback([=] {
    WithDesk(*data, exit_code, [&](service::Desk& d) -> Status {
      service::NewAgent in;
      in.name = a->name;
      in.skills = SplitComma(a->skills);
      in.languages = SplitComma(a->languages);
      in.attributes = SplitComma(a->attributes);
      in.capacity = a->capacity;
      TP_ASSIGN_OR_RETURN(in.state, service::ParseAgentState(a->state, "--state"));
      in.team = a->team;
      in.email = a->email;
      if (!a->user.empty()) {
        if (a->user.find('@') != std::string::npos) {
          in.user_email = a->user;
        } else {
          TP_ASSIGN_OR_RETURN(in.user_id, AgentIdOf(*data, a->user));
        }
      }
      if (!a->shift.empty()) {
        std::ifstream f(a->shift);
        if (!f) return Status::InvalidArgument("--shift: cannot read " + a->shift);
        std::stringstream text;
        text << f.rdbuf();
        in.shift = text.str();
      }
      TP_ASSIGN_OR_RETURN(auto v, d.PutAgent(std::move(in), kCli));
      PrintAgentHeader();
      PrintAgent(v);
      return Status::Ok();
    });
  });

  CLI::App* state = desk->add_subcommand("agent-state", "Set an agent's state; online hands waiting tickets to them");
  state->add_option("--data", *data, "Data directory");
  state->add_option("AGENT", a->agent, "User id or e-mail")->required();
  state->add_option("STATE", a->state, "online | away | offline")->required();
  state->callback([=] {
    WithDesk(*data, exit_code, [&](service::Desk& d) -> Status {
      TP_ASSIGN_OR_RETURN(std::int64_t id, AgentIdOf(*data, a->agent));
      TP_ASSIGN_OR_RETURN(auto s, service::ParseAgentState(a->state, "STATE"));
      TP_ASSIGN_OR_RETURN(auto v, d.SetAgentState(id, s, kCli));
      PrintAgentHeader();
      PrintAgent(v);
      return Status::Ok();
    });
  });

  CLI::App* queues = desk->add_subcommand("queues", "Waiting (unassigned) tickets per queue: count, oldest, by priority");
  queues->add_option("--data", *data, "Data directory");
  queues->callback([=] {
    WithDesk(*data, exit_code, [&](service::Desk& d) -> Status {
      TP_ASSIGN_OR_RETURN(auto list, d.Queues());
      std::printf("%-16s %8s %-24s %5s %7s %4s %10s\n", "QUEUE", "WAITING", "OLDEST", "HIGH", "MEDIUM", "LOW",
                  "BREACHING");
      for (const auto& q : list) {
        std::printf("%-16s %8lld %-24s %5lld %7lld %4lld %10lld\n", q.queue.c_str(), static_cast<long long>(q.waiting),
                    q.oldest_created_at ? FormatTimestamp(q.oldest_created_at).c_str() : "-",
                    static_cast<long long>(q.high), static_cast<long long>(q.medium), static_cast<long long>(q.low),
                    static_cast<long long>(q.breaching));
      }
      return Status::Ok();
    });
  });

  CLI::App* routing = desk->add_subcommand("routing", "A ticket's routing decisions: candidates and why each was passed over");
  routing->add_option("--data", *data, "Data directory");
  routing->add_option("NUMBER", a->number, "TP-000123")->required();
  routing->callback([=] {
    WithDesk(*data, exit_code, [&](service::Desk& d) -> Status {
      TP_ASSIGN_OR_RETURN(std::int64_t n, service::ParseTicketNumber(a->number, "NUMBER"));
      TP_ASSIGN_OR_RETURN(auto decisions, d.Routing(n));
      if (decisions.empty()) std::printf("%s: no routing decision (no agents when it arrived)\n", a->number.c_str());
      for (const auto& r : decisions) {
        std::printf("%s  policy %s  %s\n", FormatTimestamp(r.at).c_str(), r.policy.c_str(),
                    r.agent ? ("→ agent " + std::to_string(r.agent) + " by " + r.rule).c_str() : "→ nobody fits: waits");
        nlohmann::json detail = nlohmann::json::parse(r.detail, nullptr, false);
        if (!detail.is_object() || !detail.contains("candidates")) continue;
        for (const auto& c : detail["candidates"]) {
          std::printf("  %-6lld %-20s %-9s %s\n", static_cast<long long>(c.value("agent", 0LL)),
                      c.value("name", std::string()).c_str(), c.value("outcome", std::string()).c_str(),
                      c.value("reason", std::string()).c_str());
        }
      }
      return Status::Ok();
    });
  });

  CLI::App* policies = desk->add_subcommand(
      "routing-policies", "The routing policies (default, and [[routing.policies]] of the config) as TOML");
  policies->add_option("--data", *data, "Data directory (its touchpoint.toml)");
  policies->add_option("--config", a->config, "A config file instead of DATA/touchpoint.toml");
  policies->callback([=] {
    auto configured = ConfiguredPolicies(*data, a->config);
    if (!configured.ok()) {
      *exit_code = Fail(configured.status());
      return;
    }
    std::vector<service::RoutingPolicy> all;
    bool default_configured = false;
    for (const auto& p : *configured) default_configured = default_configured || p.name == "default";
    if (!default_configured) all.push_back(service::DefaultRoutingPolicy());
    for (const auto& p : *configured) all.push_back(p);
    for (size_t i = 0; i < all.size(); ++i) {
      std::printf("%s%s", i ? "\n" : "", service::RoutingPolicyToml(all[i]).c_str());
    }
  });
}

}  // namespace touchpoint::cli

// `touchpoint desk sla-policies list|show|set|delete`: the SLA policies stored in the data
// directory's store (store/sla_repository.h), which a server reads at start before the
// [[sla.policies]] of its config (docs/service-desk.md, "SLA policies and timers"). A policy is
// its JSON document (service::PolicyFromJson checks it and names the field of an error).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

#include <touchpoint/core/time.h>
#include <touchpoint/service/sla.h>
#include <touchpoint/store/sla_repository.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/data_access.h"

namespace touchpoint::cli {
namespace {

template <class Fn>
void WithSla(const std::string& data_dir, int* exit_code, Fn&& fn) {
  auto store = OpenForKeys(data_dir);
  if (!store.ok()) {
    *exit_code = Fail(Status::Unavailable(store.status().message()));
    return;
  }
  Status s = fn(**store);
  if (!s.ok()) *exit_code = Fail(s);
}

std::string Goal(const service::SlaGoal& g) {
  if (g.minutes <= 0) return "-";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%g/%g", g.minutes, g.warning_minutes);
  return buf;
}

}  // namespace

void RegisterSlaCommands(CLI::App& app, int* exit_code) {
  CLI::App* desk = app.get_subcommand("desk");
  auto data = std::make_shared<std::string>(DefaultDataDir());
  auto arg = std::make_shared<std::string>();
  CLI::App* policies = desk->add_subcommand(
      "sla-policies", "SLA policies stored for the server (read at its start, before [[sla.policies]])");
  policies->require_subcommand(1);

  CLI::App* list = policies->add_subcommand("list", "The stored policies in the order they are tried");
  list->add_option("--data", *data, "Data directory");
  list->callback([=] {
    WithSla(*data, exit_code, [&](store::Store& s) -> Status {
      TP_ASSIGN_OR_RETURN(auto all, s.Get<store::SlaRepository>().Policies());
      std::printf("%-20s %9s %-10s %-14s %-14s %-14s\n", "NAME", "POSITION", "CALENDAR", "FIRST_MIN/WARN",
                  "NEXT_MIN/WARN", "RESOLVE_MIN/WARN");
      for (const auto& r : all) {
        TP_ASSIGN_OR_RETURN(service::SlaPolicy p, service::PolicyFromJson(r.body));
        std::printf("%-20s %9lld %-10s %-14s %-14s %-14s\n", p.name.c_str(), static_cast<long long>(p.position),
                    p.calendar.empty() ? "wall" : p.calendar.c_str(), Goal(p.first_response).c_str(),
                    Goal(p.next_response).c_str(), Goal(p.resolution).c_str());
      }
      if (all.empty()) std::printf("(none stored: the config's [[sla.policies]], then the baseline, apply)\n");
      return Status::Ok();
    });
  });

  CLI::App* show = policies->add_subcommand("show", "A stored policy as JSON");
  show->add_option("--data", *data, "Data directory");
  show->add_option("NAME", *arg, "Policy name")->required();
  show->callback([=] {
    WithSla(*data, exit_code, [&](store::Store& s) -> Status {
      TP_ASSIGN_OR_RETURN(auto all, s.Get<store::SlaRepository>().Policies());
      for (const auto& r : all) {
        if (r.name == *arg) {
          std::printf("%s\n", r.body.c_str());
          return Status::Ok();
        }
      }
      return Status::NotFound("no stored sla policy named '" + *arg + "'");
    });
  });

  CLI::App* set = policies->add_subcommand(
      "set", "Stores a policy from a JSON file (- for stdin); a policy of the same name is replaced");
  set->add_option("--data", *data, "Data directory");
  set->add_option("FILE", *arg, "The policy's JSON document")->required();
  set->callback([=] {
    WithSla(*data, exit_code, [&](store::Store& s) -> Status {
      std::string text;
      if (*arg == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      } else {
        std::ifstream in(*arg);
        if (!in) return Status::InvalidArgument("FILE: cannot read " + *arg);
        std::stringstream ss;
        ss << in.rdbuf();
        text = ss.str();
      }
      TP_ASSIGN_OR_RETURN(service::SlaPolicy p, service::PolicyFromJson(text));
      TP_ASSIGN_OR_RETURN(auto txn, s.Begin());
      TP_RETURN_IF_ERROR(s.Get<store::SlaRepository>().PutPolicy(
          *txn, store::SlaPolicyRecord{p.name, p.position, service::PolicyToJson(p), SystemClock::Instance().Now()}));
      TP_RETURN_IF_ERROR(txn->Commit());
      std::printf("stored sla policy %s (a running server reads it at its next start)\n", p.name.c_str());
      return Status::Ok();
    });
  });

  CLI::App* del = policies->add_subcommand("delete", "Deletes a stored policy");
  del->add_option("--data", *data, "Data directory");
  del->add_option("NAME", *arg, "Policy name")->required();
  del->callback([=] {
    WithSla(*data, exit_code, [&](store::Store& s) -> Status {
      TP_ASSIGN_OR_RETURN(auto txn, s.Begin());
      TP_ASSIGN_OR_RETURN(bool gone, s.Get<store::SlaRepository>().DeletePolicy(*txn, *arg));
      if (!gone) return Status::NotFound("no stored sla policy named '" + *arg + "'");
      TP_RETURN_IF_ERROR(txn->Commit());
      std::printf("deleted sla policy %s\n", arg->c_str());
      return Status::Ok();
    });
  });
}

}  // namespace touchpoint::cli

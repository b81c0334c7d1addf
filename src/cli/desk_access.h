// cli/desk_access.h — the CLI's service desk (service/desk.h) over the data directory's store,
// opened the same way by every command that works on tickets (cli/desk_commands.cc,
// cli/deskflow_commands.cc): next to a running server (no writer lock; the tickets' versions
// catch concurrent changes), with the deskflow listeners (DeskflowDeskOptions), the operator
// acting as "cli" with an administrator's scope.
#pragma once

#include <memory>
#include <string>

#include <touchpoint/core/result.h>
#include <touchpoint/pipeline/customer_view.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/service/sla.h>
#include <touchpoint/store/store.h>

#include "cli/cli_util.h"

namespace touchpoint::cli {

inline const service::Actor kCliDeskActor{service::Actor::Kind::kAdmin, 0, "cli"};

struct DeskHandle {
  std::unique_ptr<store::Store> reader;  // customer and user lookups
  std::unique_ptr<pipeline::CustomerView> customers;
  std::unique_ptr<service::Desk> desk;
};

// Opens the desk of `data_dir` (cli/desk_commands.cc). kUnavailable when the store cannot be opened.
Result<DeskHandle> OpenDesk(const std::string& data_dir);

// The SLA setup a server over `data_dir` runs (service::SlaSetup): the stored policies, then
// [[sla.policies]] of DATA/touchpoint.toml, [sla] calendar (or `calendar_override`) and the
// calendars the policies name. kInvalidArgument naming what does not load.
Result<std::shared_ptr<service::SlaSetup>> CliSlaSetup(store::Store& store, const std::string& data_dir,
                                                       const std::string& calendar_override = "");

// Runs fn(DeskHandle&) -> Status on the opened desk; a failure to open or a failed fn sets
// *exit_code (cli_util.h's Fail).
template <class Fn>
void WithDesk(const std::string& data_dir, int* exit_code, Fn&& fn) {
  auto h = OpenDesk(data_dir);
  if (!h.ok()) {
    *exit_code = Fail(h.status());
    return;
  }
  Status s = fn(*h);
  if (!s.ok()) *exit_code = Fail(s);
}

}  // namespace touchpoint::cli

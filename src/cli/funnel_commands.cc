// `touchpoint funnel`: a funnel over the stored event log (insight/funnel_store.h; the
// definitions in docs/measurement.md, "Funnels"), as a table on a terminal or JSON.
#include <cstdio>
#include <memory>
#include <string>

#include <touchpoint/insight/funnel_store.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/data_access.h"

namespace touchpoint::cli {

void RegisterFunnelCommands(CLI::App& app, int* exit_code) {
  struct Args {
    std::string data = DefaultDataDir();
    std::string steps, mode, window, by, from, to, format;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("funnel", "A funnel over the stored events: who reaches each step in the window");
  cmd->add_option("--data", a->data, "Data directory");
  cmd->add_option("--steps", a->steps, "Comma-separated event names, in order (at least two)")->required();
  cmd->add_option("--mode", a->mode, "ordered (default: other events in between allowed), strict (consecutive) or any");
  cmd->add_option("--window", a->window, "Days from the first step to reach the others (default 14)");
  cmd->add_option("--by", a->by, "Break down by this event property of the first step (properties.<by>)");
  cmd->add_option("--from", a->from, "Events at or after (ISO 8601 date-time, or a date: UTC midnight)");
  cmd->add_option("--to", a->to, "… and before");
  cmd->add_option("--format", a->format, "json or table (default: table on a terminal, else json)");
  cmd->callback([a, exit_code] {
    auto chosen = ReportFormat(a->format);
    if (!chosen.ok()) {
      *exit_code = Fail(chosen.status());
      return;
    }
    const std::string& format = *chosen;
    auto query = insight::ParseFunnelQuery(a->steps, a->mode, a->window, a->by, a->from, a->to);
    if (!query.ok()) {
      *exit_code = Fail(query.status());
      return;
    }
    auto store = OpenReadOnly(a->data);
    if (!store.ok()) {
      *exit_code = Fail(Status::Unavailable(store.status().message()));
      return;
    }
    auto groups = insight::FunnelOverStore(**store, *query);
    if (!groups.ok()) {
      *exit_code = Fail(groups.status());
      return;
    }
    const std::string out = format == "json" ? insight::FunnelJson(*query, *groups) + "\n"
                                             : insight::FunnelTable(*query, *groups);
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
}

}  // namespace touchpoint::cli

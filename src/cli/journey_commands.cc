// `touchpoint journey`: a journey over the stored data (insight/journey_store.h; the definitions
// in docs/measurement.md, "Journeys") — per touchpoint its volume, dwell, drop-off, satisfaction
// and negative-sentiment share, and the score combining them, worst first; as a table on a
// terminal or JSON (what GET /v1/journeys/{name} answers).
#include <cstdio>
#include <memory>
#include <string>

#include <touchpoint/insight/journey_store.h>
#include <touchpoint/server/config.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/data_access.h"

namespace touchpoint::cli {
namespace {

// The journey named `name`: [[journeys]] of the config (the data directory's touchpoint.toml, or
// --config), else the built-in one. kNotFound listing the known names.
Result<insight::JourneySpec> NamedJourney(const std::string& data_dir, const std::string& config,
                                          const std::string& name) {
  server::ServerConfig defaults;
  defaults.data_dir = data_dir;
  const bool named = !config.empty();
  TP_ASSIGN_OR_RETURN(auto loaded, server::LoadConfig(named ? config : data_dir + "/touchpoint.toml", defaults, named));
  const auto known = insight::KnownJourneys(std::move(loaded.journeys));
  if (const insight::JourneySpec* j = insight::FindJourney(known, name)) return *j;
  return Status::NotFound("no journey named \"" + name + "\"; known: " + insight::JourneyNames(known) +
                          " (add [[journeys]] to the config, or give --stages)");
}

}  // namespace

void RegisterJourneyCommands(CLI::App& app, int* exit_code) {
  struct Args {
    std::string data = DefaultDataDir();
    std::string config, name, stages, targets, from, to, format;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "journey", "A customer journey over the stored data: each touchpoint's volume, dwell, drop-off, "
                 "satisfaction and negative share, worst first");
  cmd->add_option("--data", a->data, "Data directory");
  cmd->add_option("--config", a->config, "Config file with [[journeys]] (default: DATA/touchpoint.toml)");
  cmd->add_option("--name", a->name, "A configured journey (default: purchase, the built-in one)");
  cmd->add_option("--stages", a->stages,
                  "The stages instead of a configured journey: \"stage=event,event;stage=event\" "
                  "(a page view matches \"page\")");
  cmd->add_option("--targets", a->targets, "Target dwell hours per stage: \"stage=hours,stage=hours\"");
  cmd->add_option("--from", a->from, "Data at or after (ISO 8601 date-time, or a date: UTC midnight)");
  cmd->add_option("--to", a->to, "… and before");
  cmd->add_option("--format", a->format, "json or table (default: table on a terminal, else json)");
  cmd->callback([a, exit_code] {
    auto chosen = ReportFormat(a->format);
    if (!chosen.ok()) {
      *exit_code = Fail(chosen.status());
      return;
    }
    const std::string& format = *chosen;
    Result<insight::JourneySpec> spec =
        !a->stages.empty() ? insight::ParseJourneyStages(a->name, a->stages, a->targets)
                           : NamedJourney(a->data, a->config, a->name.empty() ? "purchase" : a->name);
    if (!spec.ok()) {
      *exit_code = Fail(spec.status());
      return;
    }
    if (a->stages.empty() && !a->targets.empty()) {
      *exit_code = Fail(Status::InvalidArgument("targets: only with --stages (a configured journey has its own)"));
      return;
    }
    auto query = insight::MakeJourneyQuery(std::move(*spec), a->from, a->to);
    if (!query.ok()) {
      *exit_code = Fail(query.status());
      return;
    }
    auto store = OpenReadOnly(a->data);
    if (!store.ok()) {
      *exit_code = Fail(Status::Unavailable(store.status().message()));
      return;
    }
    auto result = insight::JourneyOverStore(**store, *query);
    if (!result.ok()) {
      *exit_code = Fail(result.status());
      return;
    }
    const std::string out = format == "json" ? insight::JourneyJson(*query, *result) + "\n"
                                             : insight::JourneyTable(*query, *result);
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
}

}  // namespace touchpoint::cli

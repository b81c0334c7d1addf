// cli/commands.h — each area of the command line registers its subcommands here.
//
// A subcommand's callback stores its exit code in *exit_code:
//   0 success · 1 an input file or the data directory cannot be used · 2 bad usage or bad input
//   3 some records were rejected (the rest went through) · 4 the thing asked for is unknown
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>

#include <memory>
#include <string>

#include <touchpoint/core/result.h>

namespace touchpoint::calendar {
class Calendar;
}  // namespace touchpoint::calendar
namespace touchpoint::service {
class Desk;
struct DeskOptions;
class ChangeListener;
}  // namespace touchpoint::service

namespace touchpoint::cli {

// ingest, customer, identity, keys, serve, demo, stats, and `store migrate` through
// RegisterStoreMigrateCommand (cli/store_commands.cc)
void RegisterStoreCommands(CLI::App& app, int* exit_code);
// store migrate (cli/store_migrate.cc)
void RegisterStoreMigrateCommand(CLI::App& app, int* exit_code);
// keys init-master|public-key under the `keys` command RegisterStoreCommands creates (call
// after it), and audit verify (cli/audit_commands.cc)
void RegisterAuditCommands(CLI::App& app, int* exit_code);
// keys rotate-master|status|retire-version (cli/key_rotation_commands.cc); RegisterAuditCommands
// calls it with its `keys` command
void RegisterKeyRotationCommands(CLI::App& keys, int* exit_code);
// keys encrypt (cli/key_encrypt_command.cc); RegisterAuditCommands calls it with its `keys` command
void RegisterKeyEncryptCommand(CLI::App& keys, int* exit_code);
// serve (cli/serve_commands.cc)
void RegisterServeCommand(CLI::App& app, int* exit_code);
// text segment|sentiment|intent|train|eval|rules|mask (cli/text_commands.cc)
void RegisterTextCommands(CLI::App& app, int* exit_code);
// segment rfm|kmeans, survey kano|drivers, rules mine, ltv (cli/analytics_commands.cc)
void RegisterAnalyticsCommands(CLI::App& app, int* exit_code);
// segment define|list|count|export under the `segment` command RegisterAnalyticsCommands
// creates; call after it (cli/segment_commands.cc)
void RegisterSegmentCommands(CLI::App& app, int* exit_code);
// churn train|score|eval, forecast, staffing (cli/predict_commands.cc)
void RegisterPredictCommands(CLI::App& app, int* exit_code);
// users create|list|disable|enable|reset-password|set-role|totp-enroll, teams
// create|list|add-supervisor|add-member (cli/users_commands.cc)
void RegisterUserCommands(CLI::App& app, int* exit_code);
// calendar list|show|import|due|minutes|days (cli/calendar_commands.cc)
void RegisterCalendarCommands(CLI::App& app, int* exit_code);
// The calendar a command's CALENDAR argument names, for every command that takes one (calendar
// due|minutes|days|show, desk steps --calendar): an imported calendar (DATA/calendars/NAME.json)
// before a built-in one, else a JSON/TOML calendar file or a holiday-cn file laid over cn
// (cli/calendar_commands.cc). kInvalidArgument naming what was tried.
Result<calendar::Calendar> ResolveCalendar(const std::string& arg, const std::string& data_dir);
// privacy consent show|set, privacy customer-token (cli/privacy_commands.cc)
void RegisterPrivacyCommands(CLI::App& app, int* exit_code);
// The `privacy` command both RegisterPrivacyCommands and RegisterRightsCommands add to: created
// by whichever registers first (cli/privacy_commands.cc).
CLI::App* PrivacyCommand(CLI::App& app);
// ticket list|show|create|reply|status|assign|merge, desk steps (cli/desk_commands.cc)
void RegisterDeskCommands(CLI::App& app, int* exit_code);
// desk agents|agent-add|agent-state|queues|routing|routing-policies (cli/agent_commands.cc); after
// RegisterDeskCommands (it adds to `desk`)
void RegisterAgentCommands(CLI::App& app, int* exit_code);
// desk sla-policies list|show|set|delete (cli/sla_commands.cc); after RegisterDeskCommands.
void RegisterSlaCommands(CLI::App& app, int* exit_code);
// ticket search|tag|field, canned list|show|set|delete, desk repeats (cli/deskflow_commands.cc);
// after RegisterDeskCommands (it adds to its `ticket` and `desk` commands)
void RegisterDeskflowCommands(CLI::App& app, int* exit_code);
// The desk options of the CLI's desk (repeat rows and search tokens), and the repeat summary,
// tags and fields `ticket show` prints (cli/deskflow_commands.cc).
service::DeskOptions DeskflowDeskOptions(const std::string& data_dir = "");
void PrintDeskflowLines(service::Desk& desk, std::int64_t number);
// privacy export|erase|verify-receipt (cli/rights_commands.cc), under PrivacyCommand
void RegisterRightsCommands(CLI::App& app, int* exit_code);
// `demo generate` under the `demo` command that RegisterStoreCommands creates
// (cli/demo_commands.cc)
void RegisterDemoGenerateCommand(CLI::App& demo, int* exit_code);
// outbox list|retry (cli/outbox_commands.cc)
void RegisterOutboxCommands(CLI::App& app, int* exit_code);
// experiment analyze|plan (cli/experiment_commands.cc)
void RegisterExperimentCommands(CLI::App& app, int* exit_code);
// funnel (cli/funnel_commands.cc): a funnel over the stored events
void RegisterFunnelCommands(CLI::App& app, int* exit_code);
// journey (cli/journey_commands.cc): a journey over the stored events, messages and surveys
void RegisterJourneyCommands(CLI::App& app, int* exit_code);
// scorecard (cli/scorecard_commands.cc): agent or team scorecards from the desk's KPIs
void RegisterScorecardCommands(CLI::App& app, int* exit_code);
// kpi [rebuild] (cli/kpi_commands.cc): the service KPIs, and recomputing the stored spans
void RegisterKpiCommands(CLI::App& app, int* exit_code);
// The CLI desk's listener that stores the spans of every change (insight/kpi_facts.h), measured
// as the server would: the stored SLA policies, then [[sla.policies]] of DATA/touchpoint.toml,
// the calendars they name and [sla] calendar (read at its first change).
std::shared_ptr<service::ChangeListener> CliKpiListener(const std::string& data_dir);

}  // namespace touchpoint::cli

// The `touchpoint` command line: a composition root (STYLE.md §1). It parses arguments and
// wires modules; the work happens in the modules.
#include <malloc.h>

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include <touchpoint/version.h>
#include <touchpoint/wiring/encryption.h>

#include "cli/audit_access.h"
#include "cli/commands.h"
#include "cli/data_access.h"

#ifdef TP_WITH_JEMALLOC
// jemalloc reads its options from this symbol at start-up (MALLOC_CONF in the environment still
// overrides). Transparent huge pages for the heap: a 1 M-event ingest took ~120 k page faults
// (~a tenth of its CPU on this VM) filling its in-flight window; with huge pages ~10 k.
// Where THP is disabled system-wide, this does nothing.
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf = "thp:always,metadata_thp:always";
}
#endif

int main(int argc, char** argv) {
#ifndef TP_WITH_JEMALLOC
  // Sanitizer builds use glibc's allocator (release builds link jemalloc, see CMakeLists.txt).
  // Ingest allocates events on one thread and frees them on another; without these glibc keeps
  // returning the top of the heap to the kernel and faulting it back in (measured: about a fifth
  // of ingest CPU went to page faults and sysmalloc).
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 64 << 20);
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
#endif
  CLI::App app{"Touchpoint — a self-hosted customer-experience engine", "touchpoint"};
  app.set_version_flag("--version", std::string("touchpoint ") + TP_VERSION_STRING);
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--store", touchpoint::cli::StoreUrlOverride(),
                 "Store URL (sqlite:///path/touchpoint.db, postgresql://user@host:port/db, memory:); "
                 "default: the data directory's SQLite file");
  app.add_option("--store-password-file", touchpoint::cli::StorePasswordFile(),
                 "File holding the database password (mode 600); PGPASSWORD and ~/.pgpass also work");
  app.add_option("--master-key-file", touchpoint::cli::MasterKeyFileOverride(),
                 "The master key file (default: [privacy] master_key_file of DATA/touchpoint.toml, else "
                 "~/.config/touchpoint/master.key)");
  app.add_option("--audit-checkpoints", touchpoint::cli::AuditCheckpointsOverride(),
                 "The audit checkpoint file (default: [privacy] audit_checkpoints, else DATA/audit/checkpoints)");
  // Encryption at rest over every store this process opens (wiring/encryption.h).
  touchpoint::wiring::EnableEncryptionAtRest(
      [](std::string_view url) { return touchpoint::cli::EncryptionSettingsFor(url); });
  int exit_code = 0;
  touchpoint::cli::RegisterStoreCommands(app, &exit_code);
  touchpoint::cli::RegisterAuditCommands(app, &exit_code);
  touchpoint::cli::RegisterServeCommand(app, &exit_code);
  touchpoint::cli::RegisterTextCommands(app, &exit_code);
  touchpoint::cli::RegisterAnalyticsCommands(app, &exit_code);
  touchpoint::cli::RegisterSegmentCommands(app, &exit_code);
  touchpoint::cli::RegisterPredictCommands(app, &exit_code);
  touchpoint::cli::RegisterUserCommands(app, &exit_code);
  touchpoint::cli::RegisterCalendarCommands(app, &exit_code);
  touchpoint::cli::RegisterOutboxCommands(app, &exit_code);
  touchpoint::cli::RegisterExperimentCommands(app, &exit_code);
  touchpoint::cli::RegisterPrivacyCommands(app, &exit_code);
  touchpoint::cli::RegisterDeskCommands(app, &exit_code);
  touchpoint::cli::RegisterAgentCommands(app, &exit_code);  // routing: agents, queues, policies
  touchpoint::cli::RegisterSlaCommands(app, &exit_code);
  touchpoint::cli::RegisterDeskflowCommands(app, &exit_code);
  touchpoint::cli::RegisterRightsCommands(app, &exit_code);
  touchpoint::cli::RegisterKpiCommands(app, &exit_code);
  touchpoint::cli::RegisterFunnelCommands(app, &exit_code);
  touchpoint::cli::RegisterJourneyCommands(app, &exit_code);
  touchpoint::cli::RegisterScorecardCommands(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    // CLI11 returns 0 for --help/--version and 106+ for usage errors; normalise usage errors to 2.
    return rc == 0 ? 0 : 2;
  }
  std::fflush(stdout);
  return exit_code;
}

// cli/dp_commands.h — differential privacy on the command line (privacy/dp.h): the options every
// DP report takes, `segment report`, the RFM report of `segment rfm --dp-epsilon`, and
// `dp-budget` (show or set a data set's budget and its ledger).
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include <touchpoint/core/time.h>

namespace touchpoint::cli {

struct DpFlags {
  std::string epsilon;        // empty: no DP (exact numbers, for internal use)
  double lower = 0;           // clamp of one person's value per group, in the value's unit
  double upper = 0;
  int max_groups = 1;         // the groups one person may count in
  std::int64_t min_count = 10;  // noisy counts below this are suppressed
};

// --dp-epsilon, --dp-lower, --dp-upper, --dp-max-groups, --dp-min-count on `cmd`.
// `default_upper` is --dp-upper's default (money: a generous per-person total).
void AddDpOptions(CLI::App* cmd, DpFlags& flags, double default_upper, int default_max_groups);

// `segment rfm --dp-epsilon E` over a data directory: the eight RFM layers (public groups) with
// noisy customer counts and noisy monetary sums and means; records the spend against the
// customers data set's budget first. Prints one JSON document. Returns the exit code.
int RunRfmDpReport(const std::string& data_dir, Millis as_of, double silver, double gold, const DpFlags& dp);

// Registers `segment report` under `segment` and the top-level `dp-budget`.
void RegisterDpCommands(CLI::App& app, CLI::App* segment, int* exit_code);

}  // namespace touchpoint::cli

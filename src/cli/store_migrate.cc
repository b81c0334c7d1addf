// store migrate: copying one installation's store into another (store/copy.h), e.g. the embedded
// SQLite file into PostgreSQL.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <touchpoint/store/copy.h>
#include <touchpoint/store/event_log.h>
#include <touchpoint/store/open.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/data_access.h"

namespace touchpoint::cli {
namespace {

constexpr const char* kPurpose = "touchpoint store migrate";

struct MigrateArgs {
  std::string from;
  std::string to;
  std::int64_t batch = 20'000;
};

// Progress on stderr: on a terminal one line per table, redrawn in place; otherwise a plain line
// whenever a table passes another tenth.
class StderrProgress final : public store::CopyProgress {
 public:
  explicit StderrProgress(bool tty) : tty_(tty) {}
  ~StderrProgress() override { EndLine(); }

  void Update(std::string_view table, std::int64_t done, std::int64_t total) override {
    if (table != table_) {
      EndLine();
      table_ = std::string(table);
      last_tenth_ = -1;
    }
    const double pct = total > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0;
    if (tty_) {
      std::fprintf(stderr, "\r  %-14s %12lld / %-12lld %5.1f%%", table_.c_str(), static_cast<long long>(done),
                   static_cast<long long>(total), pct);
      std::fflush(stderr);
      open_line_ = true;
      return;
    }
    const std::int64_t tenth = total > 0 ? done * 10 / total : 10;
    if (tenth <= last_tenth_) return;
    last_tenth_ = tenth;
    std::fprintf(stderr, "  %s: %lld / %lld (%lld%%)\n", table_.c_str(), static_cast<long long>(done),
                 static_cast<long long>(total), static_cast<long long>(total > 0 ? done * 100 / total : 100));
  }

  // Ends the terminal's in-place line (before other output).
  void EndLine() {
    if (open_line_) std::fputc('\n', stderr);
    open_line_ = false;
  }

 private:
  bool tty_;
  std::string table_;
  std::int64_t last_tenth_ = -1;
  bool open_line_ = false;
};

// The file of a sqlite: URL (as store::Open reads it), nullopt for other schemes.
std::optional<std::filesystem::path> SqlitePath(std::string_view url) {
  constexpr std::string_view kScheme = "sqlite:";
  if (url.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  std::string_view rest = url.substr(kScheme.size());
  if (rest.substr(0, 2) == "//") rest.remove_prefix(2);
  return std::filesystem::path(rest);
}

std::filesystem::path DirOf(const std::filesystem::path& file) {
  std::filesystem::path dir = file.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(dir, ec);
  return ec ? dir : canonical;
}

// `s` prefixed with which store it is about ("source", "target") and its URL unless the message
// already names it (store::Open's messages do, without the password).
Status About(const Status& s, const std::string& role, const std::string& shown_url) {
  if (s.message().find(shown_url) != std::string::npos) return s.WithContext(role);
  return s.WithContext(role + " " + shown_url);
}

void PrintCounts(std::FILE* out, const store::CopyReport& report) {
  std::fprintf(out, "%-20s %14s %14s\n", "table", "source", "target");
  for (const store::TableCount& t : report.tables) {
    std::fprintf(out, "%-20s %14lld %14lld%s\n", t.table.c_str(), static_cast<long long>(t.source),
                 static_cast<long long>(t.target), t.source == t.target ? "" : "   <- differs");
  }
}

int RunMigrate(const MigrateArgs& a) {
  const std::string from_shown = store::RedactUrl(a.from);
  const std::string to_shown = store::RedactUrl(a.to);
  if (a.from == a.to) return Fail(Status::InvalidArgument("--from and --to name the same store (" + from_shown + ")"));
  const auto from_file = SqlitePath(a.from);
  const auto to_file = SqlitePath(a.to);
  if (from_file && to_file && DirOf(*from_file) == DirOf(*to_file)) {
    // Each directory has one writer lock (LOCK), and both stores are opened for writing.
    return Fail(Status::InvalidArgument("--from and --to are SQLite files in the same directory (" +
                                        DirOf(*from_file).string() + "); put the target in another directory"));
  }

  // The source must exist: a writable open would create an empty one. (A SQLite file of an older
  // schema is upgraded by the writable open below, as `serve` would; a read-only open refuses it.)
  if (from_file) {
    std::error_code ec;
    if (!std::filesystem::exists(*from_file, ec)) {
      return Fail(Status::FailedPrecondition("source " + from_shown + ": no Touchpoint database at " +
                                             from_file->string()));
    }
  } else {
    auto base = BaseOpenOptions();  // the password of --store-password-file, if given
    if (!base.ok()) return Fail(base.status());
    store::OpenOptions probe = *base;
    probe.read_only = true;
    auto source = store::Open(a.from, probe);
    if (!source.ok()) return Fail(About(source.status(), "source", from_shown));
  }
  // Both opened for writing, so that their writer locks keep a running `touchpoint serve` (or
  // another migrate) off them while the copy runs: copying a moving source cannot end exact.
  auto base_options = BaseOpenOptions();
  if (!base_options.ok()) return Fail(base_options.status());
  store::OpenOptions options = *base_options;
  options.purpose = kPurpose;
  auto from = store::Open(a.from, options);
  if (!from.ok()) return Fail(About(from.status(), "source", from_shown));
  auto to = store::Open(a.to, options);
  if (!to.ok()) return Fail(About(to.status(), "target", to_shown));

  std::fprintf(stderr, "touchpoint: copying %s into %s\n", from_shown.c_str(), to_shown.c_str());
  const auto start = std::chrono::steady_clock::now();
  store::CopyOptions copy_options;
  copy_options.batch_rows = a.batch;
  StderrProgress progress(isatty(STDERR_FILENO) != 0);
  auto report = store::CopyStore(**from, **to, copy_options, &progress);
  progress.EndLine();
  if (!report.ok()) {
    if (report.status().code() == StatusCode::kInternal) {
      // Counts that differ after the copy: show them all.
      if (auto counts = store::CompareCounts(**from, **to); counts.ok()) PrintCounts(stderr, *counts);
    }
    const int code = Fail(report.status());
    if (report.status().code() != StatusCode::kFailedPrecondition) {
      std::fprintf(stderr, "touchpoint: the target is incomplete; run the same command again to resume\n");
    }
    return code;
  }
  PrintCounts(stdout, *report);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "touchpoint: %lld rows written in %.1f s; %s is a complete copy of %s\n",
               static_cast<long long>(report->rows_written), secs, to_shown.c_str(), from_shown.c_str());
  return kExitOk;
}

// store events: the event log as NDJSON, oldest first, whatever the backend's stored layout
// (SQLite and PostgreSQL keep compressed chunks that SQL alone cannot read).
int RunEvents(const std::string& data_dir, std::int64_t from_seq) {
  auto store = OpenReadOnly(data_dir);
  if (!store.ok()) return Fail(store.status());
  std::string line;
  Status s = (*store)->Get<store::EventLog>().ScanFrom(from_seq, [&](store::EventRecord&& e) {
    nlohmann::ordered_json j = {{"seq", e.seq},
                                {"message_id", std::move(e.message_id)},
                                {"customer", e.customer.value()},
                                {"timestamp", e.timestamp},
                                {"kind", static_cast<int>(e.kind)},
                                {"name", std::move(e.name)},
                                {"body", std::move(e.body)}};
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line.push_back('\n');
    return std::fwrite(line.data(), 1, line.size(), stdout) == line.size();
  });
  if (!s.ok()) return Fail(s);
  return std::fflush(stdout) == 0 ? kExitOk : Fail(Status::Unavailable("write to stdout failed"));
}

}  // namespace

void RegisterStoreMigrateCommand(CLI::App& app, int* exit_code) {
  CLI::App* store = app.add_subcommand("store", "Operate on whole stores");
  store->require_subcommand(1);
  auto args = std::make_shared<MigrateArgs>();
  CLI::App* migrate = store->add_subcommand(
      "migrate", "Copy every table of one store into another (e.g. SQLite into PostgreSQL); resumable, counts checked");
  migrate->add_option("--from", args->from, "Source store URL (sqlite:///path/touchpoint.db)")->required();
  migrate->add_option("--to", args->to, "Target store URL (postgresql://user@host/db, sqlite:///other/dir/x.db)")
      ->required();
  migrate->add_option("--batch", args->batch, "Rows per target transaction")->check(CLI::Range(1, 10'000'000));
  migrate->callback([args, exit_code] { *exit_code = RunMigrate(*args); });

  auto events_data = std::make_shared<std::string>(DefaultDataDir());
  auto events_from = std::make_shared<std::int64_t>(1);
  CLI::App* events = store->add_subcommand(
      "events", "Print the stored events as NDJSON, oldest first: seq, message_id, customer, timestamp, kind, "
                "name, body (the accepted record); read-only");
  events->add_option("--data", *events_data, "Data directory (when --store is not given)");
  events->add_option("--from-seq", *events_from, "First seq to print")->check(CLI::Range(std::int64_t{1}, INT64_MAX));
  events->callback([=] { *exit_code = RunEvents(*events_data, *events_from); });
}

}  // namespace touchpoint::cli

// segment define|list|count|export — saved segments (insight/segment_index.h) over a data
// directory, beside `segment rfm|kmeans|ltv` (cli/analytics_commands.cc) under the same command.
// define, count and export open the engine (the profiles are its in-memory state), so they take
// the data directory's writer lock; list reads the definitions read-only (next to a server).
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include <touchpoint/insight/segment_index.h>
#include <touchpoint/store/segment_repository.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/data_access.h"
#include "cli/dp_commands.h"
#include "cli/engine_options.h"
#include "cli/reveal.h"

namespace touchpoint::cli {
namespace {

using Json = nlohmann::ordered_json;

struct SegmentArgs {
  std::string data_dir = DefaultDataDir();
  std::string name;
  std::string rule;
  std::string description;
  std::string format = "csv";
  std::string out;
  bool counts = false;
  RevealArgs reveal;
};

// The engine over the data directory (for the profiles) and a second connection for the segment
// definitions.
struct Opened {
  std::unique_ptr<OpenedEngine> dir;
  std::unique_ptr<store::Store> side;
  store::SegmentRepository& repository() { return side->Get<store::SegmentRepository>(); }
  ~Opened() {
    side.reset();
    if (dir) pipeline::Engine::CloseForExit(std::move(dir->engine));  // the process exits next
  }
};

Result<std::unique_ptr<Opened>> Open(const SegmentArgs& a, const std::string& purpose) {
  auto out = std::make_unique<Opened>();
  auto dir = OpenForWriting(a.data_dir, MakeEngineOptions(5, true), purpose);
  if (!dir.ok()) return Status::Unavailable(dir.status().message());
  out->dir = std::move(*dir);
  auto side = OpenForKeys(a.data_dir);
  if (!side.ok()) return Status::Unavailable(side.status().message());
  out->side = std::move(*side);
  return out;
}

// The saved segment `name`, compiled. kNotFound when there is none.
Result<profile::Segment> Load(store::SegmentRepository& repository, const std::string& name) {
  TP_RETURN_IF_ERROR(insight::SegmentIndex::ValidateName(name));
  TP_ASSIGN_OR_RETURN(auto record, repository.Find(name));
  if (!record) return Status::NotFound("no segment named \"" + name + "\" (see `touchpoint segment list`)");
  auto segment = profile::Segment::Compile(record->rule);
  if (!segment.ok()) return Status::FailedPrecondition("segment " + name + ": " + segment.status().message());
  return std::move(*segment);
}

int RunDefine(const SegmentArgs& a) {
  // Check the name and the rule before taking the writer lock and loading the profiles.
  if (Status s = insight::SegmentIndex::ValidateName(a.name); !s.ok()) return Fail(s);
  if (auto compiled = profile::Segment::Compile(a.rule); !compiled.ok()) return Fail(compiled.status());
  auto opened = Open(a, "touchpoint segment define");
  if (!opened.ok()) return Fail(opened.status());
  Opened& o = **opened;
  auto saved =
      insight::SegmentIndex::Save(o.repository(), SystemClock::Instance(), a.name, a.rule, a.description);
  if (!saved.ok()) return Fail(saved.status());
  insight::SavedSegment s;
  s.name = saved->record.name;
  s.rule = saved->record.rule;
  s.description = saved->record.description;
  s.count = insight::SegmentIndex::CountRule(saved->segment, *o.dir->engine);
  s.depends_on_as_of = saved->segment.depends_on_as_of();
  s.created_at = saved->record.created_at;
  s.updated_at = saved->record.updated_at;
  Json j = Json::parse(insight::SavedSegmentJson(s));
  j["created"] = saved->created;
  std::printf("%s\n", j.dump().c_str());
  return kExitOk;
}

int RunList(const SegmentArgs& a) {
  if (a.counts) {
    auto opened = Open(a, "touchpoint segment list");
    if (!opened.ok()) return Fail(opened.status());
    Opened& o = **opened;
    auto index = insight::SegmentIndex::Open(o.repository(), *o.dir->engine, SystemClock::Instance());
    if (!index.ok()) return Fail(index.status());
    for (const insight::SavedSegment& s : (*index)->List()) {
      std::printf("%s\n", insight::SavedSegmentJson(s).c_str());
    }
    return kExitOk;
  }
  auto st = OpenReadOnly(a.data_dir);
  if (!st.ok()) return Fail(Status::Unavailable(st.status().message()));
  auto all = (*st)->Get<store::SegmentRepository>().List();
  if (!all.ok()) return Fail(all.status());
  for (const store::SegmentRecord& r : *all) {
    Json j = {{"name", r.name},
              {"rule", r.rule},
              {"description", r.description},
              {"created_at", FormatTimestamp(r.created_at)},
              {"updated_at", FormatTimestamp(r.updated_at)}};
    std::printf("%s\n", j.dump().c_str());
  }
  return kExitOk;
}

int RunCount(const SegmentArgs& a) {
  if (a.name.empty() == a.rule.empty()) {
    return Fail(Status::InvalidArgument("segment count: give a segment NAME or --rule RULE (one of them)"));
  }
  if (!a.rule.empty()) {
    if (auto compiled = profile::Segment::Compile(a.rule); !compiled.ok()) return Fail(compiled.status());
  } else if (Status s = insight::SegmentIndex::ValidateName(a.name); !s.ok()) {
    return Fail(s);
  }
  auto opened = Open(a, "touchpoint segment count");
  if (!opened.ok()) return Fail(opened.status());
  Opened& o = **opened;
  Result<profile::Segment> segment =
      a.rule.empty() ? Load(o.repository(), a.name) : profile::Segment::Compile(a.rule);
  if (!segment.ok()) return Fail(segment.status());
  const std::int64_t count = insight::SegmentIndex::CountRule(*segment, *o.dir->engine);
  Json j;
  if (!a.name.empty()) j["name"] = a.name;
  j["rule"] = segment->text();
  j["count"] = count;
  j["as_of"] = FormatTimestamp(o.dir->engine->as_of());
  std::printf("%s\n", j.dump().c_str());
  return kExitOk;
}

int RunExport(SegmentArgs& a) {
  auto format = insight::ParseSegmentExportFormat(a.format);
  if (!format.ok()) return Fail(format.status().WithContext("--format"));
  auto policy = MaskPolicyFor(a.reveal, a.data_dir);
  if (!policy.ok()) return Fail(policy.status());
  if (Status s = insight::SegmentIndex::ValidateName(a.name); !s.ok()) return Fail(s);
  auto opened = Open(a, "touchpoint segment export");
  if (!opened.ok()) return Fail(opened.status());
  Opened& o = **opened;
  auto segment = Load(o.repository(), a.name);
  if (!segment.ok()) return Fail(segment.status());
  if (Status audited = AuditCliReveal(*policy, a.data_dir, "segment:" + a.name); !audited.ok()) return Fail(audited);

  std::FILE* f = stdout;
  const bool to_file = !a.out.empty() && a.out != "-";
  if (to_file) {
    f = std::fopen(a.out.c_str(), "wb");
    if (f == nullptr) return Fail(Status::Unavailable(a.out + ": cannot open for writing"));
  }
  auto rows = insight::SegmentIndex::ExportRule(
      *segment, *o.dir->engine, *format, *policy, [&](std::string_view chunk) {
        if (std::fwrite(chunk.data(), 1, chunk.size(), f) != chunk.size()) {
          return Status::Unavailable("write failed");
        }
        return Status::Ok();
      });
  bool write_failed = std::fflush(f) != 0 || std::ferror(f) != 0;
  if (to_file) write_failed = std::fclose(f) != 0 || write_failed;
  if (!rows.ok() || write_failed) {
    return Fail(Status::Unavailable((to_file ? a.out : std::string("<stdout>")) + ": write failed"));
  }
  Json summary = {{"name", a.name}, {"rule", segment->text()}, {"members", *rows}, {"format", a.format}};
  if (to_file) summary["out"] = a.out;
  std::fprintf(stderr, "%s\n", summary.dump().c_str());
  return kExitOk;
}

}  // namespace

void RegisterSegmentCommands(CLI::App& app, int* exit_code) {
  static SegmentArgs define_args, list_args, count_args, export_args;  // CLI11 keeps references
  CLI::App* segment = app.get_subcommand("segment");                   // created by RegisterAnalyticsCommands
  segment->description("Customer segments: saved rules (define, list, count, export); rfm, kmeans, ltv");

  CLI::App* define = segment->add_subcommand(
      "define", "Save a segment rule (docs/analytics.md, \"Segments\") and print it with its member count");
  define->add_option("name", define_args.name, "Segment name: 1-64 of a-z 0-9 _ -")->required();
  define->add_option("rule", define_args.rule, "The rule, e.g. 'monetary_365d >= 20000 and tier = \"gold\"'")
      ->required();
  define->add_option("--description", define_args.description, "What the segment is for");
  define->add_option("--data", define_args.data_dir, "Data directory");
  define->callback([exit_code] { *exit_code = RunDefine(define_args); });

  CLI::App* list = segment->add_subcommand("list", "Saved segments, one JSON object per line");
  list->add_flag("--counts", list_args.counts, "Also count members (opens the data directory for writing)");
  list->add_option("--data", list_args.data_dir, "Data directory");
  list->callback([exit_code] { *exit_code = RunList(list_args); });

  CLI::App* count =
      segment->add_subcommand("count", "Count the members of a saved segment, or of --rule unsaved");
  count->add_option("name", count_args.name, "Segment name");
  count->add_option("--rule", count_args.rule, "Count this rule instead (nothing is saved)");
  count->add_option("--data", count_args.data_dir, "Data directory");
  count->callback([exit_code] { *exit_code = RunCount(count_args); });

  CLI::App* exp = segment->add_subcommand(
      "export", "Members of a saved segment: customer_id and the fields the rule reads (CSV or NDJSON)");
  exp->add_option("name", export_args.name, "Segment name")->required();
  exp->add_option("--format", export_args.format, "csv (default) | ndjson (with every feature)")
      ->check(CLI::IsMember({"csv", "ndjson"}));
  exp->add_option("--out", export_args.out, "File to write (default stdout; a summary goes to stderr)");
  exp->add_option("--data", export_args.data_dir, "Data directory");
  AddRevealOptions(exp, &export_args.reveal);
  exp->callback([exit_code] { *exit_code = RunExport(export_args); });

  RegisterDpCommands(app, segment, exit_code);  // segment report, dp-budget
}

}  // namespace touchpoint::cli

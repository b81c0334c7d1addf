// segment report, segment rfm --dp-epsilon, dp-budget: aggregate reports with differential
// privacy (privacy/dp.h) over a data directory, and the budget they spend.
#include "cli/dp_commands.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/insight/job_rfm.h>
#include <touchpoint/insight/rfm.h>
#include <touchpoint/insight/segment_index.h>
#include <touchpoint/privacy/dp.h>
#include <touchpoint/profile/features.h>
#include <touchpoint/profile/segment.h>
#include <touchpoint/store/dp_budget_repository.h>
#include <touchpoint/store/segment_repository.h>

#include "cli/analytics_store.h"
#include "cli/cli_util.h"
#include "cli/data_access.h"
#include "cli/engine_options.h"

namespace touchpoint::cli {
namespace {

namespace dp = privacy::dp;
using Json = nlohmann::ordered_json;

// Values are released in hundredths (money has two decimals): exact integers for the mechanism.
constexpr std::int64_t kValueScale = 100;

std::int64_t ToUnits(double v) { return static_cast<std::int64_t>(std::llround(v * kValueScale)); }

// The release options of `flags`; kInvalidArgument for a bad epsilon or bounds.
Result<dp::ReleaseOptions> ReleaseOptionsFor(const DpFlags& flags, bool with_values) {
  dp::ReleaseOptions o;
  TP_ASSIGN_OR_RETURN(o.epsilon_micros, dp::ParseEpsilon(flags.epsilon));
  o.with_values = with_values;
  if (with_values) {
    if (!(flags.lower <= flags.upper)) return Status::InvalidArgument("--dp-lower must not exceed --dp-upper");
    o.lower = ToUnits(flags.lower);
    o.upper = ToUnits(flags.upper);
  }
  o.max_groups_per_person = flags.max_groups;
  o.min_count = flags.min_count;
  return o;
}

// Records the spend in the data directory's store (every process shares it), before any noisy
// number is computed. kFailedPrecondition when the budget would be exceeded.
Status Spend(const std::string& data_dir, std::string_view report, std::int64_t epsilon_micros) {
  TP_ASSIGN_OR_RETURN(auto side, OpenForKeys(data_dir));
  return dp::SpendBudget(side->Get<store::DpBudgetRepository>(), dp::kCustomersDataset, report, epsilon_micros,
                         "cli", SystemClock::Instance().Now());
}

int PrintRelease(Json head, const dp::Release& release, const dp::ReleaseOptions& options) {
  Json body = Json::parse(dp::ReleaseJson(release, options, kValueScale));
  for (auto& [key, value] : body.items()) head[key] = std::move(value);
  std::printf("%s\n", head.dump().c_str());
  return kExitOk;
}

struct ReportArgs {
  std::string data_dir = DefaultDataDir();
  std::string value;  // a numeric profile feature, or empty: counts only
  DpFlags dp;
};

// `segment report`: every saved segment's members (a person counts in every segment they match,
// up to --dp-max-groups with DP), with the sum and mean of --value.
int RunSegmentReport(const ReportArgs& a) {
  const profile::FeatureInfo* feature = nullptr;
  if (!a.value.empty()) {
    feature = profile::FindFeature(a.value);
    if (feature == nullptr || !feature->on_profile ||
        (feature->type != profile::FeatureType::kNumber && feature->type != profile::FeatureType::kInteger)) {
      return Fail(Status::InvalidArgument("--value " + a.value + ": not a numeric profile feature (docs/analytics.md)"));
    }
  }
  const bool with_dp = !a.dp.epsilon.empty();
  dp::ReleaseOptions options;
  if (with_dp) {
    auto o = ReleaseOptionsFor(a.dp, feature != nullptr);
    if (!o.ok()) return Fail(o.status());
    options = std::move(*o);
  }
  auto dir = OpenForWriting(a.data_dir, MakeEngineOptions(5, false), "touchpoint segment report");
  if (!dir.ok()) return Fail(Status::Unavailable(dir.status().message()));
  auto side = OpenForKeys(a.data_dir);
  if (!side.ok()) return Fail(Status::Unavailable(side.status().message()));
  auto records = (*side)->Get<store::SegmentRepository>().List();
  if (!records.ok()) return Fail(records.status());
  std::vector<std::pair<std::string, profile::Segment>> segments;
  for (const store::SegmentRecord& r : *records) {
    auto compiled = profile::Segment::Compile(r.rule);
    if (compiled.ok()) segments.emplace_back(r.name, std::move(*compiled));  // a broken rule is left out
    options.public_groups.push_back(r.name);
  }
  if (segments.empty()) return Fail(Status::NotFound("no saved segments (see `touchpoint segment define`)"));

  pipeline::Engine& engine = *(*dir)->engine;
  const Millis as_of = engine.as_of();
  std::vector<dp::Contribution> contributions;
  engine.ForEach([&](CustomerId customer, const profile::Profile& p) {
    std::optional<std::int64_t> value;
    for (const auto& [name, segment] : segments) {
      if (!segment.Matches(p, as_of)) continue;
      if (feature != nullptr && !value) {
        const profile::FeatureValue v =
            p.ComputeFeatures(as_of, profile::FeatureBit(feature->id)).Get(feature->id);
        value = v.kind == profile::FeatureValue::Kind::kNumber ? ToUnits(v.number) : 0;  // null counts as 0
      }
      contributions.push_back(dp::Contribution{customer.value(), name, value.value_or(0)});
    }
  });
  Json head = {{"report", "segments"}, {"as_of", FormatTimestamp(as_of)}};
  if (feature != nullptr) head["value"] = a.value;
  if (!with_dp) {
    // Exact numbers: for use inside the company only.
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> exact;
    for (const auto& [name, segment] : segments) exact[name] = {0, 0};
    for (const dp::Contribution& c : contributions) {
      exact[c.group].first += 1;
      exact[c.group].second += c.value;
    }
    Json groups = Json::array();
    for (const auto& [name, cs] : exact) {
      Json g = {{"group", name}, {"count", cs.first}};
      if (feature != nullptr) {
        g["sum"] = static_cast<double>(cs.second) / kValueScale;
        g["mean"] = cs.first > 0 ? static_cast<double>(cs.second) / kValueScale / static_cast<double>(cs.first) : 0.0;
      }
      groups.push_back(std::move(g));
    }
    head["differential_privacy"] = false;
    head["groups"] = std::move(groups);
    std::printf("%s\n", head.dump().c_str());
    return kExitOk;
  }
  if (Status s = Spend(a.data_dir, "segment-report", options.epsilon_micros); !s.ok()) return Fail(s);
  auto release = dp::ReleaseGroups(contributions, options);
  if (!release.ok()) return Fail(release.status());
  head["differential_privacy"] = true;
  return PrintRelease(std::move(head), *release, options);
}

struct BudgetArgs {
  std::string data_dir = DefaultDataDir();
  std::string dataset = std::string(dp::kCustomersDataset);
  std::string set;
};

int RunBudget(const BudgetArgs& a) {
  auto side = OpenForKeys(a.data_dir);
  if (!side.ok()) return Fail(Status::Unavailable(side.status().message()));
  auto& budgets = (*side)->Get<store::DpBudgetRepository>();
  if (!a.set.empty()) {
    auto micros = dp::ParseEpsilon(a.set, 1000 * dp::kMicrosPerEpsilon);
    if (!micros.ok()) return Fail(micros.status().WithContext("--set"));
    if (Status s = budgets.SetBudget(a.dataset, *micros, SystemClock::Instance().Now()); !s.ok()) return Fail(s);
  }
  auto configured = budgets.Budget(a.dataset);
  auto spent = budgets.Spent(a.dataset);
  auto releases = budgets.Releases(a.dataset);
  if (!configured.ok()) return Fail(configured.status());
  if (!spent.ok()) return Fail(spent.status());
  if (!releases.ok()) return Fail(releases.status());
  const std::int64_t budget = configured->value_or(dp::kDefaultBudgetMicros);
  Json ledger = Json::array();
  for (const store::DpRelease& r : *releases) {
    ledger.push_back({{"id", r.id},
                      {"report", r.report},
                      {"epsilon", dp::FormatEpsilon(r.epsilon_micros)},
                      {"actor", r.actor},
                      {"released_at", FormatTimestamp(r.released_at)}});
  }
  Json out = {{"dataset", a.dataset},
              {"budget", dp::FormatEpsilon(budget)},
              {"configured", configured->has_value()},
              {"spent", dp::FormatEpsilon(*spent)},
              {"remaining", dp::FormatEpsilon(std::max<std::int64_t>(budget - *spent, 0))},
              {"releases", std::move(ledger)}};
  std::printf("%s\n", out.dump().c_str());
  return kExitOk;
}

}  // namespace

void AddDpOptions(CLI::App* cmd, DpFlags& flags, double default_upper, int default_max_groups) {
  flags.upper = default_upper;
  flags.max_groups = default_max_groups;
  cmd->add_option("--dp-epsilon", flags.epsilon,
                  "Release with differential privacy at this epsilon (e.g. 0.5; spent from the data set's budget, "
                  "see `touchpoint dp-budget`)");
  cmd->add_option("--dp-lower", flags.lower, "DP: lowest value one person contributes to a group (default 0)");
  cmd->add_option("--dp-upper", flags.upper,
                  "DP: highest value one person contributes to a group (default " +
                      std::to_string(static_cast<long long>(default_upper)) + ")");
  cmd->add_option("--dp-max-groups", flags.max_groups,
                  "DP: groups one person may count in (default " + std::to_string(default_max_groups) + ")")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--dp-min-count", flags.min_count, "DP: groups whose noisy count is below this are suppressed (default 10)")
      ->check(CLI::Range(0, 1'000'000'000));
}

int RunRfmDpReport(const std::string& data_dir, Millis as_of, double silver, double gold, const DpFlags& flags) {
  auto options = ReleaseOptionsFor(flags, /*with_values=*/true);
  if (!options.ok()) return Fail(options.status());
  for (size_t i = 0; i < insight::kRfmLayerCount; ++i) {
    options->public_groups.emplace_back(insight::RfmLayerName(static_cast<insight::RfmLayer>(i)));
  }
  options->max_groups_per_person = 1;  // every customer is in exactly one layer
  if (Status s = RequireDataDir(data_dir); !s.ok()) return Fail(s);
  auto dir = OpenForWriting(data_dir, MakeEngineOptions(5, false), "touchpoint segment rfm");
  if (!dir.ok()) return Fail(Status::Unavailable(dir.status().message()));
  EngineActivitySource source(*(*dir)->engine);
  auto activity = source.Load(insight::RfmActivityRequest());
  if (!activity.ok()) return Fail(activity.status());
  auto rfm = insight::RunRfmJob({.as_of = as_of, .silver = silver, .gold = gold}, *activity, nullptr,
                                CliJobContext(data_dir));
  if (!rfm.ok()) return FailFile(rfm.status());
  if (Status s = Spend(data_dir, "rfm-report", options->epsilon_micros); !s.ok()) return Fail(s);
  std::vector<dp::Contribution> contributions;
  contributions.reserve(rfm->rfm.rows.size());
  for (const auto& row : rfm->rfm.rows) {
    contributions.push_back(dp::Contribution{rfm->customers[row.customer], std::string(insight::RfmLayerName(row.layer)),
                                             ToUnits(row.monetary)});
  }
  auto release = dp::ReleaseGroups(contributions, *options);
  if (!release.ok()) return Fail(release.status());
  Json head = {{"report", "rfm"}, {"as_of", FormatDate(rfm->rfm.as_of)}, {"value", "monetary"},
               {"differential_privacy", true}};
  return PrintRelease(std::move(head), *release, *options);
}

void RegisterDpCommands(CLI::App& app, CLI::App* segment, int* exit_code) {
  static ReportArgs report_args;  // CLI11 keeps references
  static BudgetArgs budget_args;
  CLI::App* report = segment->add_subcommand(
      "report",
      "Members of every saved segment (and the sum and mean of --value), exact or with --dp-epsilon "
      "(differential privacy: docs/security.md)");
  report->add_option("--value", report_args.value, "A numeric profile feature to sum and average, e.g. monetary_365d");
  report->add_option("--data", report_args.data_dir, "Data directory");
  AddDpOptions(report, report_args.dp, 100000, 4);
  report->callback([exit_code] { *exit_code = RunSegmentReport(report_args); });

  CLI::App* budget = app.add_subcommand(
      "dp-budget", "The differential-privacy budget of a data set: what was spent, by which releases; --set changes it");
  budget->add_option("--dataset", budget_args.dataset, "Data set (default customers)");
  budget->add_option("--set", budget_args.set, "New total budget (epsilon, e.g. 3)");
  budget->add_option("--data", budget_args.data_dir, "Data directory");
  budget->callback([exit_code] { *exit_code = RunBudget(budget_args); });
}

}  // namespace touchpoint::cli

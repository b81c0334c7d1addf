// `touchpoint experiment analyze|plan` — A/B test statistics from files (docs/measurement.md,
// "Experiments"): summary statistics per arm (`--summary`), or one row per unit (`--units`),
// through insight/experiment_stats.h. Exit codes: 0 ok, 1 a file cannot be read, 2 bad usage or
// bad input (the file and line named).
// `touchpoint experiment create|list|show|start|stop|assign|results` — experiments stored in the
// data directory's store (insight/experiments.h; docs/measurement.md "Experiments as stored
// objects"), the same objects and results the API's /v1/experiments routes serve: JSON, or a table
// on a terminal. Exit codes: 0 ok, 2 bad input (the field named), 4 unknown experiment, 1 otherwise
// (a name in use, a status change that is not allowed, no database).
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/core/csv.h>
#include <touchpoint/core/time.h>
#include <touchpoint/core/strings.h>
#include <touchpoint/insight/experiment_stats.h>
#include <touchpoint/insight/experiments.h>
#include <touchpoint/insight/report_html.h>
#include <touchpoint/ml/tabular.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/data_access.h"
#include "cli/report_assets.h"

namespace touchpoint::cli {
namespace {

using Json = nlohmann::ordered_json;
using insight::ArmSummary;

// Calls fn(index, field) for each comma-separated field of `line` (no quoting); returns the count.
template <class Fn>
size_t ForEachField(std::string_view line, Fn&& fn) {
  size_t i = 0, start = 0;
  while (true) {
    const size_t comma = std::min(line.find(',', start), line.size());
    fn(i++, line.substr(start, comma - start));
    if (comma == line.size()) return i;
    start = comma + 1;
  }
}

Result<std::vector<double>> ParseList(const std::string& text, const char* what) {
  std::vector<double> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    double v = 0;
    if (!ml::ParseNumberCell(std::string_view(text).substr(start, comma - start), &v) || v <= 0) {
      return Status::InvalidArgument(std::string(what) + ": \"" + text + "\" is not a list of positive numbers");
    }
    out.push_back(v);
    start = comma + 1;
  }
  return out;
}

// The summary file: header `variant,units,sum,sum_squares` (sum_squares optional for
// proportions), optionally `pre_sum,pre_sum_squares,sum_products`; the first row the control.
Result<std::vector<ArmSummary>> ReadSummary(const std::string& path, insight::MetricKind metric) {
  auto reader = CsvReader::Open(path);
  if (!reader.ok()) return reader.status();
  std::vector<std::string> f;
  TP_ASSIGN_OR_RETURN(bool any, (*reader)->Next(&f));
  if (!any) return Status::InvalidArgument(path + ": empty file (expected a header variant,units,sum,sum_squares)");
  const CsvHeader header(f);
  const size_t columns = f.size();
  for (const char* need : {"variant", "units", "sum"}) {
    if (!header.Find(need)) return Status::InvalidArgument(path + ":1: the header lacks the column " + need);
  }
  if (metric == insight::MetricKind::kMean && !header.Find("sum_squares")) {
    return Status::InvalidArgument(path + ":1: the header lacks the column sum_squares (required for means)");
  }
  const int pre = static_cast<int>(header.Find("pre_sum").has_value()) +
                  static_cast<int>(header.Find("pre_sum_squares").has_value()) +
                  static_cast<int>(header.Find("sum_products").has_value());
  if (pre != 0 && pre != 3) {
    return Status::InvalidArgument(path + ":1: CUPED needs all of pre_sum, pre_sum_squares and sum_products");
  }
  std::vector<ArmSummary> arms;
  while (true) {
    TP_ASSIGN_OR_RETURN(bool more, (*reader)->Next(&f));
    if (!more) break;
    const std::string where = path + ":" + std::to_string((*reader)->record_line()) + ": ";
    if (f.size() == 1 && f[0].empty()) continue;
    if (f.size() != columns) {
      return Status::InvalidArgument(where + std::to_string(f.size()) + " fields, the header has " +
                                     std::to_string(columns));
    }
    ArmSummary a;
    a.variant = f[*header.Find("variant")];
    if (a.variant.empty()) return Status::InvalidArgument(where + "variant: empty");
    auto number = [&](const char* name, double* out) -> Status {
      const std::optional<size_t> c = header.Find(name);
      if (!c) return Status::Ok();
      if (!ml::ParseNumberCell(f[*c], out)) {
        return Status::InvalidArgument(where + name + ": \"" + f[*c] + "\" is not a number");
      }
      return Status::Ok();
    };
    TP_RETURN_IF_ERROR(number("units", &a.units));
    TP_RETURN_IF_ERROR(number("sum", &a.sum));
    TP_RETURN_IF_ERROR(number("sum_squares", &a.sum_squares));
    if (pre == 3) {
      a.has_pre = true;
      TP_RETURN_IF_ERROR(number("pre_sum", &a.pre_sum));
      TP_RETURN_IF_ERROR(number("pre_sum_squares", &a.pre_sum_squares));
      TP_RETURN_IF_ERROR(number("sum_products", &a.sum_products));
    }
    if (a.units < 0) return Status::InvalidArgument(where + "units: must not be negative");
    arms.push_back(std::move(a));
  }
  if (arms.size() < 2) return Status::InvalidArgument(path + ": a control row and at least one variant row are needed");
  return arms;
}

// One row per unit: header `variant,value` and optionally `pre`, in any order among other
// columns. Read in large blocks and split by hand, without a string per field (the target:
// 10 M rows in 2 s, bench/insight/experiment_units.sh). Quoted fields are not expected here
// (variant names and numbers) and are rejected like any other malformed row: each with its line
// and reason on stderr, the rest used. The header may be quoted and start with a BOM.
struct UnitsRead {
  std::vector<ArmSummary> arms;
  std::int64_t rejected = 0;
};

Result<UnitsRead> ReadUnits(const std::string& path, const std::string& control) {
  std::FILE* in = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (in == nullptr) return Status::NotFound(path + ": cannot open: " + std::strerror(errno));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(in == stdin ? nullptr : in, &std::fclose);
  UnitsRead out;
  std::map<std::string, size_t, std::less<>> index;
  constexpr size_t kNone = static_cast<size_t>(-1);
  size_t value_col = kNone, pre_col = kNone, variant_col = kNone;
  size_t columns = 0;
  std::int64_t line_no = 0;
  std::string carry;
  std::vector<char> buf(1 << 20);
  auto reject = [&](const std::string& why) {
    if (++out.rejected <= 20) std::fprintf(stderr, "touchpoint: %s:%lld: %s\n", path.c_str(), static_cast<long long>(line_no), why.c_str());
  };
  auto handle = [&](std::string_view line) -> Status {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no == 1) {
      // The header as spreadsheets write it too: a UTF-8 BOM, quoted names, blanks around them.
      if (line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
      std::vector<std::string> names;
      columns = ForEachField(line, [&](size_t, std::string_view name) {
        name = TrimView(name, kAsciiBlank);
        if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
        names.emplace_back(name);
      });
      const CsvHeader header(std::move(names));
      variant_col = header.Find("variant").value_or(kNone);
      value_col = header.Find("value").value_or(kNone);
      pre_col = header.Find("pre").value_or(kNone);
      if (variant_col == kNone || value_col == kNone) {
        return Status::InvalidArgument(path + ":1: the header must name the columns variant and value (and optionally pre)");
      }
      return Status::Ok();
    }
    if (line.empty()) return Status::Ok();
    std::string_view variant, value_text, pre_text;
    const size_t n = ForEachField(line, [&](size_t i, std::string_view field) {
      if (i == variant_col) variant = field;
      if (i == value_col) value_text = field;
      if (i == pre_col) pre_text = field;
    });
    if (n != columns) {
      reject(std::to_string(n) + " fields, the header has " + std::to_string(columns));
      return Status::Ok();
    }
    double value = 0, pre = 0;
    if (variant.empty() || variant.find('"') != std::string_view::npos) {
      reject("variant: empty or quoted");
      return Status::Ok();
    }
    if (!ml::ParseNumberCell(value_text, &value)) {
      reject("value: \"" + std::string(value_text) + "\" is not a number");
      return Status::Ok();
    }
    if (pre_col != kNone && !ml::ParseNumberCell(pre_text, &pre)) {
      reject("pre: \"" + std::string(pre_text) + "\" is not a number");
      return Status::Ok();
    }
    auto it = index.find(variant);
    if (it == index.end()) {
      it = index.emplace(std::string(variant), out.arms.size()).first;
      ArmSummary a;
      a.variant = std::string(variant);
      a.has_pre = pre_col != kNone;
      out.arms.push_back(std::move(a));
    }
    ArmSummary& a = out.arms[it->second];
    a.units += 1;
    a.sum += value;
    a.sum_squares += value * value;
    if (pre_col != kNone) {
      a.pre_sum += pre;
      a.pre_sum_squares += pre * pre;
      a.sum_products += value * pre;
    }
    return Status::Ok();
  };
  while (true) {
    const size_t got = std::fread(buf.data(), 1, buf.size(), in);
    if (got == 0) break;
    std::string_view chunk(buf.data(), got);
    size_t pos = 0;
    while (true) {
      const size_t nl = chunk.find('\n', pos);
      if (nl == std::string_view::npos) {
        carry.append(chunk.substr(pos));
        break;
      }
      if (!carry.empty()) {
        carry.append(chunk.substr(pos, nl - pos));
        TP_RETURN_IF_ERROR(handle(carry));
        carry.clear();
      } else {
        TP_RETURN_IF_ERROR(handle(chunk.substr(pos, nl - pos)));
      }
      pos = nl + 1;
    }
  }
  if (std::ferror(in)) return Status::Unavailable(path + ": read error");
  if (!carry.empty()) TP_RETURN_IF_ERROR(handle(carry));
  if (line_no == 0) return Status::InvalidArgument(path + ": empty file (expected a header variant,value)");
  if (out.rejected > 20) std::fprintf(stderr, "touchpoint: %s: %lld malformed rows in all\n", path.c_str(), static_cast<long long>(out.rejected));
  if (!control.empty()) {
    auto it = std::find_if(out.arms.begin(), out.arms.end(), [&](const ArmSummary& a) { return a.variant == control; });
    if (it == out.arms.end()) return Status::InvalidArgument("--control: no unit has the variant " + control);
    std::rotate(out.arms.begin(), it, it + 1);
  }
  return out;
}

Json Number(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

std::string Fixed(double v, int digits) {
  char b[48];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

struct AnalyzeArgs {
  std::string summary;
  std::string units;
  std::string control;
  std::string metric = "mean";
  std::string lift = "relative";
  std::string correction;
  std::string weights;
  double alpha = 0.05;
  double sequential = 0;
};

int RunAnalyze(const AnalyzeArgs& a) {
  insight::AnalysisOptions o;
  if (a.metric != "mean" && a.metric != "proportion") {
    return Fail(Status::InvalidArgument("--metric: \"" + a.metric + "\" (expected mean or proportion)"));
  }
  o.metric = a.metric == "proportion" ? insight::MetricKind::kProportion : insight::MetricKind::kMean;
  if (a.lift != "relative" && a.lift != "absolute") {
    return Fail(Status::InvalidArgument("--lift: \"" + a.lift + "\" (expected relative or absolute)"));
  }
  o.lift = a.lift == "absolute" ? insight::LiftKind::kAbsolute : insight::LiftKind::kRelative;
  if (a.correction == "holm") {
    o.correction = insight::Correction::kHolm;
  } else if (a.correction == "bh") {
    o.correction = insight::Correction::kBenjaminiHochberg;
  } else if (!a.correction.empty()) {
    return Fail(Status::InvalidArgument("--correction: \"" + a.correction + "\" (expected holm or bh)"));
  }
  o.alpha = a.alpha;
  o.sequential_tuning = a.sequential;
  if (!a.weights.empty()) {
    auto w = ParseList(a.weights, "--weights");
    if (!w.ok()) return Fail(w.status());
    o.weights = std::move(*w);
  }
  if (a.summary.empty() == a.units.empty()) {
    return Fail(Status::InvalidArgument("give exactly one of --summary FILE and --units FILE"));
  }
  std::vector<ArmSummary> arms;
  std::int64_t rejected = 0;
  if (!a.summary.empty()) {
    auto s = ReadSummary(a.summary, o.metric);
    if (!s.ok()) return FailFile(s.status());
    arms = std::move(*s);
  } else {
    auto u = ReadUnits(a.units, a.control);
    if (!u.ok()) return FailFile(u.status());
    arms = std::move(u->arms);
    rejected = u->rejected;
  }
  auto r = insight::AnalyzeExperiment(arms, o);
  if (!r.ok()) return FailFile(r.status());
  if (rejected > 0) r->warnings.push_back(std::to_string(rejected) + " malformed rows skipped (see stderr)");

  // The table, then the JSON object as the last line.
  const bool rel = o.lift == insight::LiftKind::kRelative;
  std::printf("%-16s %10s %12s %12s %24s %10s%s\n", "variant", "units", "mean", rel ? "lift (rel.)" : "lift (abs.)",
              o.sequential_tuning > 0 ? "confidence sequence" : "confidence interval", "p",
              o.correction != insight::Correction::kNone ? "     p adj." : "");
  for (const auto& v : r->variants) {
    std::printf("%-16s %10.0f %12.6g", v.variant.c_str(), v.units, v.mean);
    if (v.has_lift) {
      const std::string ci = "[" + Fixed(v.ci_low, 5) + ", " + Fixed(v.ci_high, 5) + "]";
      std::printf(" %12.5f %24s %10.5f", v.lift, ci.c_str(), v.p_value);
      if (v.p_adjusted) std::printf(" %10.5f", *v.p_adjusted);
    } else if (&v != &r->variants.front()) {
      std::printf(" %12s", "(no variance)");
    } else {
      std::printf(" %12s", "(control)");
    }
    std::printf("\n");
  }
  std::printf("sample ratio mismatch p = %.6g", r->srm_p);
  if (r->theta) std::printf("   CUPED theta = %.6g", *r->theta);
  std::printf("\n");
  for (const auto& w : r->warnings) std::printf("warning: %s\n", w.c_str());

  Json j;
  j["srm_p"] = Number(r->srm_p);
  j["warnings"] = r->warnings;
  Json vs = Json::array();
  for (const auto& v : r->variants) {
    Json e;
    e["variant"] = v.variant;
    if (v.units == std::floor(v.units) && v.units < 9e15) {
      e["units"] = static_cast<std::int64_t>(v.units);
    } else {
      e["units"] = v.units;
    }
    e["mean"] = Number(v.mean);
    if (v.has_lift) {
      e["lift"] = Number(v.lift);
      e["ci_low"] = Number(v.ci_low);
      e["ci_high"] = Number(v.ci_high);
      e["se"] = Number(v.se);
      e["p_value"] = Number(v.p_value);
      if (v.p_adjusted) e["p_adjusted"] = Number(*v.p_adjusted);
    }
    vs.push_back(std::move(e));
  }
  j["variants"] = std::move(vs);
  std::printf("%s\n", j.dump().c_str());
  return std::fflush(stdout) == 0 ? kExitOk : kExitUnavailable;
}

struct PlanArgs {
  std::string metric = "proportion";
  double baseline = 0;
  double variance = 0;
  double traffic = 0;
  double effect = 0;
  double days = 0;
  double alpha = 0.05;
  double power = 0.8;
  std::string weights;
};

int RunPlan(const PlanArgs& a) {
  insight::PowerInput in;
  if (a.metric != "mean" && a.metric != "proportion") {
    return Fail(Status::InvalidArgument("--metric: \"" + a.metric + "\" (expected mean or proportion)"));
  }
  in.metric = a.metric == "mean" ? insight::MetricKind::kMean : insight::MetricKind::kProportion;
  in.baseline_mean = a.baseline;
  in.variance = a.variance;
  in.daily_units = a.traffic;
  in.alpha = a.alpha;
  in.power = a.power;
  if (!a.weights.empty()) {
    auto w = ParseList(a.weights, "--weights");
    if (!w.ok()) return Fail(w.status());
    in.weights = std::move(*w);
  }
  if ((a.effect > 0) == (a.days > 0)) return Fail(Status::InvalidArgument("give exactly one of --effect and --days"));
  Json j;
  if (a.effect > 0) {
    auto plan = insight::UnitsForEffect(in, a.effect);
    if (!plan.ok()) return Fail(plan.status());
    j["relative_effect"] = plan->relative_effect;
    j["units"] = plan->units;
    j["days"] = plan->days;
    std::printf("%.0f units in all (%.1f days at %.0f a day) to detect %+.2f %% with power %.0f %% at alpha %.3g\n",
                plan->units, plan->days, a.traffic, 100 * a.effect, 100 * a.power, a.alpha);
  } else {
    auto mde = insight::MinimumDetectableEffect(in, a.days);
    if (!mde.ok()) return Fail(mde.status());
    j["days"] = a.days;
    j["units"] = a.days * a.traffic;
    j["minimum_detectable_effect"] = *mde;
    std::printf("after %.1f days (%.0f units): minimum detectable relative effect %.2f %% (power %.0f %%, alpha %.3g)\n",
                a.days, a.days * a.traffic, 100 * *mde, 100 * a.power, a.alpha);
  }
  std::printf("%s\n", j.dump().c_str());
  return kExitOk;
}


// ---- experiments stored in the data directory ----

struct StoredArgs {
  std::string data = DefaultDataDir();
  std::string format;  // json | table
  bool show_salt = false;
  std::string ref;     // id or name
  std::string unit;    // assign
  insight::ExperimentSpec spec;
  std::string variants, metrics;
  double min_units = 30;
};

std::string Format(const StoredArgs& a) {
  if (!a.format.empty()) return a.format;
  return isatty(STDOUT_FILENO) != 0 ? "table" : "json";
}

Status CheckFormat(const StoredArgs& a) {
  const std::string f = Format(a);
  if (f != "json" && f != "table") {
    return Status::InvalidArgument("format: unknown format \"" + f + "\"; valid: json, table");
  }
  return Status::Ok();
}

std::string ExperimentLine(const store::ExperimentRecord& e) {
  std::string variants, metrics;
  for (const auto& v : e.variants) variants += (variants.empty() ? "" : ",") + v.name + ":" + Fixed(v.weight, 0);
  for (const auto& m : e.metrics) metrics += (metrics.empty() ? "" : ",") + m.metric + ":" + m.direction;
  char line[512];
  std::snprintf(line, sizeof line, "%-5lld %-24s %-8s %-8s %-28s %s\n", static_cast<long long>(e.id), e.name.c_str(),
                e.status.c_str(), e.unit.c_str(), variants.c_str(), metrics.c_str());
  return line;
}

void PrintExperiment(const StoredArgs& a, const store::ExperimentRecord& e) {
  if (Format(a) == "json") {
    std::printf("%s\n", insight::ExperimentJson(e, a.show_salt).c_str());
    return;
  }
  std::printf("%-5s %-24s %-8s %-8s %-28s %s\n", "id", "name", "status", "unit", "variants", "metrics");
  std::fputs(ExperimentLine(e).c_str(), stdout);
  std::printf("coverage %s, alpha %s, correction %s, pre-period %d days%s; created %s by %s", Fixed(e.coverage, 2).c_str(),
              Fixed(e.alpha, 3).c_str(), e.correction.c_str(), e.pre_period_days,
              e.sequential_tuning > 0 ? (", sequential N* " + Fixed(e.sequential_tuning, 0)).c_str() : "",
              FormatTimestamp(e.created_at).c_str(), e.created_by.c_str());
  if (e.started_at != 0) std::printf(", started %s", FormatTimestamp(e.started_at).c_str());
  if (e.stopped_at != 0) std::printf(", stopped %s", FormatTimestamp(e.stopped_at).c_str());
  std::printf("\n");
  if (a.show_salt) std::printf("salt %s\n", e.salt.c_str());
}

// Runs `fn` on the experiments of `a.data`: writable (small transactions beside a running server)
// or read-only.
int WithExperiments(const StoredArgs& a, bool write, const std::function<int(insight::Experiments&)>& fn) {
  if (Status f = CheckFormat(a); !f.ok()) return Fail(f);
  auto store = write ? OpenForKeys(a.data) : OpenReadOnly(a.data);
  if (!store.ok()) return Fail(Status::Unavailable(store.status().message()));
  insight::Experiments experiments(**store, SystemClock::Instance(), insight::Experiments::Options{a.min_units});
  return fn(experiments);
}

int RunCreate(const StoredArgs& a) {
  insight::ExperimentSpec spec = a.spec;
  auto variants = insight::ParseVariants(a.variants);
  if (!variants.ok()) return Fail(variants.status());
  spec.variants = std::move(*variants);
  auto metrics = insight::ParseMetrics(a.metrics);
  if (!metrics.ok()) return Fail(metrics.status());
  spec.metrics = std::move(*metrics);
  return WithExperiments(a, true, [&](insight::Experiments& ex) {
    auto e = ex.Create(spec, "cli");
    if (!e.ok()) return Fail(e.status());
    PrintExperiment(a, *e);
    return kExitOk;
  });
}

int RunList(const StoredArgs& a) {
  return WithExperiments(a, false, [&](insight::Experiments& ex) {
    auto list = ex.List();
    if (!list.ok()) return Fail(list.status());
    if (Format(a) == "json") {
      std::printf("%s\n", insight::ExperimentListJson(*list, a.show_salt).c_str());
    } else {
      std::printf("%-5s %-24s %-8s %-8s %-28s %s\n", "id", "name", "status", "unit", "variants", "metrics");
      for (const auto& e : *list) std::fputs(ExperimentLine(e).c_str(), stdout);
    }
    return kExitOk;
  });
}

int RunShow(const StoredArgs& a) {
  return WithExperiments(a, false, [&](insight::Experiments& ex) {
    auto e = ex.Find(a.ref);
    if (!e.ok()) return Fail(e.status());
    PrintExperiment(a, *e);
    return kExitOk;
  });
}

int RunStatus(const StoredArgs& a, bool start) {
  return WithExperiments(a, true, [&](insight::Experiments& ex) {
    auto e = ex.Find(a.ref);
    if (!e.ok()) return Fail(e.status());
    auto changed = start ? ex.Start(e->id) : ex.Stop(e->id);
    if (!changed.ok()) return Fail(changed.status());
    PrintExperiment(a, *changed);
    return kExitOk;
  });
}

int RunAssign(const StoredArgs& a) {
  return WithExperiments(a, true, [&](insight::Experiments& ex) {
    auto e = ex.Find(a.ref);
    if (!e.ok()) return Fail(e.status());
    auto assigned = ex.Assign(e->id, a.unit);
    if (!assigned.ok()) return Fail(assigned.status());
    if (Format(a) == "json") {
      std::printf("%s\n", insight::AssignmentJson(*e, a.unit, *assigned).c_str());
    } else if (assigned->in_experiment) {
      std::printf("%s %s: %s%s\n", e->name.c_str(), a.unit.c_str(), assigned->variant.c_str(),
                  assigned->first_exposure ? " (first exposure)" : "");
    } else {
      std::printf("%s %s: not in the experiment (%s)\n", e->name.c_str(), a.unit.c_str(), assigned->reason.c_str());
    }
    return kExitOk;
  });
}

int RunResults(const StoredArgs& a) {
  return WithExperiments(a, false, [&](insight::Experiments& ex) {
    auto e = ex.Find(a.ref);
    if (!e.ok()) return Fail(e.status());
    auto r = ex.Results(e->id);
    if (!r.ok()) return Fail(r.status());
    const std::string out =
        Format(a) == "json" ? insight::ExperimentResultsJson(*r) + "\n" : insight::ExperimentResultsTable(*r);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return kExitOk;
  });
}

struct ReportArgs {
  StoredArgs stored;
  std::string out, echarts;
};

// `report experiment`: the results as a file — self-contained HTML with charts, or JSON.
int RunReport(const ReportArgs& r) {
  const std::string format = r.stored.format.empty() ? "html" : r.stored.format;
  if (format != "html" && format != "json") {
    return Fail(Status::InvalidArgument("format: unknown format \"" + format + "\"; valid: html, json"));
  }
  auto store = OpenReadOnly(r.stored.data);
  if (!store.ok()) return Fail(Status::Unavailable(store.status().message()));
  insight::Experiments ex(**store, SystemClock::Instance(), insight::Experiments::Options{r.stored.min_units});
  auto e = ex.Find(r.stored.ref);
  if (!e.ok()) return Fail(e.status());
  auto results = ex.Results(e->id);
  if (!results.ok()) return Fail(results.status());
  std::string text;
  if (format == "html") {
    auto echarts = ReadEcharts(r.echarts);
    if (!echarts.ok()) return Fail(echarts.status());
    std::vector<std::pair<std::string, std::string>> params{{"data", r.stored.data},
                                                            {"min units", Fixed(r.stored.min_units, 0)}};
    auto html = insight::RenderHtml(
        insight::ExperimentHtmlReport(*results, std::move(params), SystemClock::Instance().Now()), *echarts);
    if (!html.ok()) return Fail(html.status());
    text = std::move(*html);
  } else {
    text = insight::ExperimentResultsJson(*results) + "\n";
  }
  if (r.out.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return kExitOk;
  }
  std::ofstream file(r.out, std::ios::binary | std::ios::trunc);
  file.write(text.data(), static_cast<std::streamsize>(text.size()));
  file.close();
  if (!file) return Fail(Status::Unavailable("out: cannot write " + r.out));
  std::fprintf(stderr, "wrote %s (%zu bytes)\n", r.out.c_str(), text.size());
  return kExitOk;
}

void AddStoredOptions(CLI::App* cmd, StoredArgs& a) {
  cmd->add_option("--data", a.data, "Data directory");
  cmd->add_option("--format", a.format, "json or table (default: table on a terminal, else json)");
}

}  // namespace

void RegisterExperimentCommands(CLI::App& app, int* exit_code) {
  auto* exp = app.add_subcommand("experiment", "A/B tests of service flows: stored experiments, analysis and planning");
  exp->require_subcommand(1);

  auto ca = std::make_shared<StoredArgs>();
  auto* create = exp->add_subcommand("create", "Create a stored experiment (a draft; `experiment start` runs it)");
  AddStoredOptions(create, *ca);
  create->add_option("--name", ca->spec.name, "Unique name")->required();
  create->add_option("--unit", ca->spec.unit, "customer | ticket")->required();
  create->add_option("--variants", ca->variants, "control:50,treatment:50 (the first is the control)")->required();
  create->add_option("--metrics", ca->metrics, "KPI metrics with their better direction, e.g. art:decrease,csat")
      ->required();
  create->add_option("--description", ca->spec.description, "What is tested");
  create->add_option("--coverage", ca->spec.coverage, "Share of units in the experiment, (0, 1]")->capture_default_str();
  create->add_option("--pre-period-days", ca->spec.pre_period_days, "CUPED's pre-period (0: none)");
  create->add_option("--sequential", ca->spec.sequential_tuning, "Sequential mode with tuning parameter N* (e.g. 5000)");
  create->add_option("--alpha", ca->spec.alpha, "Significance level")->capture_default_str();
  create->add_option("--correction", ca->spec.correction, "holm | bh | none, across metrics × variants")
      ->capture_default_str();
  create->add_flag("--show-salt", ca->show_salt, "Print the assignment's salt (keep it secret)");
  create->callback([ca, exit_code] { *exit_code = RunCreate(*ca); });

  auto la = std::make_shared<StoredArgs>();
  auto* list = exp->add_subcommand("list", "The stored experiments");
  AddStoredOptions(list, *la);
  list->callback([la, exit_code] { *exit_code = RunList(*la); });

  auto sa = std::make_shared<StoredArgs>();
  auto* show = exp->add_subcommand("show", "One stored experiment");
  AddStoredOptions(show, *sa);
  show->add_option("experiment", sa->ref, "Id or name")->required();
  show->add_flag("--show-salt", sa->show_salt, "Print the assignment's salt (keep it secret)");
  show->callback([sa, exit_code] { *exit_code = RunShow(*sa); });

  for (const bool start : {true, false}) {
    auto ta = std::make_shared<StoredArgs>();
    auto* cmd = exp->add_subcommand(start ? "start" : "stop",
                                    start ? "Start a draft experiment: assignments expose units from now on"
                                          : "Stop a running experiment (for good: it cannot run again)");
    AddStoredOptions(cmd, *ta);
    cmd->add_option("experiment", ta->ref, "Id or name")->required();
    cmd->callback([ta, exit_code, start] { *exit_code = RunStatus(*ta, start); });
  }

  auto xa = std::make_shared<StoredArgs>();
  auto* assign = exp->add_subcommand("assign", "A unit's variant, recording its first exposure (as GET /v1/assignments)");
  AddStoredOptions(assign, *xa);
  assign->add_option("experiment", xa->ref, "Id or name")->required();
  assign->add_option("unit", xa->unit, "Customer id or ticket number (decimal)")->required();
  assign->callback([xa, exit_code] { *exit_code = RunAssign(*xa); });

  auto ra = std::make_shared<StoredArgs>();
  auto* results = exp->add_subcommand("results", "Per metric and variant: outcomes joined from the stored KPI facts, analysed");
  AddStoredOptions(results, *ra);
  results->add_option("experiment", ra->ref, "Id or name")->required();
  results->add_option("--min-units", ra->min_units, "Units an arm needs before a metric is analysed")
      ->capture_default_str();
  results->callback([ra, exit_code] { *exit_code = RunResults(*ra); });

  // report experiment: the results as a file (the `report` command is shared with `report kpi`).
  auto found = app.get_subcommands([](CLI::App* sub) { return sub->get_name() == "report"; });
  CLI::App* report_cmd = !found.empty() ? found.front()
                                        : app.add_subcommand("report", "Reports as JSON, CSV or self-contained HTML");
  auto rep = std::make_shared<ReportArgs>();
  auto* experiment_report =
      report_cmd->add_subcommand("experiment", "An experiment's results as a report file (the figures of `experiment results`)");
  experiment_report->add_option("experiment", rep->stored.ref, "Id or name")->required();
  experiment_report->add_option("--data", rep->stored.data, "Data directory");
  experiment_report->add_option("--format", rep->stored.format, "html or json (default html)");
  experiment_report->add_option("--out", rep->out, "The file to write (default: stdout)");
  experiment_report->add_option("--echarts", rep->echarts, "ECharts' echarts.min.js to embed (default: web/node_modules)");
  experiment_report->add_option("--min-units", rep->stored.min_units, "Units an arm needs before a metric is analysed")
      ->capture_default_str();
  experiment_report->callback([rep, exit_code] { *exit_code = RunReport(*rep); });

  auto aa = std::make_shared<AnalyzeArgs>();
  auto* an = exp->add_subcommand("analyze", "Welch t-test (CUPED, sequential, corrections) from per-arm sums or per-unit rows");
  an->add_option("--summary", aa->summary, "CSV variant,units,sum,sum_squares[,pre_sum,pre_sum_squares,sum_products]; first row the control");
  an->add_option("--units", aa->units, "CSV variant,value[,pre]: one row per unit");
  an->add_option("--control", aa->control, "with --units: the control's variant (default: the first seen)");
  an->add_option("--metric", aa->metric, "mean | proportion")->capture_default_str();
  an->add_option("--lift", aa->lift, "relative | absolute")->capture_default_str();
  an->add_option("--alpha", aa->alpha, "significance level")->capture_default_str();
  an->add_option("--sequential", aa->sequential, "sequential mode with tuning parameter N* (e.g. 5000)");
  an->add_option("--weights", aa->weights, "expected shares of the arms, e.g. 50,50");
  an->add_option("--correction", aa->correction, "holm | bh");
  an->callback([aa, exit_code] { *exit_code = RunAnalyze(*aa); });

  auto pa = std::make_shared<PlanArgs>();
  auto* pl = exp->add_subcommand("plan", "units and days to detect an effect, or the effect detectable in some days");
  pl->add_option("--metric", pa->metric, "proportion | mean")->capture_default_str();
  pl->add_option("--baseline", pa->baseline, "the control's mean (a rate for proportions)")->required();
  pl->add_option("--variance", pa->variance, "per-unit variance (means only)");
  pl->add_option("--traffic", pa->traffic, "units entering the test per day, all arms")->required();
  pl->add_option("--effect", pa->effect, "relative effect to detect, e.g. 0.05");
  pl->add_option("--days", pa->days, "days the test runs");
  pl->add_option("--alpha", pa->alpha, "significance level")->capture_default_str();
  pl->add_option("--power", pa->power, "power")->capture_default_str();
  pl->add_option("--weights", pa->weights, "shares of the arms, e.g. 50,50 (the first is the control)");
  pl->callback([pa, exit_code] { *exit_code = RunPlan(*pa); });
}

}  // namespace touchpoint::cli

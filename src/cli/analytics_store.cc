#include "cli/analytics_store.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <touchpoint/insight/job_kmeans.h>
#include <touchpoint/insight/job_rfm.h>
#include <touchpoint/insight/job_rules.h>

#include "cli/cli_util.h"
#include "cli/data_access.h"
#include "cli/engine_options.h"

namespace touchpoint::cli {

namespace {

bool IsDirectory(const std::string& path) {
  std::error_code ec;
  return !path.empty() && std::filesystem::is_directory(path, ec);
}

}  // namespace

bool ReadsFromStore(const std::string& path) {
  if (IsDirectory(path)) return true;
  std::error_code ec;
  return !StoreUrlOverride().empty() && !std::filesystem::is_regular_file(path, ec);
}

Status RequireDataDir(const std::string& path) {
  if (IsDirectory(path) || !StoreUrlOverride().empty()) return Status::Ok();
  return Status::NotFound(path + ": no data directory here (ingest first, or give --data)");
}


insight::JobContext CliJobContext(const std::string& data_dir) {
  insight::JobContext context;
  context.source = data_dir;
  context.param_style = insight::ParamStyle::kCliFlag;
  return context;
}

Status WriteTextOutput(const std::string& text, const std::string& out) {
  if (out.empty() || out == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return std::fflush(stdout) == 0 ? Status::Ok() : Status::Unavailable("<stdout>: write failed");
  }
  std::ofstream f(out, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) return Status::Unavailable("cannot write " + out);
  return Status::Ok();
}

namespace {

// Collects the tags of several jobs so that they are written in one batch.
class BufferedTagSink final : public insight::TagSink {
 public:
  Status Write(const insight::CustomerTags& tags) override {
    tags_.insert(tags_.end(), tags.begin(), tags.end());
    return Status::Ok();
  }
  const insight::CustomerTags& tags() const { return tags_; }

 private:
  insight::CustomerTags tags_;
};

}  // namespace

int RunRfmOverStore(const std::string& data_dir, Millis as_of, double silver, double gold, const std::string& out) {
  pipeline::EngineOptions options = MakeEngineOptions(5, false);
  auto dir = OpenForWriting(data_dir, std::move(options), "touchpoint segment rfm");
  if (!dir.ok()) return Fail(Status::Unavailable(dir.status().message()));
  pipeline::Engine& engine = *(*dir)->engine;
  EngineActivitySource source(engine);
  auto activity = source.Load(insight::RfmActivityRequest());
  if (!activity.ok()) return Fail(activity.status());
  const insight::JobContext context = CliJobContext(data_dir);
  BufferedTagSink buffered;  // the rfm and ltv tags of a customer land in one batch
  auto rfm = insight::RunRfmJob({.as_of = as_of, .silver = silver, .gold = gold}, *activity, &buffered, context);
  if (!rfm.ok()) return Fail(rfm.status());
  insight::LtvJobParams ltv_params;
  ltv_params.options.as_of = rfm->rfm.as_of;
  auto ltv = insight::RunLtvJob(ltv_params, *activity, &buffered, context);
  std::unordered_map<std::int64_t, double> ltv_of;  // without a lifetime value model: 0.00, no tag
  if (ltv.ok()) {
    for (const auto& row : ltv->ltv.rows) ltv_of.emplace(ltv->customers[row.customer], row.ltv);
  }
  Status s = EngineTagSink(engine).Write(buffered.tags());
  if (!s.ok()) return Fail(s);
  std::string csv = "customer,recency_days,frequency,monetary,r,f,m,layer,headline,tier,ltv\n";
  char buf[256];
  for (const auto& row : rfm->rfm.rows) {
    const std::int64_t customer = rfm->customers[row.customer];
    const auto it = ltv_of.find(customer);
    std::snprintf(buf, sizeof buf, "%lld,%lld,%lld,%.2f,%d,%d,%d,", static_cast<long long>(customer),
                  static_cast<long long>(row.recency_days), static_cast<long long>(row.frequency), row.monetary, row.r,
                  row.f, row.m);
    csv += buf;
    csv += insight::RfmLayerName(row.layer);
    csv += ',';
    csv += insight::HeadlineLayerName(row.headline);
    csv += ',';
    csv += insight::TierName(row.tier);
    std::snprintf(buf, sizeof buf, ",%.2f\n", it != ltv_of.end() ? it->second : 0.0);
    csv += buf;
  }
  if (out.empty() || out == "-") {
    std::fwrite(csv.data(), 1, csv.size(), stdout);
  } else {
    std::ofstream f(out, std::ios::binary | std::ios::trunc);
    f << csv;
    if (!f) return Fail(Status::Unavailable("cannot write " + out));
  }
  nlohmann::json summary = {{"customers", rfm->rfm.rows.size()}, {"as_of", FormatDate(rfm->rfm.as_of)},
                            {"tagged", rfm->tagged}, {"tags", {"rfm_layer", "rfm_headline", "rfm_score", "tier", "ltv"}}};
  std::cerr << summary.dump() << "\n";
  return kExitOk;
}

namespace {

// A job's error: the store's own failures as every writing command words them, the job's
// (about the data or the parameters) as the commands over files do.
int FailJob(const Status& s, const EngineActivitySource& source, const EngineTagSink* sink) {
  if (source.failed() || (sink != nullptr && sink->failed())) return Fail(s);
  return FailFile(s);
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// {"data": DIR} followed by the fields of a job's result JSON (except `skip`).
nlohmann::ordered_json SummaryOf(const std::string& data_dir, const std::string& result_json, const char* skip = "") {
  nlohmann::ordered_json j;
  j["data"] = data_dir;
  nlohmann::ordered_json result = nlohmann::ordered_json::parse(result_json);
  for (auto it = result.begin(); it != result.end(); ++it) {
    if (it.key() != skip) j[it.key()] = std::move(it.value());
  }
  return j;
}

}  // namespace

int RunKMeansOverStore(const KMeansStoreArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  insight::KMeansJobParams params;
  params.features = a.features;
  if (a.log_features_given) params.log_features = a.log_features;
  params.k = a.k;
  params.k_max = a.k_max;
  params.seed = a.seed;
  params.restarts = a.restarts;
  const insight::JobContext context = CliJobContext(a.data_dir);
  if (Status s = insight::ValidateKMeansJobParams(params, context); !s.ok()) return FailFile(s);

  auto dir = OpenForWriting(a.data_dir, MakeEngineOptions(5, false), "touchpoint segment kmeans");
  if (!dir.ok()) return Fail(Status::Unavailable(dir.status().message()));
  EngineActivitySource source(*(*dir)->engine);
  EngineTagSink sink(*(*dir)->engine);
  auto result = insight::RunKMeansJob(params, source, sink, context);
  if (!result.ok()) return FailJob(result.status(), source, &sink);

  std::string csv = "id,cluster\n";
  for (size_t i = 0; i < result->customers.size(); ++i) {
    csv += std::to_string(result->customers[i]);
    csv += ',';
    csv += std::to_string(result->segmentation.labels[i]);
    csv += '\n';
  }
  Status s = WriteTextOutput(csv, a.out);
  if (!s.ok()) return FailFile(s);
  nlohmann::ordered_json j = SummaryOf(a.data_dir, result->ToJson());
  j["seconds"] = SecondsSince(start);
  const std::string text = j.dump(2) + "\n";
  std::fputs(text.c_str(), a.out.empty() || a.out == "-" ? stderr : stdout);
  return kExitOk;
}

int RunRulesOverStore(const RulesStoreArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  insight::RulesJobParams params;
  params.kind = a.kind;
  params.min_support = a.min_support;
  params.min_confidence = a.min_confidence;
  params.max_len = a.max_len;
  params.window_days = a.window_days;
  params.limit = 0;  // every rule is printed below; the summary lists none
  const insight::JobContext context = CliJobContext(a.data_dir);
  if (Status s = insight::ValidateRulesJobParams(params, context); !s.ok()) return FailFile(s);
  if (Status s = RequireDataDir(a.data_dir); !s.ok()) return FailFile(s);
  auto dir = OpenForWriting(a.data_dir, MakeEngineOptions(5, false), "touchpoint rules mine");
  if (!dir.ok()) return Fail(Status::Unavailable(dir.status().message()));
  EngineActivitySource source(*(*dir)->engine);
  auto result = insight::RunRulesJob(params, source, context);
  if (!result.ok()) return FailJob(result.status(), source, nullptr);
  Status s = WriteTextOutput(result->Ndjson(), a.out);
  if (!s.ok()) return FailFile(s);
  nlohmann::ordered_json j = SummaryOf(a.data_dir, result->ToJson(), "top_rules");
  j["seconds"] = SecondsSince(start);
  std::cerr << j.dump() << "\n";
  return kExitOk;
}

}  // namespace touchpoint::cli

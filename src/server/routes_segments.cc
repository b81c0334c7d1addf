// Segment routes: saved segments (insight::SegmentIndex) with live counts, their members, and a
// preview of a rule; plus the post-commit adapter that keeps the counts current; and the
// aggregate reports by segment and by RFM layer, with differential privacy on request
// (GET /v1/reports/segments, GET /v1/reports/rfm; privacy/dp.h).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/http/query.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/rfm.h>
#include <touchpoint/insight/segment_index.h>
#include <touchpoint/privacy/dp.h>
#include <touchpoint/privacy/roles.h>
#include <touchpoint/profile/features.h>
#include <touchpoint/profile/segment.h>
#include <touchpoint/store/dp_budget_repository.h>
#include <touchpoint/store/segment_repository.h>
#include <touchpoint/store/store.h>

#include "server/routes.h"

namespace touchpoint::server {
namespace {

using Json = nlohmann::ordered_json;

// An export is answered in one body: beyond this the CLI (`touchpoint segment export`) is the
// way (it writes to a file as it goes).
constexpr size_t kMaxExportBytes = 256u << 20;
constexpr size_t kMaxDescriptionBytes = 1000;

// The hook's adapter: each committed batch's customers are re-evaluated in every segment.
class SegmentObserver final : public pipeline::CommitObserver {
 public:
  explicit SegmentObserver(insight::SegmentIndex& index) : index_(index) {}
  void OnCommitted(std::span<const pipeline::CommittedEvent> events) override {
    customers_.clear();
    for (const pipeline::CommittedEvent& e : events) {
      if (customers_.empty() || customers_.back() != e.customer) customers_.push_back(e.customer);
    }
    index_.OnCustomersChanged(customers_);
  }

 private:
  insight::SegmentIndex& index_;
  std::vector<CustomerId> customers_;  // reused: the hook calls one at a time
};

// The body of PUT /v1/segments/{name} and POST /v1/segments/preview.
struct SegmentBody {
  std::string rule;
  std::string description;
};

Result<SegmentBody> ParseBody(const std::string& body, bool with_description) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument(with_description
                                       ? R"(expected a JSON object {"rule": "…", "description": "…"})"
                                       : R"(expected a JSON object {"rule": "…"})");
  }
  SegmentBody out;
  bool has_rule = false;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "rule") {
      if (!it.value().is_string()) return Status::InvalidArgument("rule: expected a string");
      out.rule = it.value().get<std::string>();
      has_rule = true;
    } else if (it.key() == "description" && with_description) {
      if (!it.value().is_string()) return Status::InvalidArgument("description: expected a string");
      out.description = it.value().get<std::string>();
      if (out.description.size() > kMaxDescriptionBytes) {
        return Status::InvalidArgument("description: at most " + std::to_string(kMaxDescriptionBytes) +
                                       " bytes");
      }
    } else {
      return Status::InvalidArgument("unknown field \"" + it.key() + "\"");
    }
  }
  if (!has_rule) return Status::InvalidArgument("rule: required");
  return out;
}

http::Response Members(const ServerContext& context, const http::Request& req, const RouteMatch& match) {
  const std::string_view name = match.Param("name");
  if (Status s = insight::SegmentIndex::ValidateName(name); !s.ok()) return ResponseFromStatus(s);
  auto format_text = http::QueryParam(req.query, "format");
  if (!format_text.ok()) return ResponseFromStatus(format_text.status());
  auto format = insight::ParseSegmentExportFormat(format_text->value_or("csv"));
  if (!format.ok()) return ResponseFromStatus(format.status());
  auto policy = RequestMaskPolicy(context, req, match);
  if (!policy.ok()) return ResponseFromStatus(policy.status());
  if (Status s = AuditReveal(context, req, match, "segment:" + std::string(name), *policy); !s.ok()) {
    return ResponseFromStatus(s);
  }
  http::Response r;
  auto exported = context.segments->Export(name, *format, *policy, [&](std::string_view chunk) {
    if (r.body.size() + chunk.size() > kMaxExportBytes) {
      return Status::FailedPrecondition("the export is larger than 256 MB; use `touchpoint segment export`");
    }
    r.body.append(chunk);
    return Status::Ok();
  });
  if (!exported.ok()) return ResponseFromStatus(exported.status());
  const bool csv = *format == insight::SegmentExportFormat::kCsv;
  r.content_type = csv ? "text/csv; charset=utf-8" : "application/x-ndjson";
  r.headers.emplace_back("Content-Disposition",
                         "attachment; filename=\"" + std::string(name) + (csv ? ".csv\"" : ".ndjson\""));
  return r;
}

// ---- aggregate reports (differential privacy) ----

namespace dp = privacy::dp;

// Values are released in hundredths (two decimals): exact integers for the mechanism.
constexpr std::int64_t kValueScale = 100;

std::int64_t ToUnits(double v) { return static_cast<std::int64_t>(std::llround(v * kValueScale)); }

Result<double> NumberParam(std::string_view query, std::string_view key, double fallback) {
  TP_ASSIGN_OR_RETURN(const std::optional<std::string> text, http::QueryParam(query, key));
  if (!text) return fallback;
  const std::string& s = *text;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) {
    return Status::InvalidArgument(std::string(key) + " must be a number");
  }
  return v;
}

// The DP options of a report request: dp_epsilon (required for noise), lower, upper,
// max_groups, min_count. nullopt without dp_epsilon (exact numbers).
Result<std::optional<dp::ReleaseOptions>> DpOptions(const http::Request& req, bool with_values,
                                                     double default_upper, int default_max_groups) {
  TP_ASSIGN_OR_RETURN(const std::optional<std::string> epsilon, http::QueryParam(req.query, "dp_epsilon"));
  if (!epsilon) return std::optional<dp::ReleaseOptions>();
  dp::ReleaseOptions o;
  TP_ASSIGN_OR_RETURN(o.epsilon_micros, dp::ParseEpsilon(*epsilon));
  o.with_values = with_values;
  TP_ASSIGN_OR_RETURN(double lower, NumberParam(req.query, "lower", 0));
  TP_ASSIGN_OR_RETURN(double upper, NumberParam(req.query, "upper", default_upper));
  TP_ASSIGN_OR_RETURN(double max_groups, NumberParam(req.query, "max_groups", default_max_groups));
  TP_ASSIGN_OR_RETURN(double min_count, NumberParam(req.query, "min_count", 10));
  if (lower > upper) return Status::InvalidArgument("lower must not exceed upper");
  if (max_groups < 1 || max_groups > 1000 || max_groups != std::floor(max_groups)) {
    return Status::InvalidArgument("max_groups must be an integer 1..1000");
  }
  if (min_count < 0 || min_count > 1e9 || min_count != std::floor(min_count)) {
    return Status::InvalidArgument("min_count must be a non-negative integer");
  }
  o.lower = ToUnits(lower);
  o.upper = ToUnits(upper);
  o.max_groups_per_person = static_cast<int>(max_groups);
  o.min_count = static_cast<std::int64_t>(min_count);
  return std::optional<dp::ReleaseOptions>(std::move(o));
}

// Exact aggregates (no DP): for callers inside the company.
std::string ExactJson(const std::vector<std::string>& groups, const std::vector<dp::Contribution>& contributions,
                      bool with_values) {
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> exact;
  for (const std::string& g : groups) exact[g] = {0, 0};
  for (const dp::Contribution& c : contributions) {
    auto& [count, sum] = exact[c.group];
    ++count;
    sum += c.value;
  }
  Json out = Json::array();
  for (const std::string& g : groups) {
    const auto& [count, sum] = exact[g];
    Json j = {{"group", g}, {"count", count}};
    if (with_values) {
      j["sum"] = static_cast<double>(sum) / kValueScale;
      j["mean"] = count > 0 ? static_cast<double>(sum) / kValueScale / static_cast<double>(count) : 0.0;
    }
    out.push_back(std::move(j));
  }
  return out.dump();
}

// Answers a report: exact without options, else records the spend and releases with noise.
http::Response Report(const ServerContext& context, const RouteMatch& match, Json head,
                      const std::optional<dp::ReleaseOptions>& options, std::string_view report,
                      const std::vector<std::string>& groups, const std::vector<dp::Contribution>& contributions,
                      bool with_values) {
  if (!options) {
    head["differential_privacy"] = false;
    head["groups"] = Json::parse(ExactJson(groups, contributions, with_values));
    return JsonResponse(200, head.dump());
  }
  const std::string actor = "api:" + std::string(match.role() ? privacy::RoleName(*match.role()) : "public");
  if (Status s = context.dp->Spend(report, options->epsilon_micros, actor); !s.ok()) return ResponseFromStatus(s);
  auto release = dp::ReleaseGroups(contributions, *options);
  if (!release.ok()) return ResponseFromStatus(release.status());
  head["differential_privacy"] = true;
  Json body = Json::parse(dp::ReleaseJson(*release, *options, kValueScale));
  for (auto& [key, value] : body.items()) head[key] = std::move(value);
  return JsonResponse(200, head.dump());
}

// GET /v1/reports/segments[?value=FEATURE][&dp_epsilon=E&lower=&upper=&max_groups=&min_count=]
http::Response SegmentsReport(const ServerContext& context, const http::Request& req, const RouteMatch& match) {
  const profile::FeatureInfo* feature = nullptr;
  auto value_param = http::QueryParam(req.query, "value");
  if (!value_param.ok()) return ResponseFromStatus(value_param.status());
  if (const std::optional<std::string>& value = *value_param) {
    feature = profile::FindFeature(*value);
    if (feature == nullptr || !feature->on_profile ||
        (feature->type != profile::FeatureType::kNumber && feature->type != profile::FeatureType::kInteger)) {
      return ResponseFromStatus(Status::InvalidArgument("value: '" + *value +
                                                        "' is not a numeric profile feature"));
    }
  }
  auto options = DpOptions(req, feature != nullptr, 100000, 4);
  if (!options.ok()) return ResponseFromStatus(options.status());
  std::vector<std::string> groups;
  std::vector<std::pair<std::string, profile::Segment>> rules;
  for (const insight::SavedSegment& s : context.segments->List()) {
    groups.push_back(s.name);
    if (!s.error.empty()) continue;
    auto compiled = profile::Segment::Compile(s.rule);
    if (compiled.ok()) rules.emplace_back(s.name, std::move(*compiled));
  }
  if (*options) (*options)->public_groups = groups;
  const Millis as_of = context.engine->as_of();
  std::vector<dp::Contribution> contributions;
  context.engine->ForEach([&](CustomerId customer, const profile::Profile& p) {
    std::optional<std::int64_t> value;
    for (const auto& [name, rule] : rules) {
      if (!rule.Matches(p, as_of)) continue;
      if (feature != nullptr && !value) {
        const profile::FeatureValue v = p.ComputeFeatures(as_of, profile::FeatureBit(feature->id)).Get(feature->id);
        value = v.kind == profile::FeatureValue::Kind::kNumber ? ToUnits(v.number) : 0;  // null counts as 0
      }
      contributions.push_back(dp::Contribution{customer.value(), name, value.value_or(0)});
    }
  });
  Json head = {{"report", "segments"}, {"as_of", FormatTimestamp(as_of)}};
  if (feature != nullptr) head["value"] = std::string(feature->name);
  return Report(context, match, std::move(head), *options, "segment-report", groups, contributions,
                feature != nullptr);
}

// GET /v1/reports/rfm[?dp_epsilon=E&lower=&upper=&min_count=]: the RFM layers the last rfm job
// tagged (tags.rfm_layer), with each layer's customers and their monetary (lifetime revenue).
http::Response RfmReport(const ServerContext& context, const http::Request& req, const RouteMatch& match) {
  auto options = DpOptions(req, /*with_values=*/true, 100000, 1);
  if (!options.ok()) return ResponseFromStatus(options.status());
  std::vector<std::string> groups;
  for (size_t i = 0; i < insight::kRfmLayerCount; ++i) {
    groups.emplace_back(insight::RfmLayerName(static_cast<insight::RfmLayer>(i)));
  }
  if (*options) {
    (*options)->public_groups = groups;
    (*options)->max_groups_per_person = 1;  // one layer per customer
  }
  const Millis as_of = context.engine->as_of();
  std::vector<dp::Contribution> contributions;
  context.engine->ForEach([&](CustomerId customer, const profile::Profile& p) {
    const std::string* tag = p.FindTag("rfm_layer");
    if (tag == nullptr) return;
    auto layer = Json::parse(*tag, nullptr, false);
    if (!layer.is_string()) return;
    const profile::FeatureValue v =
        p.ComputeFeatures(as_of, profile::FeatureBit(profile::FeatureId::kMonetary)).Get(profile::FeatureId::kMonetary);
    contributions.push_back(dp::Contribution{customer.value(), layer.get<std::string>(),
                                             v.kind == profile::FeatureValue::Kind::kNumber ? ToUnits(v.number) : 0});
  });
  Json head = {{"report", "rfm"}, {"as_of", FormatTimestamp(as_of)}, {"value", "monetary"}};
  return Report(context, match, std::move(head), *options, "rfm-report", groups, contributions, true);
}

}  // namespace

DpLedger::DpLedger(std::unique_ptr<store::Store> store) : store_(std::move(store)) {}
DpLedger::~DpLedger() = default;

Status DpLedger::Spend(std::string_view report, std::int64_t epsilon_micros, std::string_view actor) {
  std::scoped_lock lock(mu_);
  return dp::SpendBudget(store_->Get<store::DpBudgetRepository>(), dp::kCustomersDataset, report, epsilon_micros,
                         actor, SystemClock::Instance().Now());
}

std::shared_ptr<pipeline::CommitObserver> MakeSegmentObserver(insight::SegmentIndex& index) {
  return std::make_shared<SegmentObserver>(index);
}

void RegisterSegmentRoutes(Router& router, const ServerContext& context) {
  router.Add({"GET", "/v1/segments", privacy::Permission::kReadSegments,
              [&context](const http::Request&, const RouteMatch&) {
                std::string body = "{\"segments\":[";
                bool first = true;
                for (const insight::SavedSegment& s : context.segments->List()) {
                  if (!first) body += ',';
                  first = false;
                  body += insight::SavedSegmentJson(s);
                }
                body += "]}";
                return JsonResponse(200, std::move(body));
              }});

  router.Add({"PUT", "/v1/segments/{name}", privacy::Permission::kManageSegments,
              [&context](const http::Request& req, const RouteMatch& match) {
                auto body = ParseBody(req.body, /*with_description=*/true);
                if (!body.ok()) return ResponseFromStatus(body.status());
                bool created = false;
                auto s =
                    context.segments->Define(match.Param("name"), body->rule, body->description, &created);
                if (!s.ok()) return ResponseFromStatus(s.status());
                // The rule is not recorded: it may name values (a city, a phone prefix).
                RecordAudit(context, req, match, created ? "segment.create" : "segment.update",
                            "segment:" + std::string(match.Param("name")));
                return JsonResponse(created ? 201 : 200, insight::SavedSegmentJson(*s));
              }});

  router.Add({"GET", "/v1/segments/{name}", privacy::Permission::kReadSegments,
              [&context](const http::Request&, const RouteMatch& match) {
                const std::string_view name = match.Param("name");
                if (Status v = insight::SegmentIndex::ValidateName(name); !v.ok())
                  return ResponseFromStatus(v);
                auto s = context.segments->Get(name);
                if (!s.ok()) return ResponseFromStatus(s.status());
                return JsonResponse(200, insight::SavedSegmentJson(*s));
              }});

  router.Add({"DELETE", "/v1/segments/{name}", privacy::Permission::kManageSegments,
              [&context](const http::Request& req, const RouteMatch& match) {
                const std::string_view name = match.Param("name");
                Status s = context.segments->Delete(name);
                if (!s.ok()) return ResponseFromStatus(s);
                RecordAudit(context, req, match, "segment.delete", "segment:" + std::string(name));
                Json body = {{"deleted", std::string(name)}};
                return JsonResponse(200, body.dump());
              }});

  router.Add({"GET", "/v1/segments/{name}/members", privacy::Permission::kReadSegments,
              [&context](const http::Request& req, const RouteMatch& match) {
                return Members(context, req, match);
              }});

  router.Add({"POST", "/v1/segments/preview", privacy::Permission::kReadSegments,
              [&context](const http::Request& req, const RouteMatch&) {
                auto body = ParseBody(req.body, /*with_description=*/false);
                if (!body.ok()) return ResponseFromStatus(body.status());
                auto segment = profile::Segment::Compile(body->rule);
                if (!segment.ok()) return ResponseFromStatus(segment.status());
                auto count = context.segments->Preview(segment->text());
                if (!count.ok()) return ResponseFromStatus(count.status());
                Json out = {{"rule", segment->text()},
                            {"count", *count},
                            {"depends_on_as_of", segment->depends_on_as_of()},
                            {"as_of", FormatTimestamp(context.engine->newest_event_at())}};
                return JsonResponse(200, out.dump());
              }});

  router.Add({"GET", "/v1/reports/segments", privacy::Permission::kReadSegments,
              [&context](const http::Request& req, const RouteMatch& match) {
                return SegmentsReport(context, req, match);
              }});

  router.Add({"GET", "/v1/reports/rfm", privacy::Permission::kReadSegments,
              [&context](const http::Request& req, const RouteMatch& match) {
                return RfmReport(context, req, match);
              }});
}

}  // namespace touchpoint::server

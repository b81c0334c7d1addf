#include <touchpoint/insight/job_rfm.h>

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "insight/job_params_internal.h"

namespace touchpoint::insight {
namespace {

using Json = nlohmann::ordered_json;

std::vector<std::int64_t> CustomerIds(const OrderBook& book) {
  std::vector<std::int64_t> ids;
  ids.reserve(book.customers.size());
  for (const auto& key : book.customers) ids.push_back(std::stoll(key));
  return ids;
}

Result<OrderBook> LoadBook(const Activity& activity, const JobContext& context) {
  OrderBook book = PurchaseBook(activity);
  if (book.lines.empty()) return Status::InvalidArgument(context.Where() + "no orders ingested yet");
  return book;
}

Json GroupJson(std::string_view name, const GroupSummary& g) {
  Json j;
  j["name"] = std::string(name);
  j["customers"] = g.customers;
  j["customer_share"] = g.customer_share;
  j["revenue"] = g.revenue;
  j["revenue_share"] = g.revenue_share;
  return j;
}

void ReadAsOf(internal::ParamReader& r, Millis* as_of) {
  r.Time("as_of", [](std::string_view t) { return ParseOrderDate(t); }, as_of);
}

}  // namespace

OrderBook PurchaseBook(const Activity& activity) {
  OrderBookBuilder builder;
  builder.Reserve(activity.orders.size());
  static const std::string kNoId;
  for (size_t i = 0; i < activity.orders.size(); ++i) {
    const ActivityOrder& o = activity.orders[i];
    if (o.total <= 0) continue;  // refunds and free orders carry no monetary value
    builder.Add(std::to_string(o.customer), i < activity.order_ids.size() ? activity.order_ids[i] : kNoId, o.at,
                o.total);
  }
  return builder.Finish();
}

// ---- rfm ----

Result<RfmJobParams> ParseRfmJobParams(std::string_view json) {
  TP_ASSIGN_OR_RETURN(internal::ParamReader r, internal::ParamReader::Parse(json));
  RfmJobParams p;
  ReadAsOf(r, &p.as_of);
  r.Number("silver", &p.silver);
  r.Number("gold", &p.gold);
  TP_RETURN_IF_ERROR(r.Finish());
  return p;
}

ActivityRequest RfmActivityRequest() {
  return {.orders = true, .order_ids = true, .items = false, .messages = false, .seen = false};
}

Result<RfmJobResult> RunRfmJob(const RfmJobParams& params, ActivitySource& source, TagSink& sink,
                               const JobContext& context) {
  context.Report("loading");
  TP_ASSIGN_OR_RETURN(Activity activity, source.Load(RfmActivityRequest()));
  return RunRfmJob(params, activity, &sink, context);
}

Result<RfmJobResult> RunRfmJob(const RfmJobParams& params, const Activity& activity, TagSink* sink,
                               const JobContext& context) {
  TP_RETURN_IF_ERROR(context.CheckCancelled());
  context.Report("computing");
  TP_ASSIGN_OR_RETURN(OrderBook book, LoadBook(activity, context));
  RfmOptions options;
  options.as_of = params.as_of;
  options.silver_threshold = params.silver;
  options.gold_threshold = params.gold;
  TP_ASSIGN_OR_RETURN(RfmResult rfm, ComputeRfm(book, options));
  RfmJobResult result{.rfm = std::move(rfm), .customers = CustomerIds(book), .params = params, .tagged = 0};
  if (sink == nullptr) return result;
  TP_RETURN_IF_ERROR(context.CheckCancelled());
  CustomerTags tags;
  tags.reserve(result.rfm.rows.size());
  const std::string as_of = nlohmann::json(FormatDate(result.rfm.as_of)).dump();
  for (const auto& row : result.rfm.rows) {
    const std::string score = std::to_string(row.r) + std::to_string(row.f) + std::to_string(row.m);
    tags.emplace_back(CustomerId(result.customers[row.customer]),
                      std::vector<std::pair<std::string, std::string>>{
                          {"rfm_layer", nlohmann::json(std::string(RfmLayerName(row.layer))).dump()},
                          {"rfm_headline", nlohmann::json(std::string(HeadlineLayerName(row.headline))).dump()},
                          {"rfm_score", nlohmann::json(score).dump()},
                          {"tier", nlohmann::json(std::string(TierName(row.tier))).dump()},
                          {"rfm_as_of", as_of}});
  }
  context.Report("writing tags");
  TP_RETURN_IF_ERROR(sink->Write(tags));
  result.tagged = tags.size();
  return result;
}

std::string RfmGroupsJson(const RfmResult& rfm) {
  Json j;
  Json layers = Json::array();
  for (size_t i = 0; i < kRfmLayerCount; ++i) {
    layers.push_back(GroupJson(RfmLayerName(static_cast<RfmLayer>(i)), rfm.layers[i]));
  }
  j["layers"] = layers;
  Json headlines = Json::array();
  for (size_t i = 0; i < kHeadlineLayerCount; ++i) {
    headlines.push_back(GroupJson(HeadlineLayerName(static_cast<HeadlineLayer>(i)), rfm.headlines[i]));
  }
  j["headline_layers"] = headlines;
  Json tiers = Json::array();
  for (size_t i = 0; i < kTierCount; ++i) tiers.push_back(GroupJson(TierName(static_cast<Tier>(i)), rfm.tiers[i]));
  j["tiers"] = tiers;
  return j.dump();
}

std::string RfmJobResult::ToJson() const {
  Json j;
  j["as_of"] = FormatDate(rfm.as_of);
  j["customers"] = rfm.rows.size();
  j["revenue"] = rfm.revenue;
  j["mean_scores"] = {{"r", rfm.mean_r}, {"f", rfm.mean_f}, {"m", rfm.mean_m}};
  Json groups = Json::parse(RfmGroupsJson(rfm));  // kept: iterating a temporary's items() would dangle
  for (auto& [key, value] : groups.items()) j[key] = std::move(value);
  j["tier_thresholds"] = {{"silver", params.silver}, {"gold", params.gold}};
  j["tagged"] = tagged;
  j["tags"] = {"rfm_layer", "rfm_headline", "rfm_score", "tier", "rfm_as_of"};
  return j.dump();
}

// ---- ltv ----

Result<LtvJobParams> ParseLtvJobParams(std::string_view json) {
  TP_ASSIGN_OR_RETURN(internal::ParamReader r, internal::ParamReader::Parse(json));
  LtvJobParams p;
  ReadAsOf(r, &p.options.as_of);
  r.Number("margin", &p.options.margin);
  r.Number("discount_rate", &p.options.discount_rate);
  r.Int("horizon_years", 1, 1000, &p.options.horizon_years);
  r.Number("min_tenure_days", &p.options.min_tenure_days);
  r.Number("max_retention", &p.options.max_retention);
  TP_RETURN_IF_ERROR(r.Finish());
  return p;
}

ActivityRequest LtvActivityRequest() { return RfmActivityRequest(); }

Result<LtvJobResult> RunLtvJob(const LtvJobParams& params, ActivitySource& source, TagSink& sink,
                               const JobContext& context) {
  context.Report("loading");
  TP_ASSIGN_OR_RETURN(Activity activity, source.Load(LtvActivityRequest()));
  return RunLtvJob(params, activity, &sink, context);
}

Result<LtvJobResult> RunLtvJob(const LtvJobParams& params, const Activity& activity, TagSink* sink,
                               const JobContext& context) {
  TP_RETURN_IF_ERROR(context.CheckCancelled());
  context.Report("computing");
  TP_ASSIGN_OR_RETURN(OrderBook book, LoadBook(activity, context));
  TP_ASSIGN_OR_RETURN(LtvResult ltv, ComputeLtv(book, params.options));
  LtvJobResult result{.ltv = std::move(ltv), .customers = CustomerIds(book), .params = params, .tagged = 0};
  if (sink == nullptr) return result;
  TP_RETURN_IF_ERROR(context.CheckCancelled());
  CustomerTags tags;
  tags.reserve(result.ltv.rows.size());
  for (const auto& row : result.ltv.rows) {
    tags.emplace_back(CustomerId(result.customers[row.customer]),
                      std::vector<std::pair<std::string, std::string>>{
                          {"ltv", nlohmann::json(std::round(row.ltv * 100) / 100).dump()}});
  }
  context.Report("writing tags");
  TP_RETURN_IF_ERROR(sink->Write(tags));
  result.tagged = tags.size();
  return result;
}

std::string LtvJobResult::ToJson() const {
  const LtvOptions& o = params.options;
  Json j;
  j["as_of"] = FormatDate(ltv.as_of);
  j["customers"] = ltv.rows.size();
  j["model"] = {{"window_days", ltv.window_days},
                {"cohort", ltv.cohort},
                {"retained", ltv.retained},
                {"annual_retention", ltv.annual_retention},
                {"lifetime_multiplier_years", ltv.lifetime_multiplier},
                {"margin", o.margin},
                {"discount_rate", o.discount_rate},
                {"horizon_years", o.horizon_years},
                {"min_tenure_days", o.min_tenure_days}};
  j["total_ltv"] = ltv.total_ltv;
  j["tagged"] = tagged;
  j["tags"] = {"ltv"};
  return j.dump();
}

}  // namespace touchpoint::insight

// insight/job_rfm.h — the `rfm` and `ltv` jobs: RFM layers, tiers and lifetime value over the
// stored orders of live customers (purchases only: orders with a total > 0), written onto the
// profiles as tags. Thread-compatible; see insight/jobs.h for sources, sinks and contexts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/jobs.h>
#include <touchpoint/insight/ltv.h>
#include <touchpoint/insight/orders.h>
#include <touchpoint/insight/rfm.h>

namespace touchpoint::insight {

// The purchases (total > 0) of `activity` as an order book keyed by the decimal customer id,
// in store order. Needs orders and order ids.
OrderBook PurchaseBook(const Activity& activity);

// ---- rfm ----

struct RfmJobParams {
  Millis as_of = 0;  // 0 = the day after the newest purchase
  double silver = 5000;
  double gold = 20000;
};

// {"as_of": "2026-11-01" (any insight::ParseOrderDate form), "silver": 5000, "gold": 20000}.
Result<RfmJobParams> ParseRfmJobParams(std::string_view json);

// {"layers":[…],"headline_layers":[…],"tiers":[…]}: each group's name, customers, customer share,
// revenue and revenue share, in enum order. The RFM job's result and `segment rfm --orders` both
// show them.
std::string RfmGroupsJson(const RfmResult& rfm);

struct RfmJobResult {
  RfmResult rfm;                        // rows index `customers` through RfmRow::customer
  std::vector<std::int64_t> customers;  // book index → customer id
  RfmJobParams params;
  size_t tagged = 0;
  // {"as_of","customers","revenue","mean_scores","layers","headline_layers","tiers",
  //  "tier_thresholds","tagged","tags"}
  std::string ToJson() const;
};

// Tags rfm_layer, rfm_headline, rfm_score ("555"), tier, rfm_as_of. kInvalidArgument
// "SOURCE: no orders ingested yet" without purchases, or ComputeRfm's errors.
ActivityRequest RfmActivityRequest();
Result<RfmJobResult> RunRfmJob(const RfmJobParams& params, ActivitySource& source, TagSink& sink,
                               const JobContext& context);
// The same over activity already loaded; with `sink` null nothing is written (tagged = 0).
Result<RfmJobResult> RunRfmJob(const RfmJobParams& params, const Activity& activity, TagSink* sink,
                               const JobContext& context);

// ---- ltv ----

struct LtvJobParams {
  LtvOptions options;  // as_of 0 = the day after the newest purchase
};

// {"as_of", "margin": 1, "discount_rate": 0.1, "horizon_years": 10, "min_tenure_days": 365,
//  "max_retention": 0.95}
Result<LtvJobParams> ParseLtvJobParams(std::string_view json);

struct LtvJobResult {
  LtvResult ltv;
  std::vector<std::int64_t> customers;  // book index → customer id
  LtvJobParams params;
  size_t tagged = 0;
  // {"as_of","customers","model":{…},"total_ltv","tagged","tags"}
  std::string ToJson() const;
};

// Tags ltv (rounded to cents). kInvalidArgument "SOURCE: no orders ingested yet" without
// purchases, or ComputeLtv's errors.
ActivityRequest LtvActivityRequest();
Result<LtvJobResult> RunLtvJob(const LtvJobParams& params, ActivitySource& source, TagSink& sink,
                               const JobContext& context);
Result<LtvJobResult> RunLtvJob(const LtvJobParams& params, const Activity& activity, TagSink* sink,
                               const JobContext& context);

}  // namespace touchpoint::insight

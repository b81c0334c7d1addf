// insight/ltv.h — customer lifetime value from order lines, with a simple documented model.
//
// Model (all over lines before as_of):
//   retention window W = min(365 days, half the observed span from the first line to as_of)
//   cohort   = customers with a line in [as_of - 2W, as_of - W)
//   retained = cohort customers with a line in [as_of - W, as_of)
//   annual retention r = (retained / cohort) ^ (365 / W), clamped to [0, max_retention]
//   purchase rate (orders / year) = frequency / max(tenure, min_tenure_days) * 365, where
//     tenure = as_of - first line of the customer
//   average order value (AOV) = monetary / frequency
//   LTV = margin * AOV * rate * sum_{t=0}^{T-1} (r / (1 + discount_rate))^t, T = horizon_years
// The sum is the expected number of future years the customer is still active (discounted);
// without discounting and with an infinite horizon it is 1 / (1 - r).
//
// Pure functions; thread-compatible.
#pragma once

#include <cstdint>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/orders.h>

namespace touchpoint::insight {

struct LtvOptions {
  Millis as_of = 0;              // 0 = the day after the newest line
  double margin = 1.0;           // gross margin applied to revenue, (0, 1]
  double discount_rate = 0.10;   // annual, >= 0
  int horizon_years = 10;        // >= 1
  double min_tenure_days = 365;  // floor on tenure for the purchase rate, > 0
  double max_retention = 0.95;   // cap on the annual retention estimate
};

struct LtvRow {
  std::uint32_t customer = 0;
  std::int64_t frequency = 0;  // distinct orders
  double monetary = 0;
  double aov = 0;
  double orders_per_year = 0;
  double ltv = 0;
};

struct LtvResult {
  Millis as_of = 0;
  double window_days = 0;
  std::int64_t cohort = 0;
  std::int64_t retained = 0;
  double annual_retention = 0;
  double lifetime_multiplier = 0;  // the discounted sum above, in years
  std::vector<LtvRow> rows;        // customer-id order
  double total_ltv = 0;
};

// Fails with kInvalidArgument for out-of-range options or when no line falls before as_of.
Result<LtvResult> ComputeLtv(const OrderBook& book, const LtvOptions& options);

}  // namespace touchpoint::insight

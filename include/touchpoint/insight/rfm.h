// insight/rfm.h — RFM scoring, the eight standard RFM layers, the three headline layers and
// membership tiers by annual spend, over an OrderBook.
//
// Definitions (as_of = the start of the reference day; lines at or after it are ignored):
//   recency_days = days(as_of) - days(last order)          (a purchase yesterday = 1)
//   frequency    = distinct orders
//   monetary     = sum of line amounts
//   r, f, m      = quintile scores 1..5 (ml::QuantileScores: 1 + floor(5 * L / n), L = number
//                  of customers strictly worse; equal values share a score). For r, lower
//                  recency is better.
//   high / low   = a score strictly above / not above the mean of that score over customers.
// Eight layers (R F M):  H H H important-value · H L H important-develop · L H H
//   important-retain · L L H important-win-back · H H L potential · H L L new ·
//   L H L general-keep · L L L churn-warning.
// Headline layers: important-value = R high and M high; potential = R high and M low;
//   churn-warning = R low.
// Tier by annual spend (amount in the 365 days before as_of): gold >= gold_threshold,
//   silver >= silver_threshold, else normal.
//
// Pure functions; thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/orders.h>

namespace touchpoint::insight {

enum class RfmLayer {
  kImportantValue = 0,
  kImportantDevelop,
  kImportantRetain,
  kImportantWinBack,
  kPotential,
  kNew,
  kGeneralKeep,
  kChurnWarning,
};
inline constexpr size_t kRfmLayerCount = 8;

enum class HeadlineLayer { kImportantValue = 0, kPotential, kChurnWarning };
inline constexpr size_t kHeadlineLayerCount = 3;

enum class Tier { kNormal = 0, kSilver, kGold };
inline constexpr size_t kTierCount = 3;

// "important-value", "important-develop", ..., "churn-warning".
std::string_view RfmLayerName(RfmLayer layer);
std::string_view HeadlineLayerName(HeadlineLayer layer);
// "normal", "silver", "gold".
std::string_view TierName(Tier tier);

struct RfmOptions {
  Millis as_of = 0;  // 0 = the day after the newest order date
  double silver_threshold = 5000;
  double gold_threshold = 20000;
};

struct RfmRow {
  std::uint32_t customer = 0;  // index into OrderBook::customers
  std::int64_t recency_days = 0;
  std::int64_t frequency = 0;
  double monetary = 0;
  int r = 0, f = 0, m = 0;
  RfmLayer layer = RfmLayer::kChurnWarning;
  HeadlineLayer headline = HeadlineLayer::kChurnWarning;
  double annual_spend = 0;
  Tier tier = Tier::kNormal;
};

struct GroupSummary {
  std::int64_t customers = 0;
  double revenue = 0;
  double customer_share = 0;  // of all customers
  double revenue_share = 0;   // of all revenue (monetary)
};

struct RfmResult {
  Millis as_of = 0;
  std::vector<RfmRow> rows;  // one per customer with a line before as_of, in customer-id order
  double mean_r = 0, mean_f = 0, mean_m = 0;
  std::array<GroupSummary, kRfmLayerCount> layers{};
  std::array<GroupSummary, kHeadlineLayerCount> headlines{};
  std::array<GroupSummary, kTierCount> tiers{};
  double revenue = 0;
};

// Computes RFM rows and summaries. Fails with kInvalidArgument when no order line falls
// before as_of, or the tier thresholds are not 0 <= silver <= gold.
Result<RfmResult> ComputeRfm(const OrderBook& book, const RfmOptions& options);

// The default as_of: midnight UTC of the day after the newest line. REQUIRES: lines not empty.
Millis DefaultAsOf(const OrderBook& book);

}  // namespace touchpoint::insight

#include <touchpoint/insight/ltv.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include <touchpoint/insight/rfm.h>

namespace touchpoint::insight {

Result<LtvResult> ComputeLtv(const OrderBook& book, const LtvOptions& options) {
  if (!(options.margin > 0 && options.margin <= 1)) {
    return Status::InvalidArgument("margin must be in (0, 1]");
  }
  if (!(options.discount_rate >= 0) || options.horizon_years < 1 ||
      !(options.min_tenure_days > 0) ||
      !(options.max_retention >= 0 && options.max_retention <= 1)) {
    return Status::InvalidArgument(
        "need discount-rate >= 0, horizon >= 1 year, min-tenure > 0, max-retention in [0, 1]");
  }
  if (book.lines.empty()) return Status::InvalidArgument("no order lines");
  LtvResult result;
  result.as_of = options.as_of != 0 ? options.as_of : DefaultAsOf(book);
  const size_t nc = book.customers.size();
  std::vector<Millis> first(nc, std::numeric_limits<Millis>::max());
  Millis oldest = std::numeric_limits<Millis>::max();
  for (const auto& l : book.lines) {
    if (l.time >= result.as_of) continue;
    first[l.customer] = std::min(first[l.customer], l.time);
    oldest = std::min(oldest, l.time);
  }
  if (oldest == std::numeric_limits<Millis>::max()) {
    return Status::InvalidArgument("no order line falls before the as-of date " +
                                   FormatDate(result.as_of));
  }
  const double span_days =
      static_cast<double>(result.as_of - oldest) / static_cast<double>(kMillisPerDay);
  result.window_days = std::max(1.0, std::min(365.0, std::floor(span_days / 2)));
  const Millis w = static_cast<Millis>(result.window_days) * kMillisPerDay;
  std::vector<std::uint8_t> in_cohort(nc, 0), in_recent(nc, 0);
  std::vector<std::int64_t> freq(nc, 0);
  std::vector<double> money(nc, 0);
  constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
  std::vector<std::uint32_t> owner(book.num_orders, kNone);
  std::vector<std::uint64_t> shared;
  for (const auto& l : book.lines) {
    if (l.time >= result.as_of) continue;
    if (l.time >= result.as_of - 2 * w && l.time < result.as_of - w) in_cohort[l.customer] = 1;
    if (l.time >= result.as_of - w) in_recent[l.customer] = 1;
    money[l.customer] += l.amount;
    std::uint32_t& o = owner[l.order];
    if (o == kNone) {
      o = l.customer;
      ++freq[l.customer];
    } else if (o != l.customer) {
      shared.push_back((static_cast<std::uint64_t>(l.customer) << 32) | l.order);
    }
  }
  std::sort(shared.begin(), shared.end());
  shared.erase(std::unique(shared.begin(), shared.end()), shared.end());
  for (std::uint64_t key : shared) ++freq[key >> 32];
  for (size_t c = 0; c < nc; ++c) {
    result.cohort += in_cohort[c];
    result.retained += in_cohort[c] & in_recent[c];
  }
  double r_window = result.cohort > 0 ? static_cast<double>(result.retained) /
                                            static_cast<double>(result.cohort)
                                      : 0.0;
  result.annual_retention =
      std::min(options.max_retention, std::pow(r_window, 365.0 / result.window_days));
  const double q = result.annual_retention / (1.0 + options.discount_rate);
  double term = 1.0;
  for (int t = 0; t < options.horizon_years; ++t) {
    result.lifetime_multiplier += term;
    term *= q;
  }
  for (std::uint32_t c = 0; c < nc; ++c) {
    if (freq[c] == 0) continue;
    LtvRow row;
    row.customer = c;
    row.frequency = freq[c];
    row.monetary = money[c];
    row.aov = money[c] / static_cast<double>(freq[c]);
    const double tenure_days = std::max(
        options.min_tenure_days,
        static_cast<double>(result.as_of - first[c]) / static_cast<double>(kMillisPerDay));
    row.orders_per_year = static_cast<double>(freq[c]) / tenure_days * 365.0;
    row.ltv = options.margin * row.aov * row.orders_per_year * result.lifetime_multiplier;
    result.total_ltv += row.ltv;
    result.rows.push_back(row);
  }
  return result;
}

}  // namespace touchpoint::insight

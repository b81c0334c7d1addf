#include <touchpoint/insight/rfm.h>

#include <algorithm>
#include <limits>

#include <touchpoint/ml/stats.h>

namespace touchpoint::insight {
namespace {

std::int64_t DayOf(Millis t) {
  return t >= 0 ? t / kMillisPerDay : -((-t + kMillisPerDay - 1) / kMillisPerDay);
}

void Finalize(std::span<GroupSummary> groups, std::int64_t customers, double revenue) {
  for (auto& g : groups) {
    g.customer_share = customers > 0 ? static_cast<double>(g.customers) / static_cast<double>(customers) : 0;
    g.revenue_share = revenue > 0 ? g.revenue / revenue : 0;
  }
}

}  // namespace

std::string_view RfmLayerName(RfmLayer layer) {
  static constexpr std::string_view kNames[] = {
      "important-value", "important-develop", "important-retain", "important-win-back",
      "potential",       "new",               "general-keep",     "churn-warning"};
  return kNames[static_cast<size_t>(layer)];
}

std::string_view HeadlineLayerName(HeadlineLayer layer) {
  static constexpr std::string_view kNames[] = {"important-value", "potential", "churn-warning"};
  return kNames[static_cast<size_t>(layer)];
}

std::string_view TierName(Tier tier) {
  static constexpr std::string_view kNames[] = {"normal", "silver", "gold"};
  return kNames[static_cast<size_t>(tier)];
}

Millis DefaultAsOf(const OrderBook& book) {
  Millis newest = std::numeric_limits<Millis>::min();
  for (const auto& l : book.lines) newest = std::max(newest, l.time);
  return (DayOf(newest) + 1) * kMillisPerDay;
}

Result<RfmResult> ComputeRfm(const OrderBook& book, const RfmOptions& options) {
  if (!(options.silver_threshold >= 0 && options.silver_threshold <= options.gold_threshold)) {
    return Status::InvalidArgument("tier thresholds must satisfy 0 <= silver <= gold");
  }
  if (book.lines.empty()) return Status::InvalidArgument("no order lines");
  RfmResult result;
  result.as_of = options.as_of != 0 ? options.as_of : DefaultAsOf(book);
  const std::int64_t as_of_day = DayOf(result.as_of);
  const Millis year_start = result.as_of - 365 * kMillisPerDay;

  const size_t nc = book.customers.size();
  std::vector<Millis> last(nc, std::numeric_limits<Millis>::min());
  std::vector<std::int64_t> freq(nc, 0);
  std::vector<double> money(nc, 0.0), annual(nc, 0.0);
  // Distinct (customer, order) pairs: an order normally belongs to one customer, so remember
  // its first owner and count; the rare order shared by several customers uses a side list.
  constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
  std::vector<std::uint32_t> owner(book.num_orders, kNone);
  std::vector<std::uint64_t> shared;
  for (const auto& l : book.lines) {
    if (l.time >= result.as_of) continue;
    last[l.customer] = std::max(last[l.customer], l.time);
    money[l.customer] += l.amount;
    if (l.time >= year_start) annual[l.customer] += l.amount;
    std::uint32_t& o = owner[l.order];
    if (o == kNone) {
      o = l.customer;
      ++freq[l.customer];
    } else if (o != l.customer) {
      shared.push_back((static_cast<std::uint64_t>(l.customer) << 32) | l.order);
    }
  }
  if (!shared.empty()) {
    std::sort(shared.begin(), shared.end());
    shared.erase(std::unique(shared.begin(), shared.end()), shared.end());
    for (std::uint64_t key : shared) ++freq[key >> 32];
  }

  std::vector<double> rv, fv, mv;
  result.rows.reserve(nc);
  for (std::uint32_t c = 0; c < nc; ++c) {
    if (freq[c] == 0) continue;
    RfmRow row;
    row.customer = c;
    row.recency_days = as_of_day - DayOf(last[c]);
    row.frequency = freq[c];
    row.monetary = money[c];
    row.annual_spend = annual[c];
    result.rows.push_back(row);
    rv.push_back(-static_cast<double>(row.recency_days));  // more recent scores higher
    fv.push_back(static_cast<double>(row.frequency));
    mv.push_back(row.monetary);
  }
  if (result.rows.empty()) {
    return Status::InvalidArgument("no order line falls before the as-of date " +
                                   FormatDate(result.as_of));
  }
  const auto r = ml::QuantileScores(rv, 5);
  const auto f = ml::QuantileScores(fv, 5);
  const auto m = ml::QuantileScores(mv, 5);
  const size_t n = result.rows.size();
  double sr = 0, sf = 0, sm = 0;
  for (size_t i = 0; i < n; ++i) {
    result.rows[i].r = r[i];
    result.rows[i].f = f[i];
    result.rows[i].m = m[i];
    sr += r[i];
    sf += f[i];
    sm += m[i];
  }
  result.mean_r = sr / static_cast<double>(n);
  result.mean_f = sf / static_cast<double>(n);
  result.mean_m = sm / static_cast<double>(n);
  for (auto& row : result.rows) {
    const bool hr = row.r > result.mean_r, hf = row.f > result.mean_f, hm = row.m > result.mean_m;
    // Index bits: R low adds 2, F low adds 1, M low adds 4 → matches the enum order.
    static constexpr RfmLayer kTable[8] = {
        RfmLayer::kImportantValue,  RfmLayer::kImportantDevelop, RfmLayer::kImportantRetain,
        RfmLayer::kImportantWinBack, RfmLayer::kPotential,       RfmLayer::kNew,
        RfmLayer::kGeneralKeep,     RfmLayer::kChurnWarning};
    row.layer = kTable[(hr ? 0 : 2) + (hf ? 0 : 1) + (hm ? 0 : 4)];
    row.headline = !hr ? HeadlineLayer::kChurnWarning
                       : (hm ? HeadlineLayer::kImportantValue : HeadlineLayer::kPotential);
    row.tier = row.annual_spend >= options.gold_threshold     ? Tier::kGold
               : row.annual_spend >= options.silver_threshold ? Tier::kSilver
                                                              : Tier::kNormal;
    auto add = [&](GroupSummary& g) {
      ++g.customers;
      g.revenue += row.monetary;
    };
    add(result.layers[static_cast<size_t>(row.layer)]);
    add(result.headlines[static_cast<size_t>(row.headline)]);
    add(result.tiers[static_cast<size_t>(row.tier)]);
    result.revenue += row.monetary;
  }
  const auto customers = static_cast<std::int64_t>(n);
  Finalize(result.layers, customers, result.revenue);
  Finalize(result.headlines, customers, result.revenue);
  Finalize(result.tiers, customers, result.revenue);
  return result;
}

}  // namespace touchpoint::insight

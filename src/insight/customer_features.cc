#include <touchpoint/insight/customer_features.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

#include <touchpoint/profile/features.h>

namespace touchpoint::insight {
namespace {

size_t IndexOf(const std::vector<std::int64_t>& sorted, std::int64_t id) {
  return static_cast<size_t>(std::lower_bound(sorted.begin(), sorted.end(), id) - sorted.begin());
}

void AddDistinct(std::vector<std::string>& basket, std::string_view prefix, const std::string& name) {
  std::string item(prefix);
  item += name;
  if (std::find(basket.begin(), basket.end(), item) == basket.end()) basket.push_back(std::move(item));
}

}  // namespace

const std::vector<std::string>& CustomerFeatureNames() {
  static const std::vector<std::string> kNames = {
      "recency_days", "tenure_days", "frequency",    "monetary",       "avg_order_value",
      "orders_90d",   "contacts",    "contacts_90d", "negative_share", "avg_sentiment"};
  return kNames;
}

// The rules are profile/features.h's (the profile computes the same names from its accumulators):
// only the imputations of null differ, as the header says.
CustomerFeatureTable BuildCustomerFeatures(const std::vector<ActivityOrder>& orders,
                                           const std::vector<ActivityMessage>& messages,
                                           Millis cutoff, const std::vector<ActivitySeen>& seen) {
  CustomerFeatureTable t;
  t.as_of = cutoff;
  const Millis as_of = profile::AsOfBefore(cutoff);  // activity strictly before the cut-off
  for (const auto& o : orders) {
    if (o.at <= as_of) t.customers.push_back(o.customer);
  }
  for (const auto& m : messages) {
    if (m.at <= as_of && m.from_customer) t.customers.push_back(m.customer);
  }
  for (const auto& s : seen) {
    if (s.first_seen <= as_of) t.customers.push_back(s.customer);
  }
  std::sort(t.customers.begin(), t.customers.end());
  t.customers.erase(std::unique(t.customers.begin(), t.customers.end()), t.customers.end());
  const size_t n = t.customers.size();
  t.values = ml::Matrix(n, kCustomerFeatureCount);
  struct Sums {
    Millis first = std::numeric_limits<Millis>::max();  // first activity
    Millis last_purchase = 0;
    bool purchased = false;
    std::int64_t purchases = 0;
    double purchase_sum = 0;
    std::int64_t contacts = 0;
    std::int64_t with_sentiment = 0;  // contacts that carry a sentiment
    std::int64_t negative = 0;
    double sentiment_sum = 0;
  };
  std::vector<Sums> sums(n);
  for (const auto& o : orders) {
    if (o.at > as_of) continue;
    const size_t i = IndexOf(t.customers, o.customer);
    Sums& c = sums[i];
    c.first = std::min(c.first, o.at);
    if (!profile::IsPurchase(o.total)) continue;  // activity, not a purchase
    ++c.purchases;
    c.purchase_sum += o.total;
    if (profile::InWindow(o.at, as_of, 90)) t.values.row(i)[kOrders90d] += 1;
    if (!c.purchased || o.at > c.last_purchase) c.last_purchase = o.at;
    c.purchased = true;
  }
  for (const auto& m : messages) {
    if (m.at > as_of || !m.from_customer) continue;
    const size_t i = IndexOf(t.customers, m.customer);
    Sums& c = sums[i];
    c.first = std::min(c.first, m.at);
    ++c.contacts;
    if (profile::InWindow(m.at, as_of, 90)) t.values.row(i)[kContacts90d] += 1;
    if (profile::HasSentiment(m.sentiment_label)) {
      ++c.with_sentiment;
      c.sentiment_sum += m.sentiment_score;
      if (profile::IsNegativeSentiment(m.sentiment_label)) ++c.negative;
    }
  }
  for (const auto& s : seen) {
    if (s.first_seen > as_of) continue;
    Sums& c = sums[IndexOf(t.customers, s.customer)];
    c.first = std::min(c.first, s.first_seen);
  }
  for (size_t i = 0; i < n; ++i) {
    const Sums& c = sums[i];
    double* row = t.values.row(i);
    const std::int64_t tenure = profile::WholeDaysSince(c.first, as_of);
    row[kTenureDays] = static_cast<double>(tenure);
    // Imputations (the profile shows null): recency without a purchase = tenure; means without
    // samples = 0.
    row[kRecencyDays] = static_cast<double>(c.purchased ? profile::WholeDaysSince(c.last_purchase, as_of) : tenure);
    row[kFrequency] = static_cast<double>(c.purchases);
    row[kMonetary] = profile::Round2(c.purchase_sum);
    row[kAvgOrderValue] = profile::Mean2(c.purchase_sum, c.purchases).value_or(0.0);
    row[kContacts] = static_cast<double>(c.contacts);
    row[kNegativeShare] = profile::Mean2(static_cast<double>(c.negative), c.with_sentiment).value_or(0.0);
    row[kAvgSentiment] = profile::Mean2(c.sentiment_sum, c.with_sentiment).value_or(0.0);
  }
  return t;
}

ml::RawTable CustomerFeatureRawTable(const CustomerFeatureTable& table, const std::vector<int>* labels,
                                     std::string source) {
  ml::RawTable raw;
  raw.source = std::move(source);
  raw.columns.emplace_back(kCustomerIdColumn);
  for (const auto& name : CustomerFeatureNames()) raw.columns.push_back(name);
  if (labels != nullptr) raw.columns.emplace_back(kChurnedColumn);
  raw.rows.reserve(table.customers.size());
  char buf[32];
  for (size_t i = 0; i < table.customers.size(); ++i) {
    std::vector<std::string> row;
    row.reserve(raw.columns.size());
    row.push_back(std::to_string(table.customers[i]));
    for (size_t c = 0; c < table.values.cols; ++c) {
      const double v = std::round(table.values.at(i, c) * 1e4) / 1e4;
      auto res = std::to_chars(buf, buf + sizeof buf, v == 0 ? 0.0 : v);  // no "-0"
      row.emplace_back(buf, res.ptr);
    }
    if (labels != nullptr) row.emplace_back((*labels)[i] != 0 ? "1" : "0");
    raw.rows.push_back(std::move(row));
    raw.lines.push_back(static_cast<std::int64_t>(i) + 1);
  }
  return raw;
}

std::vector<int> NoPurchaseLabels(const std::vector<std::int64_t>& customers,
                                  const std::vector<ActivityOrder>& orders, Millis cutoff, Millis window) {
  std::vector<std::int64_t> bought;
  for (const auto& o : orders) {
    if (profile::IsPurchase(o.total) && o.at >= cutoff && o.at - cutoff < window) bought.push_back(o.customer);
  }
  std::sort(bought.begin(), bought.end());
  std::vector<int> labels(customers.size());
  for (size_t i = 0; i < customers.size(); ++i) {
    labels[i] = std::binary_search(bought.begin(), bought.end(), customers[i]) ? 0 : 1;
  }
  return labels;
}

std::vector<SeriesPoint> HourlyContactVolume(const std::vector<ActivityMessage>& messages, Millis since) {
  std::vector<Millis> hours;
  for (const auto& m : messages) {
    if (!m.from_customer || m.at < since) continue;
    Millis h = m.at / kMillisPerHour;
    if (m.at % kMillisPerHour < 0) --h;  // floor for times before 1970
    hours.push_back(h);
  }
  std::vector<SeriesPoint> series;
  if (hours.empty()) return series;
  std::sort(hours.begin(), hours.end());
  const Millis lo = hours.front(), hi = hours.back();
  series.resize(static_cast<size_t>(hi - lo + 1));
  for (size_t i = 0; i < series.size(); ++i) series[i].time = (lo + static_cast<Millis>(i)) * kMillisPerHour;
  for (Millis h : hours) series[static_cast<size_t>(h - lo)].value += 1;
  return series;
}

std::vector<std::vector<std::string>> CategoryIntentBaskets(const std::vector<ActivityOrder>& orders,
                                                            const std::vector<ActivityMessage>& messages,
                                                            Millis window) {
  // Contacts with an intent, per customer, in time order.
  std::unordered_map<std::int64_t, std::vector<const ActivityMessage*>> contacts;
  for (const auto& m : messages) {
    if (!m.from_customer || m.intent.empty() || m.intent == "other") continue;
    contacts[m.customer].push_back(&m);
  }
  for (auto& [customer, list] : contacts) {
    std::stable_sort(list.begin(), list.end(),
                     [](const ActivityMessage* a, const ActivityMessage* b) { return a->at < b->at; });
  }
  std::vector<std::vector<std::string>> baskets;
  for (const auto& o : orders) {
    if (!profile::IsPurchase(o.total) || o.categories.empty()) continue;
    std::vector<std::string> basket;
    for (const auto& c : o.categories) {
      if (!c.empty()) AddDistinct(basket, kCategoryItemPrefix, c);
    }
    if (basket.empty()) continue;
    auto it = contacts.find(o.customer);
    if (it != contacts.end()) {
      const auto& list = it->second;
      auto first = std::upper_bound(list.begin(), list.end(), o.at,
                                    [](Millis t, const ActivityMessage* m) { return t < m->at; });
      for (auto m = first; m != list.end() && (*m)->at - o.at <= window; ++m) {
        AddDistinct(basket, kIntentItemPrefix, (*m)->intent);
      }
    }
    baskets.push_back(std::move(basket));
  }
  return baskets;
}

bool IsCategoryToIntentRule(const std::vector<std::string_view>& lhs, std::string_view rhs) {
  if (!rhs.starts_with(kIntentItemPrefix) || lhs.empty()) return false;
  return std::all_of(lhs.begin(), lhs.end(), [](std::string_view s) { return s.starts_with(kCategoryItemPrefix); });
}

std::vector<std::vector<std::string>> ProductBaskets(const std::vector<ActivityOrder>& orders) {
  std::vector<std::vector<std::string>> baskets;
  for (const auto& o : orders) {
    if (!profile::IsPurchase(o.total)) continue;
    std::vector<std::string> basket;
    for (const auto& p : o.products) {
      if (!p.empty() && std::find(basket.begin(), basket.end(), p) == basket.end()) basket.push_back(p);
    }
    if (!basket.empty()) baskets.push_back(std::move(basket));
  }
  return baskets;
}

}  // namespace touchpoint::insight

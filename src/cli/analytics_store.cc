#include "cli/analytics_store.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>
#include <touchpoint/insight/drivers.h>
#include <touchpoint/insight/ltv.h>
#include <touchpoint/insight/orders.h>
#include <touchpoint/insight/rfm.h>
#include <touchpoint/ml/association.h>

#include "cli/cli_util.h"
#include "cli/data_access.h"
#include "cli/rule_json.h"
#include "cli/segment_json.h"
#include "cli/engine_options.h"

namespace touchpoint::cli {

using Tags = std::vector<std::pair<CustomerId, std::vector<std::pair<std::string, std::string>>>>;

bool IsDirectory(const std::string& path) {
  std::error_code ec;
  return !path.empty() && std::filesystem::is_directory(path, ec);
}

Status RequireDataDir(const std::string& path) {
  if (IsDirectory(path)) return Status::Ok();
  return Status::NotFound(path + ": no data directory here (ingest first, or give --data)");
}

Result<StoreActivity> LoadActivity(pipeline::Engine& engine, bool with_items, bool with_messages) {
  StoreActivity a;
  a.newest_event = engine.newest_event_at();
  TP_ASSIGN_OR_RETURN(auto orders, engine.Orders(with_items));
  a.orders.reserve(orders.size());
  for (auto& o : orders) {
    insight::ActivityOrder row{.customer = o.customer.value(), .at = o.at, .total = o.total, .categories = {}, .products = {}};
    for (auto& item : o.items) {
      row.categories.push_back(std::move(item.category));
      row.products.push_back(std::move(item.product_id));
    }
    a.orders.push_back(std::move(row));
  }
  for (const auto& c : engine.Customers()) a.seen.push_back({.customer = c.customer.value(), .first_seen = c.first_seen});
  if (with_messages) {
    TP_ASSIGN_OR_RETURN(auto messages, engine.Messages());
    a.messages.reserve(messages.size());
    for (auto& m : messages) {
      a.messages.push_back({.customer = m.customer.value(), .at = m.at,
                            .from_customer = m.inbound && m.author == "customer", .intent = std::move(m.intent),
                            .sentiment_label = std::move(m.sentiment_label), .sentiment_score = m.sentiment_score});
    }
  }
  return a;
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

int RunRfmOverStore(const std::string& data_dir, Millis as_of, double silver, double gold, const std::string& out) {
  pipeline::EngineOptions options = MakeEngineOptions(5, false);
  auto dir = OpenForWriting(data_dir, std::move(options), "touchpoint segment rfm");
  if (!dir.ok()) return Fail(Status::Unavailable(dir.status().message()));
  pipeline::Engine& engine = *(*dir)->engine;
  auto orders = engine.Orders();
  if (!orders.ok()) return Fail(orders.status());
  insight::OrderBookBuilder builder;
  builder.Reserve(orders->size());
  for (const auto& o : *orders) {
    if (o.total <= 0) continue;  // refunds and free orders carry no monetary value
    builder.Add(std::to_string(o.customer.value()), o.order_id, o.at, o.total);
  }
  insight::OrderBook book = builder.Finish();
  if (book.lines.empty()) return Fail(Status::InvalidArgument(data_dir + ": no orders ingested yet"));
  insight::RfmOptions ro;
  ro.as_of = as_of;
  ro.silver_threshold = silver;
  ro.gold_threshold = gold;
  auto rfm = insight::ComputeRfm(book, ro);
  if (!rfm.ok()) return Fail(rfm.status());
  insight::LtvOptions lo;
  lo.as_of = rfm->as_of;
  auto ltv = insight::ComputeLtv(book, lo);
  std::vector<double> ltv_of(book.customers.size(), -1);
  if (ltv.ok()) {
    for (const auto& row : ltv->rows) ltv_of[row.customer] = row.ltv;
  }
  std::vector<std::pair<CustomerId, std::vector<std::pair<std::string, std::string>>>> tags;
  std::string csv = "customer,recency_days,frequency,monetary,r,f,m,layer,headline,tier,ltv\n";
  char buf[256];
  for (const auto& row : rfm->rows) {
    const std::string& key = book.customers[row.customer];
    const std::string score = std::to_string(row.r) + std::to_string(row.f) + std::to_string(row.m);
    std::vector<std::pair<std::string, std::string>> t = {
        {"rfm_layer", nlohmann::json(std::string(insight::RfmLayerName(row.layer))).dump()},
        {"rfm_headline", nlohmann::json(std::string(insight::HeadlineLayerName(row.headline))).dump()},
        {"rfm_score", nlohmann::json(score).dump()},
        {"tier", nlohmann::json(std::string(insight::TierName(row.tier))).dump()},
        {"rfm_as_of", nlohmann::json(FormatDate(rfm->as_of)).dump()}};
    if (ltv_of[row.customer] >= 0) t.emplace_back("ltv", nlohmann::json(std::round(ltv_of[row.customer] * 100) / 100).dump());
    tags.emplace_back(CustomerId(std::stoll(key)), std::move(t));
    std::snprintf(buf, sizeof buf, "%s,%lld,%lld,%.2f,%d,%d,%d,", key.c_str(), static_cast<long long>(row.recency_days),
                  static_cast<long long>(row.frequency), row.monetary, row.r, row.f, row.m);
    csv += buf;
    csv += insight::RfmLayerName(row.layer);
    csv += ',';
    csv += insight::HeadlineLayerName(row.headline);
    csv += ',';
    csv += insight::TierName(row.tier);
    std::snprintf(buf, sizeof buf, ",%.2f\n", ltv_of[row.customer] >= 0 ? ltv_of[row.customer] : 0.0);
    csv += buf;
  }
  Status s = engine.SetTags(tags);
  if (!s.ok()) return Fail(s);
  if (out.empty() || out == "-") {
    std::fwrite(csv.data(), 1, csv.size(), stdout);
  } else {
    std::ofstream f(out, std::ios::binary | std::ios::trunc);
    f << csv;
    if (!f) return Fail(Status::Unavailable("cannot write " + out));
  }
  nlohmann::json summary = {{"customers", rfm->rows.size()}, {"as_of", FormatDate(rfm->as_of)},
                            {"tagged", tags.size()}, {"tags", {"rfm_layer", "rfm_headline", "rfm_score", "tier", "ltv"}}};
  std::cerr << summary.dump() << "\n";
  return kExitOk;
}

namespace {

const std::vector<std::string>& DefaultStoreFeatures() {
  static const std::vector<std::string> kFeatures = {"recency_days", "frequency", "monetary", "avg_order_value",
                                                     "contacts",     "negative_share", "avg_sentiment"};
  return kFeatures;
}

bool SkewedByDefault(const std::string& f) {
  return f == "recency_days" || f == "tenure_days" || f == "frequency" || f == "monetary" || f == "avg_order_value" ||
         f == "orders_90d" || f == "contacts" || f == "contacts_90d";
}

}  // namespace

int RunKMeansOverStore(const KMeansStoreArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string>& all = insight::CustomerFeatureNames();
  const std::vector<std::string> features = a.features.empty() ? DefaultStoreFeatures() : a.features;
  std::vector<size_t> columns;
  for (const auto& f : features) {
    auto it = std::find(all.begin(), all.end(), f);
    if (it == all.end()) {
      std::string names;
      for (const auto& n : all) names += (names.empty() ? "" : ", ") + n;
      return FailFile(Status::InvalidArgument("--features: '" + f + "' is not a store feature (" + names + ")"));
    }
    columns.push_back(static_cast<size_t>(it - all.begin()));
  }
  insight::SegmentOptions opt;
  opt.k = a.k;
  opt.k_max = a.k_max;
  opt.kmeans.seed = a.seed;
  opt.kmeans.restarts = a.restarts;
  std::vector<std::string> log_features;
  for (const auto& f : features) {
    const bool log = a.log_features_given ? std::find(a.log_features.begin(), a.log_features.end(), f) != a.log_features.end()
                                          : SkewedByDefault(f);
    opt.log1p.push_back(log);
    if (log) log_features.push_back(f);
  }
  for (const auto& lf : a.log_features) {
    if (std::find(features.begin(), features.end(), lf) == features.end()) {
      return FailFile(Status::InvalidArgument("--log-features: '" + lf + "' is not one of the features"));
    }
  }

  auto dir = OpenForWriting(a.data_dir, MakeEngineOptions(5, false), "touchpoint segment kmeans");
  if (!dir.ok()) return Fail(Status::Unavailable(dir.status().message()));
  pipeline::Engine& engine = *(*dir)->engine;
  auto activity = LoadActivity(engine, false, true);
  if (!activity.ok()) return Fail(activity.status());
  const insight::CustomerFeatureTable ft =
      insight::BuildCustomerFeatures(activity->orders, activity->messages, activity->newest_event + 1, activity->seen);
  if (ft.customers.empty()) {
    return FailFile(Status::InvalidArgument(a.data_dir + ": no customers ingested yet"));
  }
  insight::NumericTable table;
  table.columns = features;
  table.values = ml::Matrix(ft.customers.size(), features.size());
  table.ids.reserve(ft.customers.size());
  for (size_t i = 0; i < ft.customers.size(); ++i) {
    table.ids.push_back(std::to_string(ft.customers[i]));
    for (size_t c = 0; c < columns.size(); ++c) table.values.at(i, c) = ft.values.at(i, columns[c]);
  }
  if (opt.k > 0 && static_cast<size_t>(opt.k) > table.values.rows) {
    return FailFile(Status::InvalidArgument(a.data_dir + ": k = " + std::to_string(opt.k) + " is larger than the " +
                                            std::to_string(table.values.rows) + " customers"));
  }
  auto seg = insight::SegmentTable(table, opt);
  if (!seg.ok()) return FailFile(Status::InvalidArgument(a.data_dir + ": " + seg.status().message()));

  Tags tags;
  tags.reserve(ft.customers.size());
  std::string csv = "id,cluster\n";
  for (size_t i = 0; i < ft.customers.size(); ++i) {
    const int label = seg->labels[i];
    const std::string& name = seg->segments[static_cast<size_t>(label)].name;
    tags.emplace_back(CustomerId(ft.customers[i]),
                      std::vector<std::pair<std::string, std::string>>{{"cluster", nlohmann::json(name).dump()},
                                                                       {"cluster_id", std::to_string(label)}});
    csv += table.ids[i];
    csv += ',';
    csv += std::to_string(label);
    csv += '\n';
  }
  Status s = engine.SetTags(tags);
  if (!s.ok()) return Fail(s);
  s = WriteTextOutput(csv, a.out);
  if (!s.ok()) return FailFile(s);

  nlohmann::ordered_json j;
  j["data"] = a.data_dir;
  j["as_of"] = FormatTimestamp(ft.as_of);
  j["rows"] = table.values.rows;
  j["features"] = features;
  j["log_features"] = log_features;
  AddSegmentationJson(j, *seg, features, a.seed, a.restarts);
  j["tagged"] = tags.size();
  j["tags"] = {"cluster", "cluster_id"};
  j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string text = j.dump(2) + "\n";
  std::fputs(text.c_str(), a.out.empty() || a.out == "-" ? stderr : stdout);
  return kExitOk;
}

int RunRulesOverStore(const RulesStoreArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  const bool category_intent = a.kind == "category-intent";
  if (!category_intent && a.kind != "products") {
    return FailFile(Status::InvalidArgument("--kind must be products or category-intent, got '" + a.kind + "'"));
  }
  if (Status s = RequireDataDir(a.data_dir); !s.ok()) return FailFile(s);
  auto dir = OpenForWriting(a.data_dir, MakeEngineOptions(5, false), "touchpoint rules mine");
  if (!dir.ok()) return Fail(Status::Unavailable(dir.status().message()));
  auto activity = LoadActivity(*(*dir)->engine, true, category_intent);
  if (!activity.ok()) return Fail(activity.status());
  const auto baskets =
      category_intent
          ? insight::CategoryIntentBaskets(activity->orders, activity->messages, a.window_days * kMillisPerDay)
          : insight::ProductBaskets(activity->orders);
  if (baskets.empty()) {
    return FailFile(Status::InvalidArgument(a.data_dir + ": no orders with products ingested yet"));
  }
  const ml::NamedBaskets enc = ml::EncodeBaskets(baskets);
  auto mined = ml::MineAssociationRules(
      enc.transactions, static_cast<std::uint32_t>(enc.names.size()),
      {.min_support = a.min_support, .min_confidence = a.min_confidence, .max_len = a.max_len});
  if (!mined.ok()) return FailFile(mined.status());
  std::vector<std::string> quoted(enc.names.size());
  for (size_t i = 0; i < enc.names.size(); ++i) quoted[i] = nlohmann::json(enc.names[i]).dump();
  std::string out;
  size_t kept = 0;
  std::vector<std::string_view> lhs;
  for (const auto& r : mined->rules) {
    if (category_intent) {
      lhs.clear();
      for (auto id : r.lhs) lhs.push_back(enc.names[id]);
      if (!insight::IsCategoryToIntentRule(lhs, enc.names[r.rhs])) continue;
    }
    ++kept;
    AppendRuleJson(out, r, quoted);
  }
  Status s = WriteTextOutput(out, a.out);
  if (!s.ok()) return FailFile(s);
  nlohmann::ordered_json j;
  j["data"] = a.data_dir;
  j["kind"] = a.kind;
  if (category_intent) j["window_days"] = a.window_days;
  j["transactions"] = mined->transactions;
  j["items"] = mined->items;
  j["min_count"] = mined->min_count;
  j["frequent_itemsets"] = mined->itemsets.size();
  j["rules"] = kept;
  if (category_intent) j["rules_before_filter"] = mined->rules.size();
  j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << j.dump() << "\n";
  return kExitOk;
}

}  // namespace touchpoint::cli

#include "cli/analytics_store.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>
#include <touchpoint/insight/ltv.h>
#include <touchpoint/insight/orders.h>
#include <touchpoint/insight/rfm.h>
#include <touchpoint/pipeline/data_dir.h>

#include "cli/cli_util.h"
#include "cli/engine_options.h"

namespace touchpoint::cli {

int RunRfmOverStore(const std::string& data_dir, Millis as_of, double silver, double gold, const std::string& out) {
  pipeline::EngineOptions options = MakeEngineOptions(5, false);
  auto dir = pipeline::OpenForWriting(data_dir, std::move(options), "touchpoint segment rfm");
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

}  // namespace touchpoint::cli

// segment rfm|kmeans|ltv, survey kano|drivers, rules mine — thin wrappers over
// insight/{orders,rfm,ltv,kano,drivers}.h and ml/association.h that read CSV files and print
// CSV / NDJSON / JSON (over the ingested store: cli/analytics_store.h). Exit codes: 0 ok, 1 a
// file cannot be read or written, 2 bad usage or bad input.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/core/csv.h>
#include <touchpoint/insight/drivers.h>
#include <touchpoint/insight/job_rfm.h>
#include <touchpoint/insight/kano.h>
#include <touchpoint/insight/ltv.h>
#include <touchpoint/insight/orders.h>
#include <touchpoint/insight/rfm.h>

#include "cli/analytics_store.h"
#include "cli/dp_commands.h"
#include <touchpoint/ml/association.h>

#include "cli/cli_util.h"
#include "cli/rule_json.h"
#include "cli/segment_json.h"
#include "cli/commands.h"

namespace touchpoint::cli {
namespace {

using Json = nlohmann::ordered_json;


// A buffered output: the file named by --out, or stdout. Closing reports write errors.
class Output {
 public:
  static Result<std::unique_ptr<Output>> Open(const std::string& path) {
    auto out = std::unique_ptr<Output>(new Output());
    out->path_ = path.empty() ? "<stdout>" : path;
    if (path.empty() || path == "-") {
      out->f_ = stdout;
    } else {
      out->f_ = std::fopen(path.c_str(), "wb");
      if (out->f_ == nullptr) return Status::NotFound(path + ": cannot open for writing");
      out->owned_ = true;
    }
    out->buf_.reserve(1 << 16);
    return out;
  }
  ~Output() {
    if (owned_ && f_ != nullptr) std::fclose(f_);
  }
  std::string& buf() { return buf_; }
  void MaybeFlush() {
    if (buf_.size() >= (1 << 16)) Flush();
  }
  Status Close() {
    Flush();
    bool bad = std::ferror(f_) != 0;
    if (owned_) {
      bad = std::fclose(f_) != 0 || bad;
      f_ = nullptr;
    } else {
      bad = std::fflush(f_) != 0 || bad;
    }
    if (bad) return Status::NotFound(path_ + ": write failed");
    return Status::Ok();
  }

 private:
  Output() = default;
  void Flush() {
    if (!buf_.empty()) std::fwrite(buf_.data(), 1, buf_.size(), f_);
    buf_.clear();
  }
  std::FILE* f_ = nullptr;
  bool owned_ = false;
  std::string path_;
  std::string buf_;
};

void AppendNumber(std::string& out, double v, int decimals) {
  char tmp[64];
  const int n = std::snprintf(tmp, sizeof tmp, "%.*f", decimals, v);
  out.append(tmp, static_cast<size_t>(n));
}

void AppendInt(std::string& out, std::int64_t v) {
  char tmp[24];
  auto res = std::to_chars(tmp, tmp + sizeof tmp, v);
  out.append(tmp, res.ptr);
}

// Writes a JSON document to `path`, or to stdout / stderr.
Status WriteJson(const Json& j, const std::string& path, bool to_stdout) {
  const std::string text = j.dump(2) + "\n";
  if (!path.empty()) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return Status::NotFound(path + ": cannot open for writing");
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    if (std::fclose(f) != 0 || !ok) return Status::NotFound(path + ": write failed");
    return Status::Ok();
  }
  std::fputs(text.c_str(), to_stdout ? stdout : stderr);
  return Status::Ok();
}

// ---- orders (rfm, ltv) ----

struct OrderArgs {
  std::string orders;
  std::string data_dir;  // used when --orders is absent: the ingested store
  insight::OrderCsvOptions csv;
  std::string as_of;
  std::string out;
  std::string summary;
};

void AddOrderOptions(CLI::App* cmd, OrderArgs& a) {
  cmd->add_option("--orders", a.orders,
                  "order-line CSV (.gz ok; - = stdin); without it: the orders ingested in --data, and the "
                  "results are written onto the profiles as tags");
  cmd->add_option("--data", a.data_dir, "data directory (when --orders is not given)");
  cmd->add_option("--customer-column", a.csv.customer_column, "customer id column (with --orders)");
  cmd->add_option("--date-column", a.csv.date_column,
                  "order date column (ISO 8601, M/D/YYYY[ H:MM], YYYY/M/D, epoch) (with --orders)");
  auto* amount = cmd->add_option("--amount-column", a.csv.amount_column, "line total column");
  auto* qty = cmd->add_option("--quantity-column", a.csv.quantity_column, "quantity column");
  auto* price = cmd->add_option("--price-column", a.csv.price_column, "unit price column");
  amount->excludes(qty)->excludes(price);
  qty->needs(price);
  price->needs(qty);
  cmd->add_option("--order-column", a.csv.order_column,
                  "order id column (default: one order per customer and timestamp)");
  cmd->add_option("--cancel-prefix", a.csv.cancel_prefix,
                  "order ids starting with this are cancellations (default C; '' = none)");
  cmd->add_option("--as-of", a.as_of, "reference date (default: the day after the newest order)");
  cmd->add_option("--out", a.out, "output CSV (default stdout)");
  cmd->add_option("--summary", a.summary, "write the JSON summary here (default stderr)");
}

Result<insight::OrderCsvResult> LoadOrders(const OrderArgs& a, Millis* as_of) {
  if (a.csv.customer_column.empty() || a.csv.date_column.empty()) {
    return Status::InvalidArgument("--orders needs --customer-column and --date-column");
  }
  if (a.csv.amount_column.empty() && a.csv.quantity_column.empty()) {
    return Status::InvalidArgument(
        "give --amount-column, or --quantity-column and --price-column");
  }
  *as_of = 0;
  if (!a.as_of.empty()) {
    auto t = insight::ParseOrderDate(a.as_of);
    if (!t.ok()) return Status::InvalidArgument("--as-of: " + t.status().message());
    *as_of = *t;
  }
  return insight::ReadOrdersCsv(a.orders, a.csv);
}

Json StatsJson(const insight::OrderCsvStats& s) {
  Json j;
  j["rows"] = s.rows;
  j["kept"] = s.kept;
  j["skipped"] = {{"cancelled", s.cancelled},
                  {"missing_customer", s.missing_customer},
                  {"non_positive", s.non_positive}};
  return j;
}

struct RfmArgs {
  OrderArgs orders;
  double silver = 5000;
  double gold = 20000;
  bool tiers = false;
  DpFlags dp;  // --dp-epsilon: the layers' aggregates with differential privacy (cli/dp_commands.h)
};

int RunRfm(const RfmArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  Millis as_of = 0;
  if (!a.dp.epsilon.empty()) {
    if (!a.orders.orders.empty()) {
      return FailFile(Status::InvalidArgument(
          "--dp-epsilon reports over a data directory (its budget is kept there): use --data, not --orders"));
    }
    if (!a.orders.as_of.empty()) {
      auto t = insight::ParseOrderDate(a.orders.as_of);
      if (!t.ok()) return FailFile(Status::InvalidArgument("--as-of: " + t.status().message()));
      as_of = *t;
    }
    return RunRfmDpReport(a.orders.data_dir.empty() ? DefaultDataDir() : a.orders.data_dir, as_of, a.silver, a.gold,
                          a.dp);
  }
  if (a.orders.orders.empty()) {
    if (!a.orders.as_of.empty()) {
      auto t = insight::ParseOrderDate(a.orders.as_of);
      if (!t.ok()) return FailFile(Status::InvalidArgument("--as-of: " + t.status().message()));
      as_of = *t;
    }
    return RunRfmOverStore(a.orders.data_dir.empty() ? DefaultDataDir() : a.orders.data_dir, as_of, a.silver,
                           a.gold, a.orders.out);
  }
  auto loaded = LoadOrders(a.orders, &as_of);
  if (!loaded.ok()) return FailFile(loaded.status());
  if (loaded->book.lines.empty()) {
    return FailFile(Status::InvalidArgument(a.orders.orders + ": no usable order lines"));
  }
  insight::RfmOptions opt;
  opt.as_of = as_of;
  opt.silver_threshold = a.silver;
  opt.gold_threshold = a.gold;
  auto rfm = insight::ComputeRfm(loaded->book, opt);
  if (!rfm.ok()) return FailFile(rfm.status());
  auto out = Output::Open(a.orders.out);
  if (!out.ok()) return FailFile(out.status());
  Output& o = **out;
  std::string& b = o.buf();
  b += "customer,recency_days,frequency,monetary,r,f,m,layer";
  if (a.tiers) b += ",headline,annual_spend,tier";
  b += '\n';
  for (const auto& row : rfm->rows) {
    AppendCsvField(b, loaded->book.customers[row.customer]);
    b += ',';
    AppendInt(b, row.recency_days);
    b += ',';
    AppendInt(b, row.frequency);
    b += ',';
    AppendNumber(b, row.monetary, 2);
    b += ',';
    b += static_cast<char>('0' + row.r);
    b += ',';
    b += static_cast<char>('0' + row.f);
    b += ',';
    b += static_cast<char>('0' + row.m);
    b += ',';
    b += insight::RfmLayerName(row.layer);
    if (a.tiers) {
      b += ',';
      b += insight::HeadlineLayerName(row.headline);
      b += ',';
      AppendNumber(b, row.annual_spend, 2);
      b += ',';
      b += insight::TierName(row.tier);
    }
    b += '\n';
    o.MaybeFlush();
  }
  Status closed = o.Close();
  if (!closed.ok()) return FailFile(closed);
  Json j;
  j["file"] = a.orders.orders;
  j["as_of"] = FormatDate(rfm->as_of);
  j["input"] = StatsJson(loaded->stats);
  j["customers"] = rfm->rows.size();
  j["revenue"] = rfm->revenue;
  j["mean_scores"] = {{"r", rfm->mean_r}, {"f", rfm->mean_f}, {"m", rfm->mean_m}};
  Json groups = Json::parse(insight::RfmGroupsJson(*rfm));  // kept: iterating a temporary's items() would dangle
  for (auto& [key, value] : groups.items()) j[key] = std::move(value);
  j["tier_thresholds"] = {{"silver", a.silver}, {"gold", a.gold}};
  j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Status s = WriteJson(j, a.orders.summary, false);
  return s.ok() ? 0 : FailFile(s);
}

struct LtvArgs {
  OrderArgs orders;
  insight::LtvOptions ltv;
};

int RunLtv(const LtvArgs& a) {
  Millis as_of = 0;
  auto loaded = LoadOrders(a.orders, &as_of);
  if (!loaded.ok()) return FailFile(loaded.status());
  if (loaded->book.lines.empty()) {
    return FailFile(Status::InvalidArgument(a.orders.orders + ": no usable order lines"));
  }
  insight::LtvOptions opt = a.ltv;
  opt.as_of = as_of;
  auto ltv = insight::ComputeLtv(loaded->book, opt);
  if (!ltv.ok()) return FailFile(ltv.status());
  auto out = Output::Open(a.orders.out);
  if (!out.ok()) return FailFile(out.status());
  Output& o = **out;
  std::string& b = o.buf();
  b += "customer,frequency,monetary,aov,orders_per_year,ltv\n";
  for (const auto& row : ltv->rows) {
    AppendCsvField(b, loaded->book.customers[row.customer]);
    b += ',';
    AppendInt(b, row.frequency);
    b += ',';
    AppendNumber(b, row.monetary, 2);
    b += ',';
    AppendNumber(b, row.aov, 2);
    b += ',';
    AppendNumber(b, row.orders_per_year, 4);
    b += ',';
    AppendNumber(b, row.ltv, 2);
    b += '\n';
    o.MaybeFlush();
  }
  Status closed = o.Close();
  if (!closed.ok()) return FailFile(closed);
  Json j;
  j["file"] = a.orders.orders;
  j["as_of"] = FormatDate(ltv->as_of);
  j["input"] = StatsJson(loaded->stats);
  j["customers"] = ltv->rows.size();
  j["model"] = {{"window_days", ltv->window_days},
                {"cohort", ltv->cohort},
                {"retained", ltv->retained},
                {"annual_retention", ltv->annual_retention},
                {"lifetime_multiplier_years", ltv->lifetime_multiplier},
                {"margin", opt.margin},
                {"discount_rate", opt.discount_rate},
                {"horizon_years", opt.horizon_years},
                {"min_tenure_days", opt.min_tenure_days}};
  j["total_ltv"] = ltv->total_ltv;
  Status s = WriteJson(j, a.orders.summary, false);
  return s.ok() ? 0 : FailFile(s);
}

// ---- k-means ----

struct KMeansArgs {
  std::string data;
  std::vector<std::string> features;
  std::string k = "auto";
  int k_max = 10;
  std::string id_column = "id";
  std::uint64_t seed = 42;
  int restarts = 4;
  std::vector<std::string> log_features;
  std::string out;
};

int RunKMeans(const KMeansArgs& a, bool log_features_given) {
  insight::SegmentOptions opt;
  if (a.k != "auto") {
    try {
      size_t used = 0;
      opt.k = std::stoi(a.k, &used);
      if (used != a.k.size() || opt.k < 1) throw std::invalid_argument("k");
    } catch (const std::exception&) {
      return FailFile(Status::InvalidArgument("--k must be a positive integer or 'auto', got '" + a.k + "'"));
    }
  }
  if (ReadsFromStore(a.data)) {  // a data directory: features computed from the ingested store
    return RunKMeansOverStore({.data_dir = a.data, .features = a.features, .log_features = a.log_features,
                               .log_features_given = log_features_given, .k = opt.k, .k_max = a.k_max,
                               .seed = a.seed, .restarts = a.restarts, .out = a.out});
  }
  if (a.features.empty()) return FailFile(Status::InvalidArgument("--features is required with a CSV file"));
  opt.k_max = a.k_max;
  opt.kmeans.seed = a.seed;
  opt.kmeans.restarts = a.restarts;
  opt.log1p.assign(a.features.size(), false);
  for (const auto& lf : a.log_features) {
    auto it = std::find(a.features.begin(), a.features.end(), lf);
    if (it == a.features.end()) {
      return FailFile(Status::InvalidArgument("--log-features: '" + lf + "' is not one of --features"));
    }
    opt.log1p[static_cast<size_t>(it - a.features.begin())] = true;
  }
  const auto start = std::chrono::steady_clock::now();
  auto table = insight::ReadNumericCsv(a.data, {.columns = a.features, .id_column = a.id_column,
                                                .skip_incomplete_rows = false});
  if (!table.ok()) return FailFile(table.status());
  if (opt.k > 0 && static_cast<size_t>(opt.k) > table->values.rows) {
    return FailFile(Status::InvalidArgument(a.data + ": k = " + std::to_string(opt.k) +
                                        " is larger than the " +
                                        std::to_string(table->values.rows) + " data rows"));
  }
  auto seg = insight::SegmentTable(*table, opt);
  if (!seg.ok()) return FailFile(Status::InvalidArgument(a.data + ": " + seg.status().message()));
  auto out = Output::Open(a.out);
  if (!out.ok()) return FailFile(out.status());
  Output& o = **out;
  std::string& b = o.buf();
  b += "id,cluster\n";
  for (size_t i = 0; i < seg->labels.size(); ++i) {
    AppendCsvField(b, table->ids[i]);
    b += ',';
    AppendInt(b, seg->labels[i]);
    b += '\n';
    o.MaybeFlush();
  }
  Status closed = o.Close();
  if (!closed.ok()) return FailFile(closed);
  Json j;
  j["file"] = a.data;
  j["rows"] = table->values.rows;
  j["features"] = a.features;
  j["log_features"] = a.log_features;
  AddSegmentationJson(j, *seg, a.features, a.seed, a.restarts);
  j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Status s = WriteJson(j, "", !a.out.empty());
  return s.ok() ? 0 : FailFile(s);
}

// ---- survey ----

struct KanoArgs {
  std::string data;
  insight::KanoCsvOptions csv;
  std::string out;
};

int RunKano(const KanoArgs& a) {
  auto answers = insight::ReadKanoCsv(a.data, a.csv);
  if (!answers.ok()) return FailFile(answers.status());
  auto features = insight::EvaluateKano(*answers);
  if (!features.ok()) return FailFile(features.status());
  auto out = Output::Open(a.out);
  if (!out.ok()) return FailFile(out.status());
  std::string& b = (*out)->buf();
  b += "feature,responses,must_be,one_dimensional,attractive,indifferent,reverse,questionable,"
       "category,better,worse\n";
  for (const auto& f : *features) {
    AppendCsvField(b, f.feature);
    b += ',';
    AppendInt(b, f.responses);
    for (auto c : f.counts) {
      b += ',';
      AppendInt(b, c);
    }
    b += ',';
    b += insight::KanoCategoryName(f.category);
    b += ',';
    AppendNumber(b, f.better, 4);
    b += ',';
    AppendNumber(b, f.worse, 4);
    b += '\n';
  }
  Status closed = (*out)->Close();
  return closed.ok() ? 0 : FailFile(closed);
}

struct DriversArgs {
  std::string data;
  std::string target;
  std::vector<std::string> features;
  int bootstrap = 200;
  std::uint64_t seed = 7;
  std::string out;
};

int RunDrivers(const DriversArgs& a) {
  std::vector<std::string> columns = a.features;
  if (std::find(columns.begin(), columns.end(), a.target) != columns.end()) {
    return FailFile(Status::InvalidArgument("--target '" + a.target + "' is also in --features"));
  }
  columns.push_back(a.target);
  auto table = insight::ReadNumericCsv(a.data, {.columns = columns, .id_column = "",
                                                .skip_incomplete_rows = true});
  if (!table.ok()) return FailFile(table.status());
  const size_t n = table->values.rows, p = a.features.size();
  insight::NumericTable x;
  x.columns = a.features;
  x.values = ml::Matrix(n, p);
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t c = 0; c < p; ++c) x.values.at(i, c) = table->values.at(i, c);
    y[i] = table->values.at(i, p);
  }
  auto got = insight::AnalyzeDrivers(x, y, {.bootstrap = a.bootstrap, .confidence = 0.95, .seed = a.seed});
  if (!got.ok()) return FailFile(Status::InvalidArgument(a.data + ": " + got.status().message()));
  auto out = Output::Open(a.out);
  if (!out.ok()) return FailFile(out.status());
  std::string& b = (*out)->buf();
  b += "rank,feature,importance,ci_low,ci_high,relative_weight,beta,beta_se,correlation\n";
  int rank = 0;
  for (const auto& d : got->drivers) {
    AppendInt(b, ++rank);
    b += ',';
    AppendCsvField(b, d.feature);
    for (double v : {d.share, d.share_low, d.share_high, d.raw_weight, d.beta, d.beta_se, d.correlation}) {
      b += ',';
      AppendNumber(b, v, 4);
    }
    b += '\n';
  }
  Status closed = (*out)->Close();
  if (!closed.ok()) return FailFile(closed);
  Json j;
  j["file"] = a.data;
  j["target"] = a.target;
  j["rows"] = got->n;
  j["skipped_incomplete_rows"] = table->skipped_rows;
  j["r2"] = got->r2;
  j["bootstrap_resamples"] = got->bootstrap;
  j["method"] = "relative weights (Johnson 2000) of a standardised OLS; 95% percentile bootstrap";
  Status s = WriteJson(j, "", false);
  return s.ok() ? 0 : FailFile(s);
}

// ---- rules ----

struct RulesArgs {
  std::string baskets;
  std::string data_dir;
  std::string kind = "products";
  int window_days = 30;
  std::string format = "basket";
  std::string item_column = "item";
  std::string transaction_column = "transaction";
  double min_support = 0;
  double min_confidence = 0;
  size_t max_len = 0;
  std::string out;
};

int RunRules(const RulesArgs& a) {
  if (a.baskets.empty()) {
    return RunRulesOverStore({.data_dir = a.data_dir.empty() ? DefaultDataDir() : a.data_dir, .kind = a.kind,
                              .min_support = a.min_support, .min_confidence = a.min_confidence,
                              .max_len = a.max_len, .window_days = a.window_days, .out = a.out});
  }
  const auto start = std::chrono::steady_clock::now();
  ml::BasketCsvOptions csv;
  csv.format = a.format == "long" ? ml::BasketFormat::kLong : ml::BasketFormat::kBasket;
  csv.item_column = a.item_column;
  csv.transaction_column = a.transaction_column;
  auto baskets = ml::ReadBasketsCsv(a.baskets, csv);
  if (!baskets.ok()) return FailFile(baskets.status());
  if (baskets->empty()) return FailFile(Status::InvalidArgument(a.baskets + ": no transactions"));
  const ml::NamedBaskets enc = ml::EncodeBaskets(*baskets);
  auto mined = ml::MineAssociationRules(
      enc.transactions, static_cast<std::uint32_t>(enc.names.size()),
      {.min_support = a.min_support, .min_confidence = a.min_confidence, .max_len = a.max_len});
  if (!mined.ok()) return FailFile(mined.status());
  auto out = Output::Open(a.out);
  if (!out.ok()) return FailFile(out.status());
  Output& o = **out;
  // Item names are escaped once; each rule line is then assembled from pieces.
  std::vector<std::string> quoted(enc.names.size());
  for (size_t i = 0; i < enc.names.size(); ++i) quoted[i] = Json(enc.names[i]).dump();
  for (const auto& r : mined->rules) {
    AppendRuleJson(o.buf(), r, quoted);
    o.MaybeFlush();
  }
  Status closed = o.Close();
  if (!closed.ok()) return FailFile(closed);
  Json s;
  s["transactions"] = mined->transactions;
  s["items"] = mined->items;
  s["min_count"] = mined->min_count;
  s["frequent_itemsets"] = mined->itemsets.size();
  s["rules"] = mined->rules.size();
  s["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << s.dump() << "\n";
  return 0;
}

}  // namespace

void RegisterAnalyticsCommands(CLI::App& app, int* exit_code) {
  // CLI11 keeps references to these, so they live as long as the app (the process).
  static RfmArgs rfm_args;
  static LtvArgs ltv_args;
  static KMeansArgs kmeans_args;
  static KanoArgs kano_args;
  static DriversArgs drivers_args;
  static RulesArgs rules_args;

  CLI::App* segment = app.add_subcommand("segment", "Customer segments: rfm, kmeans, ltv");
  segment->require_subcommand(1);

  CLI::App* rfm = segment->add_subcommand(
      "rfm", "RFM scores, eight layers and tiers; CSV customer,recency_days,frequency,monetary,r,f,m,layer");
  AddOrderOptions(rfm, rfm_args.orders);
  rfm->add_option("--silver", rfm_args.silver, "annual spend for silver (default 5000)")
      ->check(CLI::NonNegativeNumber);
  rfm->add_option("--gold", rfm_args.gold, "annual spend for gold (default 20000)")
      ->check(CLI::NonNegativeNumber);
  rfm->add_flag("--tiers", rfm_args.tiers, "also write headline,annual_spend,tier columns");
  AddDpOptions(rfm, rfm_args.dp, 100000, 1);
  rfm->callback([exit_code] { *exit_code = RunRfm(rfm_args); });

  CLI::App* ltv = segment->add_subcommand(
      "ltv", "Lifetime value per customer; CSV customer,frequency,monetary,aov,orders_per_year,ltv");
  AddOrderOptions(ltv, ltv_args.orders);
  ltv->add_option("--margin", ltv_args.ltv.margin, "gross margin in (0, 1] (default 1)");
  ltv->add_option("--discount-rate", ltv_args.ltv.discount_rate, "annual discount rate (default 0.10)");
  ltv->add_option("--horizon-years", ltv_args.ltv.horizon_years, "years to sum (default 10)");
  ltv->add_option("--min-tenure-days", ltv_args.ltv.min_tenure_days,
                  "tenure floor for the purchase rate (default 365)");
  ltv->callback([exit_code] { *exit_code = RunLtv(ltv_args); });

  CLI::App* km = segment->add_subcommand(
      "kmeans", "k-means on standardised features; CSV id,cluster and a JSON summary");
  km->add_option("--data", kmeans_args.data,
                 "CSV file (.gz ok), or a data directory: features per customer computed from the "
                 "ingested orders and messages, clusters written onto the profiles as tags")
      ->required();
  km->add_option("--features", kmeans_args.features,
                 "feature columns, comma-separated (required with a CSV file; with a data directory a "
                 "subset of the store features)")
      ->delimiter(',');
  km->add_option("--k", kmeans_args.k, "number of clusters, or auto (silhouette; default auto)");
  km->add_option("--k-max", kmeans_args.k_max, "largest k tried by auto (default 10)")
      ->check(CLI::Range(2, 100));
  km->add_option("--id-column", kmeans_args.id_column,
                 "id column (default id; the row number from 0 when absent)");
  km->add_option("--seed", kmeans_args.seed, "random seed (default 42)");
  km->add_option("--restarts", kmeans_args.restarts, "k-means++ restarts (default 4)")
      ->check(CLI::Range(1, 1000));
  auto* log_features = km->add_option("--log-features", kmeans_args.log_features, "features to log1p first")
      ->delimiter(',');
  km->add_option("--out", kmeans_args.out, "CSV file (default stdout; the JSON then goes to stderr)");
  km->callback([exit_code, log_features] { *exit_code = RunKMeans(kmeans_args, log_features->count() > 0); });

  CLI::App* survey = app.add_subcommand("survey", "Survey analytics: kano, drivers");
  survey->require_subcommand(1);
  CLI::App* kano = survey->add_subcommand(
      "kano", "KANO categories per feature from a long CSV respondent,feature,functional,dysfunctional");
  kano->add_option("--data", kano_args.data, "CSV file")->required();
  kano->add_option("--feature-column", kano_args.csv.feature_column, "default feature");
  kano->add_option("--functional-column", kano_args.csv.functional_column, "default functional");
  kano->add_option("--dysfunctional-column", kano_args.csv.dysfunctional_column,
                   "default dysfunctional");
  kano->add_option("--out", kano_args.out, "CSV file (default stdout)");
  kano->callback([exit_code] { *exit_code = RunKano(kano_args); });

  CLI::App* drivers = survey->add_subcommand(
      "drivers", "Key drivers of a target by relative weights, with bootstrap intervals");
  drivers->add_option("--data", drivers_args.data, "CSV file, one row per respondent")->required();
  drivers->add_option("--target", drivers_args.target, "target column, e.g. nps")->required();
  drivers->add_option("--features", drivers_args.features, "driver columns, comma-separated")
      ->required()
      ->delimiter(',');
  drivers->add_option("--bootstrap", drivers_args.bootstrap, "resamples (default 200; 0 = none)")
      ->check(CLI::Range(0, 100000));
  drivers->add_option("--seed", drivers_args.seed, "bootstrap seed (default 7)");
  drivers->add_option("--out", drivers_args.out, "CSV file (default stdout)");
  drivers->callback([exit_code] { *exit_code = RunDrivers(drivers_args); });

  CLI::App* rules = app.add_subcommand("rules", "Association rules");
  rules->require_subcommand(1);
  CLI::App* mine = rules->add_subcommand("mine", "Frequent itemsets and rules; NDJSON by lift");
  mine->add_option("--baskets", rules_args.baskets,
                   "basket file (.gz ok); without it: transactions from the orders ingested in --data");
  mine->add_option("--data", rules_args.data_dir, "data directory (when --baskets is not given)");
  mine->add_option("--kind", rules_args.kind,
                   "without --baskets: products (order → product ids) | category-intent (order "
                   "categories → intents of the customer's messages within --window-days)")
      ->check(CLI::IsMember({"products", "category-intent"}));
  mine->add_option("--window-days", rules_args.window_days, "category-intent: days after the order (default 30)")
      ->check(CLI::Range(1, 3650));
  mine->add_option("--format", rules_args.format, "basket (one line per transaction) | long")
      ->check(CLI::IsMember({"basket", "long"}));
  mine->add_option("--item-column", rules_args.item_column, "long format: item column (default item)");
  mine->add_option("--transaction-column", rules_args.transaction_column,
                   "long format: transaction column (default transaction)");
  mine->add_option("--min-support", rules_args.min_support, "fraction of transactions, (0, 1]")
      ->required();
  mine->add_option("--min-confidence", rules_args.min_confidence, "[0, 1]")->required();
  mine->add_option("--max-len", rules_args.max_len, "longest rule, lhs + rhs (default: no limit)");
  mine->add_option("--out", rules_args.out, "NDJSON file (default stdout)");
  mine->callback([exit_code] { *exit_code = RunRules(rules_args); });
}

}  // namespace touchpoint::cli

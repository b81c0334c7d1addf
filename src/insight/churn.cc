#include <touchpoint/insight/churn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include <touchpoint/core/csv.h>
#include <touchpoint/core/strings.h>
#include <touchpoint/ml/metrics.h>

namespace touchpoint::insight {
namespace {

constexpr std::string_view kMagic = "touchpoint-churn-model";
constexpr int kFormatVersion = 1;

std::uint64_t Fnv1a64(std::string_view data) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string_view KindName(ml::ColumnKind k) {
  switch (k) {
    case ml::ColumnKind::kNumeric: return "numeric";
    case ml::ColumnKind::kBinary: return "binary";
    case ml::ColumnKind::kCategorical: return "categorical";
  }
  return "numeric";
}

Result<ml::ColumnKind> ParseKind(const std::string& s) {
  if (s == "numeric") return ml::ColumnKind::kNumeric;
  if (s == "binary") return ml::ColumnKind::kBinary;
  if (s == "categorical") return ml::ColumnKind::kCategorical;
  return Status::InvalidArgument("unknown column kind '" + s + "'");
}

// Rows of `table` selected by `keep`.
ml::RawTable Subset(const ml::RawTable& table, const std::vector<size_t>& keep) {
  ml::RawTable out;
  out.source = table.source;
  out.columns = table.columns;
  out.rows.reserve(keep.size());
  out.lines.reserve(keep.size());
  for (size_t i : keep) {
    out.rows.push_back(table.rows[i]);
    out.lines.push_back(i < table.lines.size() ? table.lines[i] : static_cast<std::int64_t>(i + 2));
  }
  return out;
}

}  // namespace

Result<ChurnModelKind> ParseChurnModelKind(std::string_view name) {
  std::string n = AsciiLower(name);
  if (n == "logistic") return ChurnModelKind::kLogistic;
  if (n == "gbdt") return ChurnModelKind::kGbdt;
  return Status::InvalidArgument("unknown model '" + std::string(name) +
                                 "' (expected logistic or gbdt)");
}

std::string_view ChurnModelKindName(ChurnModelKind kind) {
  return kind == ChurnModelKind::kGbdt ? "gbdt" : "logistic";
}

Result<std::vector<int>> ParseChurnLabels(const ml::RawTable& table, std::string_view column) {
  TP_ASSIGN_OR_RETURN(size_t col, table.Require(column));
  static const std::set<std::string, std::less<>> kPositive = {"yes", "true", "1", "churn",
                                                               "churned", "y", "t", "1.0"};
  static const std::set<std::string, std::less<>> kNegative = {
      "no", "false", "0", "stay", "stayed", "retained", "active", "n", "f", "0.0"};
  std::vector<int> labels(table.rows.size());
  size_t positives = 0;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    std::string v = AsciiLower(TrimView(table.rows[r][col], kAsciiWhitespace));
    if (kPositive.count(v) != 0) {
      labels[r] = 1;
      ++positives;
    } else if (kNegative.count(v) != 0) {
      labels[r] = 0;
    } else {
      std::int64_t line = r < table.lines.size() ? table.lines[r] : static_cast<std::int64_t>(r + 2);
      return Status::InvalidArgument(
          table.source + ":" + std::to_string(line) + ": column '" + table.columns[col] +
          "': label '" + table.rows[r][col] +
          "' is not one of yes/no, true/false, 1/0, churn/stay");
    }
  }
  if (positives == 0 || positives == labels.size()) {
    return Status::InvalidArgument(table.source + ": column '" + table.columns[col] +
                                   "': the label has a single class (" +
                                   (positives == 0 ? "no churners" : "all churners") +
                                   "); need both");
  }
  return labels;
}

ChurnModel::ChurnModel(ChurnModel&&) noexcept = default;
ChurnModel& ChurnModel::operator=(ChurnModel&&) noexcept = default;
ChurnModel::~ChurnModel() = default;

Result<ChurnModel> ChurnModel::Train(const ml::RawTable& table, const ChurnTrainOptions& options) {
  if (options.label_column.empty()) return Status::InvalidArgument("churn: no label column given");
  TP_ASSIGN_OR_RETURN(std::vector<int> labels, ParseChurnLabels(table, options.label_column));
  TP_ASSIGN_OR_RETURN(size_t label_col, table.Require(options.label_column));
  std::optional<size_t> id_col;
  if (!options.id_column.empty()) {
    TP_ASSIGN_OR_RETURN(size_t c, table.Require(options.id_column));
    id_col = c;
  }
  ChurnModel model;
  model.kind_ = options.kind;
  model.label_column_ = table.columns[label_col];
  model.id_column_ = id_col ? table.columns[*id_col] : "";
  std::vector<std::string> features;
  for (size_t c = 0; c < table.columns.size(); ++c) {
    if (c == label_col || (id_col && c == *id_col)) continue;
    // An identifier-like text column (every value distinct, not numbers) cannot generalise.
    std::unordered_set<std::string> distinct;
    bool numeric = true;
    for (const auto& row : table.rows) {
      double v;
      if (!ml::IsBlankCell(row[c]) && !ml::ParseNumberCell(row[c], &v)) numeric = false;
      distinct.insert(row[c]);
    }
    bool all_blank = std::all_of(table.rows.begin(), table.rows.end(),
                                 [&](const auto& row) { return ml::IsBlankCell(row[c]); });
    if (all_blank ||
        (!numeric && table.rows.size() > 20 && distinct.size() == table.rows.size())) {
      model.ignored_.push_back(table.columns[c]);
      continue;
    }
    features.push_back(table.columns[c]);
  }
  if (features.empty()) return Status::InvalidArgument(table.source + ": no feature columns");
  // Without an explicit id column, the first identifier-like column names the rows.
  if (model.id_column_.empty() && !model.ignored_.empty()) model.id_column_ = model.ignored_[0];
  TP_ASSIGN_OR_RETURN(model.schema_, ml::InferSchema(table, features));
  TP_ASSIGN_OR_RETURN(ml::DenseMatrix x, ml::EncodeTable(model.schema_, table));
  if (options.kind == ChurnModelKind::kLogistic) {
    TP_ASSIGN_OR_RETURN(ml::LogisticModel m, ml::LogisticModel::Train(x, labels, options.logistic));
    model.logistic_ = std::move(m);
  } else {
    TP_ASSIGN_OR_RETURN(ml::GbdtModel m, ml::GbdtModel::Train(x, labels, options.gbdt));
    model.gbdt_ = std::make_unique<ml::GbdtModel>(std::move(m));
  }
  return model;
}

Result<std::vector<double>> ChurnModel::PredictProbabilities(const ml::RawTable& table) const {
  TP_ASSIGN_OR_RETURN(ml::DenseMatrix x, ml::EncodeTable(schema_, table));
  if (gbdt_) return gbdt_->Predict(x);
  std::vector<double> p(x.rows);
  for (size_t r = 0; r < x.rows; ++r) p[r] = logistic_->PredictProbability(x.Row(r));
  return p;
}

Result<std::vector<double>> ChurnModel::FeatureContributions(const ml::DenseMatrix& x) const {
  if (gbdt_) return gbdt_->Contributions(x);
  std::vector<double> out;
  out.reserve(x.rows * x.cols);
  for (size_t r = 0; r < x.rows; ++r) {
    std::vector<double> c = logistic_->Contributions(x.Row(r));
    out.insert(out.end(), c.begin(), c.end());
  }
  return out;
}

Result<std::vector<ChurnScore>> ChurnModel::Score(const ml::RawTable& table,
                                                  std::string_view id_column) const {
  std::optional<size_t> id_col;
  if (!id_column.empty()) {
    TP_ASSIGN_OR_RETURN(size_t c, table.Require(id_column));
    id_col = c;
  } else if (!id_column_.empty()) {
    CsvHeader header(table.columns);
    id_col = header.Find(id_column_);
  }
  TP_ASSIGN_OR_RETURN(ml::DenseMatrix x, ml::EncodeTable(schema_, table));
  std::vector<double> probs;
  if (gbdt_) {
    TP_ASSIGN_OR_RETURN(probs, gbdt_->Predict(x));
  } else {
    probs.resize(x.rows);
    for (size_t r = 0; r < x.rows; ++r) probs[r] = logistic_->PredictProbability(x.Row(r));
  }
  TP_ASSIGN_OR_RETURN(std::vector<double> contrib, FeatureContributions(x));
  // Matrix column → schema column, and schema column → table column.
  std::vector<size_t> owner;
  std::vector<size_t> table_col;
  for (size_t i = 0; i < schema_.columns.size(); ++i) {
    const auto& enc = schema_.columns[i];
    size_t width = enc.kind == ml::ColumnKind::kCategorical ? enc.categories.size() : 1;
    owner.insert(owner.end(), width, i);
    TP_ASSIGN_OR_RETURN(size_t c, table.Require(enc.name));
    table_col.push_back(c);
  }
  std::vector<ChurnScore> scores(x.rows);
  std::vector<double> per_column(schema_.columns.size());
  std::vector<size_t> order(schema_.columns.size());
  for (size_t r = 0; r < x.rows; ++r) {
    ChurnScore& s = scores[r];
    s.id = id_col ? Trim(table.rows[r][*id_col], kAsciiWhitespace) : std::to_string(r + 1);
    s.probability = probs[r];
    std::fill(per_column.begin(), per_column.end(), 0.0);
    for (size_t j = 0; j < x.cols; ++j) per_column[owner[j]] += contrib[r * x.cols + j];
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return per_column[a] > per_column[b]; });
    for (size_t k = 0; k < order.size() && s.reasons.size() < 3; ++k) {
      size_t i = order[k];
      if (per_column[i] <= 1e-9) break;
      std::string value = Trim(table.rows[r][table_col[i]], kAsciiWhitespace);
      s.reasons.push_back(schema_.columns[i].name + "=" + (value.empty() ? "(blank)" : value));
    }
  }
  return scores;
}

Result<std::string> ChurnModel::Serialize() const {
  nlohmann::json j;
  j["kind"] = std::string(ChurnModelKindName(kind_));
  j["label_column"] = label_column_;
  j["id_column"] = id_column_;
  j["ignored_columns"] = ignored_;
  nlohmann::json cols = nlohmann::json::array();
  for (const auto& c : schema_.columns) {
    cols.push_back({{"name", c.name},
                    {"kind", std::string(KindName(c.kind))},
                    {"categories", c.categories},
                    {"true", c.true_token},
                    {"false", c.false_token}});
  }
  j["columns"] = cols;
  if (logistic_) {
    j["logistic"] = {{"weights", logistic_->weights()},
                     {"bias", logistic_->bias()},
                     {"means", logistic_->means()},
                     {"scales", logistic_->scales()}};
  } else {
    TP_ASSIGN_OR_RETURN(std::string booster, gbdt_->Serialize());
    j["gbdt"] = {{"booster", booster}};
  }
  std::string body = j.dump();
  char header[128];
  std::snprintf(header, sizeof(header), "%s %d %zu %016llx\n", kMagic.data(), kFormatVersion,
                body.size(), static_cast<unsigned long long>(Fnv1a64(body)));
  return std::string(header) + body;
}

Result<ChurnModel> ChurnModel::Deserialize(std::string_view bytes, std::string_view source) {
  const std::string src(source);
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(src + ": not a usable churn model: " + why);
  };
  size_t eol = bytes.find('\n');
  if (eol == std::string_view::npos || bytes.substr(0, kMagic.size()) != kMagic) {
    return bad("missing '" + std::string(kMagic) + "' header");
  }
  std::istringstream head{std::string(bytes.substr(0, eol))};
  std::string magic;
  int version = 0;
  size_t length = 0;
  std::string checksum;
  if (!(head >> magic >> version >> length >> checksum)) return bad("malformed header line");
  if (version != kFormatVersion) {
    return bad("format version " + std::to_string(version) + " is not supported (expected " +
               std::to_string(kFormatVersion) + ")");
  }
  std::string_view body = bytes.substr(eol + 1);
  if (body.size() != length) {
    return bad("body has " + std::to_string(body.size()) + " bytes, header says " +
               std::to_string(length) + " (truncated?)");
  }
  char expect[17];
  std::snprintf(expect, sizeof(expect), "%016llx", static_cast<unsigned long long>(Fnv1a64(body)));
  if (checksum != expect) return bad("checksum mismatch (file corrupted)");
  ChurnModel model;
  try {
    nlohmann::json j = nlohmann::json::parse(body);
    TP_ASSIGN_OR_RETURN(model.kind_, ParseChurnModelKind(j.at("kind").get<std::string>()));
    model.label_column_ = j.at("label_column").get<std::string>();
    model.id_column_ = j.at("id_column").get<std::string>();
    model.ignored_ = j.at("ignored_columns").get<std::vector<std::string>>();
    for (const auto& c : j.at("columns")) {
      ml::ColumnEncoding enc;
      enc.name = c.at("name").get<std::string>();
      auto kind = ParseKind(c.at("kind").get<std::string>());
      if (!kind.ok()) return bad(kind.status().message());
      enc.kind = *kind;
      enc.categories = c.at("categories").get<std::vector<std::string>>();
      enc.true_token = c.at("true").get<std::string>();
      enc.false_token = c.at("false").get<std::string>();
      model.schema_.columns.push_back(std::move(enc));
    }
    const size_t width = model.schema_.Width();
    if (model.kind_ == ChurnModelKind::kLogistic) {
      const auto& l = j.at("logistic");
      auto m = ml::LogisticModel::FromParameters(
          l.at("weights").get<std::vector<double>>(), l.at("bias").get<double>(),
          l.at("means").get<std::vector<double>>(), l.at("scales").get<std::vector<double>>());
      if (!m.ok()) return bad(m.status().message());
      if (m->num_features() != width) return bad("weights do not match the columns");
      model.logistic_ = std::move(m).value();
    } else {
      auto m = ml::GbdtModel::Deserialize(j.at("gbdt").at("booster").get<std::string>(), width);
      if (!m.ok()) return bad(m.status().message());
      model.gbdt_ = std::make_unique<ml::GbdtModel>(std::move(m).value());
    }
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  return model;
}

Status ChurnModel::SaveToFile(const std::string& path) const {
  TP_ASSIGN_OR_RETURN(std::string bytes, Serialize());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::FailedPrecondition(path + ": cannot open for writing");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return Status::FailedPrecondition(path + ": write failed");
  return Status::Ok();
}

Result<ChurnModel> ChurnModel::LoadFromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open model file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return Deserialize(ss.str(), path);
}

Result<ChurnEvaluation> EvaluateChurn(const ml::RawTable& table, const ChurnTrainOptions& options,
                                      int folds, std::uint64_t seed) {
  TP_ASSIGN_OR_RETURN(std::vector<int> labels, ParseChurnLabels(table, options.label_column));
  TP_ASSIGN_OR_RETURN(std::vector<int> fold_of, ml::StratifiedFolds(labels, folds, seed));
  ChurnEvaluation ev;
  ev.kind = options.kind;
  ev.rows = labels.size();
  ev.positives = static_cast<size_t>(std::count(labels.begin(), labels.end(), 1));
  ev.folds = folds;
  double seconds = 0;
  for (int f = 0; f < folds; ++f) {
    std::vector<size_t> train_rows, test_rows;
    for (size_t i = 0; i < labels.size(); ++i) (fold_of[i] == f ? test_rows : train_rows).push_back(i);
    ml::RawTable train = Subset(table, train_rows);
    ml::RawTable test = Subset(table, test_rows);
    auto start = std::chrono::steady_clock::now();
    TP_ASSIGN_OR_RETURN(ChurnModel model, ChurnModel::Train(train, options));
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    TP_ASSIGN_OR_RETURN(std::vector<double> p, model.PredictProbabilities(test));
    std::vector<int> y(test_rows.size());
    for (size_t i = 0; i < test_rows.size(); ++i) y[i] = labels[test_rows[i]];
    ChurnFoldMetrics m;
    TP_ASSIGN_OR_RETURN(m.roc_auc, ml::RocAuc(p, y));
    TP_ASSIGN_OR_RETURN(m.pr_auc, ml::PrAuc(p, y));
    TP_ASSIGN_OR_RETURN(m.log_loss, ml::LogLoss(p, y));
    ev.per_fold.push_back(m);
    ev.mean.roc_auc += m.roc_auc / folds;
    ev.mean.pr_auc += m.pr_auc / folds;
    ev.mean.log_loss += m.log_loss / folds;
  }
  ev.seconds_per_fit = seconds / folds;
  return ev;
}

std::string ChurnEvaluationJson(const ChurnEvaluation& ev) {
  nlohmann::ordered_json j;
  j["model"] = std::string(ChurnModelKindName(ev.kind));
  j["rows"] = ev.rows;
  j["positives"] = ev.positives;
  j["folds"] = ev.folds;
  j["roc_auc"] = ev.mean.roc_auc;
  j["pr_auc"] = ev.mean.pr_auc;
  j["log_loss"] = ev.mean.log_loss;
  nlohmann::ordered_json per = nlohmann::ordered_json::array();
  for (const auto& m : ev.per_fold) {
    per.push_back({{"roc_auc", m.roc_auc}, {"pr_auc", m.pr_auc}, {"log_loss", m.log_loss}});
  }
  j["per_fold"] = per;
  j["seconds_per_fit"] = ev.seconds_per_fit;
  return j.dump();
}

}  // namespace touchpoint::insight

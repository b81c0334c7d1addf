#include <touchpoint/ml/gbdt.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <xgboost/c_api.h>

namespace touchpoint::ml {
namespace {

Status XgbError(std::string_view what) {
  return Status::Internal("gbdt: " + std::string(what) + ": " + XGBGetLastError());
}

// Owns a DMatrix for the duration of one call.
class Matrix {
 public:
  ~Matrix() {
    if (handle_ != nullptr) XGDMatrixFree(handle_);
  }
  DMatrixHandle* out() { return &handle_; }
  DMatrixHandle get() const { return handle_; }

 private:
  DMatrixHandle handle_ = nullptr;
};

Status MakeMatrix(const DenseMatrix& x, Matrix* m) {
  std::vector<float> data(x.values.size());
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(x.values[i]);
  if (XGDMatrixCreateFromMat(data.data(), x.rows, x.cols, std::nanf(""), m->out()) != 0) {
    return XgbError("cannot build matrix");
  }
  return Status::Ok();
}

void Quiet() {
  static const bool kDone = [] {
    XGBSetGlobalConfig("{\"verbosity\": 0}");
    return true;
  }();
  (void)kDone;
}

size_t ParseCount(const nlohmann::json& v) {
  long long n = v.is_string() ? std::stoll(v.get<std::string>()) : v.get<long long>();
  if (n < 0) throw std::out_of_range("negative count");
  return static_cast<size_t>(n);
}

// XGBoost trusts the tree arrays of a model it loads: an out-of-range child index crashes the
// process. Check the structure first so a damaged file is an error, not a segfault.
Status ValidateBooster(std::string_view bytes, size_t num_features) {
  try {
    nlohmann::json j = nlohmann::json::parse(bytes);
    const auto& learner = j.at("learner");
    if (ParseCount(learner.at("learner_model_param").at("num_feature")) != num_features) {
      return Status::InvalidArgument("gbdt: model feature count differs from the columns");
    }
    const auto& booster = learner.at("gradient_booster");
    if (booster.at("name").get<std::string>() != "gbtree") {
      return Status::InvalidArgument("gbdt: not a tree booster");
    }
    const auto& model = booster.at("model");
    const auto& trees = model.at("trees");
    size_t num_trees = ParseCount(model.at("gbtree_model_param").at("num_trees"));
    if (!trees.is_array() || trees.size() != num_trees ||
        model.at("tree_info").size() != num_trees) {
      return Status::InvalidArgument("gbdt: tree count mismatch");
    }
    for (const auto& tree : trees) {
      const size_t n = ParseCount(tree.at("tree_param").at("num_nodes"));
      if (n == 0 || ParseCount(tree.at("tree_param").at("num_feature")) != num_features) {
        return Status::InvalidArgument("gbdt: malformed tree header");
      }
      for (const char* key : {"left_children", "right_children", "parents", "split_indices",
                              "split_conditions", "base_weights", "default_left"}) {
        if (!tree.at(key).is_array() || tree.at(key).size() != n) {
          return Status::InvalidArgument(std::string("gbdt: tree array '") + key +
                                         "' has the wrong size");
        }
      }
      if (!tree.at("categories_nodes").empty()) {
        return Status::InvalidArgument("gbdt: categorical splits are not supported");
      }
      const auto& left = tree.at("left_children");
      const auto& right = tree.at("right_children");
      const auto& parents = tree.at("parents");
      const auto& split = tree.at("split_indices");
      std::vector<bool> seen(n, false);
      std::vector<long long> stack = {0};
      seen[0] = true;
      const long long nn = static_cast<long long>(n);
      while (!stack.empty()) {
        long long i = stack.back();
        stack.pop_back();
        const auto iu = static_cast<size_t>(i);
        long long l = left[iu].get<long long>();
        long long r = right[iu].get<long long>();
        if (l == -1 && r == -1) continue;  // leaf
        long long f = split[iu].get<long long>();
        if (f < 0 || f >= static_cast<long long>(num_features)) {
          return Status::InvalidArgument("gbdt: split feature out of range");
        }
        for (long long c : {l, r}) {
          if (c <= 0 || c >= nn || seen[static_cast<size_t>(c)] ||
              parents[static_cast<size_t>(c)].get<long long>() != i) {
            return Status::InvalidArgument("gbdt: tree structure is damaged");
          }
          seen[static_cast<size_t>(c)] = true;
          stack.push_back(c);
        }
      }
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("gbdt: not a valid model: ") + e.what());
  }
  return Status::Ok();
}

}  // namespace

void GbdtModel::HandleDeleter::operator()(void* handle) const {
  if (handle != nullptr) XGBoosterFree(handle);
}

GbdtModel::~GbdtModel() = default;

Result<GbdtModel> GbdtModel::Train(const DenseMatrix& x, const std::vector<int>& labels,
                                   GbdtOptions options) {
  if (x.rows != labels.size()) {
    return Status::InvalidArgument("gbdt: " + std::to_string(x.rows) + " rows but " +
                                   std::to_string(labels.size()) + " labels");
  }
  if (x.rows == 0 || x.cols == 0) return Status::InvalidArgument("gbdt: no training data");
  double positives = 0;
  for (int y : labels) positives += y == 1 ? 1 : 0;
  if (positives == 0 || positives == static_cast<double>(labels.size())) {
    return Status::InvalidArgument("gbdt: the label has a single class");
  }
  Quiet();
  Matrix dtrain;
  TP_RETURN_IF_ERROR(MakeMatrix(x, &dtrain));
  std::vector<float> y(labels.size());
  for (size_t i = 0; i < y.size(); ++i) y[i] = labels[i] == 1 ? 1.0f : 0.0f;
  if (XGDMatrixSetFloatInfo(dtrain.get(), "label", y.data(), y.size()) != 0) {
    return XgbError("cannot set labels");
  }
  BoosterHandle handle = nullptr;
  DMatrixHandle mats[] = {dtrain.get()};
  if (XGBoosterCreate(mats, 1, &handle) != 0) return XgbError("cannot create booster");
  GbdtModel model;
  model.booster_.reset(handle);
  model.num_features_ = x.cols;
  // Start from the class prior, as scikit-learn's GradientBoostingClassifier does.
  double prior = positives / static_cast<double>(labels.size());
  const std::pair<std::string, std::string> params[] = {
      {"objective", "binary:logistic"},
      {"tree_method", "hist"},
      {"max_depth", std::to_string(options.max_depth)},
      {"eta", std::to_string(options.learning_rate)},
      {"subsample", std::to_string(options.subsample)},
      {"min_child_weight", std::to_string(options.min_child_weight)},
      {"lambda", std::to_string(options.lambda)},
      {"nthread", std::to_string(options.threads)},
      {"seed", std::to_string(options.seed)},
      {"base_score", std::to_string(prior)},
      {"verbosity", "0"},
  };
  for (const auto& [k, v] : params) {
    if (XGBoosterSetParam(handle, k.c_str(), v.c_str()) != 0) {
      return XgbError("cannot set parameter " + k);
    }
  }
  for (int i = 0; i < options.rounds; ++i) {
    if (XGBoosterUpdateOneIter(handle, i, dtrain.get()) != 0) return XgbError("training failed");
  }
  return model;
}

Result<GbdtModel> GbdtModel::Deserialize(std::string_view bytes, size_t num_features) {
  TP_RETURN_IF_ERROR(ValidateBooster(bytes, num_features));
  Quiet();
  BoosterHandle handle = nullptr;
  if (XGBoosterCreate(nullptr, 0, &handle) != 0) return XgbError("cannot create booster");
  GbdtModel model;
  model.booster_.reset(handle);
  if (bytes.empty() ||
      XGBoosterLoadModelFromBuffer(handle, bytes.data(), bytes.size()) != 0) {
    return Status::InvalidArgument(std::string("gbdt: not a valid model: ") + XGBGetLastError());
  }
  bst_ulong n = 0;
  if (XGBoosterGetNumFeature(handle, &n) != 0) return XgbError("cannot read feature count");
  if (n != num_features) {
    return Status::InvalidArgument("gbdt: model has " + std::to_string(n) + " features, expected " +
                                   std::to_string(num_features));
  }
  model.num_features_ = num_features;
  return model;
}

Result<std::string> GbdtModel::Serialize() const {
  bst_ulong len = 0;
  const char* buf = nullptr;
  if (XGBoosterSaveModelToBuffer(booster_.get(), "{\"format\": \"json\"}", &len, &buf) != 0) {
    return XgbError("cannot save model");
  }
  return std::string(buf, len);
}

Result<std::vector<double>> GbdtModel::RunPredict(const DenseMatrix& x, int type) const {
  if (x.cols != num_features_) {
    return Status::InvalidArgument("gbdt: matrix has " + std::to_string(x.cols) +
                                   " features, model expects " + std::to_string(num_features_));
  }
  if (x.rows == 0) return std::vector<double>{};
  Matrix m;
  TP_RETURN_IF_ERROR(MakeMatrix(x, &m));
  std::string config = "{\"type\": " + std::to_string(type) +
                       ", \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
                       "\"strict_shape\": false}";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  if (XGBoosterPredictFromDMatrix(booster_.get(), m.get(), config.c_str(), &shape, &dim, &out) !=
      0) {
    return XgbError("prediction failed");
  }
  size_t total = 1;
  for (bst_ulong i = 0; i < dim; ++i) total *= shape[i];
  if (type == 0) {
    if (total != x.rows) return Status::Internal("gbdt: unexpected prediction shape");
    return std::vector<double>(out, out + total);
  }
  // Contributions: rows × (features + 1), the last column is the bias.
  const size_t width = num_features_ + 1;
  if (total != x.rows * width) return Status::Internal("gbdt: unexpected contribution shape");
  std::vector<double> contrib(x.rows * num_features_);
  for (size_t r = 0; r < x.rows; ++r) {
    for (size_t j = 0; j < num_features_; ++j) contrib[r * num_features_ + j] = out[r * width + j];
  }
  return contrib;
}

Result<std::vector<double>> GbdtModel::Predict(const DenseMatrix& x) const {
  return RunPredict(x, 0);
}

Result<std::vector<double>> GbdtModel::Contributions(const DenseMatrix& x) const {
  return RunPredict(x, 2);
}

}  // namespace touchpoint::ml

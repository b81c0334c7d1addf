#include <touchpoint/ml/gbdt.h>

#include <cmath>
#include <string>

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

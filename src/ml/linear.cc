#include <touchpoint/ml/linear.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <utility>

#include <linear.h>

namespace touchpoint::ml {
namespace {

void Silent(const char*) {}

int SolverType(LinearSolver solver) {
  switch (solver) {
    case LinearSolver::kL2LogisticRegression: return L2R_LR;
    case LinearSolver::kL2LossSvcDual: return L2R_L2LOSS_SVC_DUAL;
  }
  return L2R_LR;
}

}  // namespace

// Rows live in one buffer of liblinear nodes: 1-based feature indexes, the bias node, then the
// -1 terminator; `starts` holds where each row begins (pointers are taken only when training, so
// the buffer may grow).
struct LinearProblem::Impl {
  std::vector<feature_node> nodes;
  std::vector<size_t> starts{0};
  std::vector<double> labels;
};

LinearProblem::LinearProblem(size_t num_features)
    : num_features_(num_features), impl_(std::make_unique<Impl>()) {}
LinearProblem::~LinearProblem() = default;
LinearProblem::LinearProblem(LinearProblem&&) noexcept = default;
LinearProblem& LinearProblem::operator=(LinearProblem&&) noexcept = default;

void LinearProblem::Add(size_t feature, double value) {
  TP_CHECK(feature < num_features_, "linear problem: feature index out of range");
  impl_->nodes.push_back({static_cast<int>(feature + 1), value});
}

void LinearProblem::EndRow(double label) {
  impl_->nodes.push_back({static_cast<int>(num_features_ + 1), 1.0});
  impl_->nodes.push_back({-1, 0.0});
  impl_->starts.push_back(impl_->nodes.size());
  impl_->labels.push_back(label);
}

size_t LinearProblem::rows() const { return impl_->labels.size(); }

Result<LinearModel> TrainLinear(const LinearProblem& data, const LinearOptions& options) {
  const LinearProblem::Impl& in = *data.impl_;
  const size_t n = data.num_features();
  if (in.labels.empty()) return Status::InvalidArgument("no training rows");
  std::vector<feature_node*> rows(in.labels.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    // liblinear takes non-const rows but never writes them.
    rows[r] = const_cast<feature_node*>(&in.nodes[in.starts[r]]);
  }
  problem prob{};
  prob.l = static_cast<int>(rows.size());
  prob.n = static_cast<int>(n + 1);  // the bias feature included, as liblinear's -B 1 does
  prob.y = const_cast<double*>(in.labels.data());
  prob.x = rows.data();
  prob.bias = 1.0;
  parameter param{};
  param.solver_type = SolverType(options.solver);
  param.C = options.c;
  param.eps = options.eps;
  param.p = 0.1;  // liblinear's default; only its regression solvers read it
  param.nr_weight = 0;
  param.weight_label = nullptr;
  param.weight = nullptr;
  param.init_sol = nullptr;
  if (const char* err = check_parameter(&prob, &param)) return Status::InvalidArgument(err);
  set_print_string_function(&Silent);
  // liblinear's solvers shuffle with the C library's rand(): without a seed of their own, a model
  // depended on how many rand() calls happened earlier in the process (the test suite's Banking77
  // figure differed from the CLI's). Seeding with 1 — what an unseeded rand() starts from — gives
  // every training the result a fresh process gets; the lock keeps concurrent trainings from
  // drawing from each other's sequence.
  static std::mutex rand_mu;
  model* trained = nullptr;
  {
    std::scoped_lock lock(rand_mu);
    std::srand(1);
    trained = train(&prob, &param);
  }
  if (trained == nullptr) return Status::Internal("liblinear failed to train");
  LinearModel out;
  out.num_features = n;
  const auto classes = static_cast<size_t>(trained->nr_class);
  out.labels.assign(trained->label, trained->label + classes);
  out.weights.resize(classes * n);
  out.bias.resize(classes);
  for (size_t k = 0; k < classes; ++k) {
    for (size_t j = 0; j < n; ++j) {
      out.weights[k * n + j] = get_decfun_coef(trained, static_cast<int>(j + 1), static_cast<int>(k));
    }
    out.bias[k] = get_decfun_bias(trained, static_cast<int>(k));
  }
  free_and_destroy_model(&trained);
  return out;
}

}  // namespace touchpoint::ml

#include <touchpoint/text/classifier.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>

#include <touchpoint/ml/linear.h>
#include <touchpoint/text/normalize.h>

#include "text/utf8_internal.h"

namespace touchpoint::text {

namespace {

constexpr uint32_t kBucketMask = (1u << 24) - 1;
constexpr std::string_view kMagic = "TPTEXTMODEL";
constexpr int kFormatVersion = 1;
constexpr double kSoftmaxScale = 4.0;

// Calls emit(bucket) for each feature occurrence of normalised text.
template <typename Emit>
void ExtractFeatures(std::string_view t, const ClassifierSettings& s, Emit emit) {
  auto hash = [](char tag, std::string_view bytes) {
    uint64_t h = internal::Fnv1a(std::string_view(&tag, 1));
    return static_cast<uint32_t>(internal::Fnv1a(bytes, h) & kBucketMask);
  };
  size_t i = 0;
  const size_t n = t.size();
  std::string_view prev_word;
  size_t han_pos[3] = {0, 0, 0};  // byte starts of the last three Han characters
  int han_run = 0;
  while (i < n) {
    char32_t cp;
    bool ok;
    const size_t len = internal::DecodeUtf8(t, i, &cp, &ok);
    if (internal::IsHan(cp)) {
      han_pos[0] = han_pos[1];
      han_pos[1] = han_pos[2];
      han_pos[2] = i;
      ++han_run;
      const size_t end = i + len;
      emit(hash('h', t.substr(i, len)));
      if (han_run >= 2) emit(hash('h', t.substr(han_pos[1], end - han_pos[1])));
      if (han_run >= 3) emit(hash('h', t.substr(han_pos[0], end - han_pos[0])));
      prev_word = {};
      i = end;
      continue;
    }
    han_run = 0;
    if (internal::IsAsciiAlnum(cp) || internal::IsLatinExtended(cp)) {
      const size_t start = i;
      while (i < n) {
        const size_t l = internal::DecodeUtf8(t, i, &cp, &ok);
        if (internal::IsAsciiAlnum(cp) || internal::IsLatinExtended(cp) ||
            (cp == '\'' && i + 1 < n && internal::IsAsciiAlnum(static_cast<unsigned char>(t[i + 1])))) {
          i += l;
        } else {
          break;
        }
      }
      std::string_view w = t.substr(start, i - start);
      emit(hash('w', w));
      if (s.word_bigrams && !prev_word.empty()) {
        uint64_t h = internal::Fnv1a(std::string_view("b", 1));
        h = internal::Fnv1a(prev_word, h);
        h = internal::Fnv1a(std::string_view(" ", 1), h);
        emit(static_cast<uint32_t>(internal::Fnv1a(w, h) & kBucketMask));
      }
      if (s.char_ngrams && w.size() >= 4) {
        char buf[64];
        const size_t m = std::min<size_t>(w.size(), 60);
        buf[0] = '<';
        std::memcpy(buf + 1, w.data(), m);
        buf[m + 1] = '>';
        for (size_t k = 0; k + 3 <= m + 2; ++k) emit(hash('c', std::string_view(buf + k, 3)));
      }
      prev_word = w;
      continue;
    }
    if (internal::IsEmoji(cp)) emit(hash('e', t.substr(i, len)));
    if (cp != ' ') prev_word = {};
    i += len;
  }
}

struct SparseVec {
  std::vector<std::pair<uint32_t, double>> entries;  // (row or bucket, value)
};

// Counts occurrences and applies (1 + log tf) · idf, L2-normalised.
template <typename IdfFn>
void Weigh(std::vector<uint32_t>* ids, IdfFn idf, SparseVec* out) {
  out->entries.clear();
  std::sort(ids->begin(), ids->end());
  double norm = 0;
  for (size_t k = 0; k < ids->size();) {
    size_t e = k;
    while (e < ids->size() && (*ids)[e] == (*ids)[k]) ++e;
    const double v = (1.0 + std::log(static_cast<double>(e - k))) * idf((*ids)[k]);
    if (v > 0) {
      out->entries.emplace_back((*ids)[k], v);
      norm += v * v;
    }
    k = e;
  }
  if (norm > 0) {
    norm = std::sqrt(norm);
    for (auto& [id, v] : out->entries) v /= norm;
  }
}

std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

struct TextClassifier::Impl {
  const Normalizer* normalizer = nullptr;
  ClassifierSettings settings;
  std::vector<std::string> labels;
  std::vector<uint32_t> buckets;  // sorted
  std::vector<float> idf;
  std::vector<float> weights;  // (F + 1) × C, row F is the bias
  // bucket → row lookup (open addressing over buckets+1; 0 = empty)
  std::vector<uint32_t> slot_key;
  std::vector<uint32_t> slot_row;

  void BuildIndex() {
    size_t cap = 1;
    while (cap < buckets.size() * 2 + 2) cap <<= 1;
    slot_key.assign(cap, 0);
    slot_row.assign(cap, 0);
    for (size_t r = 0; r < buckets.size(); ++r) {
      size_t s = (buckets[r] * 2654435761u) & (cap - 1);
      while (slot_key[s] != 0) s = (s + 1) & (cap - 1);
      slot_key[s] = buckets[r] + 1;
      slot_row[s] = static_cast<uint32_t>(r);
    }
  }
  int64_t Row(uint32_t bucket) const {
    const size_t mask = slot_key.size() - 1;
    for (size_t s = (bucket * 2654435761u) & mask;; s = (s + 1) & mask) {
      if (slot_key[s] == bucket + 1) return slot_row[s];
      if (slot_key[s] == 0) return -1;
    }
  }
};

TextClassifier::TextClassifier() : impl_(std::make_unique<Impl>()) {}
TextClassifier::~TextClassifier() = default;

const std::string& TextClassifier::task() const { return impl_->settings.task; }
const std::vector<std::string>& TextClassifier::labels() const { return impl_->labels; }
size_t TextClassifier::feature_count() const { return impl_->buckets.size(); }

Result<std::unique_ptr<TextClassifier>> TextClassifier::Train(
    const std::vector<LabelledText>& data, const ClassifierSettings& settings) {
  TP_ASSIGN_OR_RETURN(const Normalizer* normalizer, Normalizer::Default());
  if (data.empty()) return Status::InvalidArgument("no training examples");
  std::unique_ptr<TextClassifier> c(new TextClassifier());
  Impl& impl = *c->impl_;
  impl.normalizer = normalizer;
  impl.settings = settings;
  std::map<std::string, int> label_ids;
  for (const auto& d : data) label_ids.emplace(d.label, 0);
  if (label_ids.size() < 2) return Status::InvalidArgument("training needs at least 2 labels");
  for (auto& [name, id] : label_ids) {
    id = static_cast<int>(impl.labels.size());
    impl.labels.push_back(name);
  }
  // Features per document, document frequencies.
  std::vector<std::vector<uint32_t>> doc_ids(data.size());
  std::unordered_map<uint32_t, uint32_t> df;
  std::string norm;
  for (size_t d = 0; d < data.size(); ++d) {
    normalizer->Normalize(data[d].text, &norm);
    auto& ids = doc_ids[d];
    ExtractFeatures(norm, settings, [&](uint32_t b) { ids.push_back(b); });
    std::vector<uint32_t> uniq = ids;
    std::sort(uniq.begin(), uniq.end());
    uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
    for (uint32_t b : uniq) ++df[b];
  }
  for (const auto& [b, n] : df) {
    if (static_cast<int>(n) >= settings.min_count) impl.buckets.push_back(b);
  }
  if (impl.buckets.empty()) return Status::InvalidArgument("the training texts have no features");
  std::sort(impl.buckets.begin(), impl.buckets.end());
  const double n_docs = static_cast<double>(data.size());
  impl.idf.resize(impl.buckets.size());
  for (size_t r = 0; r < impl.buckets.size(); ++r) {
    impl.idf[r] = static_cast<float>(std::log((1 + n_docs) / (1 + df[impl.buckets[r]])) + 1);
  }
  impl.BuildIndex();
  // One sparse row per document (TF-IDF over the kept buckets), labelled with the label's id.
  const size_t n_features = impl.buckets.size();
  ml::LinearProblem problem(n_features);
  SparseVec vec;
  std::vector<uint32_t> row_ids;
  for (size_t d = 0; d < data.size(); ++d) {
    row_ids.clear();
    for (uint32_t b : doc_ids[d]) {
      const int64_t r = impl.Row(b);
      if (r >= 0) row_ids.push_back(static_cast<uint32_t>(r));
    }
    Weigh(&row_ids, [&](uint32_t r) { return static_cast<double>(impl.idf[r]); }, &vec);
    for (const auto& [r, v] : vec.entries) problem.Add(r, v);
    problem.EndRow(label_ids[data[d].label]);
  }
  Result<ml::LinearModel> m =
      ml::TrainLinear(problem, {.solver = ml::LinearSolver::kL2LossSvcDual, .c = settings.c, .eps = 0.1});
  if (!m.ok()) return m.status().WithContext("liblinear");
  const size_t nc = impl.labels.size();
  // Row f of the weights is feature f's; the last row is the bias and stays 0. The trained bias
  // weight has always been dropped here (liblinear's get_decfun_coef, which read it, returns 0
  // past the last feature); using it would change every trained model and the figures in
  // docs/text.md, so that is a decision of its own.
  impl.weights.assign((n_features + 1) * nc, 0.0f);
  for (size_t k = 0; k < m->labels.size(); ++k) {
    const auto label = static_cast<size_t>(m->labels[k]);
    for (size_t f = 0; f < n_features; ++f) {
      impl.weights[f * nc + label] = static_cast<float>(m->weight(k, f));
    }
  }
  return c;
}

Prediction TextClassifier::Predict(std::string_view text, int top_k) const {
  thread_local std::string norm;
  impl_->normalizer->Normalize(text, &norm);
  return PredictNormalized(norm, top_k);
}

Prediction TextClassifier::PredictNormalized(std::string_view text, int top_k) const {
  const Impl& impl = *impl_;
  thread_local std::vector<uint32_t> rows;
  thread_local SparseVec vec;
  thread_local std::vector<double> scores;
  rows.clear();
  ExtractFeatures(text, impl.settings, [&](uint32_t b) {
    const int64_t r = impl.Row(b);
    if (r >= 0) rows.push_back(static_cast<uint32_t>(r));
  });
  Weigh(&rows, [&](uint32_t r) { return static_cast<double>(impl.idf[r]); }, &vec);
  const size_t nc = impl.labels.size();
  const size_t f = impl.buckets.size();
  scores.assign(nc, 0.0);
  for (size_t k = 0; k < nc; ++k) scores[k] = impl.weights[f * nc + k];
  for (const auto& [r, v] : vec.entries) {
    const float* w = &impl.weights[static_cast<size_t>(r) * nc];
    for (size_t k = 0; k < nc; ++k) scores[k] += v * w[k];
  }
  double mx = *std::max_element(scores.begin(), scores.end());
  double sum = 0;
  for (double& s : scores) {
    s = std::exp(kSoftmaxScale * (s - mx));
    sum += s;
  }
  for (double& s : scores) s /= sum;
  Prediction p;
  size_t best = static_cast<size_t>(std::max_element(scores.begin(), scores.end()) - scores.begin());
  p.label = impl.labels[best];
  p.confidence = scores[best];
  if (top_k > 1) {
    std::vector<size_t> order(nc);
    for (size_t k = 0; k < nc; ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
    for (size_t k = 1; k < nc && static_cast<int>(k) < top_k; ++k) {
      p.alternatives.emplace_back(impl.labels[order[k]], scores[order[k]]);
    }
  }
  return p;
}

Evaluation TextClassifier::Evaluate(const std::vector<LabelledText>& data) const {
  std::vector<std::string> gold, predicted;
  for (const auto& d : data) {
    gold.push_back(d.label);
    predicted.push_back(Predict(d.text).label);
  }
  return EvaluatePredictions(gold, predicted);
}

Evaluation EvaluatePredictions(const std::vector<std::string>& gold,
                               const std::vector<std::string>& predicted) {
  Evaluation e;
  std::map<std::string, std::map<std::string, size_t>> confusion;
  std::map<std::string, size_t> tp, fp, fn, support;
  const size_t n = std::min(gold.size(), predicted.size());
  size_t correct = 0;
  for (size_t i = 0; i < n; ++i) {
    ++confusion[gold[i]][predicted[i]];
    ++support[gold[i]];
    tp.emplace(predicted[i], 0);
    if (gold[i] == predicted[i]) {
      ++correct;
      ++tp[gold[i]];
    } else {
      ++fp[predicted[i]];
      ++fn[gold[i]];
    }
  }
  e.count = n;
  e.accuracy = n ? static_cast<double>(correct) / static_cast<double>(n) : 0;
  std::map<std::string, bool> labels;
  for (const auto& [l, c] : support) labels[l] = true;
  for (const auto& [l, c] : tp) labels[l] = true;
  double f1_sum = 0;
  for (const auto& [l, unused] : labels) {
    Evaluation::PerLabel pl;
    pl.label = l;
    pl.support = support[l];
    const double t = static_cast<double>(tp[l]);
    pl.precision = t + static_cast<double>(fp[l]) > 0 ? t / (t + static_cast<double>(fp[l])) : 0;
    pl.recall = t + static_cast<double>(fn[l]) > 0 ? t / (t + static_cast<double>(fn[l])) : 0;
    pl.f1 = pl.precision + pl.recall > 0 ? 2 * pl.precision * pl.recall / (pl.precision + pl.recall)
                                         : 0;
    f1_sum += pl.f1;
    e.per_label.push_back(pl);
  }
  e.macro_f1 = e.per_label.empty() ? 0 : f1_sum / static_cast<double>(e.per_label.size());
  for (const auto& [g, row] : confusion) {
    std::vector<std::pair<std::string, size_t>> r(row.begin(), row.end());
    e.confusion.emplace_back(g, std::move(r));
  }
  return e;
}

namespace {
std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}
std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}
}  // namespace

std::string Evaluation::ToJson() const {
  std::string out = "{\"count\":" + std::to_string(count) + ",\"accuracy\":" + Num(accuracy) +
                    ",\"macro_f1\":" + Num(macro_f1) + ",\"per_label\":{";
  for (size_t i = 0; i < per_label.size(); ++i) {
    const auto& p = per_label[i];
    if (i) out += ",";
    out += JsonString(p.label) + ":{\"precision\":" + Num(p.precision) + ",\"recall\":" +
           Num(p.recall) + ",\"f1\":" + Num(p.f1) + ",\"support\":" + std::to_string(p.support) +
           "}";
  }
  out += "},\"confusion\":{";
  for (size_t i = 0; i < confusion.size(); ++i) {
    if (i) out += ",";
    out += JsonString(confusion[i].first) + ":{";
    for (size_t j = 0; j < confusion[i].second.size(); ++j) {
      if (j) out += ",";
      out += JsonString(confusion[i].second[j].first) + ":" +
             std::to_string(confusion[i].second[j].second);
    }
    out += "}";
  }
  out += "}}";
  return out;
}

std::string TextClassifier::ToBytes() const {
  const Impl& impl = *impl_;
  std::string payload;
  auto put = [&](const void* p, size_t n) { payload.append(static_cast<const char*>(p), n); };
  put(impl.buckets.data(), impl.buckets.size() * sizeof(uint32_t));
  put(impl.idf.data(), impl.idf.size() * sizeof(float));
  put(impl.weights.data(), impl.weights.size() * sizeof(float));
  std::ostringstream h;
  h << kMagic << ' ' << kFormatVersion << '\n';
  h << "task " << impl.settings.task << '\n';
  h << "labels " << impl.labels.size();
  for (const auto& l : impl.labels) h << ' ' << l;
  h << '\n';
  h << "settings c=" << impl.settings.c << " min_count=" << impl.settings.min_count
    << " word_bigrams=" << (impl.settings.word_bigrams ? 1 : 0)
    << " char_ngrams=" << (impl.settings.char_ngrams ? 1 : 0) << " features=tfidf-hashed24\n";
  h << "features " << impl.buckets.size() << '\n';
  h << "payload " << payload.size() << ' ' << Hex64(internal::Fnv1a(payload)) << '\n';
  return h.str() + payload;
}

Status TextClassifier::Save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::InvalidArgument("cannot write model file " + path);
  const std::string bytes = ToBytes();
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return Status::Unavailable("writing model file " + path + " failed");
  return Status::Ok();
}

Result<std::unique_ptr<TextClassifier>> TextClassifier::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("model file " + path + " not found");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return FromBytes(bytes, path);
}

Result<std::unique_ptr<TextClassifier>> TextClassifier::FromBytes(std::string_view bytes,
                                                                  std::string_view name) {
  TP_ASSIGN_OR_RETURN(const Normalizer* normalizer, Normalizer::Default());
  const std::string where(name);
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(where + ": " + why);
  };
  size_t pos = 0;
  auto next_line = [&](std::string* line) {
    const size_t nl = bytes.find('\n', pos);
    if (nl == std::string_view::npos || nl - pos > 1 << 20) return false;
    line->assign(bytes.substr(pos, nl - pos));
    pos = nl + 1;
    return true;
  };
  std::string line;
  if (!next_line(&line) || line.rfind(std::string(kMagic) + " ", 0) != 0) {
    return bad("not a Touchpoint text model (no TPTEXTMODEL header)");
  }
  if (line != std::string(kMagic) + " " + std::to_string(kFormatVersion)) {
    return bad("unsupported model format '" + line + "' (this build reads version " +
               std::to_string(kFormatVersion) + ")");
  }
  std::unique_ptr<TextClassifier> c(new TextClassifier());
  Impl& impl = *c->impl_;
  impl.normalizer = normalizer;
  size_t n_features = 0, payload_size = 0;
  std::string checksum;
  bool have_features = false, have_payload = false;
  while (!have_payload) {
    if (!next_line(&line)) return bad("truncated header");
    std::istringstream ls(line);
    std::string key;
    ls >> key;
    if (key == "task") {
      ls >> impl.settings.task;
    } else if (key == "labels") {
      size_t n = 0;
      if (!(ls >> n) || n < 2 || n > 100000) return bad("bad labels line");
      impl.labels.resize(n);
      for (auto& l : impl.labels) {
        if (!(ls >> l)) return bad("labels line lists fewer labels than it says");
      }
    } else if (key == "settings") {
      std::string kv;
      while (ls >> kv) {
        const size_t eq = kv.find('=');
        if (eq == std::string::npos) continue;
        const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
        if (k == "c") impl.settings.c = std::atof(v.c_str());
        if (k == "min_count") impl.settings.min_count = std::atoi(v.c_str());
        if (k == "word_bigrams") impl.settings.word_bigrams = v == "1";
        if (k == "char_ngrams") impl.settings.char_ngrams = v == "1";
      }
    } else if (key == "features") {
      if (!(ls >> n_features) || n_features > (1u << 24)) return bad("bad features line");
      have_features = true;
    } else if (key == "payload") {
      if (!(ls >> payload_size >> checksum)) return bad("bad payload line");
      have_payload = true;
    } else {
      return bad("unknown header line '" + line.substr(0, 40) + "'");
    }
  }
  if (impl.labels.empty() || !have_features) return bad("header lacks labels or features");
  const size_t nc = impl.labels.size();
  const size_t expected = n_features * 4 + n_features * 4 + (n_features + 1) * nc * 4;
  if (payload_size != expected) return bad("payload size does not match the header");
  if (bytes.size() - pos < payload_size) {
    return bad("truncated: payload has " + std::to_string(bytes.size() - pos) + " of " +
               std::to_string(payload_size) + " bytes");
  }
  if (bytes.size() - pos > payload_size) return bad("trailing bytes after the payload");
  std::string_view payload = bytes.substr(pos);
  if (Hex64(internal::Fnv1a(payload)) != checksum) return bad("corrupted: checksum mismatch");
  impl.buckets.resize(n_features);
  impl.idf.resize(n_features);
  impl.weights.resize((n_features + 1) * nc);
  std::memcpy(impl.buckets.data(), payload.data(), n_features * 4);
  std::memcpy(impl.idf.data(), payload.data() + n_features * 4, n_features * 4);
  std::memcpy(impl.weights.data(), payload.data() + n_features * 8, impl.weights.size() * 4);
  impl.BuildIndex();
  return c;
}

}  // namespace touchpoint::text

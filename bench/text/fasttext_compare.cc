// tp_fasttext_compare — fastText (supervised, C++ library) against the shipped linear model
// (TextClassifier, the code behind `touchpoint text train/eval`) on the same splits, in one run.
//
// Data sets
//   banking77   80/20 split of ../shared/data/banking77/train.csv written by
//               bench/text/banking77_baseline.py (seed 7): SPLIT_DIR/banking77_{train80,test20}.csv
//   bitext      ../shared/data/bitext (instruction → intent), 80/20 split, std::mt19937(7)
//   zh_intent   data/text/zh_cs_labelled.csv (315 sentences, 10 intents), 5-fold cross-validation
//   zh_sentiment same file, 3-way sentiment, 5-fold cross-validation
// Systems
//   ours                 TextClassifier::Train with the shipped defaults (C = 1)
//   fasttext-default     epoch 5, lr 0.1, dim 100, word unigrams (fastText's supervised defaults)
//   fasttext-tuned       best of a grid (epoch × lr × dim × subwords, word 2-grams; Chinese
//                        characters: 3-grams), picked on a 10 % validation part of the training
//                        split, then retrained on the whole training split
// fastText input: English lower-cased, split into words and punctuation; Chinese either the
// segmenter's tokens (what `touchpoint text segment` prints) or single characters of the
// normalised text. Times are process CPU time (user + sys) with thread = 1 for fastText;
// inference time includes tokenisation (ours: normalisation + features) — a whole prediction.
//
// usage: tp_fasttext_compare [--split-dir DIR] [--shared-data DIR] [--quick] [--only NAME]
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <fasttext/fasttext.h>

#include <touchpoint/core/csv.h>
#include <touchpoint/text/classifier.h>
#include <touchpoint/text/normalize.h>
#include <touchpoint/text/segmenter.h>

namespace {

using touchpoint::text::EvaluatePredictions;
using touchpoint::text::Evaluation;
using touchpoint::text::LabelledText;
using touchpoint::text::TextClassifier;

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

// Rows of a CSV file with a header; columns picked by name. Exits with a message on failure.
std::vector<LabelledText> ReadCsv(const std::string& path, const std::string& text_col,
                                  const std::string& label_col) {
  auto reader = touchpoint::CsvReader::Open(path);
  if (!reader.ok()) {
    std::fprintf(stderr, "cannot open %s: %s\n", path.c_str(), reader.status().ToString().c_str());
    std::exit(1);
  }
  std::vector<std::string> f;
  auto head = (*reader)->Next(&f);
  if (!head.ok() || !*head) {
    std::fprintf(stderr, "%s: no header\n", path.c_str());
    std::exit(1);
  }
  long ti = -1, li = -1;
  for (size_t i = 0; i < f.size(); ++i) {
    std::string name = f[i];
    if (!name.empty() && name.front() == '\xEF') name.erase(0, 3);  // BOM
    if (name == text_col) ti = static_cast<long>(i);
    if (name == label_col) li = static_cast<long>(i);
  }
  if (ti < 0 || li < 0) {
    std::fprintf(stderr, "%s: needs columns %s and %s\n", path.c_str(), text_col.c_str(),
                 label_col.c_str());
    std::exit(1);
  }
  std::vector<LabelledText> rows;
  while (true) {
    auto more = (*reader)->Next(&f);
    if (!more.ok()) {
      std::fprintf(stderr, "%s\n", more.status().ToString().c_str());
      std::exit(1);
    }
    if (!*more) break;
    const auto need = static_cast<size_t>(std::max(ti, li));
    if (f.size() <= need) continue;
    rows.push_back({f[static_cast<size_t>(ti)], f[static_cast<size_t>(li)]});
  }
  return rows;
}

// ---- tokenisers for fastText -------------------------------------------------------------

enum class Tok { kEnglish, kZhSegmented, kZhChars };

const char* TokName(Tok t) {
  switch (t) {
    case Tok::kEnglish: return "words";
    case Tok::kZhSegmented: return "segmented";
    case Tok::kZhChars: return "chars";
  }
  return "?";
}

// Lower-cased ASCII words (letters, digits, apostrophes inside) and punctuation marks.
std::string TokenizeEnglish(const std::string& text) {
  std::string out;
  bool in_word = false;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c >= 0x80 || (c == '\'' && in_word)) {
      if (!in_word && !out.empty()) out += ' ';
      out += static_cast<char>(std::tolower(c));
      in_word = true;
    } else if (std::isspace(c)) {
      in_word = false;
    } else {
      if (!out.empty()) out += ' ';
      out += static_cast<char>(c);
      in_word = false;
    }
  }
  return out;
}

// Every code point of the normalised text its own token, except runs of ASCII letters/digits.
std::string TokenizeChars(const touchpoint::text::Normalizer& norm, const std::string& text) {
  const std::string n = norm.Normalize(text);
  std::string out;
  bool in_ascii_word = false;
  for (size_t i = 0; i < n.size();) {
    const auto c = static_cast<unsigned char>(n[i]);
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    len = std::min(len, n.size() - i);
    if (c < 0x80 && std::isspace(c)) {
      in_ascii_word = false;
    } else if (c < 0x80 && std::isalnum(c)) {
      if (!in_ascii_word && !out.empty()) out += ' ';
      out += static_cast<char>(c);
      in_ascii_word = true;
    } else {
      if (!out.empty()) out += ' ';
      out.append(n, i, len);
      in_ascii_word = false;
    }
    i += len;
  }
  return out;
}

struct Tokenizers {
  std::unique_ptr<touchpoint::text::Normalizer> norm;
  std::unique_ptr<touchpoint::text::Segmenter> seg;

  std::string Run(Tok t, const std::string& text) const {
    switch (t) {
      case Tok::kEnglish: return TokenizeEnglish(text);
      case Tok::kZhChars: return TokenizeChars(*norm, text);
      case Tok::kZhSegmented: {
        std::string out;
        for (const auto& w : seg->Segment(text)) {
          if (!out.empty()) out += ' ';
          out += w;
        }
        return out;
      }
    }
    return text;
  }
};

// ---- fastText ------------------------------------------------------------------------------

struct FtConfig {
  int epoch = 5;
  double lr = 0.1;
  int dim = 100;
  int word_ngrams = 1;
  int minn = 0, maxn = 0;

  std::string ToString() const {
    char buf[128];
    std::snprintf(buf, sizeof buf, "epoch %d lr %.1f dim %d wordNgrams %d minn %d maxn %d", epoch,
                  lr, dim, word_ngrams, minn, maxn);
    return buf;
  }
};

const std::string kLabelPrefix = "__label__";

class FtModel {
 public:
  // Trains on tokenised texts; false (with *error) when fastText throws.
  bool Train(const std::vector<std::string>& tokens, const std::vector<std::string>& labels,
             const FtConfig& cfg, std::string* error) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("tp_fasttext_compare_" + std::to_string(getpid()) + ".txt");
    {
      std::ofstream out(path);
      for (size_t i = 0; i < tokens.size(); ++i) {
        out << kLabelPrefix << labels[i] << ' ' << tokens[i] << '\n';
      }
    }
    fasttext::Args args;
    args.input = path.string();
    args.model = fasttext::model_name::sup;
    args.loss = fasttext::loss_name::softmax;
    args.minCount = 1;
    args.epoch = cfg.epoch;
    args.lr = cfg.lr;
    args.dim = cfg.dim;
    args.wordNgrams = cfg.word_ngrams;
    args.minn = cfg.minn;
    args.maxn = cfg.maxn;
    // 2 M buckets × dim floats would cost 800 MB at dim 100; 200 k is plenty for these sets.
    args.bucket = (cfg.word_ngrams > 1 || cfg.maxn > 0) ? 200000 : 0;
    args.thread = 1;
    args.verbose = 0;
    args.seed = 1;
    try {
      ft_ = std::make_unique<fasttext::FastText>();
      ft_->train(args);
    } catch (const std::exception& e) {
      *error = e.what();
      std::filesystem::remove(path);
      return false;
    }
    std::filesystem::remove(path);
    dict_ = ft_->getDictionary();
    return true;
  }

  std::string Predict(const std::string& tokens) const {
    std::istringstream in(tokens + "\n");
    std::vector<int32_t> words, labels;
    dict_->getLine(in, words, labels);
    fasttext::Predictions preds;
    ft_->predict(1, words, preds, 0.0);
    if (preds.empty()) return "";
    std::string label = dict_->getLabel(preds[0].second);
    return label.substr(std::min(label.size(), kLabelPrefix.size()));
  }

 private:
  std::unique_ptr<fasttext::FastText> ft_;
  std::shared_ptr<const fasttext::Dictionary> dict_;
};

// ---- one comparison ------------------------------------------------------------------------

struct Outcome {
  std::vector<std::string> gold, predicted;
  double train_cpu = 0;       // seconds, summed over folds
  double infer_cpu = 0;       // seconds for infer_count predictions
  size_t infer_count = 0;
  std::map<std::string, int> settings;  // chosen configuration → folds that chose it
  double tuning_cpu = 0;                // grid search, summed over folds
};

// Predicts every test text, repeating the pass until ≥ 0.3 s CPU to time it.
template <typename PredictFn>
void PredictAll(const std::vector<LabelledText>& test, PredictFn predict, Outcome* out) {
  for (const auto& t : test) {
    out->gold.push_back(t.label);
    out->predicted.push_back(predict(t.text));
  }
  const double start = CpuSeconds();
  size_t n = 0;
  do {
    for (const auto& t : test) {
      volatile size_t sink = predict(t.text).size();
      (void)sink;
      ++n;
    }
  } while (CpuSeconds() - start < 0.3);
  out->infer_cpu += CpuSeconds() - start;
  out->infer_count += n;
}

void RunOurs(const std::vector<LabelledText>& train, const std::vector<LabelledText>& test,
             Outcome* out) {
  touchpoint::text::ClassifierSettings settings;
  const double t0 = CpuSeconds();
  auto model = TextClassifier::Train(train, settings);
  out->train_cpu += CpuSeconds() - t0;
  if (!model.ok()) {
    std::fprintf(stderr, "ours: %s\n", model.status().ToString().c_str());
    std::exit(1);
  }
  ++out->settings["C 1, word 1–2-grams, Latin char 3-grams, Han char 1–3-grams"];
  const TextClassifier& m = **model;
  PredictAll(test, [&](const std::string& text) { return m.Predict(text).label; }, out);
}

std::vector<FtConfig> Grid(Tok tok, bool quick) {
  std::vector<FtConfig> grid;
  const std::vector<int> epochs = quick ? std::vector<int>{25} : std::vector<int>{5, 25, 50};
  const std::vector<double> lrs = quick ? std::vector<double>{0.5} : std::vector<double>{0.1, 0.5, 1.0};
  const std::vector<int> dims = quick ? std::vector<int>{50} : std::vector<int>{50, 100};
  for (int e : epochs) {
    for (double lr : lrs) {
      for (int d : dims) {
        for (bool sub : {false, true}) {
          FtConfig c;
          c.epoch = e;
          c.lr = lr;
          c.dim = d;
          c.word_ngrams = tok == Tok::kZhChars ? 3 : 2;
          if (sub) {
            // English: character 3–5-grams of words; segmented Chinese: the characters and
            // character pairs inside words; single characters have no useful subwords.
            if (tok == Tok::kZhChars) continue;
            c.minn = tok == Tok::kEnglish ? 3 : 1;
            c.maxn = tok == Tok::kEnglish ? 5 : 2;
          }
          grid.push_back(c);
        }
      }
    }
  }
  return grid;
}

void RunFastText(const Tokenizers& toks, Tok tok, const std::vector<LabelledText>& train,
                 const std::vector<LabelledText>& test, bool tune, bool quick, Outcome* out) {
  auto tokenize_all = [&](const std::vector<LabelledText>& rows, std::vector<std::string>* t,
                          std::vector<std::string>* l) {
    for (const auto& r : rows) {
      t->push_back(toks.Run(tok, r.text));
      l->push_back(r.label);
    }
  };
  FtConfig best;  // fastText's supervised defaults
  double t0 = CpuSeconds();
  if (tune) {
    std::vector<LabelledText> shuffled = train;
    std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(1));
    const size_t cut = shuffled.size() * 9 / 10;
    std::vector<LabelledText> fit(shuffled.begin(), shuffled.begin() + static_cast<long>(cut));
    std::vector<LabelledText> val(shuffled.begin() + static_cast<long>(cut), shuffled.end());
    std::vector<std::string> ft, fl;
    tokenize_all(fit, &ft, &fl);
    std::vector<std::string> vt;
    for (const auto& v : val) vt.push_back(toks.Run(tok, v.text));
    double best_acc = -1;
    for (const FtConfig& c : Grid(tok, quick)) {
      FtModel m;
      std::string err;
      if (!m.Train(ft, fl, c, &err)) {
        std::fprintf(stderr, "fastText (%s): %s\n", c.ToString().c_str(), err.c_str());
        continue;
      }
      size_t right = 0;
      for (size_t i = 0; i < val.size(); ++i) right += m.Predict(vt[i]) == val[i].label;
      const double acc = static_cast<double>(right) / static_cast<double>(val.size());
      if (acc > best_acc) {
        best_acc = acc;
        best = c;
      }
    }
  }
  const double tuning = CpuSeconds() - t0;
  t0 = CpuSeconds();
  std::vector<std::string> tt, tl;
  tokenize_all(train, &tt, &tl);
  FtModel model;
  std::string err;
  if (!model.Train(tt, tl, best, &err)) {
    std::fprintf(stderr, "fastText: %s\n", err.c_str());
    std::exit(1);
  }
  out->train_cpu += CpuSeconds() - t0;  // the final model only; tuning reported separately
  ++out->settings[best.ToString()];
  if (tune) out->tuning_cpu += tuning;
  PredictAll(test, [&](const std::string& text) { return model.Predict(toks.Run(tok, text)); },
             out);
}

struct Row {
  std::string dataset, system, settings;
  Evaluation eval;
  double train_cpu, infer_per_s;
  size_t train_n, test_n;
};

void Print(const Row& r) {
  std::printf("| %s | %s | %.4f | %.4f | %.3f | %.0f | %s |\n", r.dataset.c_str(),
              r.system.c_str(), r.eval.accuracy, r.eval.macro_f1, r.train_cpu, r.infer_per_s,
              r.settings.c_str());
  std::fflush(stdout);
}

Row Finish(const std::string& dataset, const std::string& system, const Outcome& o, size_t folds,
           size_t train_n) {
  Row r;
  r.dataset = dataset;
  r.system = system;
  for (const auto& [config, n] : o.settings) {
    if (!r.settings.empty()) r.settings += "; ";
    r.settings += config;
    if (folds > 1) r.settings += " (" + std::to_string(n) + "/" + std::to_string(folds) + " folds)";
  }
  if (o.tuning_cpu > 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "; grid search %.1f s CPU", o.tuning_cpu / static_cast<double>(folds));
    r.settings += buf;
  }
  r.eval = EvaluatePredictions(o.gold, o.predicted);
  r.train_cpu = o.train_cpu / static_cast<double>(folds);
  r.infer_per_s = static_cast<double>(o.infer_count) / o.infer_cpu;
  r.train_n = train_n;
  r.test_n = o.gold.size();
  return r;
}

// Runs every system on the given folds (train, test pairs) and prints one row per system.
void Compare(const Tokenizers& toks, const std::string& dataset, const std::vector<Tok>& tokens,
             const std::vector<std::pair<std::vector<LabelledText>, std::vector<LabelledText>>>& folds,
             bool quick, std::vector<Row>* rows) {
  const size_t train_n = folds.front().first.size();
  std::fprintf(stderr, "%s: %zu fold(s), %zu training texts per fold\n", dataset.c_str(),
               folds.size(), train_n);
  Outcome ours;
  for (const auto& [train, test] : folds) RunOurs(train, test, &ours);
  rows->push_back(Finish(dataset, "ours (liblinear)", ours, folds.size(), train_n));
  Print(rows->back());
  for (Tok tok : tokens) {
    for (bool tune : {false, true}) {
      Outcome o;
      for (const auto& [train, test] : folds) RunFastText(toks, tok, train, test, tune, quick, &o);
      rows->push_back(Finish(dataset,
                             std::string("fastText ") + (tune ? "tuned" : "default") + ", " +
                                 TokName(tok),
                             o, folds.size(), train_n));
      Print(rows->back());
    }
  }
}

std::vector<std::pair<std::vector<LabelledText>, std::vector<LabelledText>>> KFolds(
    std::vector<LabelledText> all, size_t k, unsigned seed) {
  std::shuffle(all.begin(), all.end(), std::mt19937(seed));
  std::vector<std::pair<std::vector<LabelledText>, std::vector<LabelledText>>> folds(k);
  for (size_t i = 0; i < all.size(); ++i) {
    for (size_t f = 0; f < k; ++f) {
      (i % k == f ? folds[f].second : folds[f].first).push_back(all[i]);
    }
  }
  return folds;
}

}  // namespace

int main(int argc, char** argv) {
  std::string split_dir = "/tmp";
  std::string shared = TP_SHARED_DATA_DIR;
  std::string only;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--split-dir" && i + 1 < argc) {
      split_dir = argv[++i];
    } else if (a == "--shared-data" && i + 1 < argc) {
      shared = argv[++i];
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else if (a == "--quick") {
      quick = true;
    } else {
      std::fprintf(stderr,
                   "usage: tp_fasttext_compare [--split-dir DIR] [--shared-data DIR] [--quick] "
                   "[--only banking77|bitext|zh_intent|zh_sentiment]\n");
      return 2;
    }
  }
  Tokenizers toks;
  auto norm = touchpoint::text::Normalizer::Create();
  if (!norm.ok()) {
    std::fprintf(stderr, "%s\n", norm.status().ToString().c_str());
    return 1;
  }
  toks.norm = std::move(*norm);
  auto seg = touchpoint::text::Segmenter::Create({});
  if (!seg.ok()) {
    std::fprintf(stderr, "%s\n", seg.status().ToString().c_str());
    return 1;
  }
  toks.seg = std::move(*seg);

  std::vector<Row> rows;
  std::printf("| data set | system | accuracy | macro-F1 | train s (CPU) | infer texts/s (CPU) | "
              "settings |\n|---|---|---|---|---|---|---|\n");
  auto want = [&](const std::string& name) { return only.empty() || only == name; };
  if (want("banking77")) {
    const std::string tr = split_dir + "/banking77_train80.csv";
    const std::string te = split_dir + "/banking77_test20.csv";
    if (!std::filesystem::exists(tr) || !std::filesystem::exists(te)) {
      std::fprintf(stderr,
                   "%s missing: run /usr/bin/python3 bench/text/banking77_baseline.py "
                   "../shared/data/banking77/train.csv %s first\n",
                   tr.c_str(), split_dir.c_str());
      return 1;
    }
    Compare(toks, "banking77", {Tok::kEnglish},
            {{ReadCsv(tr, "text", "label"), ReadCsv(te, "text", "label")}}, quick, &rows);
  }
  if (want("bitext")) {
    auto all = ReadCsv(shared + "/bitext/Bitext_Sample_Customer_Support_Training_Dataset.csv",
                       "instruction", "intent");
    std::shuffle(all.begin(), all.end(), std::mt19937(7));
    const auto cut = static_cast<long>(all.size() * 4 / 5);
    Compare(toks, "bitext", {Tok::kEnglish},
            {{std::vector<LabelledText>(all.begin(), all.begin() + cut),
              std::vector<LabelledText>(all.begin() + cut, all.end())}},
            quick, &rows);
  }
  const std::string zh = std::string(TP_SOURCE_DIR) + "/data/text/zh_cs_labelled.csv";
  if (want("zh_intent")) {
    Compare(toks, "zh_intent (5-fold)", {Tok::kZhSegmented, Tok::kZhChars},
            KFolds(ReadCsv(zh, "text", "intent"), 5, 42), quick, &rows);
  }
  if (want("zh_sentiment")) {
    Compare(toks, "zh_sentiment (5-fold)", {Tok::kZhSegmented, Tok::kZhChars},
            KFolds(ReadCsv(zh, "text", "sentiment"), 5, 42), quick, &rows);
  }
  return 0;
}

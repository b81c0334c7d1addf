// text/classifier.h — trainable text classifier (linear SVM on hashed n-grams) and its file.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/text/sentiment.h>

namespace touchpoint::text {

struct LabelledText {
  std::string text;
  std::string label;
};

struct ClassifierSettings {
  std::string task = "intent";  // "sentiment" | "intent" (recorded in the file)
  double c = 1.0;               // liblinear cost (C of the L2-loss linear SVM)
  int min_count = 1;            // drop n-grams seen in fewer training texts
  bool word_bigrams = true;
  bool char_ngrams = true;      // 3-grams inside Latin words (Han 1–3-grams are always on)
};

struct Prediction {
  std::string label;
  double confidence = 0;  // softmax over decision values, [0, 1]
  std::vector<std::pair<std::string, double>> alternatives;  // next best, best first
};

struct Evaluation {
  size_t count = 0;
  double accuracy = 0;
  double macro_f1 = 0;
  struct PerLabel {
    std::string label;
    double precision = 0, recall = 0, f1 = 0;
    size_t support = 0;
  };
  std::vector<PerLabel> per_label;  // sorted by label
  // confusion[gold][predicted] = count, labels sorted.
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, size_t>>>> confusion;
  // {"accuracy":…,"macro_f1":…,"per_label":{…},"confusion":{…}}
  std::string ToJson() const;
};

// A linear classifier over TF-IDF-weighted hashed features: Latin word unigrams and bigrams,
// character 3-grams of Latin words, Han character 1–3-grams (no segmentation needed), emoji.
// File format (version 1): a text header
//   TPTEXTMODEL 1\n task <t>\n labels <n> <l1> … \n settings …\n features <F>\n
//   payload <bytes> <fnv1a-64 hex>\n
// then a little-endian binary payload (F bucket ids, F idf values, (F + 1) × n weights).
// Thread-safe for Predict after Train/Load.
class TextClassifier {
 public:
  // kInvalidArgument: fewer than 2 labels or no text; kInternal when liblinear fails.
  static Result<std::unique_ptr<TextClassifier>> Train(const std::vector<LabelledText>& data,
                                                       const ClassifierSettings& settings);
  // kNotFound: no file; kInvalidArgument: not a model, unsupported version, truncated or
  // corrupted (checksum) — the message says which.
  static Result<std::unique_ptr<TextClassifier>> Load(const std::string& path);
  static Result<std::unique_ptr<TextClassifier>> FromBytes(std::string_view bytes,
                                                           std::string_view name);
  ~TextClassifier();
  TextClassifier(const TextClassifier&) = delete;
  TextClassifier& operator=(const TextClassifier&) = delete;

  Status Save(const std::string& path) const;
  std::string ToBytes() const;

  // top_k ≥ 1 fills alternatives with up to top_k - 1 entries.
  Prediction Predict(std::string_view text, int top_k = 1) const;
  Prediction PredictNormalized(std::string_view normalized, int top_k = 1) const;
  Evaluation Evaluate(const std::vector<LabelledText>& data) const;

  const std::string& task() const;
  const std::vector<std::string>& labels() const;
  size_t feature_count() const;

 private:
  TextClassifier();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Sentiment from a model trained with task "sentiment": score = P(positive) - P(negative)
// (labels positive/pos/1 and negative/neg/0/-1), label = the predicted label mapped likewise
// (anything else is neutral). `normalized` is in Normalizer form.
SentimentResult SentimentFromModel(const TextClassifier& model, std::string_view normalized);

// Scores predictions against gold labels.
Evaluation EvaluatePredictions(const std::vector<std::string>& gold,
                               const std::vector<std::string>& predicted);

}  // namespace touchpoint::text

// Text module throughput: lexicon sentiment, rule intents, trained-model inference,
// segmentation, PII masking, the whole Analyzer, and training on Banking77.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <touchpoint/core/csv.h>
#include <touchpoint/text/analyzer.h>
#include <touchpoint/text/classifier.h>
#include <touchpoint/text/intent.h>
#include <touchpoint/text/normalize.h>
#include <touchpoint/text/pii.h>
#include <touchpoint/text/segmenter.h>
#include <touchpoint/text/sentiment.h>

namespace {

using namespace touchpoint::text;  // NOLINT: benchmark file, not a header

std::vector<std::vector<std::string>> ReadCsv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  auto r = touchpoint::CsvReader::Open(path);
  if (!r.ok()) return rows;
  std::vector<std::string> f;
  while (true) {
    auto more = (*r)->Next(&f);
    if (!more.ok() || !*more) break;
    rows.push_back(f);
  }
  if (!rows.empty()) rows.erase(rows.begin());  // header
  return rows;
}

const std::vector<std::string>& ShortTexts() {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> t;
    for (const auto& row : ReadCsv(std::string(TP_SOURCE_DIR) + "/data/text/zh_cs_labelled.csv")) {
      t.push_back(row[0]);
    }
    for (const char* en : {"Where is my parcel? It has been a week", "thanks, very helpful!",
                           "I want a refund, the product is broken", "can't log in to my account"}) {
      t.emplace_back(en);
    }
    return t;
  }();
  return texts;
}

std::vector<LabelledText> Banking77() {
  std::vector<LabelledText> out;
  for (const auto& row : ReadCsv(std::string(TP_SHARED_DATA_DIR) + "/banking77/train.csv")) {
    if (row.size() >= 2) out.push_back({row[0], row[1]});
  }
  return out;
}

void BM_LexiconSentiment(benchmark::State& state) {
  auto lex = LexiconSentiment::Create();
  const auto& texts = ShortTexts();
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const std::string& t = texts[i++ % texts.size()];
    SentimentResult r = (*lex)->Score(t);
    benchmark::DoNotOptimize(r);
    bytes += t.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_LexiconSentiment);

void BM_RuleIntent(benchmark::State& state) {
  auto rules = RuleIntentClassifier::Create();
  const auto& texts = ShortTexts();
  size_t i = 0;
  for (auto _ : state) {
    IntentResult r = (*rules)->Classify(texts[i++ % texts.size()]);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RuleIntent);

void BM_ModelPredict_Banking77(benchmark::State& state) {
  auto data = Banking77();
  if (data.empty()) {
    state.SkipWithError("shared data absent");
    return;
  }
  auto model = TextClassifier::Train(data, {});
  size_t i = 0;
  for (auto _ : state) {
    Prediction p = (*model)->Predict(data[i++ % data.size()].text);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ModelPredict_Banking77);

void BM_ModelPredict_ZhSentiment(benchmark::State& state) {
  std::vector<LabelledText> data;
  for (const auto& row : ReadCsv(std::string(TP_SOURCE_DIR) + "/data/text/zh_cs_labelled.csv")) {
    data.push_back({row[0], row[1]});
  }
  auto model = TextClassifier::Train(data, {});
  size_t i = 0;
  for (auto _ : state) {
    Prediction p = (*model)->Predict(data[i++ % data.size()].text);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ModelPredict_ZhSentiment);

void BM_Train_Banking77(benchmark::State& state) {
  auto data = Banking77();
  if (data.empty()) {
    state.SkipWithError("shared data absent");
    return;
  }
  for (auto _ : state) {
    auto model = TextClassifier::Train(data, {});
    benchmark::DoNotOptimize(model);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(data.size()));
}
BENCHMARK(BM_Train_Banking77)->Iterations(2)->Unit(benchmark::kSecond);

void BM_Segment(benchmark::State& state) {
  auto seg = Segmenter::Create({});
  if (!seg.ok()) {
    state.SkipWithError("jieba dictionary absent");
    return;
  }
  std::string doc;
  for (const auto& t : ShortTexts()) {
    doc += t;
    doc += "。";
    if (doc.size() >= static_cast<size_t>(state.range(0))) break;
  }
  for (auto _ : state) {
    auto tokens = (*seg)->Segment(doc);
    benchmark::DoNotOptimize(tokens);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(doc.size()));
}
BENCHMARK(BM_Segment)->Arg(64)->Arg(4096);

void BM_MaskPii(benchmark::State& state) {
  const std::string t = "您好，我的手机13812345678，邮箱zhang.san@example.com，卡号6222021234567890128";
  for (auto _ : state) {
    std::string m = MaskPii(t);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MaskPii);

void BM_Normalize(benchmark::State& state) {
  auto norm = Normalizer::Default();
  const auto& texts = ShortTexts();
  std::string out;
  size_t i = 0;
  for (auto _ : state) {
    (*norm)->Normalize(texts[i++ % texts.size()], &out);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Normalize);

void BM_Analyze(benchmark::State& state) {
  auto analyzer = Analyzer::Create({});
  const auto& texts = ShortTexts();
  size_t i = 0;
  for (auto _ : state) {
    MessageAnalysis m = (*analyzer)->Analyze(texts[i++ % texts.size()]);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Analyze)->ThreadRange(1, 2);

}  // namespace

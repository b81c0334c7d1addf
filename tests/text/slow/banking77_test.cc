// Slow text tests (ctest label `slow`): training on the shared Banking77 data.
#include <touchpoint/text/classifier.h>

#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include <touchpoint/core/csv.h>

#include "testing/matchers.h"

namespace touchpoint::text {
namespace {

// Banking77 (English, 77 intents): a model trained on 80 % of the official training split must
// do well on the other 20 %. Labelled slow: training takes a few seconds.
TEST(Banking77Test, Banking77HeldOut) {
  const std::string path = std::string(TP_SHARED_DATA_DIR) + "/banking77/train.csv";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "shared data absent: " << path;
  auto reader = CsvReader::Open(path);
  ASSERT_OK(reader);
  std::vector<std::string> f;
  ASSERT_OK((*reader)->Next(&f));
  std::vector<LabelledText> all;
  while (true) {
    auto more = (*reader)->Next(&f);
    ASSERT_OK(more);
    if (!*more) break;
    all.push_back({f[0], f[1]});
  }
  std::mt19937 rng(7);
  std::shuffle(all.begin(), all.end(), rng);
  const size_t cut = all.size() * 4 / 5;
  std::vector<LabelledText> train(all.begin(), all.begin() + static_cast<long>(cut));
  std::vector<LabelledText> test(all.begin() + static_cast<long>(cut), all.end());
  auto model = TextClassifier::Train(train, {});
  ASSERT_OK(model);
  Evaluation e = (*model)->Evaluate(test);
  std::printf("banking77 held-out accuracy %.4f macro-F1 %.4f\n", e.accuracy, e.macro_f1);
  EXPECT_GT(e.accuracy, 0.85);
}

}  // namespace
}  // namespace touchpoint::text

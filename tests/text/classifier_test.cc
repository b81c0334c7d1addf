#include <touchpoint/text/classifier.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include <touchpoint/core/csv.h>

#include "testing/matchers.h"
#include "text/labelled_data.h"

namespace touchpoint::text {
namespace {

using ::touchpoint::testing::StatusIs;

std::vector<LabelledText> ZhIntents() {
  std::vector<LabelledText> out;
  for (const auto& ex : testing::LoadZhLabelled()) out.push_back({ex.text, ex.intent});
  return out;
}

TEST(ClassifierTest, LearnsAndGeneralisesOnHeldOutChinese) {
  auto all = ZhIntents();
  ASSERT_GE(all.size(), 300u);
  std::mt19937 rng(42);
  std::shuffle(all.begin(), all.end(), rng);
  const size_t cut = all.size() * 4 / 5;
  std::vector<LabelledText> train(all.begin(), all.begin() + static_cast<long>(cut));
  std::vector<LabelledText> test(all.begin() + static_cast<long>(cut), all.end());
  auto model = TextClassifier::Train(train, {});
  ASSERT_OK(model);
  Evaluation on_train = (*model)->Evaluate(train);
  Evaluation on_test = (*model)->Evaluate(test);
  std::printf("zh intent: train acc %.3f, held-out acc %.3f macro-F1 %.3f (n=%zu)\n",
              on_train.accuracy, on_test.accuracy, on_test.macro_f1, test.size());
  EXPECT_GT(on_train.accuracy, 0.95);
  EXPECT_GT(on_test.accuracy, 0.5);  // 10 classes: chance is about 0.1
  Prediction p = (*model)->Predict("我要退款", 3);
  EXPECT_EQ(p.label, "refund");
  EXPECT_EQ(p.alternatives.size(), 2u);
  EXPECT_GT(p.confidence, p.alternatives[0].second);
}

TEST(ClassifierTest, SavesLoadsAndRejectsDamagedFiles) {
  auto model = TextClassifier::Train({{"退款 refund money", "refund"},
                                      {"退钱 给我退款", "refund"},
                                      {"快递 到哪了 物流", "delivery"},
                                      {"where is my parcel", "delivery"}},
                                     {});
  ASSERT_OK(model);
  const std::string bytes = (*model)->ToBytes();
  auto loaded = TextClassifier::FromBytes(bytes, "m");
  ASSERT_OK(loaded);
  EXPECT_EQ((*loaded)->labels(), (*model)->labels());
  EXPECT_EQ((*loaded)->Predict("我要退款").label, "refund");
  EXPECT_EQ((*loaded)->Predict("parcel").label, "delivery");
  EXPECT_DOUBLE_EQ((*loaded)->Predict("物流").confidence, (*model)->Predict("物流").confidence);

  EXPECT_THAT(TextClassifier::FromBytes(bytes.substr(0, bytes.size() - 7), "m"),
              StatusIs(StatusCode::kInvalidArgument));
  std::string flipped = bytes;
  flipped[flipped.size() - 3] ^= 0x40;
  auto corrupt = TextClassifier::FromBytes(flipped, "m");
  ASSERT_THAT(corrupt, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_NE(corrupt.status().message().find("checksum"), std::string::npos);
  EXPECT_THAT(TextClassifier::FromBytes("hello world\n", "m"),
              StatusIs(StatusCode::kInvalidArgument));
  std::string v2 = bytes;
  v2.replace(0, 13, "TPTEXTMODEL 9");
  EXPECT_THAT(TextClassifier::FromBytes(v2, "m"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(TextClassifier::FromBytes("", "m"), StatusIs(StatusCode::kInvalidArgument));
  // Every prefix of a valid file is rejected cleanly, never a crash.
  for (size_t n = 0; n < bytes.size(); n += 1 + bytes.size() / 200) {
    EXPECT_FALSE(TextClassifier::FromBytes(bytes.substr(0, n), "m").ok()) << n;
  }
  EXPECT_THAT(TextClassifier::Load("/nonexistent/model.tpm"), StatusIs(StatusCode::kNotFound));

  const std::string path = std::string(TP_BINARY_DIR) + "/classifier_test_model.tpm";
  ASSERT_OK((*model)->Save(path));
  auto from_file = TextClassifier::Load(path);
  ASSERT_OK(from_file);
  EXPECT_EQ((*from_file)->task(), "intent");
  std::filesystem::remove(path);
}

TEST(ClassifierTest, RejectsUnusableTrainingData) {
  EXPECT_THAT(TextClassifier::Train({}, {}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(TextClassifier::Train({{"a", "x"}, {"b", "x"}}, {}),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(EvaluationTest, ComputesAccuracyMacroF1AndConfusion) {
  Evaluation e = EvaluatePredictions({"a", "a", "b", "b"}, {"a", "b", "b", "b"});
  EXPECT_DOUBLE_EQ(e.accuracy, 0.75);
  // a: P=1 R=.5 F=.667; b: P=.667 R=1 F=.8 → macro .733
  EXPECT_NEAR(e.macro_f1, (2.0 / 3.0 + 0.8) / 2, 1e-9);
  EXPECT_NE(e.ToJson().find("\"confusion\":{\"a\":{\"a\":1,\"b\":1},\"b\":{\"b\":2}}"),
            std::string::npos)
      << e.ToJson();
}

}  // namespace
}  // namespace touchpoint::text

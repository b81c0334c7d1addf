#include <touchpoint/insight/churn.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::insight {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::testing::StatusIs;

const std::string kFixture = std::string(TP_SOURCE_DIR) + "/tests/data/churn_small.csv";

ml::RawTable LoadFixture() {
  auto t = ml::ReadCsvTable(kFixture);
  TP_CHECK(t.ok(), "tests/data/churn_small.csv must load");
  return std::move(t).value();
}

ChurnTrainOptions Options(ChurnModelKind kind) {
  ChurnTrainOptions o;
  o.label_column = "Churn";
  o.id_column = "customerID";
  o.kind = kind;
  return o;
}

class ChurnKindTest : public ::testing::TestWithParam<ChurnModelKind> {};

TEST_P(ChurnKindTest, TrainsScoresAndExplains) {
  ml::RawTable table = LoadFixture();
  auto model = ChurnModel::Train(table, Options(GetParam()));
  ASSERT_OK(model);
  // Types inferred from the telco-like columns.
  for (const auto& c : model->schema().columns) {
    if (c.name == "tenure" || c.name == "TotalCharges") {
      EXPECT_EQ(c.kind, ml::ColumnKind::kNumeric);
    }
    if (c.name == "Partner" || c.name == "SeniorCitizen") {
      EXPECT_EQ(c.kind, ml::ColumnKind::kBinary);
    }
    if (c.name == "Contract") {
      EXPECT_EQ(c.kind, ml::ColumnKind::kCategorical);
    }
    EXPECT_NE(c.name, "customerID");
    EXPECT_NE(c.name, "Churn");
  }
  auto scores = model->Score(table);
  ASSERT_OK(scores);
  ASSERT_EQ(scores->size(), table.rows.size());
  EXPECT_EQ((*scores)[0].id, table.rows[0][0]);  // the training id column
  // Churners score higher than stayers on average, and reasons name real columns.
  double churn_sum = 0, stay_sum = 0, churn_n = 0, stay_n = 0;
  size_t churn_col = *table.Require("Churn");
  for (size_t i = 0; i < scores->size(); ++i) {
    const ChurnScore& s = (*scores)[i];
    EXPECT_GE(s.probability, 0.0);
    EXPECT_LE(s.probability, 1.0);
    EXPECT_LE(s.reasons.size(), 3u);
    for (const auto& r : s.reasons) EXPECT_NE(r.find('='), std::string::npos) << r;
    if (table.rows[i][churn_col] == "Yes") {
      churn_sum += s.probability;
      churn_n += 1;
    } else {
      stay_sum += s.probability;
      stay_n += 1;
    }
  }
  EXPECT_GT(churn_sum / churn_n, stay_sum / stay_n + 0.15);
  // The riskiest customer has reasons.
  size_t top = 0;
  for (size_t i = 0; i < scores->size(); ++i) {
    if ((*scores)[i].probability > (*scores)[top].probability) top = i;
  }
  EXPECT_FALSE((*scores)[top].reasons.empty());
}

TEST_P(ChurnKindTest, SaveLoadRoundTripKeepsScores) {
  ml::RawTable table = LoadFixture();
  auto model = ChurnModel::Train(table, Options(GetParam()));
  ASSERT_OK(model);
  auto bytes = model->Serialize();
  ASSERT_OK(bytes);
  auto back = ChurnModel::Deserialize(*bytes, "m.model");
  ASSERT_OK(back);
  auto p1 = model->PredictProbabilities(table);
  auto p2 = back->PredictProbabilities(table);
  ASSERT_OK(p1);
  ASSERT_OK(p2);
  ASSERT_EQ(p1->size(), p2->size());
  for (size_t i = 0; i < p1->size(); ++i) EXPECT_NEAR((*p1)[i], (*p2)[i], 1e-6);
  EXPECT_EQ(back->id_column(), "customerID");
}

TEST_P(ChurnKindTest, CrossValidationBeatsChance) {
  auto ev = EvaluateChurn(LoadFixture(), Options(GetParam()), 3);
  ASSERT_OK(ev);
  EXPECT_EQ(ev->per_fold.size(), 3u);
  EXPECT_GT(ev->mean.roc_auc, 0.7);
  EXPECT_GT(ev->mean.pr_auc, static_cast<double>(ev->positives) / static_cast<double>(ev->rows));
  EXPECT_LT(ev->mean.log_loss, 0.69);
}

INSTANTIATE_TEST_SUITE_P(Kinds, ChurnKindTest,
                         ::testing::Values(ChurnModelKind::kLogistic, ChurnModelKind::kGbdt));

TEST(ChurnModelTest, BadFilesAreClearErrors) {
  ml::RawTable table = LoadFixture();
  auto model = ChurnModel::Train(table, Options(ChurnModelKind::kLogistic));
  ASSERT_OK(model);
  std::string bytes = *model->Serialize();
  struct Case {
    std::string bytes;
    std::string want;
  } cases[] = {
      {"", "header"},
      {"hello world\n{}", "header"},
      {bytes.substr(0, bytes.size() - 10), "truncated"},
      {[&] {
         std::string b = bytes;
         b[b.size() - 20] = b[b.size() - 20] == '1' ? '2' : '1';
         return b;
       }(),
       "corrupted"},
      {[&] {
         std::string b = bytes;
         b.replace(b.find(" 1 "), 3, " 9 ");
         return b;
       }(),
       "version 9"},
  };
  for (const auto& c : cases) {
    auto r = ChurnModel::Deserialize(c.bytes, "m.model");
    EXPECT_THAT(r, StatusIs(StatusCode::kInvalidArgument));
    EXPECT_THAT(r.status().message(), HasSubstr("m.model"));
    EXPECT_THAT(r.status().message(), HasSubstr(c.want));
  }
  EXPECT_THAT(ChurnModel::LoadFromFile("/nonexistent/m.model"), StatusIs(StatusCode::kNotFound));
}

TEST(ChurnModelTest, MissingFeatureColumnIsNamed) {
  ml::RawTable table = LoadFixture();
  auto model = ChurnModel::Train(table, Options(ChurnModelKind::kLogistic));
  ASSERT_OK(model);
  size_t col = *table.Require("Contract");
  ml::RawTable cut = table;
  cut.columns.erase(cut.columns.begin() + static_cast<std::ptrdiff_t>(col));
  for (auto& row : cut.rows) row.erase(row.begin() + static_cast<std::ptrdiff_t>(col));
  auto scores = model->Score(cut);
  EXPECT_THAT(scores, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(scores.status().message(), HasSubstr("missing column 'Contract'"));
}

TEST(ChurnModelTest, BadLabelsAreNamed) {
  auto single = ml::ParseCsvTable("x,Churn\n1,No\n2,no\n3,No\n", "one.csv");
  ASSERT_OK(single);
  auto r = ChurnModel::Train(*single, Options(ChurnModelKind::kLogistic));
  EXPECT_THAT(r, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("single class"));
  auto odd = ml::ParseCsvTable("x,Churn\n1,No\n2,maybe\n", "odd.csv");
  ASSERT_OK(odd);
  auto labels = ParseChurnLabels(*odd, "Churn");
  EXPECT_THAT(labels.status().message(), HasSubstr("odd.csv:3: column 'Churn': label 'maybe'"));
  EXPECT_THAT(ParseChurnLabels(*odd, "Label").status().message(), HasSubstr("missing column"));
}

TEST(ChurnModelTest, IgnoresEmptyAndIdentifierColumns) {
  std::string csv = "ref,empty,x,Churn\n";
  for (int i = 0; i < 30; ++i) {
    csv += "R" + std::to_string(i) + ", ," + std::to_string(i % 7) + "," + (i % 3 ? "no" : "yes") + "\n";
  }
  auto t = ml::ParseCsvTable(csv, "ids.csv");
  ASSERT_OK(t);
  ChurnTrainOptions o;
  o.label_column = "Churn";
  auto model = ChurnModel::Train(*t, o);
  ASSERT_OK(model);
  EXPECT_EQ(model->ignored_columns(), (std::vector<std::string>{"ref", "empty"}));
  EXPECT_EQ(model->id_column(), "ref");
  auto scores = model->Score(*t);
  ASSERT_OK(scores);
  EXPECT_EQ((*scores)[3].id, "R3");
}

TEST(ChurnModelTest, LabelTokens) {
  auto t = ml::ParseCsvTable("y\nYes\nno\nTRUE\nfalse\n1\n0\nchurn\nstay\n", "l.csv");
  ASSERT_OK(t);
  auto labels = ParseChurnLabels(*t, "y");
  ASSERT_OK(labels);
  EXPECT_EQ(*labels, (std::vector<int>{1, 0, 1, 0, 1, 0, 1, 0}));
}

TEST(ChurnModelTest, ParsesModelKinds) {
  EXPECT_EQ(*ParseChurnModelKind("gbdt"), ChurnModelKind::kGbdt);
  EXPECT_EQ(*ParseChurnModelKind("Logistic"), ChurnModelKind::kLogistic);
  EXPECT_THAT(ParseChurnModelKind("forest"), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchpoint::insight

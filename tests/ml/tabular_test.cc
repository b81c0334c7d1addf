#include <touchpoint/ml/tabular.h>

#include <cmath>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::ml {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::testing::StatusIs;

RawTable Parse(const std::string& csv) {
  auto t = ParseCsvTable(csv, "t.csv");
  TP_CHECK(t.ok(), "fixture must parse");
  return std::move(t).value();
}

TEST(TabularTest, InfersKinds) {
  struct Case {
    std::vector<std::string> values;
    ColumnKind want;
    std::string true_token;
  } cases[] = {
      {{"1.5", "2", " ", "-3e2"}, ColumnKind::kNumeric, ""},
      {{"Yes", "no", "YES", ""}, ColumnKind::kBinary, "yes"},
      {{"true", "false"}, ColumnKind::kBinary, "true"},
      {{"1", "0", "1"}, ColumnKind::kBinary, "1"},
      {{"0", "0"}, ColumnKind::kBinary, "1"},
      {{"DSL", "Fiber optic", "No"}, ColumnKind::kCategorical, ""},
      {{"yes", "no", "maybe"}, ColumnKind::kCategorical, ""},
      {{"1", "2", "x", "y"}, ColumnKind::kCategorical, ""},
  };
  for (const auto& c : cases) {
    std::string csv = "v\n";
    for (const auto& v : c.values) csv += "\"" + v + "\"\n";
    RawTable t = Parse(csv);
    auto schema = InferSchema(t, {"v"});
    ASSERT_OK(schema);
    EXPECT_EQ(schema->columns[0].kind, c.want) << csv;
    EXPECT_EQ(schema->columns[0].true_token, c.true_token) << csv;
  }
}

TEST(TabularTest, AOneZeroColumnTakesOtherNumbersWhenScored) {
  auto schema = InferSchema(Parse("f,b\n1,yes\n0,no\n"), {"f", "b"});
  ASSERT_OK(schema);
  ASSERT_EQ(schema->columns[0].kind, ColumnKind::kBinary);
  auto m = EncodeTable(*schema, Parse("f,b\n0.25,yes\n3,no\n"));
  ASSERT_OK(m);
  EXPECT_EQ(m->At(0, 0), 0.25);
  EXPECT_EQ(m->At(1, 0), 3.0);
  // A yes/no column still refuses what is neither.
  EXPECT_FALSE(EncodeTable(*schema, Parse("f,b\n1,maybe\n")).ok());
  EXPECT_FALSE(EncodeTable(*schema, Parse("f,b\nx,yes\n")).ok());
}

TEST(TabularTest, EncodesOneHotBinaryAndMissing) {
  RawTable t = Parse("n,b,c\n1.5,yes,a\n\" \",no,b\n3,,\n");
  auto schema = InferSchema(t, {"n", "b", "c"});
  ASSERT_OK(schema);
  EXPECT_EQ(schema->FeatureNames(), (std::vector<std::string>{"n", "b", "c=a", "c=b"}));
  auto m = EncodeTable(*schema, t);
  ASSERT_OK(m);
  ASSERT_EQ(m->rows, 3u);
  ASSERT_EQ(m->cols, 4u);
  EXPECT_EQ(m->At(0, 0), 1.5);
  EXPECT_TRUE(std::isnan(m->At(1, 0)));
  EXPECT_EQ(m->At(0, 1), 1.0);
  EXPECT_EQ(m->At(1, 1), 0.0);
  EXPECT_TRUE(std::isnan(m->At(2, 1)));
  EXPECT_EQ(m->At(0, 2), 1.0);
  EXPECT_EQ(m->At(1, 3), 1.0);
  EXPECT_EQ(m->At(2, 2) + m->At(2, 3), 0.0);  // missing category: no level set
}

TEST(TabularTest, MostlyNumericColumnWithTextNamesCell) {
  std::string csv = "id,amount\n";
  for (int i = 0; i < 40; ++i) csv += std::to_string(i) + "," + std::to_string(i * 2) + "\n";
  csv += "40,abc\n";
  RawTable t = Parse(csv);
  auto schema = InferSchema(t, {"amount"});
  EXPECT_THAT(schema, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(schema.status().message(), HasSubstr("t.csv:42: column 'amount'"));
  EXPECT_THAT(schema.status().message(), HasSubstr("'abc'"));
}

TEST(TabularTest, EncodeReportsBadCellsAndMissingColumns) {
  RawTable train = Parse("n,b\n1,yes\n2,no\n");
  auto schema = InferSchema(train, {"n", "b"});
  ASSERT_OK(schema);
  RawTable bad_number = Parse("n,b\n1,yes\nx,no\n");
  auto m = EncodeTable(*schema, bad_number);
  EXPECT_THAT(m, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(m.status().message(), HasSubstr("t.csv:3: column 'n': cannot parse 'x'"));
  RawTable bad_binary = Parse("n,b\n1,perhaps\n");
  EXPECT_THAT(EncodeTable(*schema, bad_binary).status().message(),
              HasSubstr("t.csv:2: column 'b'"));
  RawTable missing = Parse("n\n1\n");
  EXPECT_THAT(EncodeTable(*schema, missing).status().message(), HasSubstr("missing column 'b'"));
}

TEST(TabularTest, RejectsEmptyAndRaggedFiles) {
  EXPECT_THAT(ParseCsvTable("", "e.csv"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseCsvTable("a,b\n", "e.csv").status().message(), HasSubstr("no data rows"));
  EXPECT_THAT(ParseCsvTable("a,b\n1,2\n3\n", "e.csv").status().message(),
              HasSubstr("e.csv:3: expected 2 fields, found 1"));
  EXPECT_THAT(ReadCsvTable("/nonexistent/x.csv"), StatusIs(StatusCode::kNotFound));
}

TEST(TabularTest, LimitsCategoriesToMostFrequent) {
  std::string csv = "c\n";
  for (int i = 0; i < 10; ++i) csv += "common\n";
  for (int i = 0; i < 5; ++i) csv += "rare" + std::to_string(i) + "\n";
  RawTable t = Parse(csv);
  InferOptions options;
  options.max_categories = 2;
  auto schema = InferSchema(t, {"c"}, options);
  ASSERT_OK(schema);
  ASSERT_EQ(schema->columns[0].categories.size(), 2u);
  EXPECT_EQ(schema->columns[0].categories[0], "common");
}

}  // namespace
}  // namespace touchpoint::ml

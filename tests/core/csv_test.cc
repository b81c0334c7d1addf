#include <touchpoint/core/csv.h>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint {
namespace {

using Rows = std::vector<std::vector<std::string>>;

Rows ReadAll(std::string data, CsvOptions options = {}) {
  auto reader = CsvReader::FromString(std::move(data), options);
  Rows rows;
  std::vector<std::string> fields;
  for (;;) {
    auto r = reader->Next(&fields);
    EXPECT_OK(r);
    if (!r.ok() || !*r) break;
    rows.push_back(fields);
  }
  return rows;
}

TEST(CsvReaderTest, HandlesQuotesNewlinesBomAndCrlf) {
  Rows rows = ReadAll("\xEF\xBB\xBFid,text\r\n1,\"hello, \"\"world\"\"\"\r\n2,\"two\nlines\"\r\n3,\r\n");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"id", "text"}));
  EXPECT_EQ(rows[1][1], "hello, \"world\"");
  EXPECT_EQ(rows[2][1], "two\nlines");
  EXPECT_EQ(rows[3], (std::vector<std::string>{"3", ""}));
}

TEST(CsvReaderTest, ReportsLineOfEachRecord) {
  auto reader = CsvReader::FromString("a\n\"x\ny\"\n\nb\n");
  std::vector<std::string> f;
  ASSERT_TRUE(*reader->Next(&f));
  EXPECT_EQ(reader->record_line(), 1);
  ASSERT_TRUE(*reader->Next(&f));
  EXPECT_EQ(reader->record_line(), 2);
  ASSERT_TRUE(*reader->Next(&f));
  EXPECT_EQ(reader->record_line(), 5);
  EXPECT_EQ(f[0], "b");
  EXPECT_FALSE(*reader->Next(&f));
}

TEST(CsvReaderTest, UnterminatedQuoteIsAnErrorWithTheLine) {
  auto reader = CsvReader::FromString("a,b\n1,\"never closed\n");
  std::vector<std::string> f;
  ASSERT_TRUE(*reader->Next(&f));
  auto r = reader->Next(&f);
  EXPECT_THAT(r, ::touchpoint::testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_NE(r.status().message().find(":2:"), std::string::npos) << r.status().message();
}

TEST(CsvReaderTest, TsvAndHeaderLookup) {
  Rows rows = ReadAll("Customer ID\tAmount\nc1\t3.5\n", CsvOptions{.delimiter = '\t'});
  ASSERT_EQ(rows.size(), 2u);
  CsvHeader header(rows[0]);
  EXPECT_EQ(*header.Find("customer id"), 0u);
  EXPECT_EQ(*header.Require("Amount", "f.tsv"), 1u);
  auto missing = header.Require("date", "f.tsv");
  EXPECT_THAT(missing, ::touchpoint::testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_NE(missing.status().message().find("missing column 'date'"), std::string::npos);
}

}  // namespace
}  // namespace touchpoint

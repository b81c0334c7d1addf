#include <touchpoint/insight/rfm.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include <touchpoint/insight/orders.h>

#include "testing/matchers.h"

namespace touchpoint::insight {
namespace {

using ::touchpoint::testing::StatusIs;

Millis Day(int y, unsigned m, unsigned d) { return DaysFromCivil(y, m, d) * kMillisPerDay; }

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ParseOrderDateTest, AcceptsDocumentedFormats) {
  struct Case {
    const char* text;
    Millis want;
  };
  const Case cases[] = {
      {"2011-12-09", Day(2011, 12, 9)},
      {"2011-12-09 12:50", Day(2011, 12, 9) + (12 * 60 + 50) * 60'000},
      {"2011-12-09T12:50:00Z", Day(2011, 12, 9) + (12 * 60 + 50) * 60'000},
      {"12/9/2011 12:50", Day(2011, 12, 9) + (12 * 60 + 50) * 60'000},
      {"12/1/2010 8:26", Day(2010, 12, 1) + (8 * 60 + 26) * 60'000},
      {"1/31/2011", Day(2011, 1, 31)},
      {"2011/1/31 08:00:30", Day(2011, 1, 31) + (8 * 3600 + 30) * 1000},
      {" 1323435000 ", 1323435000000},
  };
  for (const auto& c : cases) {
    auto got = ParseOrderDate(c.text);
    ASSERT_OK(got) << c.text;
    EXPECT_EQ(*got, c.want) << c.text;
  }
  for (const char* bad : {"", "13/1/2011", "2/30/2011", "12/9/11", "yesterday", "2011-13-01",
                          "12/9/2011 25:00"}) {
    EXPECT_THAT(ParseOrderDate(bad), StatusIs(StatusCode::kInvalidArgument)) << bad;
  }
}

TEST(RfmTest, ScoresLayersAndTiersFromOrders) {
  // Five customers, as of 2024-01-11. a: recent, frequent, big. e: old, single, small.
  OrderBookBuilder b;
  b.Add("a", "o1", Day(2024, 1, 10), 30000);
  b.Add("a", "o2", Day(2024, 1, 9), 1000);
  b.Add("a", "o2", Day(2024, 1, 9), 500);  // same order: still 2 orders
  b.Add("b", "o3", Day(2024, 1, 8), 6000);
  b.Add("c", "o4", Day(2023, 6, 1), 100);
  b.Add("c", "o5", Day(2023, 7, 1), 100);
  b.Add("c", "o6", Day(2023, 8, 1), 100);
  b.Add("d", "o7", Day(2022, 1, 1), 9000);  // outside the annual window
  b.Add("e", "o8", Day(2023, 1, 1), 10);
  OrderBook book = b.Finish();
  auto got = ComputeRfm(book, {});
  ASSERT_OK(got);
  EXPECT_EQ(got->as_of, Day(2024, 1, 11));
  std::map<std::string, RfmRow> by;
  for (const auto& r : got->rows) by[book.customers[r.customer]] = r;
  ASSERT_EQ(by.size(), 5u);
  EXPECT_EQ(by["a"].recency_days, 1);
  EXPECT_EQ(by["a"].frequency, 2);
  EXPECT_DOUBLE_EQ(by["a"].monetary, 31500);
  EXPECT_EQ(by["a"].r, 5);
  EXPECT_EQ(by["a"].m, 5);
  EXPECT_EQ(by["a"].layer, RfmLayer::kImportantValue);
  EXPECT_EQ(by["a"].tier, Tier::kGold);
  EXPECT_EQ(by["b"].tier, Tier::kSilver);
  EXPECT_EQ(by["d"].tier, Tier::kNormal);  // 9000 spent, but two years ago
  EXPECT_EQ(by["e"].layer, RfmLayer::kChurnWarning);
  EXPECT_EQ(by["e"].headline, HeadlineLayer::kChurnWarning);
  EXPECT_EQ(by["c"].layer, RfmLayer::kGeneralKeep);  // old, frequent, small
  EXPECT_EQ(by["d"].layer, RfmLayer::kImportantWinBack);
  // b: m = 3 is not above the mean m score (3), so b is "new", not "important-develop".
  EXPECT_EQ(by["b"].m, 3);
  EXPECT_EQ(by["b"].layer, RfmLayer::kNew);
  // Summary shares add up.
  double cs = 0, rs = 0;
  for (const auto& g : got->layers) {
    cs += g.customer_share;
    rs += g.revenue_share;
  }
  EXPECT_NEAR(cs, 1.0, 1e-12);
  EXPECT_NEAR(rs, 1.0, 1e-12);
  EXPECT_EQ(got->headlines[0].customers + got->headlines[1].customers + got->headlines[2].customers, 5);
}

TEST(RfmTest, AsOfExcludesLaterLinesAndTiesShareScores) {
  OrderBookBuilder b;
  for (int i = 0; i < 10; ++i) b.Add("c" + std::to_string(i), "", Day(2024, 1, 1), 100);
  b.Add("late", "", Day(2024, 3, 1), 100);
  OrderBook book = b.Finish();
  auto got = ComputeRfm(book, {.as_of = Day(2024, 2, 1), .silver_threshold = 5000, .gold_threshold = 20000});
  ASSERT_OK(got);
  ASSERT_EQ(got->rows.size(), 10u);
  for (const auto& r : got->rows) {
    EXPECT_EQ(r.r, 1);  // all tied → same (lowest) bin
    EXPECT_EQ(r.m, 1);
    EXPECT_EQ(r.recency_days, 31);
  }
  EXPECT_THAT(ComputeRfm(book, {.as_of = Day(2020, 1, 1), .silver_threshold = 1, .gold_threshold = 2}),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ComputeRfm(book, {.as_of = 0, .silver_threshold = 10, .gold_threshold = 2}),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(ReadOrdersCsvTest, SkipsAndCountsBadRows) {
  const std::string path = WriteFile("orders.csv",
                                     "\xEF\xBB\xBFinvoice,cust,when,qty,price\n"
                                     "1,a,2024-01-01,2,5\n"
                                     "C2,a,2024-01-01,-1,5\n"
                                     "3,,2024-01-01,1,5\n"
                                     "4,b,2024-01-02,0,5\n"
                                     "5,\"b, inc\",1/3/2024 10:00,1,0.5\r\n");
  OrderCsvOptions opt;
  opt.customer_column = "cust";
  opt.date_column = "when";
  opt.quantity_column = "qty";
  opt.price_column = "price";
  opt.order_column = "invoice";
  auto got = ReadOrdersCsv(path, opt);
  ASSERT_OK(got);
  EXPECT_EQ(got->stats.rows, 5);
  EXPECT_EQ(got->stats.kept, 2);
  EXPECT_EQ(got->stats.cancelled, 1);
  EXPECT_EQ(got->stats.missing_customer, 1);
  EXPECT_EQ(got->stats.non_positive, 1);
  ASSERT_EQ(got->book.customers.size(), 2u);
  EXPECT_EQ(got->book.customers[1], "b, inc");
  EXPECT_DOUBLE_EQ(got->book.lines[1].amount, 0.5);
  EXPECT_EQ(got->book.lines[1].time, Day(2024, 1, 3) + 10 * 3600 * 1000);
}

TEST(ReadOrdersCsvTest, ErrorsNameFileLineAndColumn) {
  OrderCsvOptions opt;
  opt.amount_column = "amount";
  struct Case {
    std::string text;
    std::string want;
  };
  const Case cases[] = {
      {"customer,date,amount\na,2024-01-01,12x\n", ":2: column 'amount': not a number"},
      {"customer,date,amount\na,2024-01-01,1\nb,someday,1\n", ":3: column 'date': unparsable date"},
      {"customer,date\na,2024-01-01\n", "missing column 'amount'"},
      {"", "empty file"},
      {"customer,date,amount\na,2024-01-01\n", ":2: row has 2 fields"},
  };
  int i = 0;
  for (const auto& c : cases) {
    const std::string path = WriteFile("bad" + std::to_string(i++) + ".csv", c.text);
    auto got = ReadOrdersCsv(path, opt);
    ASSERT_THAT(got, StatusIs(StatusCode::kInvalidArgument)) << c.text;
    EXPECT_NE(got.status().message().find(c.want), std::string::npos) << got.status().message();
    EXPECT_NE(got.status().message().find(path), std::string::npos) << got.status().message();
  }
  EXPECT_THAT(ReadOrdersCsv("/nonexistent/orders.csv", opt), StatusIs(StatusCode::kNotFound));
  OrderCsvOptions both = opt;
  both.quantity_column = "q";
  EXPECT_THAT(ReadOrdersCsv(WriteFile("x.csv", "a\n"), both), StatusIs(StatusCode::kInvalidArgument));
}

TEST(RfmTest, OnlineRetailAfterCleaning) {
  const std::string path = std::string(TP_SHARED_DATA_DIR) + "/online_retail/online_retail.csv.gz";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no " << path;
  OrderCsvOptions opt;
  opt.customer_column = "CustomerID";
  opt.date_column = "InvoiceDate";
  opt.quantity_column = "Quantity";
  opt.price_column = "UnitPrice";
  opt.order_column = "InvoiceNo";
  const auto start = std::chrono::steady_clock::now();
  auto orders = ReadOrdersCsv(path, opt);
  ASSERT_OK(orders);
  auto rfm = ComputeRfm(orders->book, {});
  ASSERT_OK(rfm);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(orders->stats.rows, 541909);
  EXPECT_EQ(orders->stats.kept, 397884);
  EXPECT_EQ(rfm->rows.size(), 4338u);
  EXPECT_EQ(FormatDate(rfm->as_of), "2011-12-10");
  // Every layer is populated and important-value customers bring an outsized revenue share.
  for (const auto& g : rfm->layers) EXPECT_GT(g.customers, 0);
  const auto& iv = rfm->layers[static_cast<size_t>(RfmLayer::kImportantValue)];
  EXPECT_GT(iv.revenue_share, 2 * iv.customer_share);
  RecordProperty("seconds", std::to_string(seconds));
}

}  // namespace
}  // namespace touchpoint::insight

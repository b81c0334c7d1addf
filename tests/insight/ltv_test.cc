#include <touchpoint/insight/ltv.h>

#include <cmath>
#include <map>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::insight {
namespace {

Millis Day(int y, unsigned m, unsigned d) { return DaysFromCivil(y, m, d) * kMillisPerDay; }

TEST(LtvTest, RetentionAndValueFollowTheDocumentedModel) {
  // Span 2 years → window 365 days. Cohort (2022-01-11 .. 2023-01-11): a, b, c, d.
  // Retained in the last year: a, b → r = 0.5.
  OrderBookBuilder b;
  b.Add("a", "1", Day(2022, 3, 1), 100);
  b.Add("a", "2", Day(2023, 3, 1), 300);
  b.Add("b", "3", Day(2022, 4, 1), 50);
  b.Add("b", "4", Day(2023, 6, 1), 50);
  b.Add("c", "5", Day(2022, 5, 1), 80);
  b.Add("d", "6", Day(2022, 6, 1), 80);
  b.Add("e", "7", Day(2022, 1, 11), 10);  // oldest line: fixes the span
  b.Add("f", "8", Day(2024, 1, 10), 1000);  // new this year
  OrderBook book = b.Finish();
  LtvOptions opt;
  opt.discount_rate = 0;
  opt.horizon_years = 3;
  auto got = ComputeLtv(book, opt);
  ASSERT_OK(got);
  EXPECT_EQ(FormatDate(got->as_of), "2024-01-11");
  EXPECT_DOUBLE_EQ(got->window_days, 365);
  EXPECT_EQ(got->cohort, 5);  // a b c d e
  EXPECT_EQ(got->retained, 2);
  EXPECT_NEAR(got->annual_retention, 0.4, 1e-12);
  EXPECT_NEAR(got->lifetime_multiplier, 1 + 0.4 + 0.16, 1e-12);
  std::map<std::string, LtvRow> by;
  for (const auto& r : got->rows) by[book.customers[r.customer]] = r;
  // a: 2 orders, AOV 200, tenure 681 days → 2/681*365 orders a year.
  const double tenure_a = static_cast<double>(Day(2024, 1, 11) - Day(2022, 3, 1)) / kMillisPerDay;
  EXPECT_NEAR(by["a"].ltv, 200 * (2 / tenure_a * 365) * 1.56, 1e-9);
  // f: tenure below the 365-day floor → 1 order a year.
  EXPECT_NEAR(by["f"].orders_per_year, 1.0, 1e-12);
  EXPECT_NEAR(by["f"].ltv, 1000 * 1.56, 1e-9);
  EXPECT_GT(by["a"].ltv, by["c"].ltv);
}

TEST(LtvTest, RejectsBadOptions) {
  OrderBookBuilder b;
  b.Add("a", "1", Day(2022, 3, 1), 100);
  OrderBook book = b.Finish();
  LtvOptions opt;
  opt.margin = 0;
  EXPECT_THAT(ComputeLtv(book, opt), testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ComputeLtv(OrderBook{}, {}), testing::StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchpoint::insight

#include <touchpoint/core/time.h>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint {
namespace {

TEST(ParseTimestampTest, AcceptsIsoAndEpochForms) {
  struct Case {
    const char* in;
    const char* utc;
  } cases[] = {
      {"2024-03-01T08:30:00Z", "2024-03-01T08:30:00.000Z"},
      {"2024-03-01T08:30:00+08:00", "2024-03-01T00:30:00.000Z"},
      {"2024-03-01T08:30:00.5-0130", "2024-03-01T10:00:00.500Z"},
      {"2024-03-01 08:30", "2024-03-01T08:30:00.000Z"},
      {"2024-03-01", "2024-03-01T00:00:00.000Z"},
      {"1709281800", "2024-03-01T08:30:00.000Z"},
      {"1709281800123", "2024-03-01T08:30:00.123Z"},
      {"2024-02-29T23:59:59.999Z", "2024-02-29T23:59:59.999Z"},
  };
  for (const auto& c : cases) {
    auto r = ParseTimestamp(c.in);
    ASSERT_OK(r) << c.in;
    EXPECT_EQ(FormatTimestamp(*r), c.utc) << c.in;
  }
}

TEST(ParseTimestampTest, RejectsNonsense) {
  for (const char* bad : {"", "yesterday", "2023-02-29", "2024-13-01", "2024-01-01T25:00:00Z",
                          "2024-01-01T10:00:00Q", "12abc"}) {
    EXPECT_THAT(ParseTimestamp(bad), ::touchpoint::testing::StatusIs(StatusCode::kInvalidArgument))
        << bad;
  }
}

TEST(FormatTimestampTest, HandlesTimesBeforeEpoch) {
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999Z");
}

}  // namespace
}  // namespace touchpoint

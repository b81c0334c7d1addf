#include <touchpoint/calendar/time_zone.h>

#include <gtest/gtest.h>

#include <touchpoint/calendar/calendar.h>

#include "testing/matchers.h"

namespace touchpoint::calendar {
namespace {

using ::touchpoint::testing::StatusIs;

UnixSeconds T(const char* iso) { return ParseInstant(iso).value(); }

TEST(TimeZoneTest, LoadsIanaZonesFromTheSystemZoneinfo) {
  auto shanghai = TimeZone::Load("Asia/Shanghai");
  ASSERT_OK(shanghai);
  EXPECT_EQ(shanghai->OffsetAt(T("2026-02-14T02:00:00Z")), 8 * 3600);
  auto berlin = TimeZone::Load("Europe/Berlin");
  ASSERT_OK(berlin);
  EXPECT_EQ(berlin->OffsetAt(T("2026-03-29T00:59:59Z")), 3600);
  EXPECT_EQ(berlin->OffsetAt(T("2026-03-29T01:00:00Z")), 7200);
  EXPECT_EQ(berlin->OffsetAt(T("2026-10-25T00:59:59Z")), 7200);
  EXPECT_EQ(berlin->OffsetAt(T("2026-10-25T01:00:00Z")), 3600);
  auto utc = TimeZone::Load("UTC");
  ASSERT_OK(utc);
  EXPECT_EQ(utc->OffsetAt(T("2026-07-01T00:00:00Z")), 0);
}

TEST(TimeZoneTest, LocalTimesInGapsMoveForwardAndRepeatedOnesTakeTheFirst) {
  const TimeZone berlin = TimeZone::Load("Europe/Berlin").value();
  const UnixSeconds day = T("2026-03-29T00:00:00Z");  // as local seconds: 2026-03-29 00:00 local
  EXPECT_EQ(berlin.LocalToUtc(day + 9 * 3600), T("2026-03-29T07:00:00Z"));
  EXPECT_EQ(berlin.LocalToUtc(day + 2 * 3600 + 1800), T("2026-03-29T01:30:00Z"));  // 02:30 → 03:30 CEST
  const UnixSeconds fall = T("2026-10-25T00:00:00Z");
  EXPECT_EQ(berlin.LocalToUtc(fall + 2 * 3600 + 1800), T("2026-10-25T00:30:00Z"));  // first 02:30 (CEST)
  EXPECT_EQ(berlin.LocalToUtc(fall + 9 * 3600), T("2026-10-25T08:00:00Z"));
}

TEST(TimeZoneTest, UnknownOrMalformedZonesNameTheField) {
  for (const char* bad : {"Mars/Olympus_Mons", "../etc/passwd", "/usr/share/zoneinfo/UTC", "", "Asia/Shang hai"}) {
    auto z = TimeZone::Load(bad);
    ASSERT_THAT(z, StatusIs(StatusCode::kInvalidArgument)) << bad;
    EXPECT_EQ(z.status().message().rfind("zone:", 0), 0u) << z.status().message();
  }
  EXPECT_THAT(TimeZone::FromTzif("x", "not a tzif file at all, really not one"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(TimeZone::FromTzif("x", "TZif"), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchpoint::calendar

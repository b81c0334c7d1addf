#include <touchpoint/core/result.h>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint {
namespace {

using ::touchpoint::testing::IsOk;
using ::touchpoint::testing::StatusIs;

Result<int> Half(int v) {
  if (v % 2) return Status::InvalidArgument("odd");
  return v / 2;
}

Result<int> Quarter(int v) {
  TP_ASSIGN_OR_RETURN(int h, Half(v));
  return Half(h);
}

TEST(ResultTest, PropagatesErrors) {
  EXPECT_THAT(Quarter(8), IsOk());
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_THAT(Quarter(6), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(Quarter(6).status().message(), "odd");
}

TEST(StatusTest, ToStringNamesTheCode) {
  EXPECT_EQ(Status::NotFound("x").ToString(), "not_found: x");
  EXPECT_EQ(Status::NotFound("x").WithContext("file.csv").message(), "file.csv: x");
}

}  // namespace
}  // namespace touchpoint

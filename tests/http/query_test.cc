#include <touchpoint/http/query.h>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::http {
namespace {

using touchpoint::testing::StatusIs;

TEST(QueryParamTest, DecodesPercentEscapesAndPlus) {
  auto v = QueryParam("reveal=phone&reason=call+back%20about%20order%2042", "reason");
  ASSERT_OK(v);
  ASSERT_TRUE(v->has_value());
  EXPECT_EQ(**v, "call back about order 42");
  auto cn = QueryParam("reason=%E5%9B%9E%E7%94%B5", "reason");
  ASSERT_OK(cn);
  EXPECT_EQ(**cn, "回电");
}

TEST(QueryParamTest, AbsentEmptyAndFirstOccurrence) {
  EXPECT_FALSE(QueryParam("a=1&b=2", "c")->has_value());
  EXPECT_FALSE(QueryParam("", "a")->has_value());
  EXPECT_EQ(**QueryParam("a&b=2", "a"), "");
  EXPECT_EQ(**QueryParam("a=&b=2", "a"), "");
  EXPECT_EQ(**QueryParam("a=1&a=2", "a"), "1");
  EXPECT_EQ(**QueryParam("ab=1&a=2", "a"), "2");  // a prefix of another key is not the key
}

TEST(QueryParamTest, BadEscapesAreErrorsNamingTheKey) {
  auto bad = QueryParam("reason=%zz", "reason");
  ASSERT_THAT(bad, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_NE(bad.status().message().find("reason"), std::string::npos);
  EXPECT_THAT(QueryParam("reason=abc%4", "reason"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(QueryParam("reason=%00", "reason"), StatusIs(StatusCode::kInvalidArgument));
  // A bad escape in another parameter does not matter.
  EXPECT_OK(QueryParam("x=%zz&reason=ok", "reason"));
}

}  // namespace
}  // namespace touchpoint::http

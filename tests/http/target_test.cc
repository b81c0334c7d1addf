#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <touchpoint/http/server.h>

#include "http/target_internal.h"
#include "testing/matchers.h"

namespace touchpoint::http::internal {
namespace {

using ::touchpoint::testing::StatusIs;

struct TargetCase {
  std::string target;
  bool ok;
  std::string path;
  std::string query;
};

TEST(ParseTargetTest, Table) {
  const std::vector<TargetCase> cases = {
      {"/", true, "/", ""},
      {"/v1/customers/phone:%2B8613812345678", true, "/v1/customers/phone:+8613812345678", ""},
      {"/v1/customers/phone:+86138?x=1&y=%20", true, "/v1/customers/phone:+86138", "x=1&y=%20"},
      {"/a%20b/%E5%AE%A2%E6%9C%8D", true, "/a b/\xE5\xAE\xA2\xE6\x9C\x8D", ""},
      {"/search?", true, "/search", ""},
      {"/q?a=1?b=2", true, "/q", "a=1?b=2"},
      {"http://example.com/x/y?z=1", true, "/x/y", "z=1"},
      {"http://example.com", true, "/", ""},
      {"http://example.com?k=v", true, "/", "k=v"},
      {"*", true, "*", ""},
      {"", false, "", ""},
      {"relative/path", false, "", ""},
      {"/bad%zz", false, "", ""},
      {"/truncated%2", false, "", ""},
      {"/truncated%", false, "", ""},
      {"/nul%00byte", false, "", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("target: '" + c.target + "'");
    auto result = ParseTarget(c.target);
    ASSERT_EQ(result.ok(), c.ok) << result.status().ToString();
    if (!c.ok) {
      EXPECT_THAT(result, StatusIs(StatusCode::kInvalidArgument));
      continue;
    }
    EXPECT_EQ(result->path, c.path);
    EXPECT_EQ(result->query, c.query);
  }
}

TEST(FormatHttpDateTest, Rfc7231Example) {
  EXPECT_EQ(FormatHttpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(FormatHttpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST(HeaderValidationTest, RejectsInjection) {
  EXPECT_TRUE(IsHeaderName("X-Request-Id"));
  EXPECT_FALSE(IsHeaderName(""));
  EXPECT_FALSE(IsHeaderName("Bad Name"));
  EXPECT_FALSE(IsHeaderName("X:Y"));
  EXPECT_TRUE(IsHeaderValue("abc; q=1"));
  EXPECT_FALSE(IsHeaderValue("a\r\nSet-Cookie: x"));
  EXPECT_FALSE(IsHeaderValue(std::string("a\0b", 3)));
}

TEST(JsonErrorTest, EscapesAndShapes) {
  Response r = JsonError(404, "not_found", "customer \"x\"\n\\ unknown\x01");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body,
            "{\"error\":{\"code\":\"not_found\",\"message\":\"customer \\\"x\\\"\\n\\\\ "
            "unknown\\u0001\"}}");
}

TEST(RequestTest, HeaderLookupIsExactOnLowerCaseNames) {
  Request request;
  request.headers = {{"content-type", "text/csv"}, {"x-a", "1"}, {"x-a", "2"}};
  ASSERT_NE(request.Header("x-a"), nullptr);
  EXPECT_EQ(*request.Header("x-a"), "1");
  EXPECT_EQ(*request.Header("content-type"), "text/csv");
  EXPECT_EQ(request.Header("missing"), nullptr);
}

}  // namespace
}  // namespace touchpoint::http::internal

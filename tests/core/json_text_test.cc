#include <touchpoint/core/json_text.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace touchpoint {
namespace {

TEST(JsonTextTest, EscapesExactlyAsNlohmannDumps) {
  // Every ASCII byte, then UTF-8 (Chinese, an emoji) that must pass through untouched.
  std::string all;
  for (int c = 1; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  for (const std::string& text : {all, std::string("李雷 \"Lei\"\t😀\\n"), std::string(), std::string("plain")}) {
    std::string out;
    AppendJsonString(out, text);
    EXPECT_EQ(out, nlohmann::json(text).dump()) << "for " << nlohmann::json(text).dump();
    EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), text) << "reads back";
  }
}

TEST(JsonTextTest, EscapedAppendsWithoutQuotes) {
  std::string out = "x";
  AppendJsonEscaped(out, "a\"b\x01");
  EXPECT_EQ(out, "xa\\\"b\\u0001");
}

}  // namespace
}  // namespace touchpoint

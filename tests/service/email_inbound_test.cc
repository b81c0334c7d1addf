// Inbound e-mail parsing (service/email_inbound.h) on real-world-shaped messages: GBK/GB2312
// bodies and encoded words, nested multipart with attachments, HTML-only mail, quoted replies in
// English and Chinese, and the malformed messages that must be refused with a reason.
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <touchpoint/service/channels.h>
#include <touchpoint/service/email_inbound.h>

#include "testing/matchers.h"

namespace touchpoint::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::touchpoint::testing::StatusIs;

// A refusal (kInvalidArgument) whose reason contains `part`.
MATCHER_P(RefusedWith, part, "is kInvalidArgument mentioning \"" + std::string(part) + "\"") {
  const Status& s = ::touchpoint::testing::GetStatus(arg);
  *result_listener << "status: " << s.message();
  return s.code() == StatusCode::kInvalidArgument && s.message().find(part) != std::string::npos;
}

std::string Sample(const std::string& name) {
  std::ifstream in(std::string(TP_SOURCE_DIR) + "/tests/fuzz/email_corpus/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(EmailInboundTest, ReadsAGbkMessageWithEncodedWordsAndThreadingHeaders) {
  auto m = ParseEmail(Sample("gbk_alternative.eml"));
  ASSERT_OK(m);
  EXPECT_EQ(m->from_address, "zhang.san@example.cn") << "addresses are lower-cased";
  EXPECT_EQ(m->from_name, "张三") << "a GB2312 encoded word";
  EXPECT_EQ(m->subject, "耳机还没发货") << "a GBK encoded word";
  EXPECT_THAT(m->to, ElementsAre("service@example.com"));
  EXPECT_EQ(m->message_id, "20261207091200.GA1234@mail.example.cn");
  EXPECT_EQ(m->in_reply_to, "out_0123456789abcdef01234567@example.com");
  EXPECT_THAT(m->references, ElementsAre("first@mail.example.cn", "out_0123456789abcdef01234567@example.com"));
  EXPECT_EQ(m->date, 1'796'605'920'000) << "2026-12-07T01:12:00Z";
  EXPECT_THAT(m->text, HasSubstr("我上周买的耳机到现在还没有发货")) << "the text/plain part, base64 GBK → UTF-8";
  EXPECT_THAT(m->text, ::testing::Not(HasSubstr("<p>"))) << "text/plain preferred over text/html";
  EXPECT_TRUE(m->attachments.empty());
}

TEST(EmailInboundTest, WalksNestedMultipartAndKeepsTheFilesDecoded) {
  auto m = ParseEmail(Sample("nested_mixed.eml"));
  ASSERT_OK(m);
  EXPECT_EQ(m->from_address, "li.wei@example.org");
  EXPECT_EQ(m->from_name, "Li, Wei");
  EXPECT_THAT(m->to, ElementsAre("service@example.com", "other@example.org"));
  EXPECT_EQ(m->subject, "Invoice — order 8841") << "a Q-encoded UTF-8 word";
  EXPECT_THAT(m->text, HasSubstr("2 × 49.90 €")) << "quoted-printable UTF-8";
  EXPECT_EQ(m->reply_text, "Hello,\n\nthe invoice is attached. The total is 2 × 49.90 € — thanks!")
      << "the quoted earlier message is cut";
  ASSERT_EQ(m->attachments.size(), 2u);
  EXPECT_EQ(m->attachments[0].filename, "发票.pdf") << "RFC 2231 filename";
  EXPECT_EQ(m->attachments[0].content_type, "application/pdf");
  EXPECT_EQ(m->attachments[0].data.substr(0, 8), "%PDF-1.4") << "base64 decoded";
  EXPECT_EQ(DetectContentType(m->attachments[0].data), "application/pdf");
  EXPECT_EQ(m->attachments[1].filename, "pixel.png");
  EXPECT_EQ(DetectContentType(m->attachments[1].data), "image/png");
}

TEST(EmailInboundTest, TurnsAnHtmlOnlyBodyIntoText) {
  auto m = ParseEmail(Sample("html_only.eml"));
  ASSERT_OK(m);
  EXPECT_EQ(m->text, "I want a refund & a label.\n\nThanks 你好") << "style dropped, entities decoded";
}

TEST(EmailInboundTest, CutsAChineseQuotedReply) {
  auto m = ParseEmail(Sample("zh_quoted_reply.eml"));
  ASSERT_OK(m);
  EXPECT_EQ(m->subject, "回复：您的包裹");
  EXPECT_EQ(m->reply_text, "好的，收到了，谢谢！");
  EXPECT_EQ(m->in_reply_to, "csat_x@example.com");
}

TEST(EmailInboundTest, StripsOnlyReliableQuoteMarkers) {
  EXPECT_EQ(StripQuotedReply("Thanks!\n\n-----Original Message-----\nFrom: x\nok"), "Thanks!");
  EXPECT_EQ(StripQuotedReply("好的\n------------------ 原始邮件 ------------------\n发件人: a"), "好的");
  EXPECT_EQ(StripQuotedReply("Yes.\n\nFrom: Service <s@example.com>\nSent: Monday\nTo: me\n\nold"), "Yes.");
  EXPECT_EQ(StripQuotedReply("Call me.\n-- \nLi Wei\n+86 138"), "Call me.");
  EXPECT_EQ(StripQuotedReply("Fine\n> old line\n> older"), "Fine");
  EXPECT_EQ(StripQuotedReply("From: the start I said this is broken"), "From: the start I said this is broken")
      << "a From: without a header block is the customer's own text";
  EXPECT_EQ(StripQuotedReply("> only quoted"), "> only quoted") << "cutting everything keeps the whole text";
}

TEST(EmailInboundTest, ConvertsCharsetsStrictly) {
  EXPECT_EQ(*ToUtf8("\xC4\xE3\xBA\xC3", "GB2312"), "你好");
  EXPECT_EQ(*ToUtf8("\x95\x4E", "gb2312"), "昇") << "GBK-only characters in mail labelled GB2312";
  EXPECT_EQ(*ToUtf8("caf\xE9", "iso-8859-1"), "café");
  EXPECT_THAT(ToUtf8("abc", "x-no-such-charset"), RefusedWith(std::string("not supported")));
  EXPECT_THAT(ToUtf8("\xFF\xFE", "utf-8"), StatusIs(StatusCode::kInvalidArgument));
}

TEST(EmailInboundTest, RefusesMalformedMailWithAReason) {
  EXPECT_THAT(ParseEmail(""), RefusedWith(std::string("empty")));
  EXPECT_THAT(ParseEmail("just some text\r\nwithout headers\r\n"),
              RefusedWith(std::string("first line is not a header field")));
  EXPECT_THAT(ParseEmail("Subject: hi\r\n\r\nbody\r\n"), RefusedWith(std::string("From")));
  EXPECT_THAT(ParseEmail("From: not an address\r\nSubject: hi\r\n\r\nbody\r\n"),
              RefusedWith(std::string("From")));
  EXPECT_THAT(ParseEmail("From: a@example.com\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\n\r\nhi\r\n--x--\r\n"),
              RefusedWith(std::string("boundary")));
  EXPECT_THAT(ParseEmail("From: a@example.com\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nqapla\r\n"),
              RefusedWith(std::string("x-klingon")));
  EXPECT_THAT(ParseEmail("From: a@example.com\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\xC3\x28\r\n"),
              RefusedWith(std::string("UTF-8")));
  std::string deep = "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n";
  for (int i = 1; i < 12; ++i) {
    deep += "--b" + std::to_string(i - 1) + "\r\nContent-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n";
  }
  deep += "--b11\r\nContent-Type: text/plain\r\n\r\nhi\r\n";
  EXPECT_THAT(ParseEmail(deep), RefusedWith(std::string("nested deeper")));
  EmailLimits small;
  small.max_bytes = 10;
  EXPECT_THAT(ParseEmail("From: a@example.com\r\n\r\nhello world\r\n", small),
              RefusedWith(std::string("larger than")));
}

TEST(EmailInboundTest, ReadsUndeclared8BitGbkBodies) {
  auto m = ParseEmail("From: a@example.com\r\nSubject: x\r\n\r\n\xC4\xE3\xBA\xC3\r\n");
  ASSERT_OK(m);
  EXPECT_EQ(m->text, "你好");
}

TEST(ChannelsTest, ScoresAreReadFromShortReplies) {
  EXPECT_EQ(ScoreOfReply("5"), 5);
  EXPECT_EQ(ScoreOfReply(" 4 \n"), 4);
  EXPECT_EQ(ScoreOfReply("４分"), 4);
  EXPECT_EQ(ScoreOfReply("3 stars!"), 3);
  EXPECT_EQ(ScoreOfReply("2/5"), 2);
  EXPECT_EQ(ScoreOfReply("1。"), 1);
  EXPECT_EQ(ScoreOfReply("6"), std::nullopt);
  EXPECT_EQ(ScoreOfReply("0"), std::nullopt);
  EXPECT_EQ(ScoreOfReply("5 items are missing"), std::nullopt);
  EXPECT_EQ(ScoreOfReply("45"), std::nullopt);
}

TEST(ChannelsTest, ContentTypesComeFromTheMagicBytes) {
  EXPECT_EQ(DetectContentType("%PDF-1.7 ..."), "application/pdf");
  EXPECT_EQ(DetectContentType(std::string("\xFF\xD8\xFF\xE0", 4)), "image/jpeg");
  EXPECT_EQ(DetectContentType("GIF89a...."), "image/gif");
  EXPECT_EQ(DetectContentType(std::string("PK\x03\x04rest", 8)), "application/zip");
  EXPECT_EQ(DetectContentType("MZ\x90\x00"), "application/x-msdownload");
  EXPECT_EQ(DetectContentType("plain 文本"), "text/plain");
  EXPECT_EQ(DetectContentType(std::string("\x00\x01\x02", 3)), "application/octet-stream");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace touchpoint::service

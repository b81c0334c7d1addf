// demo/corpus.h — the fixed word lists and message templates the generator draws from
// (private to the demo module). Everything here is constant data; safe from any thread.
//
// Templates may contain the slots {order}, {product}, {phone}, {email}, {days}, {name};
// ExpandTemplate() fills them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace touchpoint::demo::internal {

struct NamePart {
  std::string_view text;    // 王 / 伟 / James
  std::string_view pinyin;  // wang / wei / james (for e-mail addresses)
  char gender = 'u';        // given / first names: 'f', 'm' or 'u' (either)
};

struct City {
  std::string_view zh;
  std::string_view en;
  std::string_view region_zh;
  std::string_view region_en;
  std::string_view ip_prefix;  // "116.228." — plausible first two octets
};

struct Product {
  std::string_view id;
  std::string_view zh;
  std::string_view en;
  std::string_view category;
  int64_t price_cents;  // in CNY
};

// Service topics a customer writes about. kCount is the number of topics.
enum class Topic : uint8_t {
  kDeliveryLate,
  kDeliveryStatus,
  kRefund,
  kChangeAddress,
  kCancelOrder,
  kInvoice,
  kLogin,
  kProductQuestion,
  kPraise,
  kServiceComplaint,
  kCount,
};

// Snake-case topic name ("delivery_late"), for docs and tests.
std::string_view TopicName(Topic topic);

std::span<const NamePart> ChineseSurnames();
std::span<const NamePart> ChineseGivenNames();
std::span<const NamePart> EnglishFirstNames();
std::span<const NamePart> EnglishLastNames();
std::span<const City> Cities();
std::span<const Product> Products();
std::span<const std::string_view> EmailDomainsZh();
std::span<const std::string_view> EmailDomainsEn();

// Customer-side texts for a topic; `english` picks the language.
std::span<const std::string_view> CustomerTexts(Topic topic, bool english);
// Code-mixed customer texts (Chinese with English words), any topic.
std::span<const std::string_view> MixedTexts(Topic topic);
// Suffixes that put PII into a message: "，我的电话是{phone}" / " You can reach me at {email}".
std::span<const std::string_view> PiiSuffixes(bool english);
// Agent replies for a topic, and replies containing banned phrases (不知道, not my problem).
std::span<const std::string_view> AgentReplies(Topic topic, bool english);
std::span<const std::string_view> BannedAgentReplies(bool english);
// Bot greetings / first answers.
std::span<const std::string_view> BotReplies(bool english);
// Survey comments by sentiment bucket: 0 = detractor, 1 = passive, 2 = promoter.
std::span<const std::string_view> SurveyComments(int bucket, bool english);
// Page names and paths for `page` events.
struct PageDef {
  std::string_view name;
  std::string_view path;
};
std::span<const PageDef> Pages();

// Values for the template slots; empty ones expand to "".
struct Slots {
  std::string_view order;
  std::string_view product;
  std::string_view phone;
  std::string_view email;
  std::string_view name;
  int days = 3;
};

// Appends `tmpl` with its {slots} filled to *out.
void ExpandTemplate(std::string_view tmpl, const Slots& slots, std::string* out);

}  // namespace touchpoint::demo::internal

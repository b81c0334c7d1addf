#include <touchpoint/demo/generator.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/time.h>

#include "demo/corpus.h"
#include "demo/random.h"

namespace touchpoint::demo {
namespace {

using internal::Mix64;
using internal::Product;
using internal::Rng;
using internal::Slots;
using internal::Topic;

constexpr int64_t kMaxCustomers = 10'000'000;
constexpr int64_t kMaxEvents = 2'000'000'000;
constexpr int kMaxDays = 3660;
constexpr Millis kHour = 3'600'000;
constexpr Millis kMinute = 60'000;
constexpr size_t kFlushBytes = 1 << 22;

// ---------------------------------------------------------------------------------------------
// Small formatting helpers that append to a std::string (the hot path: no allocation per line).

void AppendUint(std::string& s, uint64_t v) {
  char buf[24];
  char* end = buf + sizeof(buf);
  char* p = end;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  s.append(p, static_cast<size_t>(end - p));
}

void AppendInt(std::string& s, int64_t v) {
  if (v < 0) {
    s.push_back('-');
    AppendUint(s, static_cast<uint64_t>(-v));
  } else {
    AppendUint(s, static_cast<uint64_t>(v));
  }
}

void AppendPadded(std::string& s, uint64_t v, int width) {
  char buf[24];
  char* end = buf + sizeof(buf);
  char* p = end;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (end - p < width) *--p = '0';
  s.append(p, static_cast<size_t>(end - p));
}

constexpr char kHexDigits[] = "0123456789abcdef";

// REQUIRES: digits <= 16.
void AppendHex(std::string& s, uint64_t v, int digits) {
  char buf[16];
  for (int i = digits - 1; i >= 0; --i) {
    buf[i] = kHexDigits[v & 0xf];
    v >>= 4;
  }
  s.append(buf, static_cast<size_t>(digits));
}

// Cents as a JSON number with two decimals: 5999.00 → "5999.00".
void AppendMoney(std::string& s, int64_t cents) {
  AppendInt(s, cents / 100);
  s.push_back('.');
  AppendPadded(s, static_cast<uint64_t>(cents % 100), 2);
}

// A JSON string literal with quotes; escapes quote, backslash and control characters.
void AppendJsonString(std::string& s, std::string_view v) {
  s.push_back('"');
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      s.push_back('\\');
      s.push_back(c);
    } else if (c == '\n') {
      s.append("\\n");
    } else if (u < 0x20) {
      s.append("\\u00");
      AppendHex(s, u, 2);
    } else {
      s.push_back(c);
    }
  }
  s.push_back('"');
}

// UUID-shaped text from 128 bits (version 4, variant 1 bits set).
void AppendUuid(std::string& s, uint64_t hi, uint64_t lo) {
  hi = (hi & ~0xf000ULL) | 0x4000ULL;
  lo = (lo & ~(0xcULL << 60)) | (0x8ULL << 60);
  char buf[36];
  int pos = 0;
  auto put = [&](uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; --i) {
      buf[pos + i] = kHexDigits[v & 0xf];
      v >>= 4;
    }
    pos += digits;
  };
  put(hi >> 32, 8);
  buf[pos++] = '-';
  put((hi >> 16) & 0xffff, 4);
  buf[pos++] = '-';
  put(hi & 0xffff, 4);
  buf[pos++] = '-';
  put(lo >> 48, 4);
  buf[pos++] = '-';
  put(lo & 0xffffffffffffULL, 12);
  s.append(buf, sizeof(buf));
}

// "YYYY-MM-DD" for a day number since the epoch, cached because consecutive lines share days.
class DateCache {
 public:
  std::string_view Get(int64_t day) {
    if (day != day_) {
      day_ = day;
      text_ = FormatDate(day * kMillisPerDay);
    }
    return text_;
  }

 private:
  int64_t day_ = INT64_MIN;
  std::string text_;
};

// ---------------------------------------------------------------------------------------------
// The simulated population.

enum PersonFlag : uint16_t {
  kHasPhone = 1 << 0,
  kHasEmail = 1 << 1,
  kHasExternal = 1 << 2,
  kHasOpenId = 1 << 3,
  kHasBirthday = 1 << 4,
  kLegacy = 1 << 5,  // still known under a legacy userId until the alias event
  kFamily = 1 << 6,  // the last device slot is a device shared with the family
};

enum class Channel : uint8_t { kApp, kWeb, kMiniProgram, kStore, kChat, kEmail, kSocial, kPhone };

std::string_view ChannelName(Channel c) {
  switch (c) {
    case Channel::kApp: return "app";
    case Channel::kWeb: return "web";
    case Channel::kMiniProgram: return "mini_program";
    case Channel::kStore: return "store";
    case Channel::kChat: return "chat";
    case Channel::kEmail: return "email";
    case Channel::kSocial: return "social";
    case Channel::kPhone: return "phone";
  }
  return "app";
}

struct Person {
  uint64_t key = 0;             // stable per-person hash: ids derive from it
  uint64_t last_order_seq = 0;  // 0 = never ordered
  int32_t last_order_day = -1000;
  int32_t issue_day = -1000;    // day of the last bad experience
  uint32_t phone_suffix = 0;    // the last 8 digits of the mobile
  uint16_t phone_prefix = 0;    // the first 3 digits
  uint16_t flags = 0;
  uint16_t alias_day = 0;       // legacy persons switch to their new userId from this day
  uint8_t english = 0;
  uint8_t gender = 0;           // 0 female, 1 male
  uint8_t age = 0;
  uint8_t city = 0;
  uint8_t name_a = 0;           // surname / first name index
  uint8_t name_b = 0;           // given name / last name index
  uint8_t domain = 0;
  uint8_t email_style = 0;
  uint8_t phone_style = 0;      // preferred spelling
  uint8_t devices = 1;          // 1–4 device slots
  uint8_t linked = 0;           // bit per slot: the slot's anonymousId is tied to the userId
  uint8_t mood = 8;             // baseline satisfaction 0–10
  uint8_t fav_product = 0;
  uint8_t pref_channel = 0;     // 0 app, 1 web, 2 mini-program
  uint8_t last_order_late = 0;
  uint8_t issue = 0;            // 1 + Topic of an open issue, 0 = none
  uint8_t birth_month = 1;
  uint8_t birth_day = 1;
};

constexpr uint16_t kPhonePrefixes[] = {130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151,
                                       152, 155, 156, 157, 158, 159, 166, 176, 177, 180, 181,
                                       182, 183, 185, 186, 187, 188, 189, 191, 198, 199};

// A scheduled follow-up: a repeat contact or a survey some days after an experience.
enum class FollowUp : uint8_t { kContact, kSurvey };
enum class Touchpoint : uint8_t { kDelivery, kAfterSales, kCheckout, kApp };

std::string_view TouchpointName(Touchpoint t) {
  switch (t) {
    case Touchpoint::kDelivery: return "delivery";
    case Touchpoint::kAfterSales: return "after_sales";
    case Touchpoint::kCheckout: return "checkout";
    case Touchpoint::kApp: return "app";
  }
  return "app";
}

struct Scheduled {
  int32_t day;
  uint32_t person;
  uint64_t tie;        // creation order: keeps the heap deterministic
  uint64_t order_seq;  // the order it is about, 0 = none
  FollowUp kind;
  uint8_t detail;      // Topic for contacts, Touchpoint for surveys
  uint8_t chain;       // contacts so far about the same issue
  int8_t adjust;       // survey score adjustment from the experience
};

struct ScheduledLater {
  bool operator()(const Scheduled& a, const Scheduled& b) const {
    if (a.day != b.day) return a.day > b.day;
    return a.tie > b.tie;
  }
};

struct LineRef {
  Millis t;
  uint32_t seq;
  uint32_t offset;
  uint32_t length;
};

// Local (UTC+8) hour weights per kind of activity.
constexpr uint32_t kBrowseHours[24] = {30, 18, 10, 6, 4, 4, 8, 20, 40, 55, 60, 65,
                                       75, 70, 65, 65, 70, 80, 95, 115, 135, 140, 120, 70};
constexpr uint32_t kServiceHours[24] = {8, 4, 2, 2, 2, 3, 8, 30, 80, 120, 130, 130,
                                        110, 115, 130, 130, 120, 100, 80, 70, 60, 50, 30, 15};
constexpr uint32_t kStoreHours[24] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 30, 60,
                                      80, 70, 70, 80, 90, 100, 110, 100, 80, 50, 0, 0};
// Double 11 / 618 nights: the midnight rush.
constexpr uint32_t kSaleHours[24] = {260, 120, 30, 8, 4, 4, 8, 20, 40, 55, 60, 65,
                                     75, 70, 65, 65, 70, 80, 95, 115, 140, 160, 170, 150};

enum class Episode : uint8_t { kBrowse, kPages, kStore, kService, kSurvey, kProfile };

struct DayInfo {
  int64_t epoch_day;  // days since 1970-01-01
  int month;
  int mday;
  int weekday;        // 0 = Sunday
  double sale;        // order boost, 1 = normal
  bool peak;          // 11-11 / 6-18 themselves
};

// ---------------------------------------------------------------------------------------------

class Generator {
 public:
  Generator(const GenerateOptions& options, int64_t events, int64_t start_day)
      : options_(options),
        total_events_(events),
        start_day_(start_day),
        rng_(Mix64(options.seed, 0x64656d6f)) {
    stats_.customers = options.customers;
  }

  Status Run(std::ostream& out);
  const GenerateStats& stats() const { return stats_; }

 private:
  // Setup.
  void InitPersons();
  void InitDays();

  // One day: fill the quota with episodes, sort by time, append to out_.
  void RunDay(int d);
  void RandomEpisode(int d);
  void RunScheduled(int d, const Scheduled& item);

  // Episodes.
  void Browse(uint32_t idx, int d);
  void PageVisit(uint32_t idx, int d);
  void StoreVisit(uint32_t idx, int d);
  void Conversation(uint32_t idx, int d, Topic topic, int chain, uint64_t order_seq);
  void Survey(uint32_t idx, int d, Touchpoint tp, int adjust, uint64_t order_seq, Channel ch);
  void ProfileUpdate(uint32_t idx, int d);
  void MaybeAlias(uint32_t idx, int d, Millis t);

  // Lines. Each returns false when the day's quota is full (nothing written).
  struct Who {
    uint32_t idx;
    Channel channel;
    int slot;     // device slot, -1 none, kKioskSlot = the store kiosk
    bool user;    // write userId
    bool anon;    // write anonymousId (slot >= 0)
  };
  static constexpr int kKioskSlot = 100;

  bool Room() const { return static_cast<int64_t>(refs_.size()) < quota_; }
  void Begin(std::string_view type, std::string_view event, Millis t);
  void End(Millis t);
  void AppendWho(const Who& who);
  bool IdentifyLine(const Who& who, Millis t, bool full);
  bool PageLine(const Who& who, Millis t, const internal::PageDef& page);
  bool ViewLine(const Who& who, Millis t, size_t product, int dwell);
  bool OrderLine(const Who& who, Millis t, size_t first_product, int d);
  bool MessageLine(const Who& who, Millis t, std::string_view conv, std::string_view prop_channel,
                   std::string_view author, std::string_view text);
  bool SurveyLine(const Who& who, Millis t, Touchpoint tp, int nps, int csat,
                  std::string_view comment, uint64_t order_seq);
  bool AliasLine(uint32_t idx, Millis t);

  // Ids and traits.
  void AppendUserId(uint32_t idx);
  void AppendDeviceId(uint32_t idx, int slot);
  void AppendAnonId(uint32_t idx, int slot);
  void AppendPhone(std::string& s, const Person& p, int style);
  void AppendEmail(std::string& s, uint32_t idx, int variant);
  void AppendName(std::string& s, const Person& p);
  void AppendOrderId(std::string& s, uint64_t seq);

  Millis SampleTime(int d, const uint32_t* hours);
  Millis DayEnd(int d) const { return (start_day_ + d + 1) * kMillisPerDay - 1; }
  uint32_t PickPerson();
  int PickSlot(const Person& p);
  Channel SlotChannel(const Person& p, int slot);
  void Schedule(int day, uint32_t idx, FollowUp kind, uint8_t detail, uint8_t chain,
                int8_t adjust, uint64_t order_seq);

  GenerateOptions options_;
  int64_t total_events_;
  int64_t start_day_;
  Rng rng_;
  GenerateStats stats_;

  std::vector<Person> persons_;
  std::vector<DayInfo> days_;
  std::vector<int64_t> quotas_;
  uint32_t kiosks_ = 1;
  uint64_t email_mod_ = 1000;  // a power of ten ≥ 10 × customers
  uint64_t order_seq_ = 0;
  uint64_t conv_seq_ = 0;
  uint64_t message_seq_ = 0;
  uint64_t tie_ = 0;
  std::priority_queue<Scheduled, std::vector<Scheduled>, ScheduledLater> agenda_;

  // The current day.
  int64_t quota_ = 0;
  std::string arena_;
  std::vector<LineRef> refs_;
  size_t line_start_ = 0;
  std::string out_;
  std::string text_;  // scratch for message texts
  std::string scratch_;
  DateCache utc_dates_;
  DateCache local_dates_;
};

// ---------------------------------------------------------------------------------------------
// Setup

void Generator::InitPersons() {
  const auto n = static_cast<size_t>(options_.customers);
  persons_.resize(n);
  const auto surnames = internal::ChineseSurnames().size();
  const auto lasts = internal::EnglishLastNames().size();
  const auto cities = internal::Cities().size();
  const uint64_t suffix_offset = Mix64(options_.seed, 0x70686f6e) % 100'000'000ULL;
  for (size_t i = 0; i < n; ++i) {
    Person& p = persons_[i];
    p.key = Mix64(options_.seed, i + 1);
    Rng r(p.key);
    p.english = r.Chance(0.22) ? 1 : 0;
    p.gender = static_cast<uint8_t>(r.Below(2));
    p.age = static_cast<uint8_t>(18 + r.Below(12) + r.Below(12) + r.Below(12) + r.Below(12));
    p.city = static_cast<uint8_t>(r.Below(cities));
    // Given names match the gender (a few names suit either).
    const char gender = p.gender ? 'm' : 'f';
    const auto given_names = p.english ? internal::EnglishFirstNames()
                                       : internal::ChineseGivenNames();
    size_t g = r.Below(given_names.size());
    while (given_names[g].gender != gender && given_names[g].gender != 'u') {
      g = r.Below(given_names.size());
    }
    if (p.english) {
      p.name_a = static_cast<uint8_t>(g);
      p.name_b = static_cast<uint8_t>(r.Below(lasts));
    } else {
      p.name_a = static_cast<uint8_t>(r.Below(surnames));
      p.name_b = static_cast<uint8_t>(g);
    }
    p.domain = static_cast<uint8_t>(r.Below(8));
    p.email_style = static_cast<uint8_t>(r.Below(4));
    // A bijection of the index (the multiplier is coprime with 10^8): mobiles never collide.
    p.phone_suffix = static_cast<uint32_t>(
        (static_cast<uint64_t>(i) * 61'803'397ULL + suffix_offset) % 100'000'000ULL);
    p.phone_prefix = kPhonePrefixes[r.Below(std::size(kPhonePrefixes))];
    static constexpr uint32_t kStyleWeights[] = {40, 12, 8, 6, 14, 8, 6, 6};
    p.phone_style = static_cast<uint8_t>(r.Weighted(kStyleWeights));
    static constexpr uint32_t kDeviceWeights[] = {35, 35, 20, 10};
    p.devices = static_cast<uint8_t>(1 + r.Weighted(kDeviceWeights));
    p.mood = static_cast<uint8_t>(5 + r.Below(3) + r.Below(3));
    p.fav_product = static_cast<uint8_t>(r.Below(internal::Products().size()));
    static constexpr uint32_t kZhChannels[] = {45, 20, 35};
    static constexpr uint32_t kEnChannels[] = {45, 50, 5};
    p.pref_channel = static_cast<uint8_t>(
        p.english ? r.Weighted(kEnChannels) : r.Weighted(kZhChannels));
    p.birth_month = static_cast<uint8_t>(1 + r.Below(12));
    p.birth_day = static_cast<uint8_t>(1 + r.Below(28));
    uint16_t f = 0;
    if (r.Chance(p.english ? 0.75 : 0.9)) f |= kHasPhone;
    if (r.Chance(0.92)) f |= kHasEmail;
    if (r.Chance(0.3)) f |= kHasExternal;
    if (p.pref_channel == 2 || r.Chance(0.1)) f |= kHasOpenId;
    if (r.Chance(0.4)) f |= kHasBirthday;
    if (r.Chance(0.12)) {
      f |= kLegacy;
      p.alias_day = static_cast<uint16_t>(r.Below(static_cast<uint64_t>(options_.days)));
    }
    p.flags = f;
  }
  // Families: one block of three persons in 25 shares a tablet (2 or 3 members).
  for (size_t block = 0; block * 3 < n; ++block) {
    const uint64_t h = Mix64(options_.seed ^ 0x66616d, block);
    if (h % 25 != 0) continue;
    const size_t members = 2 + (h >> 8) % 2;
    if (block * 3 + 1 >= n) continue;
    for (size_t m = 0; m < members && block * 3 + m < n; ++m) {
      Person& p = persons_[block * 3 + m];
      p.flags |= kFamily;
      if (p.devices < 2) p.devices = 2;
    }
  }
  while (email_mod_ < 10 * n) email_mod_ *= 10;
  kiosks_ = static_cast<uint32_t>(std::clamp<int64_t>(options_.customers / 400, 1, 64));
}

void Generator::InitDays() {
  days_.resize(static_cast<size_t>(options_.days));
  std::vector<uint64_t> weights(days_.size());
  for (size_t d = 0; d < days_.size(); ++d) {
    DayInfo& info = days_[d];
    info.epoch_day = start_day_ + static_cast<int64_t>(d);
    const std::string date = FormatDate(info.epoch_day * kMillisPerDay);  // YYYY-MM-DD
    info.month = (date[5] - '0') * 10 + (date[6] - '0');
    info.mday = (date[8] - '0') * 10 + (date[9] - '0');
    info.weekday = static_cast<int>(((info.epoch_day % 7) + 7 + 4) % 7);
    info.sale = 1.0;
    info.peak = false;
    if (info.month == 11 && info.mday <= 11) {
      info.sale = info.mday == 11 ? 4.0 : 1.3 + 0.1 * info.mday;
      info.peak = info.mday == 11;
    } else if (info.month == 11 && info.mday == 12) {
      info.sale = 1.6;
    } else if (info.month == 6 && info.mday <= 18) {
      info.sale = info.mday == 18 ? 3.0 : 1.2 + 0.04 * info.mday;
      info.peak = info.mday == 18;
    } else if (info.month == 12 && info.mday == 12) {
      info.sale = 1.5;
    }
    const bool weekend = info.weekday == 0 || info.weekday == 6;
    // A growing business: the last day sees ~35% more activity than the first.
    const double trend = 0.85 + 0.3 * static_cast<double>(d) / static_cast<double>(days_.size());
    const double w = trend * (weekend ? 1.15 : 1.0) * info.sale;
    weights[d] = static_cast<uint64_t>(w * 1000.0 + 0.5);
  }
  // Integer apportioning of the exact total via cumulative weights.
  uint64_t total = 0;
  for (uint64_t w : weights) total += w;
  quotas_.resize(days_.size());
  uint64_t cum = 0;
  int64_t given = 0;
  for (size_t d = 0; d < days_.size(); ++d) {
    cum += weights[d];
    const auto upto = static_cast<int64_t>(
        static_cast<internal::Uint128>(total_events_) * cum / total);
    quotas_[d] = upto - given;
    given = upto;
  }
}

// ---------------------------------------------------------------------------------------------
// Ids and traits

void Generator::AppendUserId(uint32_t idx) {
  const Person& p = persons_[idx];
  if (p.flags & kLegacy) {
    arena_.append("guest_");
    AppendHex(arena_, Mix64(p.key, 0x6c6567) >> 16, 12);
  } else {
    arena_.push_back('u');
    AppendPadded(arena_, idx + 1, 7);
  }
}

void Generator::AppendDeviceId(uint32_t idx, int slot) {
  const Person& p = persons_[idx];
  if (slot == kKioskSlot) {
    arena_.append("kiosk-S");
    AppendPadded(arena_, (p.key >> 20) % kiosks_ + 1, 3);
    return;
  }
  if ((p.flags & kFamily) && slot == p.devices - 1) {
    arena_.append("dev-fam-");
    AppendHex(arena_, Mix64(options_.seed ^ 0x66616d, idx / 3), 12);
    return;
  }
  arena_.append("dev-");
  AppendHex(arena_, Mix64(p.key, static_cast<uint64_t>(slot) + 0x100), 16);
}

void Generator::AppendAnonId(uint32_t idx, int slot) {
  const Person& p = persons_[idx];
  uint64_t base = Mix64(p.key, static_cast<uint64_t>(slot) + 0x200);
  if ((p.flags & kFamily) && slot == p.devices - 1) base = Mix64(options_.seed ^ 0xfa, idx / 3);
  AppendUuid(arena_, base, Mix64(base));
}

void Generator::AppendPhone(std::string& s, const Person& p, int style) {
  const uint64_t pre = p.phone_prefix;
  const uint64_t mid = p.phone_suffix / 10000;
  const uint64_t end = p.phone_suffix % 10000;
  auto number = [&](std::string_view sep) {
    AppendUint(s, pre);
    s.append(sep);
    AppendPadded(s, mid, 4);
    s.append(sep);
    AppendPadded(s, end, 4);
  };
  switch (style) {
    case 0: number(""); break;
    case 1: s.append("+86 "); number("-"); break;
    case 2: s.append("86 "); number(" "); break;
    case 3: s.append("(+86)"); number(""); break;
    case 4: s.append("+86 "); number(""); break;
    case 5: s.append("+86"); number(""); break;
    case 6: number("-"); break;
    default: number(" "); break;
  }
}

void Generator::AppendEmail(std::string& s, uint32_t idx, int variant) {
  const Person& p = persons_[idx];
  const size_t start = s.size();
  // A bijection of the index below email_mod_ (the multiplier is coprime with 10): unique.
  const uint64_t number = (idx * 2'654'435'761ULL + 17) % email_mod_;
  if (p.english) {
    const auto& first = internal::EnglishFirstNames()[p.name_a];
    const auto& last = internal::EnglishLastNames()[p.name_b];
    s.append(first.pinyin);
    s.push_back(p.email_style % 2 ? '_' : '.');
    s.append(last.pinyin);
    AppendUint(s, number);
    s.push_back('@');
    auto domains = internal::EmailDomainsEn();
    s.append(domains[p.domain % domains.size()]);
  } else {
    const auto& sur = internal::ChineseSurnames()[p.name_a];
    const auto& giv = internal::ChineseGivenNames()[p.name_b];
    auto domains = internal::EmailDomainsZh();
    const std::string_view domain = domains[p.domain % domains.size()];
    if (domain == "qq.com" && p.email_style < 2) {
      // QQ mail addresses are usually the QQ number.
      AppendUint(s, 100'000'000ULL + p.phone_suffix);
    } else {
      switch (p.email_style) {
        case 0: s.append(sur.pinyin); s.append(giv.pinyin); break;
        case 1: s.append(giv.pinyin); s.push_back('.'); s.append(sur.pinyin); break;
        case 2: s.append(sur.pinyin); s.push_back('_'); s.append(giv.pinyin); break;
        default: s.append(sur.pinyin); s.append(giv.pinyin.substr(0, 1)); break;
      }
      AppendUint(s, number);
    }
    s.push_back('@');
    s.append(domain);
  }
  if (variant == 1) {
    // Capitalised: "Wang.Wei123@QQ.com"
    bool word_start = true;
    for (size_t i = start; i < s.size(); ++i) {
      char& c = s[i];
      if (word_start && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      word_start = c == '.' || c == '_' || c == '@';
    }
  } else if (variant == 2) {
    for (size_t i = start; i < s.size(); ++i) {
      char& c = s[i];
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    s.insert(start, " ");
    s.append("  ");
  }
}

void Generator::AppendName(std::string& s, const Person& p) {
  if (p.english) {
    s.append(internal::EnglishFirstNames()[p.name_a].text);
    s.push_back(' ');
    s.append(internal::EnglishLastNames()[p.name_b].text);
  } else {
    s.append(internal::ChineseSurnames()[p.name_a].text);
    s.append(internal::ChineseGivenNames()[p.name_b].text);
  }
}

void Generator::AppendOrderId(std::string& s, uint64_t seq) {
  s.append("TP");
  AppendUint(s, 1'000'000'000ULL + seq);
}

// ---------------------------------------------------------------------------------------------
// Lines

void Generator::Begin(std::string_view type, std::string_view event, Millis t) {
  line_start_ = arena_.size();
  arena_.append("{\"type\":\"");
  arena_.append(type);
  if (!event.empty()) {
    arena_.append("\",\"event\":\"");
    arena_.append(event);
  }
  arena_.append("\",\"messageId\":\"");
  ++message_seq_;
  const uint64_t hi = Mix64(message_seq_ ^ Mix64(options_.seed));  // bijective: unique
  AppendUuid(arena_, hi, Mix64(hi, options_.seed));
  arena_.append("\",\"timestamp\":");
  const uint64_t form = rng_.Below(100);
  if (form < 5) {
    AppendInt(arena_, t);  // epoch milliseconds as a number
    return;
  }
  const bool local = form < 20;
  const Millis shown = local ? t + 8 * kHour : t;
  const int64_t day = shown / kMillisPerDay;
  Millis rest = shown - day * kMillisPerDay;
  arena_.push_back('"');
  arena_.append(local ? local_dates_.Get(day) : utc_dates_.Get(day));
  arena_.push_back('T');
  AppendPadded(arena_, static_cast<uint64_t>(rest / kHour), 2);
  rest %= kHour;
  arena_.push_back(':');
  AppendPadded(arena_, static_cast<uint64_t>(rest / kMinute), 2);
  rest %= kMinute;
  arena_.push_back(':');
  AppendPadded(arena_, static_cast<uint64_t>(rest / 1000), 2);
  arena_.push_back('.');
  AppendPadded(arena_, static_cast<uint64_t>(rest % 1000), 3);
  arena_.append(local ? "+08:00\"" : "Z\"");
}

void Generator::End(Millis t) {
  arena_.append("}\n");
  refs_.push_back(LineRef{t, static_cast<uint32_t>(refs_.size()),
                          static_cast<uint32_t>(line_start_),
                          static_cast<uint32_t>(arena_.size() - line_start_)});
  ++stats_.events;
}

void Generator::AppendWho(const Who& who) {
  const Person& p = persons_[who.idx];
  if (who.user) {
    arena_.append(",\"userId\":\"");
    AppendUserId(who.idx);
    arena_.push_back('"');
  }
  if (who.anon && who.slot >= 0 && who.slot != kKioskSlot) {
    arena_.append(",\"anonymousId\":\"");
    AppendAnonId(who.idx, who.slot);
    arena_.push_back('"');
  }
  arena_.append(",\"context\":{\"channel\":\"");
  arena_.append(ChannelName(who.channel));
  arena_.push_back('"');
  if (who.slot >= 0) {
    arena_.append(",\"device\":{\"id\":\"");
    AppendDeviceId(who.idx, who.slot);
    arena_.append("\"}");
    if (who.slot != kKioskSlot && (p.key >> (8 + who.slot)) % 2 == 0) {
      const auto& city = internal::Cities()[p.city];
      arena_.append(",\"ip\":\"");
      arena_.append(city.ip_prefix);
      AppendUint(arena_, (p.key >> 24) % 254 + 1);
      arena_.push_back('.');
      AppendUint(arena_, (p.key >> 32) % 254 + 1);
      arena_.push_back('"');
    }
  }
  arena_.append(p.english ? ",\"locale\":\"en-US\"}" : ",\"locale\":\"zh-CN\"}");
}

bool Generator::IdentifyLine(const Who& who, Millis t, bool full) {
  if (!Room()) return false;
  const Person& p = persons_[who.idx];
  Begin("identify", {}, t);
  AppendWho(who);
  arena_.append(",\"traits\":{");
  bool first = true;
  auto key = [&](std::string_view k) {
    if (!first) arena_.push_back(',');
    first = false;
    arena_.push_back('"');
    arena_.append(k);
    arena_.append("\":");
  };
  if (full || rng_.Chance(0.3)) {
    key("name");
    scratch_.clear();
    AppendName(scratch_, p);
    AppendJsonString(arena_, scratch_);
  }
  if ((p.flags & kHasPhone) && (full || rng_.Chance(0.7))) {
    key("phone");
    const int style = rng_.Chance(0.65) ? p.phone_style : static_cast<int>(rng_.Below(8));
    arena_.push_back('"');
    AppendPhone(arena_, p, style);
    arena_.push_back('"');
  }
  if ((p.flags & kHasEmail) && (full || rng_.Chance(0.6))) {
    key("email");
    const uint64_t r = rng_.Below(100);
    scratch_.clear();
    AppendEmail(scratch_, who.idx, r < 75 ? 0 : (r < 92 ? 1 : 2));
    AppendJsonString(arena_, scratch_);
  }
  if (!(p.flags & kLegacy)) {
    key("member_id");
    arena_.append("\"M");
    AppendUint(arena_, 10'000'000ULL + who.idx + 1);
    arena_.push_back('"');
  }
  if ((p.flags & kHasExternal) && (full || rng_.Chance(0.3))) {
    key("external_id");
    arena_.append("\"CRM-");
    AppendPadded(arena_, Mix64(p.key, 0x63726d) % 10'000'000ULL, 7);
    arena_.push_back('"');
  }
  if ((p.flags & kHasOpenId) && (full || who.channel == Channel::kMiniProgram)) {
    key("open_id");
    arena_.append("\"oX");
    static constexpr char kB64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint64_t h = Mix64(p.key, 0x6f70656e);
    for (int i = 0; i < 26; ++i) {
      if (i == 10) h = Mix64(h);
      arena_.push_back(kB64[h & 63]);
      h >>= 6;
    }
    arena_.push_back('"');
  }
  if (full) {
    const auto& city = internal::Cities()[p.city];
    key("gender");
    arena_.append(p.gender ? "\"male\"" : "\"female\"");
    key("age");
    AppendUint(arena_, p.age);
    key("city");
    AppendJsonString(arena_, p.english ? city.en : city.zh);
    key("region");
    AppendJsonString(arena_, p.english ? city.region_en : city.region_zh);
    if (p.flags & kHasBirthday) {
      key("birthday");
      const std::string_view end_year = std::string_view(options_.end_date).substr(0, 4);
      int year = 0;
      for (char c : end_year) year = year * 10 + (c - '0');
      arena_.push_back('"');
      AppendUint(arena_, static_cast<uint64_t>(year - p.age));
      arena_.push_back('-');
      AppendPadded(arena_, p.birth_month, 2);
      arena_.push_back('-');
      AppendPadded(arena_, p.birth_day, 2);
      arena_.push_back('"');
    }
  }
  arena_.push_back('}');
  End(t);
  return true;
}

bool Generator::PageLine(const Who& who, Millis t, const internal::PageDef& page) {
  if (!Room()) return false;
  Begin("page", {}, t);
  AppendWho(who);
  arena_.append(",\"name\":");
  AppendJsonString(arena_, page.name);
  arena_.append(",\"properties\":{\"url\":\"");
  switch (who.channel) {
    case Channel::kWeb: arena_.append("https://shop.touchpoint-demo.cn"); break;
    case Channel::kMiniProgram: arena_.append("mp://touchpoint"); break;
    default: arena_.append("touchpoint://app"); break;
  }
  arena_.append(page.path);
  arena_.append("\",\"path\":");
  AppendJsonString(arena_, page.path);
  arena_.append("}");
  End(t);
  return true;
}

bool Generator::ViewLine(const Who& who, Millis t, size_t product, int dwell) {
  if (!Room()) return false;
  const Product& prod = internal::Products()[product];
  const bool english = persons_[who.idx].english != 0;
  Begin("track", "Product Viewed", t);
  AppendWho(who);
  arena_.append(",\"properties\":{\"product_id\":\"");
  arena_.append(prod.id);
  arena_.append("\",\"name\":");
  AppendJsonString(arena_, english ? prod.en : prod.zh);
  arena_.append(",\"category\":\"");
  arena_.append(prod.category);
  arena_.append("\",\"price\":");
  AppendMoney(arena_, prod.price_cents);
  arena_.append(",\"currency\":\"CNY\",\"dwell_seconds\":");
  AppendUint(arena_, static_cast<uint64_t>(dwell));
  arena_.push_back('}');
  End(t);
  return true;
}

bool Generator::OrderLine(const Who& who, Millis t, size_t first_product, int d) {
  if (!Room()) return false;
  Person& p = persons_[who.idx];
  const auto products = internal::Products();
  const bool usd = p.english && who.channel == Channel::kWeb && rng_.Chance(0.5);
  ++order_seq_;
  ++stats_.orders;
  Begin("track", "Order Completed", t);
  AppendWho(who);
  arena_.append(",\"properties\":{\"order_id\":\"");
  AppendOrderId(arena_, order_seq_);
  arena_.append("\",\"total\":");
  const size_t total_pos = arena_.size();
  arena_.append(",\"currency\":");
  arena_.append(usd ? "\"USD\"" : "\"CNY\"");
  arena_.append(",\"products\":[");
  static constexpr uint32_t kLineWeights[] = {60, 28, 12};
  const size_t lines = 1 + rng_.Weighted(kLineWeights);
  int64_t total = 0;
  size_t chosen[3] = {first_product, 0, 0};
  for (size_t i = 0; i < lines; ++i) {
    size_t prod_idx = first_product;
    if (i > 0) {
      do {
        prod_idx = rng_.Chance(0.4) ? (p.fav_product + rng_.Below(3)) % products.size()
                                    : rng_.Below(products.size());
      } while (std::find(chosen, chosen + i, prod_idx) != chosen + i);
      chosen[i] = prod_idx;
    }
    const Product& prod = products[prod_idx];
    // Cheap items sell in multiples.
    const uint64_t qty =
        prod.price_cents < 20000 ? 1 + rng_.Below(3) : (rng_.Chance(0.08) ? 2 : 1);
    const int64_t price = usd ? (prod.price_cents * 10 + 36) / 72 : prod.price_cents;
    total += price * static_cast<int64_t>(qty);
    if (i > 0) arena_.push_back(',');
    arena_.append("{\"product_id\":\"");
    arena_.append(prod.id);
    arena_.append("\",\"category\":\"");
    arena_.append(prod.category);
    arena_.append("\",\"price\":");
    AppendMoney(arena_, price);
    arena_.append(",\"quantity\":");
    AppendUint(arena_, qty);
    arena_.push_back('}');
  }
  arena_.append("]}");
  scratch_.clear();
  AppendMoney(scratch_, total);
  arena_.insert(total_pos, scratch_);
  End(t);

  // Delivery outcome: store purchases are carried home; sale peaks overload couriers.
  const DayInfo& day = days_[static_cast<size_t>(d)];
  const double p_late = who.channel == Channel::kStore ? 0.0 : (day.sale > 1.4 ? 0.35 : 0.12);
  const bool late = rng_.Chance(p_late);
  p.last_order_seq = order_seq_;
  p.last_order_day = d;
  p.last_order_late = late ? 1 : 0;
  if (late) {
    p.issue = static_cast<uint8_t>(1 + static_cast<int>(Topic::kDeliveryLate));
    p.issue_day = d;
    if (rng_.Chance(0.55)) {
      Schedule(d + rng_.Range(3, 6), who.idx, FollowUp::kContact,
               static_cast<uint8_t>(Topic::kDeliveryLate), 0, 0, order_seq_);
    }
  }
  // Unhappy customers answer surveys more often.
  if (who.channel != Channel::kStore && rng_.Chance(late ? 0.4 : 0.2)) {
    Schedule(d + rng_.Range(late ? 6 : 3, late ? 10 : 7), who.idx, FollowUp::kSurvey,
             static_cast<uint8_t>(Touchpoint::kDelivery), 0, late ? -5 : 1, order_seq_);
  }
  return true;
}

bool Generator::MessageLine(const Who& who, Millis t, std::string_view conv,
                            std::string_view prop_channel, std::string_view author,
                            std::string_view text) {
  if (!Room()) return false;
  ++stats_.messages;
  const bool customer = author == "customer";
  Begin("track", customer ? "Message Received" : "Message Sent", t);
  AppendWho(who);
  arena_.append(",\"properties\":{\"conversation_id\":\"");
  arena_.append(conv);
  arena_.append("\",\"channel\":\"");
  arena_.append(prop_channel);
  arena_.append("\",\"author\":\"");
  arena_.append(author);
  arena_.append("\",\"text\":");
  AppendJsonString(arena_, text);
  arena_.push_back('}');
  End(t);
  return true;
}

bool Generator::SurveyLine(const Who& who, Millis t, Touchpoint tp, int nps, int csat,
                           std::string_view comment, uint64_t order_seq) {
  if (!Room()) return false;
  ++stats_.surveys;
  Begin("track", "Survey Answered", t);
  AppendWho(who);
  arena_.append(",\"properties\":{\"touchpoint\":\"");
  arena_.append(TouchpointName(tp));
  arena_.push_back('"');
  if (nps >= 0) {
    arena_.append(",\"nps\":");
    AppendUint(arena_, static_cast<uint64_t>(nps));
  }
  if (csat >= 0) {
    arena_.append(",\"csat\":");
    AppendUint(arena_, static_cast<uint64_t>(csat));
  }
  if (!comment.empty()) {
    arena_.append(",\"comment\":");
    AppendJsonString(arena_, comment);
  }
  if (order_seq != 0) {
    arena_.append(",\"order_id\":\"");
    AppendOrderId(arena_, order_seq);
    arena_.push_back('"');
  }
  arena_.push_back('}');
  End(t);
  return true;
}

bool Generator::AliasLine(uint32_t idx, Millis t) {
  if (!Room()) return false;
  Person& p = persons_[idx];
  Begin("alias", {}, t);
  arena_.append(",\"previousId\":\"");
  AppendUserId(idx);  // still the legacy id
  arena_.push_back('"');
  p.flags = static_cast<uint16_t>(p.flags & ~kLegacy);
  // userId written by AppendWho: now the new id.
  AppendWho(Who{idx, p.pref_channel == 1 ? Channel::kWeb : Channel::kApp, -1, true, false});
  End(t);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Episodes

Millis Generator::SampleTime(int d, const uint32_t* hours) {
  const size_t local_hour = rng_.Weighted(std::span<const uint32_t>(hours, 24));
  const auto utc_hour = static_cast<Millis>((local_hour + 16) % 24);
  const Millis day_start = (start_day_ + d) * kMillisPerDay;
  const Millis t = day_start + utc_hour * kHour + static_cast<Millis>(rng_.Below(kHour));
  return t < day_start + kMinute ? t + kMinute : t;  // the first minute is for aliases
}

uint32_t Generator::PickPerson() {
  // Heavy-tailed activity: density ∝ x^(-1/3) over the index range.
  const double u = rng_.Unit();
  auto idx = static_cast<uint64_t>(static_cast<double>(persons_.size()) * u * std::sqrt(u));
  if (idx >= persons_.size()) idx = persons_.size() - 1;
  return static_cast<uint32_t>(idx);
}

int Generator::PickSlot(const Person& p) {
  static constexpr uint32_t kSlotWeights[] = {60, 25, 10, 5};
  return static_cast<int>(rng_.Weighted(std::span<const uint32_t>(kSlotWeights, p.devices)));
}

Channel Generator::SlotChannel(const Person& p, int slot) {
  if ((p.flags & kFamily) && slot == p.devices - 1) return Channel::kApp;
  switch (slot) {
    case 0:
      return p.pref_channel == 1 ? Channel::kWeb
                                 : (p.pref_channel == 2 ? Channel::kMiniProgram : Channel::kApp);
    case 1: return p.pref_channel == 1 ? Channel::kApp : Channel::kWeb;
    case 2: return Channel::kApp;
    default: return Channel::kWeb;
  }
}

void Generator::Schedule(int day, uint32_t idx, FollowUp kind, uint8_t detail, uint8_t chain,
                         int8_t adjust, uint64_t order_seq) {
  if (day >= options_.days) return;
  // Bounded memory: a backlog larger than this means quotas are far below demand.
  if (agenda_.size() > persons_.size() * 4 + 4096) return;
  agenda_.push(Scheduled{day, idx, ++tie_, order_seq, kind, detail, chain, adjust});
}

void Generator::MaybeAlias(uint32_t idx, int d, Millis t) {
  const Person& p = persons_[idx];
  // The alias goes in the first minute of the day, which SampleTime() leaves free: no line of
  // this day can carry the new userId before the alias announces it.
  (void)t;
  const Millis day_start = (start_day_ + d) * kMillisPerDay;
  if ((p.flags & kLegacy) && d >= p.alias_day) {
    AliasLine(idx, day_start + static_cast<Millis>(rng_.Below(kMinute)));
  }
}

void Generator::Browse(uint32_t idx, int d) {
  Person& p = persons_[idx];
  const DayInfo& day = days_[static_cast<size_t>(d)];
  Millis t = SampleTime(d, day.peak ? kSaleHours : kBrowseHours);
  const Millis end = DayEnd(d);
  MaybeAlias(idx, d, t);
  const int slot = PickSlot(p);
  const auto bit = static_cast<uint8_t>(1u << slot);
  Who who{idx, SlotChannel(p, slot), slot, (p.linked & bit) != 0, true};
  const bool weekend = day.weekday == 0 || day.weekday == 6;
  const double p_order = 0.2 * (1.0 + 0.5 * (day.sale - 1.0)) * (weekend ? 1.25 : 1.0);
  const bool will_order = rng_.Chance(std::min(0.6, p_order));
  const bool login_now = !who.user && (will_order || rng_.Chance(0.5));

  const auto pages = internal::Pages();
  const internal::PageDef& landing =
      day.sale > 1.2 ? pages[day.month == 6 ? 10 : 9] : pages[rng_.Below(6)];
  if (!PageLine(who, t, landing)) return;

  const auto products = internal::Products();
  const int views = rng_.Range(1, 5);
  size_t product = rng_.Chance(0.5) ? p.fav_product : rng_.Below(products.size());
  const int login_at = rng_.Range(0, views - 1);
  for (int v = 0; v < views; ++v) {
    t = std::min(end, t + 2000 + static_cast<Millis>(rng_.Below(8000)));
    if (login_now && v == login_at && !who.user) {
      who.user = true;
      if (!IdentifyLine(who, t, true)) return;
      p.linked |= bit;
      t = std::min(end, t + 1000 + static_cast<Millis>(rng_.Below(4000)));
    }
    // Dwell: mostly seconds, sometimes minutes, rarely a long session (≥ 10 min).
    const uint64_t r = rng_.Below(100);
    const int dwell = r < 70 ? rng_.Range(3, 60) : (r < 97 ? rng_.Range(60, 420)
                                                           : rng_.Range(600, 1800));
    if (!ViewLine(who, t, product, dwell)) return;
    t = std::min(end, t + static_cast<Millis>(dwell) * 1000);
    if (v + 1 < views) {
      product = rng_.Chance(0.4) ? (product + 1) % products.size() : rng_.Below(products.size());
    }
  }
  if (!will_order) return;
  if (!who.user) {
    who.user = true;
    if (!IdentifyLine(who, t, true)) return;
    p.linked |= bit;
  }
  if (rng_.Chance(0.5)) {
    t = std::min(end, t + 5000 + static_cast<Millis>(rng_.Below(20000)));
    if (!PageLine(who, t, pages[6])) return;
  }
  t = std::min(end, t + 20000 + static_cast<Millis>(rng_.Below(100000)));
  if (!OrderLine(who, t, product, d)) return;
  if (rng_.Chance(0.1)) {
    // A quick checkout survey right after paying.
    const int nps = std::clamp(static_cast<int>(p.mood) + rng_.Range(-2, 2), 0, 10);
    t = std::min(end, t + 60000);
    const auto comments = internal::SurveyComments(nps <= 6 ? 0 : (nps <= 8 ? 1 : 2), p.english);
    SurveyLine(who, t, Touchpoint::kCheckout, -1, std::clamp(1 + nps * 4 / 10, 1, 5),
               rng_.Chance(0.5) ? rng_.Pick(comments) : std::string_view(), order_seq_);
  }
}

void Generator::PageVisit(uint32_t idx, int d) {
  Person& p = persons_[idx];
  Millis t = SampleTime(d, kBrowseHours);
  MaybeAlias(idx, d, t);
  const int slot = PickSlot(p);
  Who who{idx, SlotChannel(p, slot), slot, (p.linked & (1u << slot)) != 0, true};
  const auto pages = internal::Pages();
  static constexpr size_t kVisit[] = {0, 4, 5, 7, 8, 11};
  const int n = rng_.Range(1, 3);
  for (int i = 0; i < n; ++i) {
    if (!PageLine(who, t, pages[kVisit[rng_.Below(std::size(kVisit))]])) return;
    t = std::min(DayEnd(d), t + 3000 + static_cast<Millis>(rng_.Below(60000)));
  }
}

void Generator::StoreVisit(uint32_t idx, int d) {
  Person& p = persons_[idx];
  Millis t = SampleTime(d, kStoreHours);
  MaybeAlias(idx, d, t);
  Who who{idx, Channel::kStore, kKioskSlot, true, false};
  if (rng_.Chance(0.2)) {
    // Member looks themselves up on the shop kiosk by phone: the kiosk sees many userIds.
    if (!IdentifyLine(who, t, false)) return;
    t += 30000 + static_cast<Millis>(rng_.Below(60000));
  }
  const size_t product = rng_.Chance(0.5) ? p.fav_product : rng_.Below(internal::Products().size());
  OrderLine(who, std::min(DayEnd(d), t), product, d);
}

void Generator::Conversation(uint32_t idx, int d, Topic topic, int chain, uint64_t order_seq) {
  Person& p = persons_[idx];
  const bool en = p.english != 0;
  Millis t = SampleTime(d, kServiceHours);
  const Millis end = DayEnd(d);
  MaybeAlias(idx, d, t);

  static constexpr uint32_t kChannelWeights[] = {45, 15, 10, 15, 15};  // chat email social phone app
  static constexpr Channel kChannels[] = {Channel::kChat, Channel::kEmail, Channel::kSocial,
                                          Channel::kPhone, Channel::kApp};
  Channel ch = kChannels[rng_.Weighted(kChannelWeights)];
  if (en && ch == Channel::kSocial && rng_.Chance(0.5)) ch = Channel::kEmail;
  std::string_view prop_channel = ChannelName(ch);
  if (ch == Channel::kPhone && rng_.Chance(0.15)) prop_channel = "ivr";
  int slot = -1;
  if (ch == Channel::kChat || ch == Channel::kApp) slot = 0;
  Who who{idx, ch, slot, true, slot >= 0};
  if (slot >= 0) p.linked |= 1;  // a logged-in chat ties the device

  char conv[24];
  const int conv_len = std::snprintf(conv, sizeof(conv), "C%llu",
                                     static_cast<unsigned long long>(10'000'000ULL + ++conv_seq_));
  const std::string_view conv_id(conv, static_cast<size_t>(conv_len));

  if (order_seq == 0) order_seq = p.last_order_seq;
  char order[24] = "";
  if (order_seq != 0) {
    std::string tmp;
    AppendOrderId(tmp, order_seq);
    std::memcpy(order, tmp.data(), tmp.size() + 1);
  }
  std::string phone;
  if (p.flags & kHasPhone) AppendPhone(phone, p, static_cast<int>(rng_.Below(8)));
  std::string email;
  if (p.flags & kHasEmail) AppendEmail(email, idx, 0);
  std::string name;
  AppendName(name, p);
  const auto products = internal::Products();
  const Product& prod = products[order_seq != 0 && rng_.Chance(0.6) ? p.fav_product
                                                                     : rng_.Below(products.size())];
  Slots slots;
  slots.order = order;
  slots.product = en ? prod.en : prod.zh;
  slots.phone = phone;
  slots.email = email;
  slots.name = name;
  slots.days = std::clamp(d - p.last_order_day, 2, 9);

  // The customer's message.
  text_.clear();
  const bool mixed = !en && rng_.Chance(0.08);
  // Without an order to name, prefer texts that do not need one.
  auto pick_text = [&](std::span<const std::string_view> texts) {
    if (!slots.order.empty()) return rng_.Pick(texts);
    std::string_view usable[16];
    size_t n = 0;
    for (std::string_view text : texts) {
      if (n < std::size(usable) && text.find("{order}") == std::string_view::npos) {
        usable[n++] = text;
      }
    }
    return n == 0 ? rng_.Pick(texts) : usable[rng_.Below(n)];
  };
  auto end_sentence = [&] {
    static constexpr std::string_view kEnds[] = {"。", "？", "！", "?", "!", "."};
    for (std::string_view e : kEnds) {
      if (text_.ends_with(e)) return;
    }
    text_.append(en ? "." : "。");
  };
  const std::string_view tmpl = mixed ? pick_text(internal::MixedTexts(topic))
                                      : pick_text(internal::CustomerTexts(topic, en));
  if (ch == Channel::kPhone) {
    text_.append(en ? "Hello? Yes, hi. " : "喂，你好。");
    internal::ExpandTemplate(tmpl, slots, &text_);
    end_sentence();
    if (en) text_.push_back(' ');
    if (chain > 0) text_.append(en ? "I already called about this last week. " : "我上周已经打过电话了。");
    std::string_view second = pick_text(internal::CustomerTexts(topic, en));
    for (int tries = 0; tries < 4 && second == tmpl; ++tries) {
      second = pick_text(internal::CustomerTexts(topic, en));
    }
    if (second == tmpl) second = en ? "It's quite urgent." : "这个事情挺急的。";
    internal::ExpandTemplate(second, slots, &text_);
    end_sentence();
    text_.append(en ? " My name is " : "我叫");
    text_.append(name);
    if (!slots.order.empty()) {
      text_.append(en ? ", the order number is " : "，订单号是");
      text_.append(slots.order);
    }
    text_.append(en ? ". Okay, please sort it out as soon as possible, thanks. Bye."
                    : "。好的，那麻烦你们尽快处理，谢谢，再见。");
  } else if (ch == Channel::kEmail) {
    text_.append(en ? "Hello,\n\n" : "您好，\n\n");
    internal::ExpandTemplate(tmpl, slots, &text_);
    text_.append(en ? "\n\nBest regards,\n" : "\n\n谢谢！\n");
    text_.append(name);
  } else if (ch == Channel::kSocial) {
    text_.append(en ? "@TouchpointShop " : "@Touchpoint官方旗舰店 ");
    internal::ExpandTemplate(tmpl, slots, &text_);
  } else {
    if (chain > 0) text_.append(en ? "Again: " : "又是我，");
    internal::ExpandTemplate(tmpl, slots, &text_);
  }
  if (rng_.Chance(0.07) && (!phone.empty() || !email.empty())) {
    auto suffixes = internal::PiiSuffixes(en);
    std::string_view suffix = rng_.Pick(suffixes);
    if (phone.empty() && suffix.find("{phone}") != std::string_view::npos) suffix = suffixes[2];
    if (email.empty() && suffix.find("{email}") != std::string_view::npos) suffix = suffixes[0];
    internal::ExpandTemplate(suffix, slots, &text_);
  }

  if ((ch == Channel::kChat || ch == Channel::kApp) && rng_.Chance(0.35)) {
    if (!MessageLine(who, t, conv_id, prop_channel, "bot",
                     rng_.Pick(internal::BotReplies(en))))
      return;
    t = std::min(end, t + 2000 + static_cast<Millis>(rng_.Below(20000)));
  }
  if (!MessageLine(who, t, conv_id, prop_channel, "customer", text_)) return;

  // The reply. Email and social answers take hours; chat and phone answer at once.
  const bool slow = ch == Channel::kEmail || ch == Channel::kSocial;
  t = std::min(end, t + (slow ? kHour + static_cast<Millis>(rng_.Below(6 * kHour))
                              : 10000 + static_cast<Millis>(rng_.Below(90000))));
  const double p_banned = topic == Topic::kDeliveryLate || chain > 0 ? 0.08 : 0.03;
  const bool banned = rng_.Chance(p_banned);
  std::string reply;
  internal::ExpandTemplate(banned ? rng_.Pick(internal::BannedAgentReplies(en))
                                  : pick_text(internal::AgentReplies(topic, en)),
                           slots, &reply);
  if (!MessageLine(who, t, conv_id, prop_channel, "agent", reply)) return;

  if ((ch == Channel::kChat || ch == Channel::kApp) && rng_.Chance(0.3)) {
    t = std::min(end, t + 5000 + static_cast<Millis>(rng_.Below(60000)));
    std::string_view follow = banned ? (en ? "Seriously? That's not acceptable."
                                           : "什么态度？我要投诉你")
                                     : (en ? "Ok thanks" : "好的，谢谢");
    if (!MessageLine(who, t, conv_id, prop_channel, "customer", follow)) return;
  }

  // What happens next: unresolved issues come back, some contacts get a survey.
  const bool negative = topic == Topic::kDeliveryLate || topic == Topic::kRefund ||
                        topic == Topic::kLogin || topic == Topic::kServiceComplaint;
  if (banned) {
    p.issue = static_cast<uint8_t>(1 + static_cast<int>(Topic::kServiceComplaint));
    p.issue_day = d;
  } else if (topic == Topic::kPraise) {
    p.issue = 0;
  }
  if (negative && chain < 2 && rng_.Chance(banned ? 0.8 : 0.45)) {
    Schedule(d + rng_.Range(2, 10), idx, FollowUp::kContact, static_cast<uint8_t>(topic),
             static_cast<uint8_t>(chain + 1), 0, order_seq);
  } else if (negative && chain >= 2) {
    p.issue = 0;  // finally resolved
  }
  if (rng_.Chance(0.25)) {
    const int adjust = (banned ? -5 : 0) - 2 * chain + (topic == Topic::kPraise ? 2 : 0) +
                       (negative ? -1 : 1);
    Schedule(d + rng_.Range(1, 2), idx, FollowUp::kSurvey,
             static_cast<uint8_t>(Touchpoint::kAfterSales), 0, static_cast<int8_t>(adjust), 0);
  }
}

void Generator::Survey(uint32_t idx, int d, Touchpoint tp, int adjust, uint64_t order_seq,
                       Channel ch) {
  Person& p = persons_[idx];
  Millis t = SampleTime(d, kServiceHours);
  MaybeAlias(idx, d, t);
  const int score = std::clamp(static_cast<int>(p.mood) + adjust + rng_.Range(-2, 2), 0, 10);
  const uint64_t form = rng_.Below(10);  // 0-4 both, 5-7 NPS only, 8-9 CSAT only
  int csat = 1 + (score * 4 + 5) / 10;  // 0→1, 5→3, 8→4, 10→5
  if (score < 10 && rng_.Chance(0.25)) --csat;
  if (rng_.Chance(0.1)) ++csat;
  csat = std::clamp(csat, 1, 5);
  const int bucket = score <= 6 ? 0 : (score <= 8 ? 1 : 2);
  std::string_view comment;
  if (rng_.Chance(0.6)) comment = rng_.Pick(internal::SurveyComments(bucket, p.english != 0));
  const int slot = ch == Channel::kApp || ch == Channel::kWeb ? 0 : -1;
  Who who{idx, ch, slot, true, slot >= 0};
  SurveyLine(who, t, tp, form < 8 ? score : -1, form < 5 || form >= 8 ? csat : -1, comment,
             order_seq);
}

void Generator::ProfileUpdate(uint32_t idx, int d) {
  Person& p = persons_[idx];
  Millis t = SampleTime(d, kBrowseHours);
  MaybeAlias(idx, d, t);
  const int slot = PickSlot(p);
  Who who{idx, SlotChannel(p, slot), slot, true, true};
  const bool first = (p.linked & (1u << slot)) == 0;
  if (IdentifyLine(who, t, first)) p.linked |= static_cast<uint8_t>(1u << slot);
}

void Generator::RandomEpisode(int d) {
  const uint32_t idx = PickPerson();
  Person& p = persons_[idx];
  // An open issue brings the customer back to the service desk.
  if (p.issue != 0 && d - p.issue_day <= 20 && d > p.issue_day && rng_.Chance(0.5)) {
    const auto topic = static_cast<Topic>(p.issue - 1);
    p.issue = 0;
    Conversation(idx, d, topic, 1, p.last_order_seq);
    return;
  }
  const DayInfo& day = days_[static_cast<size_t>(d)];
  const auto browse = static_cast<uint32_t>(500.0 * (0.7 + 0.3 * day.sale));
  const uint32_t weights[] = {browse, 70, 60, 190, 45, 70};
  switch (static_cast<Episode>(rng_.Weighted(weights))) {
    case Episode::kBrowse: Browse(idx, d); break;
    case Episode::kPages: PageVisit(idx, d); break;
    case Episode::kStore: StoreVisit(idx, d); break;
    case Episode::kService: {
      static constexpr uint32_t kTopicWeights[] = {5, 15, 14, 8, 7, 7, 10, 16, 12, 6};
      const auto topic = static_cast<Topic>(rng_.Weighted(kTopicWeights));
      Conversation(idx, d, topic, 0, 0);
      break;
    }
    case Episode::kSurvey: {
      // Unprompted surveys: about the app, or about checkout for recent buyers.
      const bool buyer = p.last_order_seq != 0 && d - p.last_order_day < 14;
      const Touchpoint tp = buyer && rng_.Chance(0.5) ? Touchpoint::kCheckout : Touchpoint::kApp;
      const int adjust = p.last_order_late && d - p.last_order_day < 30 ? -2 : 0;
      Survey(idx, d, tp, adjust, tp == Touchpoint::kCheckout ? p.last_order_seq : 0,
             p.pref_channel == 1 ? Channel::kWeb : Channel::kApp);
      break;
    }
    case Episode::kProfile: ProfileUpdate(idx, d); break;
  }
}

void Generator::RunScheduled(int d, const Scheduled& item) {
  if (item.kind == FollowUp::kContact) {
    Conversation(item.person, d, static_cast<Topic>(item.detail), item.chain, item.order_seq);
  } else {
    const auto tp = static_cast<Touchpoint>(item.detail);
    const Channel ch = tp == Touchpoint::kDelivery ? (rng_.Chance(0.5) ? Channel::kApp
                                                                         : Channel::kEmail)
                                                   : Channel::kChat;
    Survey(item.person, d, tp, item.adjust, item.order_seq, ch);
  }
}

void Generator::RunDay(int d) {
  quota_ = quotas_[static_cast<size_t>(d)];
  arena_.clear();
  refs_.clear();
  while (Room()) {
    if (!agenda_.empty() && agenda_.top().day <= d) {
      const Scheduled item = agenda_.top();
      agenda_.pop();
      if (d - item.day <= 7) RunScheduled(d, item);  // stale follow-ups are dropped
      continue;
    }
    RandomEpisode(d);
  }
  std::sort(refs_.begin(), refs_.end(), [](const LineRef& a, const LineRef& b) {
    return a.t != b.t ? a.t < b.t : a.seq < b.seq;
  });
  for (const LineRef& ref : refs_) out_.append(arena_, ref.offset, ref.length);
}

Status Generator::Run(std::ostream& out) {
  InitPersons();
  InitDays();
  out_.reserve(kFlushBytes + (1 << 20));
  for (int d = 0; d < options_.days; ++d) {
    RunDay(d);
    if (out_.size() >= kFlushBytes || d + 1 == options_.days) {
      out.write(out_.data(), static_cast<std::streamsize>(out_.size()));
      out_.clear();
      if (!out) return Status::Unavailable("demo generate: cannot write the output");
    }
  }
  out.flush();
  if (!out) return Status::Unavailable("demo generate: cannot write the output");
  return Status::Ok();
}

// Parses "YYYY-MM-DD" strictly into a day number since the epoch.
Result<int64_t> ParseEndDate(std::string_view s) {
  auto bad = [&] {
    return Status::InvalidArgument("end_date must be YYYY-MM-DD, got '" + std::string(s) + "'");
  };
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return bad();
  int v[3] = {0, 0, 0};
  const int starts[3] = {0, 5, 8};
  const int lens[3] = {4, 2, 2};
  for (int f = 0; f < 3; ++f) {
    for (int i = 0; i < lens[f]; ++i) {
      const char c = s[static_cast<size_t>(starts[f] + i)];
      if (c < '0' || c > '9') return bad();
      v[f] = v[f] * 10 + (c - '0');
    }
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (v[0] < 1971 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > kDays[v[1] - 1]) return bad();
  const bool leap = (v[0] % 4 == 0 && v[0] % 100 != 0) || v[0] % 400 == 0;
  if (v[1] == 2 && v[2] == 29 && !leap) return bad();
  return DaysFromCivil(v[0], static_cast<unsigned>(v[1]), static_cast<unsigned>(v[2]));
}

}  // namespace

Status ValidateOptions(const GenerateOptions& options) {
  if (options.customers < 1 || options.customers > kMaxCustomers) {
    return Status::InvalidArgument("customers must be between 1 and " +
                                   std::to_string(kMaxCustomers));
  }
  if (options.events < 0 || options.events > kMaxEvents) {
    return Status::InvalidArgument("events must be between 0 (= 50 x customers) and " +
                                   std::to_string(kMaxEvents));
  }
  if (options.days < 1 || options.days > kMaxDays) {
    return Status::InvalidArgument("days must be between 1 and " + std::to_string(kMaxDays));
  }
  TP_RETURN_IF_ERROR(ParseEndDate(options.end_date).status());
  const int64_t events = options.events == 0 ? 50 * options.customers : options.events;
  if (events > kMaxEvents) {
    return Status::InvalidArgument("50 x customers exceeds the event limit; pass --events");
  }
  return Status::Ok();
}

Result<GenerateStats> Generate(const GenerateOptions& options, std::ostream& out) {
  TP_RETURN_IF_ERROR(ValidateOptions(options));
  TP_ASSIGN_OR_RETURN(const int64_t end_day, ParseEndDate(options.end_date));
  const int64_t events = options.events == 0 ? 50 * options.customers : options.events;
  Generator generator(options, events, end_day - options.days);
  TP_RETURN_IF_ERROR(generator.Run(out));
  return generator.stats();
}

}  // namespace touchpoint::demo

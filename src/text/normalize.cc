#include <touchpoint/text/normalize.h>

#include <mutex>
#include <vector>

#include <opencc/opencc.h>
#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>

#include "text/utf8_internal.h"

namespace touchpoint::text {

using internal::AppendUtf8;
using internal::DecodeUtf8;

namespace {
constexpr char32_t kTableBegin = 0x3400;
constexpr char32_t kTableEnd = 0xA000;  // exclusive
}  // namespace

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    char32_t cp;
    bool ok;
    i += DecodeUtf8(text, i, &cp, &ok);
    if (!ok) return false;
  }
  return true;
}

std::string SanitizeUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    char32_t cp;
    bool ok;
    const size_t len = DecodeUtf8(text, i, &cp, &ok);
    if (ok) {
      out.append(text.substr(i, len));
    } else {
      AppendUtf8(0xFFFD, &out);
    }
    i += len;
  }
  return out;
}

struct Normalizer::Impl {
  const icu::Normalizer2* nfkc = nullptr;
  std::vector<char32_t> t2s;  // index cp - kTableBegin; 0 = unchanged
};

Normalizer::Normalizer() : impl_(std::make_unique<Impl>()) {}
Normalizer::~Normalizer() = default;

Result<std::unique_ptr<Normalizer>> Normalizer::Create() {
  std::unique_ptr<Normalizer> n(new Normalizer());
  UErrorCode status = U_ZERO_ERROR;
  n->impl_->nfkc = icu::Normalizer2::getNFKCInstance(status);
  if (U_FAILURE(status) || n->impl_->nfkc == nullptr) {
    return Status::FailedPrecondition(std::string("ICU NFKC data unavailable: ") +
                                      u_errorName(status));
  }
  opencc_t od = opencc_open(OPENCC_DEFAULT_CONFIG_TRAD_TO_SIMP);
  if (od == reinterpret_cast<opencc_t>(-1)) {
    return Status::FailedPrecondition(
        std::string("OpenCC configuration t2s.json not found (expected under /usr/share/opencc; "
                    "install the opencc-data package): ") +
        opencc_error());
  }
  // Convert every CJK code point on its own line once; the per-character table then makes
  // folding a lookup instead of a dictionary walk on the hot path.
  std::string input;
  input.reserve((kTableEnd - kTableBegin) * 4);
  for (char32_t cp = kTableBegin; cp < kTableEnd; ++cp) {
    AppendUtf8(cp, &input);
    input.push_back('\n');
  }
  char* converted = opencc_convert_utf8(od, input.data(), input.size());
  opencc_close(od);
  if (converted == nullptr) return Status::Internal("OpenCC t2s conversion failed");
  std::string_view out(converted);
  n->impl_->t2s.assign(kTableEnd - kTableBegin, 0);
  char32_t cp = kTableBegin;
  size_t start = 0;
  while (start < out.size() && cp < kTableEnd) {
    size_t nl = out.find('\n', start);
    if (nl == std::string_view::npos) nl = out.size();
    std::string_view line = out.substr(start, nl - start);
    char32_t mapped;
    bool ok;
    if (!line.empty() && DecodeUtf8(line, 0, &mapped, &ok) == line.size() && ok &&
        mapped != cp) {
      n->impl_->t2s[cp - kTableBegin] = mapped;
    }
    ++cp;
    start = nl + 1;
  }
  opencc_convert_utf8_free(converted);
  return n;
}

Result<const Normalizer*> Normalizer::Default() {
  static std::once_flag once;
  static std::unique_ptr<Normalizer> instance;
  static Status error;
  std::call_once(once, [] {
    auto r = Create();
    if (r.ok()) {
      instance = std::move(r).value();
    } else {
      error = r.status();
    }
  });
  if (!instance) return error;
  return static_cast<const Normalizer*>(instance.get());
}

char32_t Normalizer::ToSimplified(char32_t cp) const {
  if (cp >= kTableBegin && cp < kTableEnd) {
    char32_t m = impl_->t2s[cp - kTableBegin];
    if (m != 0) return m;
  }
  return cp;
}

void Normalizer::Normalize(std::string_view text, std::string* out) const {
  out->clear();
  bool ascii = true;
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    out->reserve(text.size());
    for (char c : text) out->push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c);
    return;
  }
  thread_local std::string clean;
  thread_local std::string nfkc;
  std::string_view src = text;
  if (!IsValidUtf8(text)) {
    clean = SanitizeUtf8(text);
    src = clean;
  }
  nfkc.clear();
  {
    UErrorCode status = U_ZERO_ERROR;
    icu::StringByteSink<std::string> sink(&nfkc, static_cast<int32_t>(src.size()));
    impl_->nfkc->normalizeUTF8(0, icu::StringPiece(src.data(), static_cast<int32_t>(src.size())),
                               sink, nullptr, status);
    if (U_FAILURE(status)) nfkc.assign(src);
  }
  out->reserve(nfkc.size());
  size_t i = 0;
  while (i < nfkc.size()) {
    const auto b = static_cast<unsigned char>(nfkc[i]);
    if (b < 0x80) {
      out->push_back((b >= 'A' && b <= 'Z') ? static_cast<char>(b + 32) : static_cast<char>(b));
      ++i;
      continue;
    }
    char32_t cp;
    bool ok;
    const size_t len = DecodeUtf8(nfkc, i, &cp, &ok);
    if (cp >= kTableBegin && cp < kTableEnd) {
      AppendUtf8(ToSimplified(cp), out);
    } else if (cp == 0x2018 || cp == 0x2019) {
      out->push_back('\'');  // typographic apostrophes: "don’t" → "don't"
    } else if (cp == 0x3002 || cp == 0xFF61) {
      out->push_back('.');  // ideographic full stop
    } else if (cp < 0x530) {
      AppendUtf8(static_cast<char32_t>(u_foldCase(static_cast<UChar32>(cp), U_FOLD_CASE_DEFAULT)),
                 out);
    } else {
      out->append(nfkc, i, len);
    }
    i += len;
  }
}

std::string Normalizer::Normalize(std::string_view text) const {
  std::string out;
  Normalize(text, &out);
  return out;
}

std::string_view LanguageName(Language language) {
  switch (language) {
    case Language::kChinese:
      return "zh";
    case Language::kEnglish:
      return "en";
    case Language::kMixed:
      return "mixed";
    case Language::kUnknown:
      break;
  }
  return "unknown";
}

Language DetectLanguage(std::string_view text) {
  size_t han = 0, words = 0, run = 0;
  size_t i = 0;
  while (i < text.size()) {
    char32_t cp;
    bool ok;
    const size_t len = DecodeUtf8(text, i, &cp, &ok);
    i += len;
    // Full-width Latin letters count as Latin.
    if (cp >= 0xFF21 && cp <= 0xFF5A) cp = cp - 0xFF21 + 'A';
    if (internal::IsAsciiAlpha(cp) || internal::IsLatinExtended(cp)) {
      ++run;
      continue;
    }
    if (run >= 2) ++words;
    run = 0;
    if (internal::IsHan(cp)) ++han;
  }
  if (run >= 2) ++words;
  if (han >= 2 && words >= 2) return Language::kMixed;
  if (han > 0) return Language::kChinese;
  if (words > 0) return Language::kEnglish;
  return Language::kUnknown;
}

}  // namespace touchpoint::text

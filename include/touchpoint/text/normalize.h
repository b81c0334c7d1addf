// text/normalize.h — the analysis form of a text, UTF-8 repair and language detection.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <touchpoint/core/result.h>

namespace touchpoint::text {

// Returns true when `text` is well-formed UTF-8 (no overlongs, surrogates or values > U+10FFFF).
bool IsValidUtf8(std::string_view text);

// Returns `text` with every ill-formed UTF-8 sequence replaced by U+FFFD.
std::string SanitizeUtf8(std::string_view text);

// Folds a text into its analysis form: invalid UTF-8 repaired, NFKC (full-width → half-width),
// Traditional → Simplified Chinese per character (table built once from OpenCC t2s), and case
// folding. Emoji and all other characters are kept. The original text is never modified.
// Thread-safe: immutable after Create().
class Normalizer {
 public:
  // Fails with kFailedPrecondition when ICU's NFKC data or OpenCC's t2s.json
  // (/usr/share/opencc) cannot be loaded.
  static Result<std::unique_ptr<Normalizer>> Create();
  // A process-wide instance, created on first use (thread-safe). Same errors as Create().
  static Result<const Normalizer*> Default();

  ~Normalizer();
  Normalizer(const Normalizer&) = delete;
  Normalizer& operator=(const Normalizer&) = delete;

  // Writes the analysis form of `text` into *out (reusing its capacity).
  void Normalize(std::string_view text, std::string* out) const;
  std::string Normalize(std::string_view text) const;

  // Simplified form of one code point (itself when it has none).
  char32_t ToSimplified(char32_t cp) const;

 private:
  Normalizer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

enum class Language { kUnknown, kChinese, kEnglish, kMixed };

// "zh", "en", "mixed", "unknown".
std::string_view LanguageName(Language language);

// Detects the language from Han characters and Latin words (≥ 2 letters): "mixed" when the
// text has at least 2 of each (`APP闪退了 refund please`), otherwise "zh" if it has Han
// characters, "en" if it has Latin words, "unknown" for text without either (digits, emoji,
// punctuation, empty). Works on raw or normalised text. Thread-safe, no allocation.
Language DetectLanguage(std::string_view text);

}  // namespace touchpoint::text

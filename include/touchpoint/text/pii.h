// text/pii.h — personal data in free text: detection and masking (PRODUCT.md §10).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace touchpoint::text {

enum class PiiKind { kMobile, kLandline, kIdNumber, kBankCard, kEmail };

// "mobile", "landline", "id_number", "bank_card", "email".
std::string_view PiiKindName(PiiKind kind);

// A byte range [begin, end) of the input holding one item.
struct PiiSpan {
  PiiKind kind = PiiKind::kMobile;
  size_t begin = 0;
  size_t end = 0;
};

// Finds, left to right and without overlaps:
//  - Chinese mobile numbers 1[3-9]x xxxx xxxx (also +86/86-prefixed, with ' ' or '-' in 3-4-4),
//  - landlines 0AA(A)-NNNNNNN(N) (the separator is required, or a 0 + 10/11-digit run with
//    a known 3/4-digit area code shape),
//  - resident ID numbers: 17 digits + check digit (0-9/X), ISO 7064 MOD 11-2 valid, with a
//    plausible birth date (1900-01-01 … 2099-12-31, real day of month),
//  - bank cards: 16–19 digits (optionally grouped by single spaces or dashes), Luhn valid,
//  - e-mail addresses local@domain.tld.
// Digit runs glued to letters or other digits are not matched. Thread-safe; never fails.
std::vector<PiiSpan> FindPii(std::string_view text);

// Returns `text` with each item masked: mobile 138****5678 (middle four), landline keeps the
// area code and last four digits, ID number hides its middle six characters, bank card keeps
// only its last four digits, e-mail keeps the first character of the local part
// (z***@example.com). Separators inside numbers are kept. Thread-safe.
std::string MaskPii(std::string_view text);
// Same, reusing spans already found by FindPii(text).
std::string MaskPii(std::string_view text, const std::vector<PiiSpan>& spans);

// Validators, exposed for tests and for structured fields.
bool IsValidChineseId(std::string_view id18);   // 18 chars, check digit and birth date
bool PassesLuhn(std::string_view digits);       // digits only

}  // namespace touchpoint::text

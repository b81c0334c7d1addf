#include <touchpoint/identity/identifier.h>

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <array>

#include <touchpoint/core/strings.h>

namespace touchpoint::identity {
namespace {

constexpr std::array<std::string_view, kIdentifierKindCount> kKindNames = {
    "user", "member", "external", "open", "phone", "email", "device", "anon"};

bool ValidUtf8(std::string_view s) {
  int32_t i = 0;
  const auto n = static_cast<int32_t>(s.size());
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  while (i < n) {
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0) return false;
  }
  return true;
}

}  // namespace

std::string_view KindName(IdentifierKind kind) { return kKindNames[static_cast<size_t>(kind)]; }

std::optional<IdentifierKind> ParseKind(std::string_view name) {
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<IdentifierKind>(i);
  }
  if (name == "userId" || name == "user_id") return IdentifierKind::kUser;
  if (name == "anonymousId" || name == "anonymous") return IdentifierKind::kAnon;
  if (name == "member_id") return IdentifierKind::kMember;
  if (name == "external_id") return IdentifierKind::kExternal;
  if (name == "open_id") return IdentifierKind::kOpen;
  return std::nullopt;
}

bool IsPersonLevel(IdentifierKind kind) {
  return kind != IdentifierKind::kDevice && kind != IdentifierKind::kAnon;
}

Sensitivity SensitivityOf(IdentifierKind kind) {
  switch (kind) {
    case IdentifierKind::kPhone:
    case IdentifierKind::kEmail: return Sensitivity::kMedium;
    default: return Sensitivity::kLow;
  }
}

Result<std::string> NormalizeText(std::string_view raw) {
  bool ascii = true;
  for (char c : raw) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return Trim(raw, kJsonWhitespace);  // NFKC is the identity on ASCII.
  if (!ValidUtf8(raw)) return Status::InvalidArgument("not valid UTF-8");
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(status);
  if (U_FAILURE(status)) return Status::Internal("ICU NFKC normaliser unavailable");
  icu::UnicodeString normalized = nfkc->normalize(
      icu::UnicodeString::fromUTF8(icu::StringPiece(raw.data(), static_cast<int32_t>(raw.size()))),
      status);
  if (U_FAILURE(status)) return Status::InvalidArgument("cannot be normalised (NFKC)");
  normalized.trim();
  std::string out;
  normalized.toUTF8String(out);
  return out;
}

Result<std::string> NormalizePhone(std::string_view raw) {
  TP_ASSIGN_OR_RETURN(std::string text, NormalizeText(raw));
  std::string digits;
  bool plus = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
    } else if (c == '+') {
      if (!digits.empty()) return Status::InvalidArgument("phone has '+' in the middle");
      plus = true;
    } else if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/') {
      continue;
    } else {
      return Status::InvalidArgument("phone contains a character that is not a digit");
    }
  }
  if (digits.empty()) return Status::InvalidArgument("phone has no digits");
  if (!plus && digits.size() > 2 && digits.compare(0, 2, "00") == 0) {
    digits.erase(0, 2);
    plus = true;
  }
  auto is_cn_mobile = [](std::string_view d) { return d.size() == 11 && d[0] == '1' && d[1] >= '3'; };
  if (plus) {
    if (digits.compare(0, 2, "86") == 0) {
      std::string national = digits.substr(2);
      if (!national.empty() && national[0] == '0') national.erase(0, 1);  // +86 (0)10 …
      if (is_cn_mobile(national) || (national.size() >= 9 && national.size() <= 11)) {
        return "+86" + national;
      }
      return Status::InvalidArgument("phone is not a valid Chinese number");
    }
    if (digits.size() < 7 || digits.size() > 15) {
      return Status::InvalidArgument("phone has the wrong number of digits for E.164");
    }
    return "+" + digits;
  }
  if (is_cn_mobile(digits)) return "+86" + digits;
  if (digits.size() == 13 && digits.compare(0, 2, "86") == 0 && is_cn_mobile(digits.substr(2))) {
    return "+" + digits;
  }
  // Chinese landline with trunk prefix: 0 + area code (2–3 digits) + 7–8 digit number.
  if (digits[0] == '0' && digits.size() >= 10 && digits.size() <= 12) {
    return "+86" + digits.substr(1);
  }
  return Status::InvalidArgument(
      "phone is neither a Chinese number nor international with a leading +");
}

Result<std::string> NormalizeEmail(std::string_view raw) {
  TP_ASSIGN_OR_RETURN(std::string text, NormalizeText(raw));
  AsciiLowerInPlace(&text);
  const size_t at = text.find('@');
  if (at == std::string::npos || at == 0 || text.find('@', at + 1) != std::string::npos) {
    return Status::InvalidArgument("e-mail must have exactly one '@' with a local part");
  }
  const std::string_view domain = std::string_view(text).substr(at + 1);
  const size_t dot = domain.rfind('.');
  if (domain.empty() || dot == std::string_view::npos || dot == 0 || dot + 1 == domain.size()) {
    return Status::InvalidArgument("e-mail domain must look like example.com");
  }
  for (char c : text) {
    if (IsOneOf(c, kJsonWhitespace)) return Status::InvalidArgument("e-mail contains white space");
  }
  return text;
}

Result<std::string> NormalizeIdentifier(IdentifierKind kind, std::string_view raw) {
  switch (kind) {
    case IdentifierKind::kPhone: return NormalizePhone(raw);
    case IdentifierKind::kEmail: return NormalizeEmail(raw);
    default: break;
  }
  TP_ASSIGN_OR_RETURN(std::string text, NormalizeText(raw));
  if (text.empty()) return Status::InvalidArgument("identifier is empty");
  if (text.size() > 256) return Status::InvalidArgument("identifier is longer than 256 bytes");
  return text;
}

Result<Identifier> ParseIdentifierRef(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Status::InvalidArgument(
        "identifier must be kind:value with kind one of user, anon, device, phone, email, "
        "member, external, open (or a numeric customer id)");
  }
  auto kind = ParseKind(text.substr(0, colon));
  if (!kind) {
    return Status::InvalidArgument("unknown identifier kind '" + std::string(text.substr(0, colon)) +
                                   "' (use user, anon, device, phone, email, member, external, open)");
  }
  auto value = NormalizeIdentifier(*kind, text.substr(colon + 1));
  if (!value.ok()) return value.status().WithContext(std::string(KindName(*kind)));
  return Identifier{*kind, std::move(*value)};
}

}  // namespace touchpoint::identity

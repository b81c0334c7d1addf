#include <touchpoint/privacy/masking.h>

#include <algorithm>
#include <charconv>
#include <vector>

#include <nlohmann/json.hpp>
#include <touchpoint/core/json_text.h>
#include <touchpoint/core/strings.h>
#include <touchpoint/text/pii.h>

namespace touchpoint::privacy {
namespace {

// Byte offsets of the code points of `s` (plus s.size() at the end). Invalid UTF-8 bytes count
// as one code point each: masking must never fail.
std::vector<size_t> CodePointStarts(std::string_view s) {
  std::vector<size_t> starts;
  starts.reserve(s.size() + 1);
  for (size_t i = 0; i < s.size();) {
    starts.push_back(i);
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    if (i + len > s.size()) len = 1;
    i += len;
  }
  starts.push_back(s.size());
  return starts;
}

// The comma-separated parts of `s`, each without surrounding blanks; empty parts dropped.
std::vector<std::string_view> CommaParts(std::string_view s) {
  std::vector<std::string_view> parts;
  while (true) {
    const size_t comma = s.find(',');
    const std::string_view part = TrimView(s.substr(0, comma), kAsciiBlank);
    if (!part.empty()) parts.push_back(part);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return parts;
}

bool IsSeparator(std::string_view cp) { return cp == " " || cp == "-"; }

// First code point of `value` followed by "**": a free-form value (name, address) masked without
// telling its length.
std::string FirstAndStars(std::string_view value) {
  if (value.empty()) return std::string();
  const auto starts = CodePointStarts(value);
  return std::string(value.substr(0, starts[1])) + "**";
}

std::string MaskEmail(std::string_view value) {
  const size_t at = value.rfind('@');
  if (at == std::string_view::npos || at == 0) return FirstAndStars(value);
  const auto starts = CodePointStarts(value.substr(0, at));
  return std::string(value.substr(0, starts[1])) + "***" + std::string(value.substr(at));
}

enum class Shape { kPhone, kIdNumber, kBankCard, kEmail, kOther };

Shape ShapeOf(std::string_view field) {
  if (field == "phone" || field == "mobile" || field == "landline" || field == "telephone") return Shape::kPhone;
  if (field == "id_number" || field == "id_card" || field == "resident_id" || field == "national_id" ||
      field == "passport") {
    return Shape::kIdNumber;
  }
  if (field == "bank_card" || field == "card_number") return Shape::kBankCard;
  if (field == "email") return Shape::kEmail;
  return Shape::kOther;
}

}  // namespace

Result<MaskRule> ParseMaskRule(std::string_view text) {
  MaskRule rule{.keep_start = 0, .keep_end = 0, .hide = -1};
  for (std::string_view part : CommaParts(text)) {
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("mask rule part '" + std::string(part) +
                                     "' is not name=value (keep_start, keep_end, hide)");
    }
    const std::string_view name = TrimView(part.substr(0, eq), kAsciiBlank);
    const std::string_view value = TrimView(part.substr(eq + 1), kAsciiBlank);
    int n = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || p != value.data() + value.size() || n < 0 || n > 32) {
      return Status::InvalidArgument("mask rule " + std::string(name) + ": '" + std::string(value) +
                                     "' is not a whole number from 0 to 32");
    }
    if (name == "keep_start") {
      rule.keep_start = n;
    } else if (name == "keep_end") {
      rule.keep_end = n;
    } else if (name == "hide") {
      rule.hide = n;
    } else {
      return Status::InvalidArgument("unknown mask rule part '" + std::string(name) +
                                     "' (use keep_start, keep_end, hide)");
    }
  }
  return rule;
}

std::string FormatMaskRule(const MaskRule& rule) {
  std::string out = "keep_start=" + std::to_string(rule.keep_start) + ",keep_end=" + std::to_string(rule.keep_end);
  if (rule.hide >= 0) out += ",hide=" + std::to_string(rule.hide);
  return out;
}

Result<RevealRequest> ParseRevealRequest(std::string_view fields, std::string_view reason) {
  RevealRequest out;
  for (std::string_view f : CommaParts(fields)) {
    const std::string name = AsciiLower(f);
    if (SensitivityOfField(name) == Sensitivity::kLow) {
      return Status::InvalidArgument("reveal: '" + name +
                                     "' is not a personal-data field (it is never masked); "
                                     "sensitive fields are e.g. phone, email, id_number, name, address");
    }
    out.fields.insert(name);
  }
  if (out.fields.empty()) return out;
  const std::string_view r = TrimView(reason, kAsciiWhitespace);
  if (r.empty()) return Status::InvalidArgument("reveal needs a reason (reason=..., --reason ...): it is audited");
  if (r.size() > 500) return Status::InvalidArgument("reveal: the reason is longer than 500 bytes");
  out.reason = std::string(r);
  return out;
}

Masker::Masker(MaskingConfig config) : config_(config) {}

std::string Masker::ApplyRule(const MaskRule& rule, std::string_view value) {
  const auto starts = CodePointStarts(value);
  const size_t n_cp = starts.size() - 1;
  // The code points that count (separators stay where they are and are never hidden).
  std::vector<size_t> counted;
  counted.reserve(n_cp);
  for (size_t i = 0; i < n_cp; ++i) {
    if (!IsSeparator(value.substr(starts[i], starts[i + 1] - starts[i]))) counted.push_back(i);
  }
  const size_t n = counted.size();
  if (n == 0) return std::string(value);
  size_t keep_start = static_cast<size_t>(rule.keep_start);
  size_t keep_end = static_cast<size_t>(rule.keep_end);
  const size_t intended = rule.hide >= 0 ? static_cast<size_t>(rule.hide) : 4;
  if (n < keep_start + keep_end + std::max<size_t>(intended, 1)) {
    // Too short for the rule to hide what it means to (an extension "12345" would show four of
    // five digits): hide all but the last quarter ("12345" → "****5").
    keep_start = 0;
    keep_end = n / 4;
  }
  size_t hide_from = keep_start;
  const size_t hide_to = n - keep_end;
  if (rule.hide >= 0 && hide_to - hide_from > static_cast<size_t>(rule.hide)) {
    hide_from = hide_to - static_cast<size_t>(rule.hide);
  }
  std::vector<bool> hidden(n_cp, false);
  for (size_t k = hide_from; k < hide_to; ++k) hidden[counted[k]] = true;
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < n_cp; ++i) {
    if (hidden[i]) {
      out.push_back('*');
    } else {
      out.append(value.substr(starts[i], starts[i + 1] - starts[i]));
    }
  }
  return out;
}

std::string Masker::MaskField(std::string_view field, std::string_view value) const {
  if (SensitivityOfField(field) == Sensitivity::kLow) return std::string(value);
  switch (ShapeOf(field)) {
    case Shape::kPhone: return ApplyRule(config_.phone, value);
    case Shape::kIdNumber: return ApplyRule(config_.id_number, value);
    case Shape::kBankCard: return ApplyRule(config_.bank_card, value);
    case Shape::kEmail: return MaskEmail(value);
    case Shape::kOther: return FirstAndStars(value);
  }
  return FirstAndStars(value);
}

std::string Masker::MaskText(std::string_view text) const {
  const auto spans = text::FindPii(text);
  if (spans.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (const text::PiiSpan& s : spans) {
    if (s.begin < pos || s.end > text.size()) continue;
    out.append(text.substr(pos, s.begin - pos));
    const std::string_view item = text.substr(s.begin, s.end - s.begin);
    switch (s.kind) {
      case text::PiiKind::kMobile:
      case text::PiiKind::kLandline: out += ApplyRule(config_.phone, item); break;
      case text::PiiKind::kIdNumber: out += ApplyRule(config_.id_number, item); break;
      case text::PiiKind::kBankCard: out += ApplyRule(config_.bank_card, item); break;
      case text::PiiKind::kEmail: out += MaskEmail(item); break;
    }
    pos = s.end;
  }
  out.append(text.substr(pos));
  return out;
}

const Masker& DefaultMasker() {
  static const Masker masker;
  return masker;
}

std::string MaskPolicy::Show(std::string_view field, std::string_view value) const {
  if (masker == nullptr || reveal.Reveals(field)) return std::string(value);
  return masker->MaskField(field, value);
}

std::string MaskPolicy::ShowJson(std::string_view field, std::string_view json_value) const {
  if (masker == nullptr || reveal.Reveals(field) || SensitivityOfField(field) == Sensitivity::kLow) {
    return std::string(json_value);
  }
  const nlohmann::json v = nlohmann::json::parse(json_value, nullptr, /*allow_exceptions=*/false);
  if (v.is_null()) return "null";
  std::string out;
  if (v.is_discarded()) {
    AppendJsonString(out, "**");
  } else if (v.is_string()) {
    AppendJsonString(out, masker->MaskField(field, v.get_ref<const std::string&>()));
  } else {
    AppendJsonString(out, masker->MaskField(field, v.dump()));
  }
  return out;
}

}  // namespace touchpoint::privacy

#include <touchpoint/text/pii.h>

#include <algorithm>

namespace touchpoint::text {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
bool IsLocalChar(char c) {
  return IsAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
bool IsDomainChar(char c) { return IsAlnum(c) || c == '.' || c == '-'; }

struct Group {
  size_t begin, end;  // byte range of a digit run (may end with X for an ID)
};

// Finds e-mail addresses; spans are sorted.
void FindEmails(std::string_view t, std::vector<PiiSpan>* out) {
  size_t last_end = 0;
  for (size_t at = t.find('@'); at != std::string_view::npos; at = t.find('@', at + 1)) {
    if (at < last_end) continue;
    size_t b = at;
    while (b > last_end && IsLocalChar(t[b - 1])) --b;
    while (b < at && (t[b] == '.' || t[b] == '-')) ++b;
    if (b == at) continue;
    size_t e = at + 1;
    while (e < t.size() && IsDomainChar(t[e])) ++e;
    while (e > at + 1 && (t[e - 1] == '.' || t[e - 1] == '-')) --e;
    std::string_view domain = t.substr(at + 1, e - at - 1);
    const size_t dot = domain.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || domain.size() - dot - 1 < 2) continue;
    bool tld_alpha = true;
    for (char c : domain.substr(dot + 1)) tld_alpha = tld_alpha && IsAlpha(c);
    if (!tld_alpha) continue;
    out->push_back({PiiKind::kEmail, b, e});
    last_end = e;
  }
}

std::string DigitsOf(std::string_view t, const std::vector<Group>& g, size_t k) {
  std::string d;
  for (size_t i = 0; i < k; ++i) d.append(t.substr(g[i].begin, g[i].end - g[i].begin));
  return d;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsDigit);
}

// Classifies the first k groups as one item; returns false if they are none.
bool Classify(std::string_view t, const std::vector<Group>& g, size_t k, PiiKind* kind) {
  const std::string d = DigitsOf(t, g, k);
  const size_t n = d.size();
  if (n == 18 && AllDigits(std::string_view(d).substr(0, 17)) && IsValidChineseId(d)) {
    *kind = PiiKind::kIdNumber;
    return true;
  }
  if (!AllDigits(d)) return false;
  auto len = [&](size_t i) { return g[i].end - g[i].begin; };
  auto mobile = [](std::string_view m) {
    return m.size() == 11 && m[0] == '1' && m[1] >= '3' && m[1] <= '9';
  };
  if (mobile(d) && (k == 1 || (k == 3 && len(0) == 3 && len(1) == 4 && len(2) == 4))) {
    *kind = PiiKind::kMobile;
    return true;
  }
  if (n == 13 && d.compare(0, 2, "86") == 0 && mobile(std::string_view(d).substr(2)) &&
      (k == 1 || (k == 2 && len(0) == 2) ||
       (k == 4 && len(0) == 2 && len(1) == 3 && len(2) == 4 && len(3) == 4))) {
    *kind = PiiKind::kMobile;
    return true;
  }
  if (d[0] == '0' && d.size() >= 2 && d[1] != '0') {
    if (k == 2 && (len(0) == 3 || len(0) == 4) && (len(1) == 7 || len(1) == 8)) {
      *kind = PiiKind::kLandline;
      return true;
    }
    if (k == 1 && (n == 11 || n == 12)) {
      *kind = PiiKind::kLandline;
      return true;
    }
  }
  if (n >= 16 && n <= 19 && PassesLuhn(d)) {
    bool grouped_ok = k == 1;
    if (k > 1) {
      grouped_ok = true;
      for (size_t i = 0; i + 1 < k; ++i) grouped_ok = grouped_ok && len(i) >= 4 && len(i) <= 6;
    }
    if (grouped_ok) {
      *kind = PiiKind::kBankCard;
      return true;
    }
  }
  return false;
}

void FindNumbers(std::string_view t, size_t from, size_t to, std::vector<PiiSpan>* out) {
  size_t i = from;
  while (i < to) {
    size_t start = i;
    // "+86 138..." — the '+' belongs to the number.
    if (t[i] == '+' && i + 1 < to && IsDigit(t[i + 1])) ++i;
    if (!IsDigit(t[i]) || (start > 0 && (IsAlnum(t[start - 1]) || t[start - 1] == '.'))) {
      i = start + 1;
      continue;
    }
    // Collect digit groups separated by one ' ' or '-'.
    std::vector<Group> groups;
    size_t j = i;
    while (true) {
      size_t b = j;
      while (j < to && IsDigit(t[j])) ++j;
      if (j < to && (t[j] == 'X' || t[j] == 'x') && j - b == 17) ++j;
      groups.push_back({b, j});
      if (groups.size() >= 6) break;
      if (j + 1 < to && (t[j] == ' ' || t[j] == '-') && IsDigit(t[j + 1])) {
        ++j;
        continue;
      }
      break;
    }
    bool matched = false;
    for (size_t k = groups.size(); k >= 1 && !matched; --k) {
      const size_t end = groups[k - 1].end;
      if (end < t.size() && (IsAlnum(t[end]) || (t[end] == '.' && end + 1 < t.size() &&
                                                   IsDigit(t[end + 1])))) {
        continue;
      }
      PiiKind kind;
      if (Classify(t, groups, k, &kind)) {
        out->push_back({kind, start, end});
        i = end;
        matched = true;
      }
    }
    if (!matched) {
      // Skip this whole run of digits so a suffix is never read as a number of its own.
      i = groups[0].end;
      while (i < to && IsAlnum(t[i])) ++i;
    }
  }
}

}  // namespace

std::string_view PiiKindName(PiiKind kind) {
  switch (kind) {
    case PiiKind::kMobile:
      return "mobile";
    case PiiKind::kLandline:
      return "landline";
    case PiiKind::kIdNumber:
      return "id_number";
    case PiiKind::kBankCard:
      return "bank_card";
    case PiiKind::kEmail:
      break;
  }
  return "email";
}

bool PassesLuhn(std::string_view digits) {
  if (digits.empty()) return false;
  int sum = 0;
  bool twice = false;
  for (size_t i = digits.size(); i-- > 0;) {
    if (!IsDigit(digits[i])) return false;
    int v = digits[i] - '0';
    if (twice) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
    twice = !twice;
  }
  return sum % 10 == 0;
}

bool IsValidChineseId(std::string_view id) {
  if (id.size() != 18) return false;
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static constexpr char kCheck[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) {
    if (!IsDigit(id[i])) return false;
    sum += (id[i] - '0') * kWeights[i];
  }
  char last = id[17];
  if (last == 'x') last = 'X';
  if (last != kCheck[sum % 11]) return false;
  auto num = [&](size_t b, size_t n) {
    int v = 0;
    for (size_t i = b; i < b + n; ++i) v = v * 10 + (id[i] - '0');
    return v;
  };
  if (id[0] == '0') return false;  // no province code starts with 0
  const int year = num(6, 4), month = num(10, 2), day = num(12, 2);
  if (year < 1900 || year > 2099 || month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (day > kDays[month - 1]) return false;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap) return false;
  return true;
}

std::vector<PiiSpan> FindPii(std::string_view text) {
  std::vector<PiiSpan> emails;
  if (text.find('@') != std::string_view::npos) FindEmails(text, &emails);
  std::vector<PiiSpan> out;
  size_t from = 0;
  for (const PiiSpan& e : emails) {
    FindNumbers(text, from, e.begin, &out);
    out.push_back(e);
    from = e.end;
  }
  FindNumbers(text, from, text.size(), &out);
  return out;
}

std::string MaskPii(std::string_view text) { return MaskPii(text, FindPii(text)); }

std::string MaskPii(std::string_view text, const std::vector<PiiSpan>& spans) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (const PiiSpan& s : spans) {
    if (s.begin < pos || s.end > text.size()) continue;  // defensive: overlapping or stale
    out.append(text.substr(pos, s.begin - pos));
    std::string item(text.substr(s.begin, s.end - s.begin));
    if (s.kind == PiiKind::kEmail) {
      const size_t at = item.find('@');
      out.push_back(item[0]);
      out.append("***");
      out.append(item.substr(at));
      pos = s.end;
      continue;
    }
    std::vector<size_t> digit_pos;  // positions of the item's characters that are digits/X
    for (size_t i = 0; i < item.size(); ++i) {
      if (IsDigit(item[i]) || item[i] == 'X' || item[i] == 'x') digit_pos.push_back(i);
    }
    const size_t n = digit_pos.size();
    size_t mask_from = 0, mask_to = 0;  // indexes into digit_pos
    switch (s.kind) {
      case PiiKind::kMobile: {
        const size_t offset = n - 11;  // skip a country code 86
        mask_from = offset + 3;
        mask_to = offset + 7;
        break;
      }
      case PiiKind::kLandline: {
        size_t area = 0;
        const size_t dash = item.find_first_of(" -");
        if (dash != std::string::npos) {
          area = dash;
        } else {
          area = (item[1] == '1' || item[1] == '2') ? 3 : 4;
        }
        mask_from = area;
        mask_to = n >= 4 ? n - 4 : n;
        break;
      }
      case PiiKind::kIdNumber:
        mask_from = 6;
        mask_to = 12;
        break;
      case PiiKind::kBankCard:  // all but the last four, as privacy::Masker's default card rule
        mask_from = 0;
        mask_to = n - 4;
        break;
      case PiiKind::kEmail:
        break;
    }
    for (size_t k = mask_from; k < mask_to && k < n; ++k) item[digit_pos[k]] = '*';
    out.append(item);
    pos = s.end;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace touchpoint::text

// privacy/masking.h — how personal data looks when it leaves the engine: masked by its
// sensitivity class (core/sensitivity.h), in clear only when a caller allowed to reveal asks for
// named fields with a reason (privacy issue, item 3).
//
// One Masker serves every exit — the HTTP API, the CLI, segment exports — so a value is masked
// the same way wherever it shows. Patterns (docs/security.md, "Masking"):
//   phone       the four digits before the last four hidden     +86138****5678
//   id_number   the middle six of an 18-character ID hidden      110101******151234
//   bank_card   all digits but the last four hidden              ************1234
//   email       the local part after its first character hidden  l***@example.com
//   anything else of class medium or high (name, address, …): its first character and "**"
// Each of the first three is a MaskRule and configurable ([privacy.masking] in the server's
// config). Masks do not tell the length of a hidden free-form value ("**" for any name).
//
// A Masker is immutable after construction and thread-safe.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <touchpoint/core/result.h>
#include <touchpoint/core/sensitivity.h>

namespace touchpoint::privacy {

// Which characters of a fixed-format value (phone, ID, card) stay: the first `keep_start` and the
// last `keep_end` code points; of those between, the last `hide` are replaced by '*' (hide < 0:
// all of them). Separators (space, '-') inside the hidden part stay, so a card keeps its groups.
struct MaskRule {
  int keep_start = 0;
  int keep_end = 0;
  int hide = -1;
  friend bool operator==(const MaskRule&, const MaskRule&) = default;
};

// Parses "keep_start=6,keep_end=6" / "keep_end=4,hide=4" (any subset, any order; values 0–32).
// kInvalidArgument naming the bad part.
Result<MaskRule> ParseMaskRule(std::string_view text);
std::string FormatMaskRule(const MaskRule& rule);

struct MaskingConfig {
  MaskRule phone{.keep_start = 0, .keep_end = 4, .hide = 4};
  MaskRule id_number{.keep_start = 6, .keep_end = 6, .hide = -1};
  MaskRule bank_card{.keep_start = 0, .keep_end = 4, .hide = -1};
};

// The fields a request asked to see in clear, with its reason. Built from `?reveal=phone,email&
// reason=...` or `--reveal phone --reason ...`.
struct RevealRequest {
  std::set<std::string, std::less<>> fields;  // field or identifier-kind names, lower case
  std::string reason;
  bool empty() const { return fields.empty(); }
  bool Reveals(std::string_view field) const { return fields.count(field) > 0; }
};

// Parses the comma-separated field list and the reason. kInvalidArgument when a field is not a
// sensitive one (revealing "age" means nothing: it is never masked), when the reason is missing
// or blank, or longer than 500 bytes. An empty `fields` gives an empty request (reason ignored).
Result<RevealRequest> ParseRevealRequest(std::string_view fields, std::string_view reason);

class Masker {
 public:
  explicit Masker(MaskingConfig config = {});

  // The value as a caller without reveal sees it: masked when `field` (a trait name or an
  // identifier kind: "phone", "email", "id_number", "name", …) is of class medium or high,
  // unchanged when low.
  std::string MaskField(std::string_view field, std::string_view value) const;

  // Free text (a message, a ticket reply, a comment) with the personal data the text module
  // finds in it (phones, e-mails, ID numbers, cards) masked as MaskField would mask them.
  std::string MaskText(std::string_view text) const;

  // Applies one rule to a value (exposed for tests and for `privacy mask-preview`).
  static std::string ApplyRule(const MaskRule& rule, std::string_view value);

  const MaskingConfig& config() const { return config_; }

 private:
  MaskingConfig config_;
};

// The one installation-wide masker (default patterns until the server's config sets others).
const Masker& DefaultMasker();

// What one rendering of customer data shows: a masker, whether masking applies at all (false
// only for internal uses: the engine's own tests and backups), and the fields revealed.
struct MaskPolicy {
  const Masker* masker = nullptr;  // nullptr: nothing masked
  RevealRequest reveal;

  static MaskPolicy Clear() { return MaskPolicy{}; }
  static MaskPolicy Masked(const Masker& m = DefaultMasker(), RevealRequest reveal = {}) {
    return MaskPolicy{&m, std::move(reveal)};
  }
  bool masks() const { return masker != nullptr; }
  // `value` as this policy shows field `field`.
  std::string Show(std::string_view field, std::string_view value) const;
  // A JSON value text (a trait as stored: "\"13812345678\"", "13812345678", "{…}") as this
  // policy shows field `field`, as JSON text: a string masked by Show; any other value of a
  // sensitive field becomes the masked string of its JSON text (a phone stored as a number is
  // still a phone); low, revealed and null values unchanged.
  std::string ShowJson(std::string_view field, std::string_view json_value) const;
};

}  // namespace touchpoint::privacy

// identity/identifier.h — the kinds of identifier that join records into one customer, and
// their normalisation (the same at ingest and at lookup, so `phone:138 1234 5678` finds
// `+8613812345678`).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <touchpoint/core/result.h>
#include <touchpoint/core/sensitivity.h>

namespace touchpoint::identity {

enum class IdentifierKind {
  kUser,      // Segment userId
  kMember,    // traits.member_id
  kExternal,  // traits.external_id (CRM id)
  kOpen,      // traits.open_id (WeChat open id)
  kPhone,     // traits.phone, E.164
  kEmail,     // traits.email, lower-cased
  kDevice,    // context.device.id
  kAnon,      // Segment anonymousId
};
inline constexpr int kIdentifierKindCount = 8;

// "user", "member", "external", "open", "phone", "email", "device", "anon".
std::string_view KindName(IdentifierKind kind);
std::optional<IdentifierKind> ParseKind(std::string_view name);

// Person-level identifiers name one person (user, member, external, open, phone, email);
// device and anonymous ids are carried by people but not owned by one.
bool IsPersonLevel(IdentifierKind kind);

Sensitivity SensitivityOf(IdentifierKind kind);

// Unicode NFKC (which also folds full-width forms to half-width) and trimming of white space.
// Invalid UTF-8 fails with kInvalidArgument.
Result<std::string> NormalizeText(std::string_view raw);

// A phone number as E.164 ("+8613812345678"). Chinese mobiles are accepted with or without
// 86 / +86 / 0086, with spaces, dashes, dots and parentheses; Chinese landlines with a trunk 0
// ("010-12345678" → "+861012345678"); other countries need a leading + or 00.
Result<std::string> NormalizePhone(std::string_view raw);

// Trimmed and lower-cased; must look like local@domain.tld.
Result<std::string> NormalizeEmail(std::string_view raw);

// Dispatches on kind. Fails with kInvalidArgument and a reason a user can act on.
Result<std::string> NormalizeIdentifier(IdentifierKind kind, std::string_view raw);

struct Identifier {
  IdentifierKind kind = IdentifierKind::kUser;
  std::string value;  // normalised
  friend bool operator==(const Identifier&, const Identifier&) = default;
};

// Parses "kind:value" (value normalised as at ingest). Fails with kInvalidArgument naming the
// accepted kinds.
Result<Identifier> ParseIdentifierRef(std::string_view text);

}  // namespace touchpoint::identity

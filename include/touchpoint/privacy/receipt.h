// privacy/receipt.h — signed erasure receipts (docs/security.md, "Subject rights").
//
// A receipt file is one JSON object:
//   {"receipt":{…},"key_id":"<16 hex>","signature":"<base64 of 64 bytes>"}
// where the signature is the installation's Ed25519 signature (privacy/signing.h: the key
// derived from the master key) over the canonical JSON of the value of "receipt": object keys
// sorted by their UTF-8 bytes, no insignificant whitespace, strings with only the escapes JSON
// requires (non-ASCII as UTF-8), integers without exponent or fraction. Verifiers recompute the
// canonical bytes from the file, so reformatting the file (indentation, key order) does not
// invalidate it; changing any value does.
//
// Thread-safe (stateless functions).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <touchpoint/core/result.h>
#include <touchpoint/privacy/signing.h>

namespace touchpoint::privacy {

// The canonical form (above) of a JSON text. kInvalidArgument when it is not JSON or holds a
// non-integer number.
Result<std::string> CanonicalJson(std::string_view json);

// The receipt file for `receipt_json` (a JSON object), signed by `signer`, as one line of
// canonical JSON plus a newline. kInvalidArgument when `receipt_json` is not a JSON object.
Result<std::string> SignReceipt(std::string_view receipt_json, const Signer& signer);

enum class ReceiptVerdict {
  kValid,      // signed by one of the trusted keys over exactly this content
  kMismatch,   // well-formed, but the signature does not match the content (or an unknown key)
  kMalformed,  // not a receipt file: not JSON, fields missing or of the wrong type, bad base64
};

struct ReceiptCheck {
  ReceiptVerdict verdict = ReceiptVerdict::kMalformed;
  std::string key_id;   // as the file names it (empty when malformed)
  std::string message;  // why, for the operator (never the receipt's content)
};

// Checks a receipt file's text against `trusted` public keys (the key named by key_id must be
// one of them).
ReceiptCheck VerifyReceipt(std::string_view file_text, std::span<const PublicKey> trusted);

}  // namespace touchpoint::privacy

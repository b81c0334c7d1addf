#include <touchpoint/privacy/receipt.h>

#include <nlohmann/json.hpp>

namespace touchpoint::privacy {
namespace {

// nlohmann::json keeps object members in a std::map: dump() writes them sorted by bytes, with
// no whitespace. Floating-point numbers have no single canonical text: refused.
bool OnlyIntegers(const nlohmann::json& j) {
  if (j.is_number_float()) return false;
  if (j.is_structured()) {
    for (const auto& v : j) {
      if (!OnlyIntegers(v)) return false;
    }
  }
  return true;
}

Result<nlohmann::json> Parse(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("not JSON");
  return j;
}

std::string Dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict); }

}  // namespace

Result<std::string> CanonicalJson(std::string_view json) {
  TP_ASSIGN_OR_RETURN(nlohmann::json j, Parse(json));
  if (!OnlyIntegers(j)) return Status::InvalidArgument("a canonical JSON value holds integers only");
  try {
    return Dump(j);
  } catch (const nlohmann::json::exception&) {
    return Status::InvalidArgument("invalid UTF-8 in a string");
  }
}

Result<std::string> SignReceipt(std::string_view receipt_json, const Signer& signer) {
  TP_ASSIGN_OR_RETURN(nlohmann::json receipt, Parse(receipt_json));
  if (!receipt.is_object()) return Status::InvalidArgument("a receipt is a JSON object");
  TP_ASSIGN_OR_RETURN(std::string canonical, CanonicalJson(receipt_json));
  nlohmann::json file = nlohmann::json::object();
  file["receipt"] = std::move(receipt);
  file["key_id"] = signer.key_id();
  file["signature"] = ToBase64(signer.Sign(canonical));
  return Dump(file) + "\n";
}

ReceiptCheck VerifyReceipt(std::string_view file_text, std::span<const PublicKey> trusted) {
  ReceiptCheck out;
  auto parsed = Parse(file_text);
  if (!parsed.ok()) {
    out.message = "the file is not JSON";
    return out;
  }
  const nlohmann::json& file = *parsed;
  if (!file.is_object() || !file.contains("receipt") || !file["receipt"].is_object() || !file.contains("key_id") ||
      !file["key_id"].is_string() || !file.contains("signature") || !file["signature"].is_string()) {
    out.message = "expected {\"receipt\":{…},\"key_id\":\"…\",\"signature\":\"…\"}";
    return out;
  }
  if (!OnlyIntegers(file["receipt"])) {
    out.message = "the receipt holds a non-integer number (not canonical)";
    return out;
  }
  const std::optional<std::string> signature = FromBase64(file["signature"].get<std::string>());
  if (!signature || signature->size() != 64) {
    out.message = "the signature is not 64 bytes of base64";
    return out;
  }
  out.key_id = file["key_id"].get<std::string>();
  std::string canonical;
  try {
    canonical = Dump(file["receipt"]);
  } catch (const nlohmann::json::exception&) {
    out.message = "invalid UTF-8 in the receipt";
    return out;
  }
  out.verdict = ReceiptVerdict::kMismatch;
  const PublicKey* key = nullptr;
  for (const PublicKey& k : trusted) {
    if (k.key_id == out.key_id) key = &k;
  }
  if (key == nullptr) {
    out.message = "signed with key " + out.key_id + ", which is not a trusted public key";
    return out;
  }
  if (!VerifySignature(*key, canonical, *signature)) {
    out.message = "the signature does not match the receipt's content";
    return out;
  }
  out.verdict = ReceiptVerdict::kValid;
  out.message = "valid: signed by key " + out.key_id;
  return out;
}

}  // namespace touchpoint::privacy

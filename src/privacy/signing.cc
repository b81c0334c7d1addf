#include <touchpoint/privacy/signing.h>

#include <cstring>
#include <utility>

#include <sodium.h>

#include <touchpoint/core/status.h>
#include <touchpoint/core/strings.h>

#include "privacy/sodium_internal.h"

namespace touchpoint::privacy {
namespace {

constexpr std::string_view kFileHeader = "touchpoint-signing-key v1";

static_assert(crypto_sign_PUBLICKEYBYTES == 32 && crypto_sign_SECRETKEYBYTES == 64 && crypto_sign_BYTES == 64);
static_assert(crypto_kdf_CONTEXTBYTES == 8 && crypto_kdf_KEYBYTES == kMasterKeyBytes);
static_assert(sizeof(kSigningContext) == crypto_kdf_CONTEXTBYTES + 1);

}  // namespace

std::string ToBase64(std::string_view bytes) { return ToBase64Internal(bytes); }
std::optional<std::string> FromBase64(std::string_view text) { return FromBase64Internal(text); }

std::string KeyIdOf(const std::array<unsigned char, 32>& public_key) {
  InitSodium();
  std::array<unsigned char, crypto_generichash_BYTES> digest{};
  crypto_generichash(digest.data(), digest.size(), public_key.data(), public_key.size(), nullptr, 0);
  return HexOf(digest.data(), 8);
}

std::string PublicKey::Base64() const {
  return ToBase64Internal(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::string PublicKey::FileLine() const { return std::string(kFileHeader) + " " + key_id + " " + Base64(); }

Result<PublicKey> ParsePublicKey(std::string_view base64) {
  auto raw = FromBase64Internal(base64);
  if (!raw || raw->size() != 32) return Status::InvalidArgument("a public key is the base64 of 32 bytes");
  PublicKey key;
  std::memcpy(key.bytes.data(), raw->data(), 32);
  key.key_id = KeyIdOf(key.bytes);
  return key;
}

Result<PublicKey> ParsePublicKeyFile(std::string_view text) {
  text = TrimView(text, " \t\r\n");
  if (!text.starts_with(kFileHeader)) {
    return Status::InvalidArgument("not a public key file (expected \"" + std::string(kFileHeader) +
                                   " KEY_ID BASE64\", as `touchpoint keys public-key` prints)");
  }
  std::string_view rest = TrimView(text.substr(kFileHeader.size()), kAsciiBlank);
  const size_t space = rest.find(' ');
  if (space == std::string_view::npos) return Status::InvalidArgument("public key file: expected KEY_ID BASE64");
  const std::string_view key_id = rest.substr(0, space);
  TP_ASSIGN_OR_RETURN(PublicKey key, ParsePublicKey(TrimView(rest.substr(space + 1), kAsciiBlank)));
  if (key.key_id != key_id) {
    return Status::InvalidArgument("public key file: key id " + std::string(key_id) +
                                   " does not belong to the key in it (" + key.key_id + ")");
  }
  return key;
}

bool VerifySignature(const PublicKey& key, std::string_view message, std::string_view signature) {
  InitSodium();
  if (signature.size() != crypto_sign_BYTES) return false;
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature.data()),
                                     reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                     key.bytes.data()) == 0;
}

Signer Signer::FromMasterKey(const MasterKey& master) {
  InitSodium();
  std::array<unsigned char, crypto_sign_SEEDBYTES> seed{};
  crypto_kdf_derive_from_key(seed.data(), seed.size(), kSigningSubkeyId, kSigningContext, master.bytes().data());
  Signer signer;
  crypto_sign_seed_keypair(signer.public_.bytes.data(), signer.secret_.data(), seed.data());
  sodium_memzero(seed.data(), seed.size());
  signer.public_.key_id = KeyIdOf(signer.public_.bytes);
  return signer;
}

Signer::Signer(Signer&& other) noexcept : secret_(other.secret_), public_(std::move(other.public_)) {
  sodium_memzero(other.secret_.data(), other.secret_.size());
}

Signer& Signer::operator=(Signer&& other) noexcept {
  if (this != &other) {
    secret_ = other.secret_;
    public_ = std::move(other.public_);
    sodium_memzero(other.secret_.data(), other.secret_.size());
  }
  return *this;
}

Signer::~Signer() { sodium_memzero(secret_.data(), secret_.size()); }

std::string Signer::Sign(std::string_view message) const {
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(), secret_.data());
  return sig;
}

}  // namespace touchpoint::privacy

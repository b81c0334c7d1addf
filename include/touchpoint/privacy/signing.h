// privacy/signing.h — the installation's Ed25519 signing key, derived from the master key, and
// checking signatures with public keys.
//
// Derivation (fixed: changing it changes the installation's key):
//   seed   = crypto_kdf_derive_from_key(32 bytes, subkey_id = kSigningSubkeyId (1),
//                                       ctx = kSigningContext ("tpsign01"), master key)
//   keys   = crypto_sign_seed_keypair(seed)                       (Ed25519)
//   key_id = lower-case hex of the first 8 bytes of BLAKE2b-256(public key)   (16 characters)
// A rotated master key gives a new signing key with a new key_id; the store keeps every public
// key (store::SigningKeyRepository) so that old signatures stay verifiable.
//
// Public key file (`touchpoint keys public-key` prints it; verifiers take it with --public-key):
//   touchpoint-signing-key v1 <key_id> <base64 of the 32-byte public key>
//
// All functions are thread-safe; a Signer may be shared between threads.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <touchpoint/core/result.h>
#include <touchpoint/privacy/master_key.h>

namespace touchpoint::privacy {

inline constexpr std::uint64_t kSigningSubkeyId = 1;
inline constexpr char kSigningContext[9] = "tpsign01";  // crypto_kdf's 8-byte context

// A public key and its id.
struct PublicKey {
  std::string key_id;                 // 16 hex characters
  std::array<unsigned char, 32> bytes{};
  std::string Base64() const;
  // "touchpoint-signing-key v1 <key_id> <base64>"
  std::string FileLine() const;
  friend bool operator==(const PublicKey&, const PublicKey&) = default;
};

// The 16-hex-character id of a public key.
std::string KeyIdOf(const std::array<unsigned char, 32>& public_key);

// A public key from its base64 text; kInvalidArgument when it is not 32 bytes of base64.
Result<PublicKey> ParsePublicKey(std::string_view base64);

// A public key file's content (the FileLine format; surrounding whitespace ignored).
// kInvalidArgument when malformed or when its key_id does not match its key.
Result<PublicKey> ParsePublicKeyFile(std::string_view text);

// Whether `signature` (64 raw bytes) signs `message` under `key`.
bool VerifySignature(const PublicKey& key, std::string_view message, std::string_view signature);

// Signs with the installation's key. Wipes its secret key when destroyed.
class Signer {
 public:
  static Signer FromMasterKey(const MasterKey& master);
  Signer(Signer&& other) noexcept;
  Signer& operator=(Signer&& other) noexcept;
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;
  ~Signer();

  const PublicKey& public_key() const { return public_; }
  const std::string& key_id() const { return public_.key_id; }
  // The 64-byte Ed25519 signature of `message` (raw bytes).
  std::string Sign(std::string_view message) const;

 private:
  Signer() = default;
  std::array<unsigned char, 64> secret_{};
  PublicKey public_;
};

// Base64 (standard alphabet, padded) and back; nullopt when `text` is not base64.
std::string ToBase64(std::string_view bytes);
std::optional<std::string> FromBase64(std::string_view text);

}  // namespace touchpoint::privacy

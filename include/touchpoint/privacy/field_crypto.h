// privacy/field_crypto.h — the primitives of encryption at rest (privacy/encrypted_store.h):
// per-field keys derived from the master key, random per-person data keys, and sealing a value
// (XChaCha20-Poly1305-IETF, optionally zstd-compressed first) with the row's identity as
// associated data.
//
// Field keys (fixed: changing this makes stored data unreadable):
//   subkey_id = first 8 bytes, little-endian, of BLAKE2b-64 (unkeyed) of "table.field"
//   key       = crypto_kdf_derive_from_key(32 bytes, subkey_id, ctx = kFieldContext ("tpfield1"),
//                                          master key)
// crypto_kdf (BLAKE2b-based) because Debian 12's libsodium 1.0.18 has no HKDF. The blind-index
// (subkey 2, "tpblind1") and signing (subkey 1, "tpsign01") keys use other contexts, so no field
// key equals them.
//
// Sealed value (binary; SealText gives "tpe1:" and its base64 for text columns):
//   byte 0      format: 1 = under a field key, 2 = under a person's data key, 3 = under an event
//               chunk's own key (SealChunk); | 0x80 when the plaintext was zstd-compressed
//               before encryption (by Seal; a chunk is compressed by the store's codec)
//   bytes 1-2   master key version (little-endian): of the field key, or of the key that wraps
//               the person's or chunk's data key — so that two versions can be read during a
//               rotation
//   bytes 3-10  (formats 2 and 3) the owner's CustomerId, or the chunk key's id (little-endian):
//               whose data key
//   24 bytes    nonce: a random 16-byte prefix per thread and a 64-bit counter
//   rest        ciphertext and 16-byte tag
// The AEAD's associated data is the header bytes followed by the caller's `ad` (the field name
// and the row's identity), so a ciphertext moved to another row, field or owner fails to open.
//
// Thread-safe: every function may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/privacy/master_key.h>

namespace touchpoint::privacy {

inline constexpr char kFieldContext[9] = "tpfield1";
inline constexpr std::size_t kDataKeyBytes = 32;
// Plaintexts at least this long are compressed (when that makes them shorter). Not below: a
// 300–500-byte event body gains ~20 % from zstd alone and the call costs more than the sealing.
inline constexpr std::size_t kCompressFrom = 1024;

// A 32-byte symmetric key, wiped from memory when destroyed.
class DataKey {
 public:
  DataKey() = default;
  static DataKey Random();
  // REQUIRES: bytes.size() == kDataKeyBytes.
  static DataKey FromBytes(std::span<const unsigned char> bytes);
  DataKey(const DataKey& other) = default;
  DataKey& operator=(const DataKey& other) = default;
  ~DataKey();
  std::span<const unsigned char, kDataKeyBytes> bytes() const { return bytes_; }

 private:
  std::array<unsigned char, kDataKeyBytes> bytes_{};
};

// The subkey id of "table.field" (see above).
std::uint64_t FieldSubkeyId(std::string_view table_field);
// The key of "table.field" under `master`.
DataKey DeriveFieldKey(const MasterKey& master, std::string_view table_field);

struct SealedHeader {
  bool person = false;      // format 2 or 3: under the data key of `owner` (format 3: `chunk`)
  bool chunk = false;       // format 3: owner.value() is a chunk key's id, not a customer
  bool compressed = false;
  int key_version = 0;
  CustomerId owner;         // format 2: the person; format 3: its value is the chunk key id
};

// The header of a sealed value; kInternal when it is too short or of an unknown format.
Result<SealedHeader> ReadSealedHeader(std::string_view sealed);

// Seals `plain` under `key`. `owner` valid: format 2 (a person's data key), else format 1.
// Plaintexts of kCompressFrom bytes or more are compressed first when `compress`.
std::string Seal(const DataKey& key, int key_version, CustomerId owner, std::string_view ad, std::string_view plain,
                 bool compress = true);
// Seals an event-log chunk's records (compressed already) under its own key `key_id`
// (privacy/keyring.h, chunk keys): format 3. Unseal opens it.
std::string SealChunk(const DataKey& key, int key_version, std::int64_t key_id, std::string_view ad,
                      std::string_view plain);
// Opens a sealed value. kInternal, naming `what` (a field name, never a value), when it does not
// authenticate (corrupt, moved, or sealed under another key) or is malformed.
Result<std::string> Unseal(const DataKey& key, std::string_view ad, std::string_view sealed, std::string_view what);

// Whether `value` is a sealed value (a clear one — a JSON object, text — is not).
bool IsSealed(std::string_view value);
inline constexpr std::string_view kSealedTextPrefix = "tpe1:";
bool IsSealedText(std::string_view value);

// The same as text, for text columns: "tpe1:" and the base64 (standard alphabet) of the bytes.
std::string SealText(const DataKey& key, int key_version, CustomerId owner, std::string_view ad,
                     std::string_view plain, bool compress = true);
Result<std::string> UnsealText(const DataKey& key, std::string_view ad, std::string_view sealed_text,
                               std::string_view what);
// The header of a SealText value.
Result<SealedHeader> ReadSealedTextHeader(std::string_view sealed_text);

// A data key wrapped (sealed) by a wrapping key, as text; and back.
std::string WrapKey(const DataKey& wrapping, int key_version, CustomerId owner, const DataKey& key);
Result<DataKey> UnwrapKey(const DataKey& wrapping, CustomerId owner, std::string_view wrapped);

}  // namespace touchpoint::privacy

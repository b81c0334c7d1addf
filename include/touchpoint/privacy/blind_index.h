// privacy/blind_index.h — keyed hashes of identifiers (blind indexes): lookups by phone, e-mail,
// ID number or member id without storing the value, and the erasure suppression list.
//
// Derivation (fixed: changing it changes every stored index value):
//   key   = crypto_kdf_derive_from_key(32 bytes, subkey_id = kBlindIndexSubkeyId (2),
//                                      ctx = kBlindIndexContext ("tpblind1"), master key)
//   index = first 8 bytes, little-endian, of BLAKE2b-64 keyed with `key` over
//           kind || 0x00 || normalised value                           (a signed 64-bit integer)
// 64 bits: with 10^9 stored values a lookup matches the right record plus, on average, 5·10^-11
// others; a hit is still a candidate that the caller decrypts and re-checks. The index carries
// the master key's version, so that rotation can recompute it (both versions read meanwhile).
//
// During a master key rotation the stored identifiers are re-indexed under the new version by the
// rotation job; until it has finished (and for hashes that cannot be recomputed: the suppression
// list, the desk's search tokens) lookups compute the index under every version the key file
// holds (EncryptionContext::indexers, current first) and take the hits of each.
//
// Thread-safe; a BlindIndexer may be shared between threads.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include <touchpoint/privacy/master_key.h>

namespace touchpoint::privacy {

inline constexpr std::uint64_t kBlindIndexSubkeyId = 2;
inline constexpr char kBlindIndexContext[9] = "tpblind1";

struct BlindIndexValue {
  std::int64_t value = 0;
  int key_version = 1;  // the master key version it was computed under
  friend bool operator==(const BlindIndexValue&, const BlindIndexValue&) = default;
};

class BlindIndexer {
 public:
  static BlindIndexer FromMasterKey(const MasterKey& master);
  BlindIndexer(BlindIndexer&& other) noexcept;
  BlindIndexer& operator=(BlindIndexer&& other) noexcept;
  BlindIndexer(const BlindIndexer&) = delete;
  BlindIndexer& operator=(const BlindIndexer&) = delete;
  ~BlindIndexer();

  // `kind` is the identifier kind's name (identity::KindName), `value` already normalised.
  BlindIndexValue Of(std::string_view kind, std::string_view value) const;
  int key_version() const { return version_; }

 private:
  BlindIndexer() = default;
  std::array<unsigned char, 32> key_{};
  int version_ = 1;
};

}  // namespace touchpoint::privacy

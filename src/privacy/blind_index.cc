#include <touchpoint/privacy/blind_index.h>

#include <cstring>
#include <utility>

#include "privacy/sodium_internal.h"

namespace touchpoint::privacy {

static_assert(sizeof(kBlindIndexContext) == crypto_kdf_CONTEXTBYTES + 1);

BlindIndexer BlindIndexer::FromMasterKey(const MasterKey& master) {
  InitSodium();
  BlindIndexer b;
  crypto_kdf_derive_from_key(b.key_.data(), b.key_.size(), kBlindIndexSubkeyId, kBlindIndexContext,
                             master.bytes().data());
  b.version_ = master.version();
  return b;
}

BlindIndexer::BlindIndexer(BlindIndexer&& other) noexcept : key_(other.key_), version_(other.version_) {
  sodium_memzero(other.key_.data(), other.key_.size());
}

BlindIndexer& BlindIndexer::operator=(BlindIndexer&& other) noexcept {
  if (this != &other) {
    key_ = other.key_;
    version_ = other.version_;
    sodium_memzero(other.key_.data(), other.key_.size());
  }
  return *this;
}

BlindIndexer::~BlindIndexer() { sodium_memzero(key_.data(), key_.size()); }

BlindIndexValue BlindIndexer::Of(std::string_view kind, std::string_view value) const {
  crypto_generichash_state state;
  crypto_generichash_init(&state, key_.data(), key_.size(), 8);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(kind.data()), kind.size());
  const unsigned char zero = 0;
  crypto_generichash_update(&state, &zero, 1);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(value.data()), value.size());
  unsigned char out[8];
  crypto_generichash_final(&state, out, sizeof(out));
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | out[i];
  std::int64_t s;
  std::memcpy(&s, &v, sizeof(s));
  return BlindIndexValue{s, version_};
}

}  // namespace touchpoint::privacy

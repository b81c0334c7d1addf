#include <touchpoint/privacy/field_crypto.h>

#include <unistd.h>
#include <zstd.h>

#include <cstring>

#include "privacy/sodium_internal.h"

namespace touchpoint::privacy {
namespace {

static_assert(sizeof(kFieldContext) == crypto_kdf_CONTEXTBYTES + 1);
static_assert(kDataKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

constexpr unsigned char kFormatField = 1;
constexpr unsigned char kFormatPerson = 2;
constexpr unsigned char kFormatChunk = 3;
constexpr unsigned char kCompressedBit = 0x80;
constexpr std::size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;

std::size_t HeaderSize(bool person) { return person ? 11 : 3; }

Status Corrupt(std::string_view what) {
  return Status::Internal("stored " + std::string(what) +
                          " failed to authenticate: it is corrupt, or was encrypted under another master key");
}

struct ZstdContexts {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};
ZstdContexts& Zstd() {
  thread_local ZstdContexts z;
  return z;
}

// Nonces: a random 16-byte prefix per thread (and process) followed by a 64-bit counter. With
// XChaCha20's 24-byte nonces this never repeats under one key (prefixes collide with probability
// 2^-128 per pair of threads), and it spares a getrandom() system call per value (libsodium
// 1.0.18's randombytes_buf makes one each time: most of the cost of sealing a 300-byte value).
struct NonceSource {
  unsigned char prefix[16] = {};
  std::uint64_t counter = 0;
  pid_t pid = 0;
};

void FillNonce(unsigned char* out) {
  thread_local NonceSource source;
  const pid_t pid = getpid();
  if (source.pid != pid) {  // first use on this thread, or a forked child
    randombytes_buf(source.prefix, sizeof(source.prefix));
    source.counter = 0;
    source.pid = pid;
  }
  std::memcpy(out, source.prefix, sizeof(source.prefix));
  const std::uint64_t n = source.counter++;
  for (int i = 0; i < 8; ++i) out[16 + i] = static_cast<unsigned char>(n >> (8 * i));
}

static_assert(kNonce == 24);

}  // namespace

DataKey DataKey::Random() {
  InitSodium();
  DataKey k;
  randombytes_buf(k.bytes_.data(), k.bytes_.size());
  return k;
}

DataKey DataKey::FromBytes(std::span<const unsigned char> bytes) {
  TP_CHECK(bytes.size() == kDataKeyBytes, "a data key is 32 bytes");
  DataKey k;
  std::memcpy(k.bytes_.data(), bytes.data(), kDataKeyBytes);
  return k;
}

DataKey::~DataKey() { sodium_memzero(bytes_.data(), bytes_.size()); }

std::uint64_t FieldSubkeyId(std::string_view table_field) {
  InitSodium();
  unsigned char out[8];
  crypto_generichash(out, sizeof(out), reinterpret_cast<const unsigned char*>(table_field.data()),
                     table_field.size(), nullptr, 0);
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | out[i];
  return v;
}

DataKey DeriveFieldKey(const MasterKey& master, std::string_view table_field) {
  InitSodium();
  std::array<unsigned char, kDataKeyBytes> bytes{};
  crypto_kdf_derive_from_key(bytes.data(), bytes.size(), FieldSubkeyId(table_field), kFieldContext,
                             master.bytes().data());
  DataKey k = DataKey::FromBytes(bytes);
  sodium_memzero(bytes.data(), bytes.size());
  return k;
}

Result<SealedHeader> ReadSealedHeader(std::string_view sealed) {
  if (sealed.empty()) return Status::Internal("stored value is empty where a ciphertext was expected");
  const auto* p = reinterpret_cast<const unsigned char*>(sealed.data());
  const unsigned char format = p[0] & ~kCompressedBit;
  if (format != kFormatField && format != kFormatPerson && format != kFormatChunk) {
    return Status::Internal("stored value is not a ciphertext of a known format");
  }
  SealedHeader h;
  h.person = format != kFormatField;  // an id in bytes 3-10
  h.chunk = format == kFormatChunk;
  h.compressed = (p[0] & kCompressedBit) != 0;
  if (sealed.size() < HeaderSize(h.person) + kNonce + kTag) return Status::Internal("stored ciphertext is truncated");
  h.key_version = p[1] | (p[2] << 8);
  if (h.person) {
    std::uint64_t v = 0;
    for (int i = 10; i >= 3; --i) v = (v << 8) | p[i];
    std::int64_t s;
    std::memcpy(&s, &v, sizeof(s));
    h.owner = CustomerId(s);
  }
  return h;
}

namespace {

std::string SealAs(unsigned char format, std::int64_t id, const DataKey& key, int key_version, std::string_view ad,
                   std::string_view plain, bool compress);

}  // namespace

std::string Seal(const DataKey& key, int key_version, CustomerId owner, std::string_view ad, std::string_view plain,
                 bool compress) {
  return SealAs(owner.valid() ? kFormatPerson : kFormatField, owner.value(), key, key_version, ad, plain, compress);
}

std::string SealChunk(const DataKey& key, int key_version, std::int64_t key_id, std::string_view ad,
                      std::string_view plain) {
  return SealAs(kFormatChunk, key_id, key, key_version, ad, plain, false);
}

namespace {

std::string SealAs(unsigned char format, std::int64_t id, const DataKey& key, int key_version, std::string_view ad,
                   std::string_view plain, bool compress) {
  InitSodium();
  const bool person = format != kFormatField;
  std::string packed;
  bool compressed = false;
  if (compress && plain.size() >= kCompressFrom) {
    packed.resize(ZSTD_compressBound(plain.size()));
    const size_t n = ZSTD_compressCCtx(Zstd().c, packed.data(), packed.size(), plain.data(), plain.size(), 1);
    if (!ZSTD_isError(n) && n < plain.size()) {
      packed.resize(n);
      compressed = true;
    }
  }
  const std::string_view body = compressed ? std::string_view(packed) : plain;
  const std::size_t header = HeaderSize(person);
  std::string out(header + kNonce + body.size() + kTag, '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  p[0] = static_cast<unsigned char>(format | (compressed ? kCompressedBit : 0));
  p[1] = static_cast<unsigned char>(key_version & 0xff);
  p[2] = static_cast<unsigned char>((key_version >> 8) & 0xff);
  if (person) {
    const auto v = static_cast<std::uint64_t>(id);
    for (int i = 0; i < 8; ++i) p[3 + i] = static_cast<unsigned char>(v >> (8 * i));
  }
  FillNonce(p + header);
  // Associated data: header || ad.
  std::string full_ad;
  full_ad.reserve(header + ad.size());
  full_ad.append(out.data(), header);
  full_ad.append(ad);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(p + header + kNonce, &clen,
                                             reinterpret_cast<const unsigned char*>(body.data()), body.size(),
                                             reinterpret_cast<const unsigned char*>(full_ad.data()), full_ad.size(),
                                             nullptr, p + header, key.bytes().data());
  return out;
}

}  // namespace

Result<std::string> Unseal(const DataKey& key, std::string_view ad, std::string_view sealed, std::string_view what) {
  InitSodium();
  auto header_or = ReadSealedHeader(sealed);
  if (!header_or.ok()) return Status::Internal(std::string(what) + ": " + header_or.status().message());
  const SealedHeader& h = *header_or;
  const std::size_t header = HeaderSize(h.person);
  const auto* p = reinterpret_cast<const unsigned char*>(sealed.data());
  std::string full_ad;
  full_ad.reserve(header + ad.size());
  full_ad.append(sealed.data(), header);
  full_ad.append(ad);
  const std::size_t clen = sealed.size() - header - kNonce;
  std::string plain(clen - kTag, '\0');
  unsigned long long plen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plain.data()), &plen, nullptr,
                                                 p + header + kNonce, clen,
                                                 reinterpret_cast<const unsigned char*>(full_ad.data()),
                                                 full_ad.size(), p + header, key.bytes().data()) != 0) {
    return Corrupt(what);
  }
  plain.resize(plen);
  if (!h.compressed) return plain;
  const unsigned long long size = ZSTD_getFrameContentSize(plain.data(), plain.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1ull << 31)) {
    return Status::Internal("stored " + std::string(what) + " has a malformed compressed frame");
  }
  std::string out(size, '\0');
  const size_t n = ZSTD_decompressDCtx(Zstd().d, out.data(), out.size(), plain.data(), plain.size());
  sodium_memzero(plain.data(), plain.size());
  if (ZSTD_isError(n) || n != size) return Status::Internal("stored " + std::string(what) + " does not decompress");
  return out;
}

bool IsSealed(std::string_view value) {
  if (value.empty()) return false;
  const unsigned char f = static_cast<unsigned char>(value[0]) & ~kCompressedBit;
  return f == kFormatField || f == kFormatPerson || f == kFormatChunk;
}

bool IsSealedText(std::string_view value) { return value.starts_with(kSealedTextPrefix); }

std::string SealText(const DataKey& key, int key_version, CustomerId owner, std::string_view ad,
                     std::string_view plain, bool compress) {
  return std::string(kSealedTextPrefix) + ToBase64Internal(Seal(key, key_version, owner, ad, plain, compress));
}

Result<std::string> UnsealText(const DataKey& key, std::string_view ad, std::string_view sealed_text,
                               std::string_view what) {
  if (!IsSealedText(sealed_text)) return Status::Internal("stored " + std::string(what) + " is not a ciphertext");
  auto bytes = FromBase64Internal(sealed_text.substr(kSealedTextPrefix.size()));
  if (!bytes) return Status::Internal("stored " + std::string(what) + " is not a ciphertext (not base64)");
  return Unseal(key, ad, *bytes, what);
}

Result<SealedHeader> ReadSealedTextHeader(std::string_view sealed_text) {
  if (!IsSealedText(sealed_text)) return Status::Internal("stored value is not a ciphertext");
  auto bytes = FromBase64Internal(sealed_text.substr(kSealedTextPrefix.size()));
  if (!bytes) return Status::Internal("stored value is not a ciphertext (not base64)");
  return ReadSealedHeader(*bytes);
}

std::string WrapKey(const DataKey& wrapping, int key_version, CustomerId owner, const DataKey& key) {
  const std::string_view plain(reinterpret_cast<const char*>(key.bytes().data()), kDataKeyBytes);
  // Format 1 (a field key), the owner in the associated data: a wrapped key moved to another
  // person does not unwrap.
  return SealText(wrapping, key_version, CustomerId(), "keyring.key:" + std::to_string(owner.value()), plain, false);
}

Result<DataKey> UnwrapKey(const DataKey& wrapping, CustomerId owner, std::string_view wrapped) {
  TP_ASSIGN_OR_RETURN(std::string plain,
                      UnsealText(wrapping, "keyring.key:" + std::to_string(owner.value()), wrapped, "data key"));
  if (plain.size() != kDataKeyBytes) return Status::Internal("stored data key has the wrong length");
  DataKey k = DataKey::FromBytes(std::span(reinterpret_cast<const unsigned char*>(plain.data()), plain.size()));
  sodium_memzero(plain.data(), plain.size());
  return k;
}

}  // namespace touchpoint::privacy

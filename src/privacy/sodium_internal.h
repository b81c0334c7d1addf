// privacy/sodium_internal.h — libsodium helpers shared by the privacy module's files.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <sodium.h>

namespace touchpoint::privacy {

// Initialises libsodium once; aborts if it cannot (no secure random source).
inline void InitSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
}

inline std::string ToBase64Internal(std::string_view bytes) {
  InitSodium();
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the terminating NUL
  return out;
}

inline std::optional<std::string> FromBase64Internal(std::string_view text) {
  InitSodium();
  std::string out(text.size(), '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

// Lower-case hex of `n` bytes.
inline std::string HexOf(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

}  // namespace touchpoint::privacy

#include <touchpoint/insight/experiment_assignment.h>

#include <array>
#include <cstdint>
#include <numeric>

#include <sodium.h>

namespace touchpoint::insight {
namespace {

// A uniform double in [0, 1) from 8 bytes (53 bits).
double Uniform(const unsigned char* b) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(b[i]) << (8 * i);
  return static_cast<double>(v >> 11) * 0x1.0p-53;
}

}  // namespace

std::optional<size_t> AssignVariant(std::string_view salt, std::string_view unit, std::span<const double> weights,
                                    double coverage) {
  // The key: BLAKE2b-256 of the salt ("tpexp1" domain), so salts of any length work.
  std::array<unsigned char, crypto_generichash_KEYBYTES> key{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, reinterpret_cast<const unsigned char*>("tpexp1"), 6, key.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(salt.data()), salt.size());
  crypto_generichash_final(&st, key.data(), key.size());
  std::array<unsigned char, 16> h{};
  crypto_generichash(h.data(), h.size(), reinterpret_cast<const unsigned char*>(unit.data()), unit.size(), key.data(),
                     key.size());
  if (Uniform(h.data()) >= coverage) return std::nullopt;
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  const double u = Uniform(h.data() + 8) * total;
  double cumulative = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    cumulative += weights[i];
    if (u < cumulative) return i;
  }
  return weights.size() - 1;  // rounding at the top end
}

}  // namespace touchpoint::insight

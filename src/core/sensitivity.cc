#include <touchpoint/core/sensitivity.h>

#include <array>

namespace touchpoint {

std::string_view SensitivityName(Sensitivity s) {
  switch (s) {
    case Sensitivity::kLow: return "low";
    case Sensitivity::kMedium: return "medium";
    case Sensitivity::kHigh: return "high";
  }
  return "low";
}

namespace {

constexpr std::array<std::string_view, 8> kHigh = {
    "id_number", "id_card", "resident_id", "national_id", "bank_card", "card_number", "biometrics", "passport"};
constexpr std::array<std::string_view, 13> kMedium = {
    "phone", "mobile", "telephone", "landline", "email", "address", "street", "postal_code", "zip", "name",
    "first_name", "last_name", "birthday"};
constexpr auto kSensitive = [] {
  std::array<std::string_view, kHigh.size() + kMedium.size()> all{};
  size_t i = 0;
  for (auto h : kHigh) all[i++] = h;
  for (auto m : kMedium) all[i++] = m;
  return all;
}();

}  // namespace

Sensitivity SensitivityOfField(std::string_view name) {
  for (auto h : kHigh) {
    if (name == h) return Sensitivity::kHigh;
  }
  for (auto m : kMedium) {
    if (name == m) return Sensitivity::kMedium;
  }
  return Sensitivity::kLow;
}

std::span<const std::string_view> SensitiveFieldNames() { return kSensitive; }

}  // namespace touchpoint

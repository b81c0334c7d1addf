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

Sensitivity SensitivityOfField(std::string_view name) {
  static constexpr std::array<std::string_view, 8> kHigh = {
      "id_number", "id_card", "resident_id", "national_id", "bank_card", "card_number",
      "biometrics", "passport"};
  static constexpr std::array<std::string_view, 11> kMedium = {
      "phone", "mobile", "email", "address", "street", "postal_code", "zip", "name",
      "first_name", "last_name", "birthday"};
  for (auto h : kHigh) {
    if (name == h) return Sensitivity::kHigh;
  }
  for (auto m : kMedium) {
    if (name == m) return Sensitivity::kMedium;
  }
  return Sensitivity::kLow;
}

}  // namespace touchpoint

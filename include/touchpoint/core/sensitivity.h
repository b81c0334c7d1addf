// core/sensitivity.h — every field of personal data carries a sensitivity class (PRODUCT.md §10).
#pragma once

#include <span>
#include <string_view>

namespace touchpoint {

enum class Sensitivity {
  kLow,     // everything else
  kMedium,  // phone, e-mail, address, purchase history
  kHigh,    // resident ID number, bank card, biometrics
};

std::string_view SensitivityName(Sensitivity s);

// The class of a trait or identifier by its (lower-case) name: "phone" → kMedium,
// "id_number" → kHigh, "age" → kLow. Unknown names are kLow.
Sensitivity SensitivityOfField(std::string_view field_name);

// Every field name of class medium or high, the catalogue SensitivityOfField reads (tests walk
// it to check that each such field is masked wherever it leaves the engine).
std::span<const std::string_view> SensitiveFieldNames();

}  // namespace touchpoint

#include "pipeline/consent_traits.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace touchpoint::pipeline {
namespace {

// "opt_in" / "opt_out" for a JSON boolean or those strings; empty otherwise.
std::string_view MarketingValue(const nlohmann::json& v) {
  if (v.is_boolean()) return v.get<bool>() ? store::kConsentOptIn : store::kConsentOptOut;
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s == store::kConsentOptIn || s == "true") return store::kConsentOptIn;
    if (s == store::kConsentOptOut || s == "false") return store::kConsentOptOut;
  }
  return {};
}

}  // namespace

size_t ConsentRecordsFromTraits(std::span<const std::pair<std::string, std::string>> traits, CustomerId customer,
                                Millis at, std::string_view message_id, std::vector<store::ConsentRecord>* out) {
  // Cheap first: most identify calls carry none of these traits, and the writer runs this.
  const auto is_consent_trait = [](std::string_view name) {
    return name.starts_with(kMarketingTraitPrefix) || name == kIntensityTrait;
  };
  if (std::none_of(traits.begin(), traits.end(), [&](const auto& t) { return is_consent_trait(t.first); })) return 0;
  std::string version;
  for (const auto& [name, value] : traits) {
    if (name != kConsentVersionTrait) continue;
    auto v = nlohmann::json::parse(value, nullptr, false);
    if (v.is_string()) version = v.get<std::string>().substr(0, 100);
    else if (v.is_number()) version = v.dump();
  }
  const size_t before = out->size();
  for (const auto& [name, value] : traits) {
    if (!is_consent_trait(name)) continue;
    auto v = nlohmann::json::parse(value, nullptr, false);
    store::ConsentRecord r;
    r.customer = customer;
    r.source = "identify";
    r.wording_version = version;
    r.at = at;
    r.actor = "message:" + std::string(message_id);
    if (name == kIntensityTrait) {
      if (!v.is_string()) continue;
      const auto& level = v.get_ref<const std::string&>();
      if (std::find(store::kConsentIntensities.begin(), store::kConsentIntensities.end(), level) ==
          store::kConsentIntensities.end()) {
        continue;
      }
      r.purpose = store::kConsentPersonalisation;
      r.value = level;
    } else {
      const std::string_view channel = std::string_view(name).substr(kMarketingTraitPrefix.size());
      if (std::find(store::kConsentChannels.begin(), store::kConsentChannels.end(), channel) ==
          store::kConsentChannels.end()) {
        continue;
      }
      const std::string_view decision = MarketingValue(v);
      if (decision.empty()) continue;
      r.purpose = store::kConsentMarketing;
      r.channel = channel;
      r.value = decision;
    }
    out->push_back(std::move(r));
  }
  return out->size() - before;
}

}  // namespace touchpoint::pipeline

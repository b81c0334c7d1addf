// pipeline/consent_traits.h — consent decisions carried by a Segment identify call's traits
// (docs/http-api.md, "Consent traits"). The write path turns them into store::ConsentRecords that
// commit in the same transaction as the identify event itself: an acknowledged identify's
// consents are on disk with it, or neither is.
//
//   consent_marketing_sms | _email | _push | _wechat | _phone   true | false ("opt_in"/"opt_out")
//   personalisation_intensity                                   "off" | "low" | "medium" | "high"
//   consent_version                                             the wording's version (a string)
//
// A trait with another value is not a decision and is ignored (the trait itself is still a
// profile trait, as every trait is). Only identify calls carry decisions, not track's context.traits.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/consent_repository.h>

namespace touchpoint::pipeline {

inline constexpr std::string_view kMarketingTraitPrefix = "consent_marketing_";
inline constexpr std::string_view kIntensityTrait = "personalisation_intensity";
inline constexpr std::string_view kConsentVersionTrait = "consent_version";

// The decisions in `traits` (name → JSON-encoded value), as records for `customer` decided at
// `at` (the event's time) with source "identify" and actor "message:<message_id>"; appended to *out.
// Returns how many were appended.
size_t ConsentRecordsFromTraits(std::span<const std::pair<std::string, std::string>> traits, CustomerId customer,
                                Millis at, std::string_view message_id, std::vector<store::ConsentRecord>* out);

}  // namespace touchpoint::pipeline

// profile/segment.h — segments: a small rule language over a profile's features, traits and tags.
//
//   monetary_365d >= 20000 and preferred_channel = "app"
//   rfm_layer in ("important_value", "potential") and churn_risk > 0.6
//
// A bare name is a catalogue feature (profile/features.h) if there is one by that name, else a
// tag (rfm_layer, tier, ltv, cluster, churn_risk, …: written by the analytics jobs);
// `traits.NAME` and `tags.NAME` name a trait or a tag explicitly. Comparisons with a null or
// missing value are unknown (SQL's three-valued logic): a profile matches when the rule is true.
// The grammar, field resolution and null semantics: docs/analytics.md ("Segments").
//
// Saved segments, membership counts and export are built on this API elsewhere.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/profile/features.h>
#include <touchpoint/profile/profile.h>

namespace touchpoint::profile {

// A field a rule reads.
struct SegmentField {
  enum class Source : std::uint8_t { kFeature, kTag, kTrait };
  Source source = Source::kFeature;
  std::string name;                       // the feature, tag or trait name
  FeatureId feature = FeatureId::kCount;  // for kFeature

  // As the canonical rule text writes it: "monetary_365d", "tags.rfm_layer", "traits.city",
  // "tags.\"first name\"".
  std::string ToString() const;
  friend bool operator==(const SegmentField&, const SegmentField&) = default;
};

// A compiled rule. Immutable; copies share the compiled program. Matches may be called from any
// number of threads at once.
class Segment {
 public:
  // Parses and type-checks `rule`. Fails with kInvalidArgument whose message starts with
  // "column N: " (1-based, in characters): a syntax error ("column 17: expected a value after
  // '>='"), or a type error naming the field ("column 17: field monetary_365d is a number;
  // \"abc\" is a string"). Catalogue features are type-checked here; tags and traits are typed
  // by their JSON values when evaluated.
  static Result<Segment> Compile(std::string_view rule);

  // True when the rule is true for `profile` as of `as_of` (unknown and false do not match).
  // Computes only the features the rule references; reads each tag or trait at most once.
  bool Matches(const Profile& profile, Millis as_of) const;

  // The canonical rule text: keywords in lower case, single spaces, strings and numbers in one
  // form, parentheses only where precedence needs them, bare tag names written `tags.NAME`,
  // timestamps as "2024-03-01T00:00:00.000Z". Compiling it gives the same segment (and text).
  const std::string& text() const;
  // Every field the rule reads, distinct, ordered by ToString().
  const std::vector<SegmentField>& fields() const;
  // The catalogue features the rule reads.
  FeatureMask features() const;
  // True when membership can change as as-of moves on without new activity (the rule reads a
  // window, recency_days or tenure_days).
  bool depends_on_as_of() const;

  struct Program;  // private: segment.cc

 private:
  explicit Segment(std::shared_ptr<const Program> program) : program_(std::move(program)) {}
  // Shared, not unique: a compiled rule is immutable, and saved segments hand copies to every
  // reader thread.
  std::shared_ptr<const Program> program_;
};

}  // namespace touchpoint::profile

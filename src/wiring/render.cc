#include <touchpoint/wiring/render.h>

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>
#include <touchpoint/core/json_text.h>
#include <touchpoint/core/sensitivity.h>

namespace touchpoint::wiring {

using pipeline::CustomerData;
namespace {

using nlohmann::json;

std::string IdentifierText(const identity::IdentityGraph::MemberIdentifier& m, const privacy::MaskPolicy& policy) {
  const std::string_view kind = identity::KindName(m.identifier.kind);
  return std::string(kind) + ":" + policy.Show(kind, m.identifier.value);
}

}  // namespace


// Written by hand around the profile's own JSON texts (GET /v1/customers renders on every call:
// parsing those texts back into a tree and dumping it again was a fifth of the server's CPU
// under load). Keys in the order nlohmann::json (a std::map) wrote them, so the output is the
// same as before byte for byte.
std::string RenderCustomer(const CustomerData& c, Millis as_of, const privacy::MaskPolicy& policy) {
  std::string out;
  out.reserve(2048);
  out += "{\"as_of\":";
  AppendJsonString(out, FormatTimestamp(as_of));
  out += ",\"features\":";
  out += c.profile.FeaturesJson(as_of);
  out += ",\"id\":";
  out += std::to_string(c.id.value());
  out += ",\"identifiers\":[";
  bool first = true;
  for (const auto& m : c.identifiers) {
    const std::string value = policy.Show(identity::KindName(m.identifier.kind), m.identifier.value);
    out += first ? "{\"kind\":" : ",{\"kind\":";
    first = false;
    AppendJsonString(out, identity::KindName(m.identifier.kind));
    if (m.blocked) out += ",\"shared\":true";
    out += ",\"value\":";
    AppendJsonString(out, value);
    out += '}';
  }
  out += "],\"merged_customers\":[";
  for (size_t i = 0; i < c.merged.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(c.merged[i].value());
  }
  out += "],\"tags\":";
  out += c.profile.TagsJson();
  out += ",\"traits\":";
  // Most profiles carry no sensitive trait: look the catalogue's names up (a few hash probes)
  // before parsing the traits' text again to mask some of them.
  const auto sensitive = SensitiveFieldNames();
  const bool any_sensitive = policy.masks() && std::any_of(sensitive.begin(), sensitive.end(), [&](std::string_view f) {
                               return c.profile.FindTrait(f) != nullptr;
                             });
  if (any_sensitive) {
    const json traits = json::parse(c.profile.TraitsJson());
    out += '{';
    bool first_trait = true;
    for (const auto& [name, value] : traits.items()) {
      if (!first_trait) out += ',';
      first_trait = false;
      AppendJsonString(out, name);
      out += ':';
      out += policy.ShowJson(name, value.dump());
    }
    out += '}';
  } else {
    out += c.profile.TraitsJson();
  }
  out += '}';
  return out;
}

std::string RenderExplain(const CustomerData& c, std::string_view asked, const privacy::MaskPolicy& policy) {
  json out;
  const size_t colon = asked.find(':');
  out["identifier"] = colon == std::string_view::npos
                          ? std::string(asked)
                          : std::string(asked.substr(0, colon + 1)) +
                                policy.Show(asked.substr(0, colon), asked.substr(colon + 1));
  out["customer"] = c.id.value();
  std::unordered_map<std::int64_t, std::string> names;
  json ids = json::array();
  for (const auto& m : c.identifiers) {
    names[m.id.value()] = IdentifierText(m, policy);
    json e = {{"identifier", IdentifierText(m, policy)},
              {"first_seen", FormatTimestamp(m.first_seen)},
              {"first_message_id", m.first_message_id},
              {"original_customer", m.original.value()}};
    if (m.blocked) {
      e["shared"] = true;
      e["note"] = "seen with more customers than the limit; no longer used to join records";
    }
    ids.push_back(std::move(e));
  }
  out["identifiers"] = std::move(ids);
  json merges = json::array();
  json story = json::array();
  story.push_back("customer " + std::to_string(c.id.value()) + " holds " + std::to_string(c.identifiers.size()) +
                  " identifiers; each joined with the customer it was first seen with");
  for (const auto& m : c.merges) {
    auto bridge = names.count(m.bridge.value()) ? names[m.bridge.value()] : "identifier #" + std::to_string(m.bridge.value());
    json e = {{"merge_id", m.id.value()},   {"at", FormatTimestamp(m.at)},
              {"winner", m.winner.value()}, {"loser", m.loser.value()},
              {"bridge", bridge},           {"message_id", m.message_id},
              {"reason", m.reason},         {"undone", m.undone_at != 0}};
    if (m.undone_at != 0) e["undone_at"] = FormatTimestamp(m.undone_at);
    merges.push_back(e);
    story.push_back("merge " + std::to_string(m.id.value()) + ": customer " + std::to_string(m.loser.value()) +
                    " joined customer " + std::to_string(m.winner.value()) + " because message " + m.message_id +
                    " carried " + bridge + " together with their identifiers (" + m.reason + ")" +
                    (m.undone_at ? "; undone at " + FormatTimestamp(m.undone_at) : "") +
                    "; undo with: touchpoint identity split " + std::to_string(m.id.value()));
  }
  out["merges"] = std::move(merges);
  out["explanation"] = std::move(story);
  return out.dump(2);
}

Result<std::string> CustomerJson(const pipeline::CustomerView& view, std::string_view ref, Millis as_of,
                                 const privacy::MaskPolicy& policy) {
  TP_ASSIGN_OR_RETURN(pipeline::CustomerData d, view.Find(ref));
  if (as_of == 0) {
    TP_ASSIGN_OR_RETURN(as_of, view.NewestEventAt());
  }
  return RenderCustomer(d, as_of, policy);
}

Result<std::string> ExplainJson(const pipeline::CustomerView& view, std::string_view ref,
                                const privacy::MaskPolicy& policy) {
  TP_ASSIGN_OR_RETURN(pipeline::CustomerData d, view.Find(ref));
  return RenderExplain(d, ref, policy);
}

}  // namespace touchpoint::wiring

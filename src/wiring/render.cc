#include <touchpoint/wiring/render.h>

#include <charconv>

#include <nlohmann/json.hpp>
#include <touchpoint/core/json_text.h>

namespace touchpoint::wiring {

using pipeline::CustomerData;
namespace {

using nlohmann::json;

std::string IdentifierText(const identity::IdentityGraph::MemberIdentifier& m) {
  return std::string(identity::KindName(m.identifier.kind)) + ":" + m.identifier.value;
}

json MaskTrait(const std::string& name, const json& value) {
  if (!value.is_string()) return value;
  const std::string v = value.get<std::string>();
  if (name == "phone" || name == "mobile") return identity::MaskIdentifierValue(identity::IdentifierKind::kPhone, v);
  if (name == "email") return identity::MaskIdentifierValue(identity::IdentifierKind::kEmail, v);
  switch (SensitivityOfField(name)) {
    case Sensitivity::kLow: return value;
    default: {
      // Keep the first character so agents can still address the customer ("张**").
      std::string out;
      size_t first = 1;
      while (first < v.size() && (static_cast<unsigned char>(v[first]) & 0xC0) == 0x80) ++first;
      out = v.substr(0, first) + "**";
      return out;
    }
  }
}

}  // namespace


// Written by hand around the profile's own JSON texts (GET /v1/customers renders on every call:
// parsing those texts back into a tree and dumping it again was a fifth of the server's CPU
// under load). Keys in the order nlohmann::json (a std::map) wrote them, so the output is the
// same as before byte for byte.
std::string RenderCustomer(const CustomerData& c, Millis as_of, bool mask_pii) {
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
    const std::string value = mask_pii ? identity::MaskIdentifierValue(m.identifier.kind, m.identifier.value)
                                       : m.identifier.value;
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
  if (mask_pii) {
    json traits = json::parse(c.profile.TraitsJson());
    for (auto& [name, value] : traits.items()) value = MaskTrait(name, value);
    out += traits.dump();
  } else {
    out += c.profile.TraitsJson();
  }
  out += '}';
  return out;
}

std::string RenderExplain(const CustomerData& c, std::string_view asked) {
  json out;
  out["identifier"] = std::string(asked);
  out["customer"] = c.id.value();
  std::unordered_map<std::int64_t, std::string> names;
  json ids = json::array();
  for (const auto& m : c.identifiers) {
    names[m.id.value()] = IdentifierText(m);
    json e = {{"identifier", IdentifierText(m)},
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
                                 bool mask_pii) {
  TP_ASSIGN_OR_RETURN(pipeline::CustomerData d, view.Find(ref));
  if (as_of == 0) {
    TP_ASSIGN_OR_RETURN(as_of, view.NewestEventAt());
  }
  return RenderCustomer(d, as_of, mask_pii);
}

Result<std::string> ExplainJson(const pipeline::CustomerView& view, std::string_view ref) {
  TP_ASSIGN_OR_RETURN(pipeline::CustomerData d, view.Find(ref));
  return RenderExplain(d, ref);
}

}  // namespace touchpoint::wiring

#include <touchpoint/privacy/consent.h>

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

#include <touchpoint/core/status.h>
#include <touchpoint/privacy/audit.h>

namespace touchpoint::privacy {
namespace {

using json = nlohmann::json;

size_t ChannelIndex(Channel channel) { return static_cast<size_t>(channel); }

// Whether `a` is decided after `b` (the rule: later decision time, then later recording).
bool Later(const store::ConsentRecord& a, const store::ConsentRecord& b) {
  return a.at != b.at ? a.at > b.at : a.id > b.id;
}

json RecordJson(const store::ConsentRecord& r) {
  json j = {{"id", r.id},
            {"customer_id", r.customer.value()},
            {"purpose", r.purpose},
            {"value", r.value},
            {"source", r.source},
            {"wording_version", r.wording_version},
            {"at", r.at},
            {"actor", r.actor}};
  if (!r.channel.empty()) j["channel"] = r.channel;
  return j;
}

}  // namespace

Result<Intensity> ParseIntensity(std::string_view name) {
  for (size_t i = 0; i < store::kConsentIntensities.size(); ++i) {
    if (name == store::kConsentIntensities[i]) return static_cast<Intensity>(i);
  }
  return Status::InvalidArgument("unknown personalisation intensity '" + std::string(name.substr(0, 40)) +
                                 "' (off, low, medium, high)");
}

std::string_view IntensityName(Intensity intensity) {
  return store::kConsentIntensities[static_cast<size_t>(intensity)];
}

Result<Channel> ParseChannel(std::string_view name) {
  for (size_t i = 0; i < store::kConsentChannels.size(); ++i) {
    if (name == store::kConsentChannels[i]) return static_cast<Channel>(i);
  }
  return Status::InvalidArgument("unknown marketing channel '" + std::string(name.substr(0, 40)) +
                                 "' (sms, email, push, wechat, phone)");
}

std::string_view ChannelName(Channel channel) { return store::kConsentChannels[ChannelIndex(channel)]; }

std::string_view ConsentSourceName(ConsentSource source) {
  return store::kConsentSources[static_cast<size_t>(source)];
}

Result<ConsentChange> ParseConsentChangeJson(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::InvalidArgument("the body must be a JSON object");
  ConsentChange change;
  for (const auto& [key, value] : j.items()) {
    if (key == "personalisation") {
      if (!value.is_string()) return Status::InvalidArgument("personalisation must be off, low, medium or high");
      TP_ASSIGN_OR_RETURN(Intensity level, ParseIntensity(value.get<std::string>()));
      change.personalisation = level;
    } else if (key == "marketing") {
      if (!value.is_object()) {
        return Status::InvalidArgument(R"(marketing must be an object of channels, e.g. {"email":true,"sms":false})");
      }
      for (const auto& [name, decision] : value.items()) {
        TP_ASSIGN_OR_RETURN(Channel channel, ParseChannel(name));
        bool opt_in = false;
        if (decision.is_boolean()) {
          opt_in = decision.get<bool>();
        } else if (decision.is_string() && decision.get<std::string>() == store::kConsentOptIn) {
          opt_in = true;
        } else if (decision.is_string() && decision.get<std::string>() == store::kConsentOptOut) {
          opt_in = false;
        } else {
          return Status::InvalidArgument("marketing." + name + " must be true or false (or \"opt_in\"/\"opt_out\")");
        }
        change.marketing.emplace_back(channel, opt_in);
      }
    } else if (key == "wording_version") {
      if (!value.is_string() || value.get<std::string>().size() > 100) {
        return Status::InvalidArgument("wording_version must be a string of at most 100 bytes");
      }
      change.wording_version = value.get<std::string>();
    } else {
      return Status::InvalidArgument("unknown member '" + key.substr(0, 40) +
                                     "' (personalisation, marketing, wording_version)");
    }
  }
  if (change.empty()) return Status::InvalidArgument("no decision: give personalisation and/or marketing");
  return change;
}

std::vector<store::ConsentRecord> ConsentRecordsFor(CustomerId customer, const ConsentChange& change,
                                                    ConsentSource source, Millis at, std::string_view actor) {
  std::vector<store::ConsentRecord> out;
  auto base = [&] {
    store::ConsentRecord r;
    r.customer = customer;
    r.source = std::string(ConsentSourceName(source));
    r.wording_version = change.wording_version;
    r.at = at;
    r.actor = std::string(actor);
    return r;
  };
  if (change.personalisation) {
    store::ConsentRecord r = base();
    r.purpose = store::kConsentPersonalisation;
    r.value = IntensityName(*change.personalisation);
    out.push_back(std::move(r));
  }
  for (const auto& [channel, opt_in] : change.marketing) {
    store::ConsentRecord r = base();
    r.purpose = store::kConsentMarketing;
    r.channel = ChannelName(channel);
    r.value = opt_in ? store::kConsentOptIn : store::kConsentOptOut;
    out.push_back(std::move(r));
  }
  return out;
}

bool ConsentState::AllowsMarketing(Channel channel) const {
  const auto& d = marketing[ChannelIndex(channel)];
  return d.has_value() && d->value == store::kConsentOptIn;
}

std::string ConsentState::ToJson() const {
  json p = {{"intensity", IntensityName(personalisation)}, {"default", !personalisation_decision.has_value()}};
  if (personalisation_decision) {
    p["source"] = personalisation_decision->source;
    p["at"] = personalisation_decision->at;
    p["wording_version"] = personalisation_decision->wording_version;
  }
  json m = json::object();
  for (Channel c : kAllChannels) {
    const auto& d = marketing[ChannelIndex(c)];
    json entry = {{"opt_in", AllowsMarketing(c)}, {"decided", d.has_value()}};
    if (d) {
      entry["source"] = d->source;
      entry["at"] = d->at;
      entry["wording_version"] = d->wording_version;
    }
    m[std::string(ChannelName(c))] = std::move(entry);
  }
  return json{{"personalisation", std::move(p)}, {"marketing", std::move(m)}}.dump();
}

ConsentState DecideConsent(std::span<const store::ConsentRecord> history, const ConsentPolicy& policy) {
  ConsentState state;
  state.personalisation = policy.default_personalisation;
  for (const store::ConsentRecord& r : history) {
    if (r.purpose == store::kConsentPersonalisation) {
      auto level = ParseIntensity(r.value);
      if (!level.ok()) continue;  // not a value this version writes: ignored, never guessed
      if (!state.personalisation_decision || Later(r, *state.personalisation_decision)) {
        state.personalisation_decision = r;
        state.personalisation = *level;
      }
    } else if (r.purpose == store::kConsentMarketing) {
      auto channel = ParseChannel(r.channel);
      if (!channel.ok() || (r.value != store::kConsentOptIn && r.value != store::kConsentOptOut)) continue;
      auto& slot = state.marketing[ChannelIndex(*channel)];
      if (!slot || Later(r, *slot)) slot = r;
    }
  }
  return state;
}

std::string ConsentHistoryJson(std::span<const store::ConsentRecord> history) {
  json a = json::array();
  for (const auto& r : history) a.push_back(RecordJson(r));
  return a.dump();
}

Status AuditConsentRecord(AuditLog& audit, std::string_view actor, const store::ConsentRecord& record) {
  json details = {{"consent_id", record.id}, {"purpose", record.purpose}, {"value", record.value},
                  {"source", record.source}, {"wording_version", record.wording_version}, {"at", record.at}};
  if (!record.channel.empty()) details["channel"] = record.channel;
  return audit.Record(actor, "consent.change", "customer:" + std::to_string(record.customer.value()), details.dump());
}

Consent::Consent(store::Store& store, PersonResolver resolve, ConsentPolicy policy, const Clock& clock)
    : repo_(store.Get<store::ConsentRepository>()), resolve_(std::move(resolve)), policy_(policy), clock_(clock) {}

Result<std::vector<CustomerId>> Consent::PersonLocked(CustomerId customer) {
  TP_ASSIGN_OR_RETURN(std::vector<CustomerId> person, resolve_(customer));
  if (person.empty()) return Status::NotFound("no such customer");
  return person;
}

Result<std::vector<store::ConsentRecord>> Consent::History(CustomerId customer) {
  std::scoped_lock lock(mu_);
  TP_ASSIGN_OR_RETURN(std::vector<CustomerId> person, PersonLocked(customer));
  return repo_.ForCustomers(person);
}

Result<ConsentState> Consent::Current(CustomerId customer) {
  TP_ASSIGN_OR_RETURN(std::vector<store::ConsentRecord> history, History(customer));
  return DecideConsent(history, policy_);
}

Result<bool> Consent::Allows(CustomerId customer, Purpose purpose, Intensity level) {
  if (purpose == Purpose::kMarketing) {
    return Status::InvalidArgument("marketing consent is per channel: ask AllowsMarketing(customer, channel)");
  }
  TP_ASSIGN_OR_RETURN(ConsentState state, Current(customer));
  return state.AllowsPersonalisation(level);
}

Result<bool> Consent::AllowsMarketing(CustomerId customer, Channel channel) {
  TP_ASSIGN_OR_RETURN(ConsentState state, Current(customer));
  return state.AllowsMarketing(channel);
}

Result<Consent::Changed> Consent::Change(CustomerId customer, const ConsentChange& change, ConsentSource source,
                                         std::string_view actor, AuditLog* audit) {
  if (change.empty()) return Status::InvalidArgument("no decision to record");
  Changed out;
  {
    std::scoped_lock lock(mu_);
    TP_ASSIGN_OR_RETURN(std::vector<CustomerId> person, PersonLocked(customer));
    out.live = person.front();
    std::vector<store::ConsentRecord> records = ConsentRecordsFor(out.live, change, source, clock_.Now(), actor);
    TP_ASSIGN_OR_RETURN(out.records, repo_.Record(records));
  }
  if (audit != nullptr) {
    for (const auto& r : out.records) {
      Status s = AuditConsentRecord(*audit, actor, r);
      if (!s.ok() && out.audited.ok()) out.audited = s;
    }
  }
  return out;
}

}  // namespace touchpoint::privacy

#include <touchpoint/service/router.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>

#include <toml++/toml.h>

#include <touchpoint/calendar/calendar.h>

namespace touchpoint::service {
namespace {

constexpr std::string_view kRuleNames[] = {"dedicated_advisor", "continuity", "senior_for_vulnerable", "least_loaded"};
constexpr double kPositionWeights[] = {1000, 100, 10, 1};

std::uint8_t Bit(RoutingRule r) { return static_cast<std::uint8_t>(1u << static_cast<unsigned>(r)); }

bool Has(const std::vector<std::string>& sorted, std::string_view v) {
  return std::binary_search(sorted.begin(), sorted.end(), v, std::less<>());
}

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
          c == '.')) {
      return false;
    }
  }
  return true;
}

bool Vulnerable(const RoutingRequest& r, const RoutingPolicy& p) {
  return r.elderly || (p.elderly_age > 0 && r.age >= p.elderly_age) ||
         (r.churn_risk >= 0 && r.churn_risk >= p.churn_risk_threshold);
}

bool IsVip(const RoutingRequest& r, const RoutingPolicy& p) {
  return !r.tier.empty() && std::find(p.vip_tiers.begin(), p.vip_tiers.end(), r.tier) != p.vip_tiers.end();
}

// The match of `agent` on `rule` in [0, 1].
double Match(RoutingRule rule, const RoutingAgent& a, const RoutingRequest& r, const RoutingPolicy& p) {
  switch (rule) {
    case RoutingRule::kDedicatedAdvisor: return r.advisor != 0 && a.id == r.advisor && IsVip(r, p) ? 1 : 0;
    case RoutingRule::kContinuity:
      return r.last_agent != 0 && a.id == r.last_agent &&
                     r.now - r.last_served_at <= Millis{p.continuity_hours} * 3'600'000
                 ? 1
                 : 0;
    case RoutingRule::kSeniorForVulnerable: {
      if (!Vulnerable(r, p)) return 0;
      for (const std::string& attr : p.vulnerable_attributes) {
        if (Has(a.attributes, attr)) return 1;
      }
      return 0;
    }
    case RoutingRule::kLeastLoaded:
      return a.capacity > 0 ? 1.0 - static_cast<double>(a.load) / static_cast<double>(a.capacity) : 0;
  }
  return 0;
}

bool InShift(const RoutingAgent& a, Millis now) {
  if (a.shift == nullptr) return true;
  const calendar::UnixSeconds t = now / 1000;
  auto s = a.shift->BusinessSeconds(t, t + 1);
  return s.ok() && *s > 0;
}

const RoutingAgent* FindAgent(std::span<const RoutingAgent> agents, std::int64_t id) {
  for (const RoutingAgent& a : agents) {
    if (a.id == id) return &a;
  }
  return nullptr;
}

std::string Name(std::span<const RoutingAgent> agents, std::int64_t id) {
  const RoutingAgent* a = FindAgent(agents, id);
  if (a == nullptr) return "agent " + std::to_string(id);
  return a->name.empty() ? "agent " + std::to_string(id) : a->name;
}

std::string Load(std::int32_t load, std::int32_t capacity) {
  return std::to_string(load) + "/" + std::to_string(capacity);
}

// Why the winner won on `rule` (for "chosen by …: …").
std::string RuleWhy(RoutingRule rule, const RoutingRequest& r, const RoutingPolicy& p, const Candidate& c) {
  switch (rule) {
    case RoutingRule::kDedicatedAdvisor: return "dedicated advisor of a " + r.tier + " customer";
    case RoutingRule::kContinuity:
      return "served this customer within " + std::to_string(p.continuity_hours) + " hours";
    case RoutingRule::kSeniorForVulnerable: {
      std::string why = r.elderly || (p.elderly_age > 0 && r.age >= p.elderly_age) ? "customer flagged elderly"
                                                                                  : "customer at high churn risk";
      return why + ", agent " + [&] {
        std::string attrs;
        for (const std::string& a : p.vulnerable_attributes) attrs += (attrs.empty() ? "" : "/") + a;
        return attrs;
      }();
    }
    case RoutingRule::kLeastLoaded: return "least loaded (" + Load(c.load, c.capacity) + ")";
  }
  return "";
}

}  // namespace

std::string_view AgentStateName(AgentState state) {
  switch (state) {
    case AgentState::kOnline: return "online";
    case AgentState::kAway: return "away";
    case AgentState::kOffline: return "offline";
  }
  return "offline";
}

Result<AgentState> ParseAgentState(std::string_view name, std::string_view field) {
  if (name == "online") return AgentState::kOnline;
  if (name == "away") return AgentState::kAway;
  if (name == "offline") return AgentState::kOffline;
  return Status::InvalidArgument(std::string(field) + ": unknown state \"" + std::string(name) +
                                 "\" (online, away, offline)");
}

std::string_view RoutingRuleName(RoutingRule rule) { return kRuleNames[static_cast<size_t>(rule)]; }

Result<RoutingRule> ParseRoutingRule(std::string_view name, std::string_view field) {
  for (size_t i = 0; i < std::size(kRuleNames); ++i) {
    if (kRuleNames[i] == name) return static_cast<RoutingRule>(i);
  }
  return Status::InvalidArgument(std::string(field) + ": unknown rule \"" + std::string(name) +
                                 "\" (dedicated_advisor, continuity, senior_for_vulnerable, least_loaded)");
}

RoutingPolicy DefaultRoutingPolicy() {
  RoutingPolicy p;
  p.name = "default";
  for (size_t i = 0; i < std::size(kRuleNames); ++i) {
    p.rules.push_back(WeightedRule{static_cast<RoutingRule>(i), kPositionWeights[i]});
  }
  return p;
}

Status ValidateRoutingPolicy(const RoutingPolicy& p) {
  if (!ValidName(p.name)) return Status::InvalidArgument("name: expected letters, digits, '_', '-', '.' (at most 64)");
  if (p.rules.empty()) return Status::InvalidArgument("rules: at least one rule");
  std::uint8_t seen = 0;
  for (size_t i = 0; i < p.rules.size(); ++i) {
    const std::string field = "rules[" + std::to_string(i) + "]";
    if (seen & Bit(p.rules[i].rule)) {
      return Status::InvalidArgument(field + ".rule: " + std::string(RoutingRuleName(p.rules[i].rule)) + " twice");
    }
    seen |= Bit(p.rules[i].rule);
    if (!(p.rules[i].weight > 0) || !std::isfinite(p.rules[i].weight)) {
      return Status::InvalidArgument(field + ".weight: expected a number above 0");
    }
  }
  if (p.continuity_hours < 0) return Status::InvalidArgument("continuity_hours: expected 0 or more");
  if (!(p.churn_risk_threshold >= 0 && p.churn_risk_threshold <= 1)) {
    return Status::InvalidArgument("churn_risk_threshold: expected 0 to 1");
  }
  if (p.elderly_age < 0) return Status::InvalidArgument("elderly_age: expected 0 (off) or more");
  return Status::Ok();
}

namespace {

Result<std::vector<std::string>> Strings(const toml::node& n, const std::string& field) {
  const toml::array* arr = n.as_array();
  if (arr == nullptr) return Status::InvalidArgument(field + ": expected an array of strings");
  std::vector<std::string> out;
  for (const toml::node& e : *arr) {
    if (!e.is_string()) return Status::InvalidArgument(field + ": expected an array of strings");
    out.push_back(*e.value<std::string>());
  }
  return out;
}

Result<RoutingPolicy> PolicyFromToml(const toml::table& t, const std::string& at) {
  RoutingPolicy p;
  p.rules.clear();
  bool has_rules = false;
  for (const auto& [key, node] : t) {
    const std::string k(key.str());
    const std::string field = at + "." + k;
    if (k == "name") {
      if (!node.is_string()) return Status::InvalidArgument(field + ": expected a string");
      p.name = *node.value<std::string>();
    } else if (k == "rules") {
      has_rules = true;
      const toml::array* arr = node.as_array();
      if (arr == nullptr) return Status::InvalidArgument(field + ": expected an array");
      size_t i = 0;
      for (const toml::node& e : *arr) {
        const std::string rf = field + "[" + std::to_string(i) + "]";
        WeightedRule w;
        if (e.is_string()) {
          TP_ASSIGN_OR_RETURN(w.rule, ParseRoutingRule(*e.value<std::string>(), rf));
          w.weight = i < std::size(kPositionWeights) ? kPositionWeights[i] : 1;
        } else if (const toml::table* rt = e.as_table()) {
          bool has_rule = false;
          for (const auto& [rk, rn] : *rt) {
            if (rk.str() == "rule") {
              if (!rn.is_string()) return Status::InvalidArgument(rf + ".rule: expected a string");
              TP_ASSIGN_OR_RETURN(w.rule, ParseRoutingRule(*rn.value<std::string>(), rf + ".rule"));
              has_rule = true;
            } else if (rk.str() == "weight") {
              auto v = rn.value<double>();
              if (!v) return Status::InvalidArgument(rf + ".weight: expected a number");
              w.weight = *v;
            } else {
              return Status::InvalidArgument(rf + "." + std::string(rk.str()) + ": unknown key (rule, weight)");
            }
          }
          if (!has_rule) return Status::InvalidArgument(rf + ".rule: required");
        } else {
          return Status::InvalidArgument(rf + ": expected a rule name or {rule, weight}");
        }
        p.rules.push_back(w);
        ++i;
      }
    } else if (k == "vip_tiers") {
      TP_ASSIGN_OR_RETURN(p.vip_tiers, Strings(node, field));
    } else if (k == "vulnerable_attributes") {
      TP_ASSIGN_OR_RETURN(p.vulnerable_attributes, Strings(node, field));
    } else if (k == "continuity_hours" || k == "elderly_age") {
      auto v = node.value<std::int64_t>();
      if (!v || !node.is_integer() || *v < 0 || *v > 100000) {
        return Status::InvalidArgument(field + ": expected a whole number from 0");
      }
      (k == "continuity_hours" ? p.continuity_hours : p.elderly_age) = static_cast<int>(*v);
    } else if (k == "churn_risk_threshold") {
      auto v = node.value<double>();
      if (!v) return Status::InvalidArgument(field + ": expected a number");
      p.churn_risk_threshold = *v;
    } else {
      return Status::InvalidArgument(field + ": unknown key (name, rules, vip_tiers, continuity_hours, "
                                             "churn_risk_threshold, elderly_age, vulnerable_attributes)");
    }
  }
  if (!has_rules) p.rules = DefaultRoutingPolicy().rules;
  if (Status s = ValidateRoutingPolicy(p); !s.ok()) return s.WithContext(at);
  return p;
}

std::string TomlList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", \"" : "\"") + v[i] + "\"";
  return out + "]";
}

}  // namespace

Result<std::vector<RoutingPolicy>> ParseRoutingPolicies(std::string_view toml_text) {
  toml::table doc;
  try {
    doc = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument("routing policies: " + std::string(e.description()) + " (line " +
                                   std::to_string(e.source().begin.line) + ")");
  }
  std::vector<RoutingPolicy> out;
  for (const auto& [key, node] : doc) {
    if (key.str() != "policies") {
      return Status::InvalidArgument(std::string(key.str()) + ": unknown key (policies)");
    }
    const toml::array* arr = node.as_array();
    if (arr == nullptr) return Status::InvalidArgument("policies: expected [[policies]] tables");
    size_t i = 0;
    for (const toml::node& e : *arr) {
      const std::string at = "policies[" + std::to_string(i++) + "]";
      const toml::table* t = e.as_table();
      if (t == nullptr) return Status::InvalidArgument(at + ": expected a table");
      TP_ASSIGN_OR_RETURN(RoutingPolicy p, PolicyFromToml(*t, at));
      for (const RoutingPolicy& q : out) {
        if (q.name == p.name) return Status::InvalidArgument(at + ".name: \"" + p.name + "\" twice");
      }
      out.push_back(std::move(p));
    }
  }
  return out;
}

std::string RoutingPolicyToml(const RoutingPolicy& p) {
  std::ostringstream o;
  o << "[[policies]]\nname = \"" << p.name << "\"\nrules = [";
  for (size_t i = 0; i < p.rules.size(); ++i) {
    o << (i ? ", " : "") << "{rule = \"" << RoutingRuleName(p.rules[i].rule) << "\", weight = " << p.rules[i].weight
      << "}";
  }
  o << "]\nvip_tiers = " << TomlList(p.vip_tiers) << "\ncontinuity_hours = " << p.continuity_hours
    << "\nchurn_risk_threshold = " << p.churn_risk_threshold << "\nelderly_age = " << p.elderly_age
    << "\nvulnerable_attributes = " << TomlList(p.vulnerable_attributes) << "\n";
  return o.str();
}

RoutingDecision Route(const RoutingRequest& r, std::span<const RoutingAgent> agents, const RoutingPolicy& policy) {
  RoutingDecision d;
  d.policy = policy.name;
  d.candidates.reserve(agents.size());
  // The cheap checks first; the shift (a calendar lookup) only for agents that pass them.
  for (const RoutingAgent& a : agents) {
    Candidate c;
    c.agent = a.id;
    c.load = a.load;
    c.capacity = a.capacity;
    if (a.state == AgentState::kOffline) {
      c.reason = PassReason::kOffline;
    } else if (a.state == AgentState::kAway) {
      c.reason = PassReason::kAway;
    } else if (!r.skill.empty() && !Has(a.skills, r.skill)) {
      c.reason = PassReason::kNoSkill;
    } else if (!r.language.empty() && !Has(a.languages, r.language)) {
      c.reason = PassReason::kNoLanguage;
    } else if (a.load >= a.capacity) {
      c.reason = PassReason::kAtCapacity;
    } else if (!InShift(a, r.now)) {
      c.reason = PassReason::kOutsideShift;
    } else {
      c.reason = PassReason::kOutscored;
      for (const WeightedRule& w : policy.rules) {
        const double m = Match(w.rule, a, r, policy);
        c.score += w.weight * m;
        if (w.rule != RoutingRule::kLeastLoaded && m > 0) c.matched |= Bit(w.rule);
      }
    }
    d.candidates.push_back(c);
  }
  // Best candidate: highest score, then longest idle, then lowest id.
  const Candidate* best = nullptr;
  const RoutingAgent* best_agent = nullptr;
  for (size_t i = 0; i < d.candidates.size(); ++i) {
    const Candidate& c = d.candidates[i];
    if (c.reason != PassReason::kOutscored) continue;
    const RoutingAgent& a = agents[i];
    if (best == nullptr || c.score > best->score ||
        (c.score == best->score &&
         (a.state_since < best_agent->state_since || (a.state_since == best_agent->state_since && a.id < best->agent)))) {
      best = &c;
      best_agent = &a;
    }
  }
  if (best == nullptr) {
    // Nobody fits: the reasons are all there is to show, agents in the order given.
    return d;
  }
  const size_t best_index = static_cast<size_t>(best - d.candidates.data());
  d.candidates[best_index].reason = PassReason::kChosen;
  d.agent = d.candidates[best_index].agent;
  // The rule that chose: the first rule, in policy order, the winner matched (least_loaded when
  // it matched none of the others).
  RoutingRule chose = RoutingRule::kLeastLoaded;
  for (const WeightedRule& w : policy.rules) {
    if (w.rule != RoutingRule::kLeastLoaded && (d.candidates[best_index].matched & Bit(w.rule))) {
      chose = w.rule;
      break;
    }
  }
  d.rule = std::string(RoutingRuleName(chose));
  // The chosen one first, then the other candidates by score, then the agents passed over.
  std::stable_sort(d.candidates.begin(), d.candidates.end(), [](const Candidate& a, const Candidate& b) {
    auto rank = [](const Candidate& c) { return c.reason == PassReason::kChosen ? 0 : c.reason == PassReason::kOutscored ? 1 : 2; };
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    if (rank(a) == 1 && a.score != b.score) return a.score > b.score;
    return false;
  });
  return d;
}

std::string ExplainCandidate(const Candidate& c, const RoutingDecision& d, const RoutingRequest& r,
                             std::span<const RoutingAgent> agents, const RoutingPolicy& policy) {
  switch (c.reason) {
    case PassReason::kChosen: {
      auto rule = ParseRoutingRule(d.rule);
      return "chosen by " + d.rule + ": " + (rule.ok() ? RuleWhy(*rule, r, policy, c) : std::string());
    }
    case PassReason::kOffline: return "offline";
    case PassReason::kAway: return "away";
    case PassReason::kNoSkill: return "no skill " + r.skill;
    case PassReason::kNoLanguage: return "no language " + r.language;
    case PassReason::kAtCapacity: return "at capacity " + Load(c.load, c.capacity);
    case PassReason::kOutsideShift: return "outside shift";
    case PassReason::kOutscored: break;
  }
  // A candidate that lost: name what the winner had on the deciding rule.
  const Candidate* winner = nullptr;
  for (const Candidate& x : d.candidates) {
    if (x.reason == PassReason::kChosen) winner = &x;
  }
  if (winner == nullptr) return "not chosen";
  const std::string who = Name(agents, winner->agent);
  auto rule = ParseRoutingRule(d.rule);
  if (rule.ok() && *rule != RoutingRule::kLeastLoaded && !(c.matched & Bit(*rule))) {
    switch (*rule) {
      case RoutingRule::kDedicatedAdvisor: return "not chosen: " + who + " is the customer's dedicated advisor";
      case RoutingRule::kContinuity: return "not chosen: " + who + " served this customer last";
      case RoutingRule::kSeniorForVulnerable:
        return "not chosen: no senior/patient attribute for a vulnerable customer; " + who + " has one";
      case RoutingRule::kLeastLoaded: break;
    }
  }
  if (c.load * winner->capacity == winner->load * c.capacity) {
    const RoutingAgent* me = FindAgent(agents, c.agent);
    const RoutingAgent* them = FindAgent(agents, winner->agent);
    if (me != nullptr && them != nullptr && them->state_since < me->state_since) {
      return "not chosen: same load " + Load(c.load, c.capacity) + ", " + who + " idle longer";
    }
    return "not chosen: same load " + Load(c.load, c.capacity) + ", " + who + " first by id";
  }
  return "not chosen: load " + Load(c.load, c.capacity) + ", " + who + " had " + Load(winner->load, winner->capacity);
}

}  // namespace touchpoint::service

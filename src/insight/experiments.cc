#include <touchpoint/insight/experiments.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <touchpoint/core/strings.h>
#include <touchpoint/insight/experiment_assignment.h>
#include <touchpoint/insight/experiment_stats.h>
#include <touchpoint/insight/kpis.h>
#include <touchpoint/store/kpi_repository.h>

namespace touchpoint::insight {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::array<std::string_view, 12> kMetrics = {"csat", "csat_mean", "fcr", "frt", "nrt", "art", "aht", "sla",
                                                        "resolution_rate", "repeat_rate", "escalation_rate",
                                                        "sentiment"};

template <class List>
std::string Join(const List& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

bool KnownMetric(std::string_view m) { return std::find(kMetrics.begin(), kMetrics.end(), m) != kMetrics.end(); }

// A token: 1–max bytes of [A-Za-z0-9_.-].
bool Token(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

std::vector<std::string> SplitComma(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string part = Trim(text.substr(start, end - start));
    if (!part.empty()) out.push_back(std::move(part));
    start = end + 1;
  }
  return out;
}

std::string Num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

Status Validate(ExperimentSpec& s) {
  if (!Token(s.name, 80) || AllDigits(s.name)) {
    return Status::InvalidArgument("name: 1–80 characters of letters, digits, _ . - (not only digits), got \"" +
                                   s.name + "\"");
  }
  if (s.description.size() > 1000) return Status::InvalidArgument("description: at most 1000 bytes");
  if (s.unit != "customer" && s.unit != "ticket") {
    return Status::InvalidArgument("unit: \"" + s.unit + "\" is not one of customer, ticket");
  }
  if (s.variants.size() < 2) {
    return Status::InvalidArgument("variants: at least two (the first is the control), got " +
                                   std::to_string(s.variants.size()));
  }
  if (s.variants.size() > 20) return Status::InvalidArgument("variants: at most 20");
  std::set<std::string> seen;
  for (const store::ExperimentVariant& v : s.variants) {
    if (!Token(v.name, 40)) {
      return Status::InvalidArgument("variants: name \"" + v.name + "\" is not 1–40 characters of letters, digits, _ . -");
    }
    if (!seen.insert(v.name).second) return Status::InvalidArgument("variants: \"" + v.name + "\" appears twice");
    if (!std::isfinite(v.weight) || v.weight <= 0) {
      return Status::InvalidArgument("variants: the weight of \"" + v.name + "\" must be above 0, got " + Num(v.weight));
    }
  }
  if (!std::isfinite(s.coverage) || s.coverage <= 0 || s.coverage > 1) {
    return Status::InvalidArgument("coverage: must be in (0, 1], got " + Num(s.coverage));
  }
  if (s.metrics.empty()) return Status::InvalidArgument("metrics: name at least one of " + Join(kMetrics));
  seen.clear();
  for (store::ExperimentMetric& m : s.metrics) {
    if (!KnownMetric(m.metric)) {
      return Status::InvalidArgument("metrics: unknown metric \"" + m.metric + "\"; valid: " + Join(kMetrics));
    }
    if (!seen.insert(m.metric).second) return Status::InvalidArgument("metrics: \"" + m.metric + "\" appears twice");
    if (m.direction.empty()) m.direction = std::string(DefaultDirection(m.metric));
    if (m.direction != "increase" && m.direction != "decrease") {
      return Status::InvalidArgument("metrics: direction of " + m.metric + " \"" + m.direction +
                                     "\" is not one of increase, decrease");
    }
  }
  if (s.pre_period_days < 0 || s.pre_period_days > 365) {
    return Status::InvalidArgument("pre_period_days: must be 0 (no CUPED) to 365, got " +
                                   std::to_string(s.pre_period_days));
  }
  if (!std::isfinite(s.sequential_tuning) || s.sequential_tuning < 0) {
    return Status::InvalidArgument("sequential: N* must be above 0 (or 0: not sequential), got " +
                                   Num(s.sequential_tuning));
  }
  if (!std::isfinite(s.alpha) || s.alpha <= 0 || s.alpha >= 0.5) {
    return Status::InvalidArgument("alpha: must be in (0, 0.5), got " + Num(s.alpha));
  }
  if (s.correction != "none" && s.correction != "holm" && s.correction != "bh") {
    return Status::InvalidArgument("correction: \"" + s.correction + "\" is not one of none, holm, bh");
  }
  return Status::Ok();
}

std::string NewSalt() {
  TP_CHECK(sodium_init() >= 0, "libsodium initialises");
  std::array<unsigned char, 16> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

// The outcomes of one metric per exposed unit: (variant index, value, pre-period value).
struct UnitOutcome {
  size_t arm = 0;
  double value = 0;
  double pre = 0;
};

struct TicketValue {
  Millis created_at = 0;
  std::int64_t ticket = 0;
  double value = 0;
};

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

void PutOptional(Json& j, const char* key, const std::optional<double>& v) {
  if (v && std::isfinite(*v)) j[key] = *v;
}

// A count of units: an integer in JSON.
Json Units(double n) {
  if (n == std::floor(n) && std::fabs(n) < 9e15) return Json(static_cast<std::int64_t>(n));
  return Json(n);
}

Json ExperimentObject(const store::ExperimentRecord& e, bool with_salt) {
  Json j;
  j["id"] = e.id;
  j["name"] = e.name;
  j["description"] = e.description;
  j["unit"] = e.unit;
  j["status"] = e.status;
  Json variants = Json::array();
  for (const auto& v : e.variants) variants.push_back({{"name", v.name}, {"weight", v.weight}});
  j["variants"] = std::move(variants);
  j["control"] = e.variants.empty() ? "" : e.variants.front().name;
  j["coverage"] = e.coverage;
  Json metrics = Json::array();
  for (const auto& m : e.metrics) metrics.push_back({{"metric", m.metric}, {"direction", m.direction}});
  j["metrics"] = std::move(metrics);
  j["pre_period_days"] = e.pre_period_days;
  if (e.sequential_tuning > 0) j["sequential"] = e.sequential_tuning;
  j["alpha"] = e.alpha;
  j["correction"] = e.correction;
  j["created_at"] = FormatTimestamp(e.created_at);
  j["created_by"] = e.created_by;
  if (e.started_at != 0) j["started_at"] = FormatTimestamp(e.started_at);
  if (e.stopped_at != 0) j["stopped_at"] = FormatTimestamp(e.stopped_at);
  if (with_salt) j["salt"] = e.salt;
  return j;
}

}  // namespace

std::span<const std::string_view> ExperimentMetricIds() { return kMetrics; }

std::string_view DefaultDirection(std::string_view metric) {
  if (metric == "frt" || metric == "nrt" || metric == "art" || metric == "aht" || metric == "escalation_rate" ||
      metric == "repeat_rate") {
    return "decrease";
  }
  return "increase";
}

Result<std::vector<store::ExperimentVariant>> ParseVariants(std::string_view text) {
  std::vector<store::ExperimentVariant> out;
  for (const std::string& part : SplitComma(text)) {
    store::ExperimentVariant v;
    const size_t colon = part.find(':');
    v.name = Trim(std::string_view(part).substr(0, colon));
    v.weight = 1;
    if (colon != std::string::npos) {
      const std::string w = Trim(std::string_view(part).substr(colon + 1));
      char* end = nullptr;
      v.weight = std::strtod(w.c_str(), &end);
      if (w.empty() || end != w.c_str() + w.size()) {
        return Status::InvalidArgument("variants: the weight of \"" + v.name + "\" is not a number: \"" + w + "\"");
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::vector<store::ExperimentMetric>> ParseMetrics(std::string_view text) {
  std::vector<store::ExperimentMetric> out;
  for (const std::string& part : SplitComma(text)) {
    const size_t colon = part.find(':');
    store::ExperimentMetric m;
    m.metric = Trim(std::string_view(part).substr(0, colon));
    if (colon != std::string::npos) m.direction = Trim(std::string_view(part).substr(colon + 1));
    out.push_back(std::move(m));
  }
  return out;
}

Result<ExperimentSpec> ParseExperimentSpec(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("body: not a JSON object");
  ExperimentSpec s;
  static const std::set<std::string> kFields = {"name",     "description", "unit",  "variants",  "coverage",
                                                "metrics",  "pre_period_days", "sequential", "alpha", "correction"};
  for (const auto& [key, value] : j.items()) {
    if (!kFields.contains(key)) return Status::InvalidArgument(key + ": unknown field; valid: " + Join(kFields));
  }
  auto text_field = [&](const char* key, std::string* out) -> Status {
    if (!j.contains(key)) return Status::Ok();
    if (!j[key].is_string()) return Status::InvalidArgument(std::string(key) + ": must be a string");
    *out = j[key].get<std::string>();
    return Status::Ok();
  };
  auto number_field = [&](const char* key, double* out) -> Status {
    if (!j.contains(key)) return Status::Ok();
    if (!j[key].is_number()) return Status::InvalidArgument(std::string(key) + ": must be a number");
    *out = j[key].get<double>();
    return Status::Ok();
  };
  TP_RETURN_IF_ERROR(text_field("name", &s.name));
  TP_RETURN_IF_ERROR(text_field("description", &s.description));
  TP_RETURN_IF_ERROR(text_field("unit", &s.unit));
  TP_RETURN_IF_ERROR(text_field("correction", &s.correction));
  TP_RETURN_IF_ERROR(number_field("coverage", &s.coverage));
  TP_RETURN_IF_ERROR(number_field("sequential", &s.sequential_tuning));
  TP_RETURN_IF_ERROR(number_field("alpha", &s.alpha));
  if (j.contains("pre_period_days")) {
    if (!j["pre_period_days"].is_number_integer()) return Status::InvalidArgument("pre_period_days: must be an integer");
    const auto days = j["pre_period_days"].get<std::int64_t>();
    if (days < 0 || days > 365) {
      return Status::InvalidArgument("pre_period_days: must be 0 (no CUPED) to 365, got " + std::to_string(days));
    }
    s.pre_period_days = static_cast<std::int32_t>(days);
  }
  if (j.contains("variants")) {
    const Json& v = j["variants"];
    if (v.is_string()) {
      TP_ASSIGN_OR_RETURN(s.variants, ParseVariants(v.get<std::string>()));
    } else if (v.is_array()) {
      for (const Json& item : v) {
        if (item.is_string()) {
          s.variants.push_back({item.get<std::string>(), 1});
          continue;
        }
        if (!item.is_object() || !item.contains("name") || !item["name"].is_string()) {
          return Status::InvalidArgument("variants: each is {\"name\": …, \"weight\": …}");
        }
        store::ExperimentVariant var{item["name"].get<std::string>(), 1};
        if (item.contains("weight")) {
          if (!item["weight"].is_number()) return Status::InvalidArgument("variants: the weight of \"" + var.name + "\" must be a number");
          var.weight = item["weight"].get<double>();
        }
        s.variants.push_back(std::move(var));
      }
    } else {
      return Status::InvalidArgument("variants: a list of {\"name\", \"weight\"} or \"control:50,treatment:50\"");
    }
  }
  if (j.contains("metrics")) {
    const Json& m = j["metrics"];
    if (m.is_string()) {
      TP_ASSIGN_OR_RETURN(s.metrics, ParseMetrics(m.get<std::string>()));
    } else if (m.is_array()) {
      for (const Json& item : m) {
        if (item.is_string()) {
          s.metrics.push_back({item.get<std::string>(), ""});
          continue;
        }
        if (!item.is_object() || !item.contains("metric") || !item["metric"].is_string()) {
          return Status::InvalidArgument("metrics: each is {\"metric\": …, \"direction\": increase|decrease}");
        }
        store::ExperimentMetric metric{item["metric"].get<std::string>(), ""};
        if (item.contains("direction")) {
          if (!item["direction"].is_string()) return Status::InvalidArgument("metrics: direction must be a string");
          metric.direction = item["direction"].get<std::string>();
        }
        s.metrics.push_back(std::move(metric));
      }
    } else {
      return Status::InvalidArgument("metrics: a list of {\"metric\", \"direction\"} or \"art:decrease,csat\"");
    }
  }
  return s;
}

Experiments::Experiments(store::Store& store, const Clock& clock, Options options)
    : store_(store), clock_(clock), options_(options) {}

Result<store::ExperimentRecord> Experiments::Create(const ExperimentSpec& spec, std::string_view actor) {
  ExperimentSpec s = spec;
  TP_RETURN_IF_ERROR(Validate(s));
  store::ExperimentRecord e;
  e.name = s.name;
  e.description = s.description;
  e.unit = s.unit;
  e.variants = s.variants;
  e.coverage = s.coverage;
  e.salt = NewSalt();
  e.metrics = s.metrics;
  e.pre_period_days = s.pre_period_days;
  e.sequential_tuning = s.sequential_tuning;
  e.alpha = s.alpha;
  e.correction = s.correction;
  e.status = "draft";
  e.created_at = clock_.Now();
  e.created_by = std::string(actor);
  std::scoped_lock lock(mu_);
  auto created = store_.Get<store::ExperimentRepository>().Create(e);
  if (!created.ok() && created.status().code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("name: an experiment named " + s.name + " exists");
  }
  return created;
}

Result<store::ExperimentRecord> Experiments::FindLocked(std::string_view ref) {
  store::ExperimentRepository& repo = store_.Get<store::ExperimentRepository>();
  std::optional<store::ExperimentRecord> found;
  if (AllDigits(ref) && ref.size() <= 18) {
    TP_ASSIGN_OR_RETURN(found, repo.Find(std::stoll(std::string(ref))));
  } else {
    TP_ASSIGN_OR_RETURN(found, repo.FindByName(std::string(ref)));
  }
  if (!found) return Status::NotFound("no experiment " + std::string(ref));
  return *found;
}

Result<store::ExperimentRecord> Experiments::Find(std::string_view ref) {
  std::scoped_lock lock(mu_);
  return FindLocked(ref);
}

Result<std::vector<store::ExperimentRecord>> Experiments::List() {
  std::scoped_lock lock(mu_);
  return store_.Get<store::ExperimentRepository>().List();
}

Result<store::ExperimentRecord> Experiments::Start(std::int64_t id) {
  std::scoped_lock lock(mu_);
  TP_ASSIGN_OR_RETURN(store::ExperimentRecord e, FindLocked(std::to_string(id)));
  if (e.status != "draft") {
    return Status::FailedPrecondition("experiment " + e.name + " is " + e.status +
                                      (e.status == "stopped" ? "; a stopped experiment cannot run again (create a new one)"
                                                             : ""));
  }
  return store_.Get<store::ExperimentRepository>().SetStatus(id, "draft", "running", clock_.Now());
}

Result<store::ExperimentRecord> Experiments::Stop(std::int64_t id) {
  std::scoped_lock lock(mu_);
  TP_ASSIGN_OR_RETURN(store::ExperimentRecord e, FindLocked(std::to_string(id)));
  if (e.status != "running") return Status::FailedPrecondition("experiment " + e.name + " is " + e.status + ", not running");
  return store_.Get<store::ExperimentRepository>().SetStatus(id, "running", "stopped", clock_.Now());
}

Result<Assignment> Experiments::Assign(std::int64_t id, std::string_view unit) {
  if (!AllDigits(unit) || unit.size() > 18 || unit.front() == '0') {
    return Status::InvalidArgument("unit: a customer id or ticket number (a positive decimal integer)");
  }
  std::scoped_lock lock(mu_);
  TP_ASSIGN_OR_RETURN(store::ExperimentRecord e, FindLocked(std::to_string(id)));
  Assignment a;
  if (e.status != "running") {
    a.reason = "not running (" + e.status + ")";
    return a;
  }
  store::ExperimentRepository& repo = store_.Get<store::ExperimentRepository>();
  const std::string u(unit);
  TP_ASSIGN_OR_RETURN(std::optional<store::ExposureRecord> seen, repo.FindExposure(id, u));
  if (seen) {
    a.in_experiment = true;
    a.variant = seen->variant;
    a.exposed_at = seen->exposed_at;
    return a;
  }
  std::vector<double> weights;
  for (const auto& v : e.variants) weights.push_back(v.weight);
  const std::optional<size_t> arm = AssignVariant(e.salt, u, weights, e.coverage);
  if (!arm) {
    a.reason = "outside coverage";
    return a;
  }
  const Millis now = clock_.Now();
  TP_ASSIGN_OR_RETURN(store::ExposureRecord stored, repo.Expose({id, u, e.variants[*arm].name, now}));
  a.in_experiment = true;
  a.variant = stored.variant;
  a.exposed_at = stored.exposed_at;
  a.first_exposure = stored.exposed_at == now && stored.variant == e.variants[*arm].name;
  return a;
}

Result<ExperimentResults> Experiments::Results(std::int64_t id) {
  std::scoped_lock lock(mu_);
  TP_ASSIGN_OR_RETURN(store::ExperimentRecord e, FindLocked(std::to_string(id)));
  ExperimentResults r;
  r.as_of = clock_.Now();
  r.min_units = options_.min_units;
  std::map<std::string, size_t> arm_of;
  std::vector<double> weights;
  for (size_t i = 0; i < e.variants.size(); ++i) {
    arm_of[e.variants[i].name] = i;
    weights.push_back(e.variants[i].weight);
    r.exposures.emplace_back(e.variants[i].name, 0);
  }
  std::vector<store::ExposureRecord> exposures;
  TP_RETURN_IF_ERROR(store_.Get<store::ExperimentRepository>().ScanExposures(id, [&](store::ExposureRecord&& x) {
    auto it = arm_of.find(x.variant);
    if (it == arm_of.end()) return;  // a variant the experiment no longer has: never written by Assign
    ++r.exposures[it->second].second;
    exposures.push_back(std::move(x));
  }));
  std::vector<double> counts;
  for (const auto& [name, n] : r.exposures) counts.push_back(static_cast<double>(n));
  r.srm_p = SampleRatioMismatchP(counts, weights);
  if (!exposures.empty() && r.srm_p < 0.001) {
    r.warnings.push_back("sample ratio mismatch: the exposures per variant do not fit the weights (p = " + Num(r.srm_p) +
                         "); look for a bug in who calls /v1/assignments before reading the results");
  }

  // The stored facts the outcomes join: every ticket for ticket units (a ticket may be created
  // before its exposure), the tickets since the pre-period before the start for customer units.
  KpiQuery q;
  for (const auto& m : e.metrics) q.metrics.push_back(m.metric);
  q.as_of = r.as_of;
  if (e.unit == "customer" && e.started_at != 0) {
    q.from = std::max<Millis>(1, e.started_at - Millis{e.pre_period_days} * kMillisPerDay);
  }
  KpiData data;
  if (!exposures.empty()) {
    TP_ASSIGN_OR_RETURN(data, LoadKpiData(store_, q));
  }
  std::unordered_map<std::int64_t, CustomerId> customer_of;
  for (const auto& t : data.tickets) customer_of[t.ticket] = t.customer;

  std::vector<double> all_p;  // for the correction: (metric, arm) pairs with a p-value
  std::vector<std::pair<size_t, size_t>> all_at;
  for (const store::ExperimentMetric& metric : e.metrics) {
    ExperimentMetricResult mr;
    mr.metric = metric.metric;
    mr.direction = metric.direction;
    mr.cuped = e.pre_period_days > 0;
    mr.sequential = e.sequential_tuning > 0;
    TP_ASSIGN_OR_RETURN(auto values, KpiTicketValues(metric.metric, q, data));
    // Each customer's tickets with a value, by creation time.
    std::unordered_map<std::int64_t, std::vector<TicketValue>> by_customer;
    for (const auto& t : data.tickets) {
      auto v = values.find(t.ticket);
      if (v != values.end()) by_customer[t.customer.value()].push_back({t.created_at, t.ticket, v->second});
    }
    for (auto& [c, list] : by_customer) {
      std::sort(list.begin(), list.end(), [](const TicketValue& a, const TicketValue& b) {
        return std::tie(a.created_at, a.ticket) < std::tie(b.created_at, b.ticket);
      });
    }
    const Millis pre_len = Millis{e.pre_period_days} * kMillisPerDay;
    auto pre_mean = [&](std::int64_t customer, Millis exposed, std::int64_t except) {
      std::vector<double> pre;
      auto it = by_customer.find(customer);
      if (it == by_customer.end()) return 0.0;
      for (const TicketValue& tv : it->second) {
        if (tv.ticket != except && tv.created_at >= exposed - pre_len && tv.created_at < exposed) pre.push_back(tv.value);
      }
      return Mean(pre);
    };
    std::vector<UnitOutcome> outcomes;
    for (const store::ExposureRecord& x : exposures) {
      const std::int64_t unit = std::stoll(x.unit);
      UnitOutcome o;
      o.arm = arm_of[x.variant];
      if (e.unit == "ticket") {
        auto v = values.find(unit);
        if (v == values.end()) continue;
        o.value = v->second;
        if (mr.cuped) {
          auto c = customer_of.find(unit);
          if (c != customer_of.end()) o.pre = pre_mean(c->second.value(), x.exposed_at, unit);
        }
      } else {
        std::vector<double> after;
        if (auto it = by_customer.find(unit); it != by_customer.end()) {
          for (const TicketValue& tv : it->second) {
            if (tv.created_at >= x.exposed_at) after.push_back(tv.value);
          }
        }
        if (after.empty()) continue;
        o.value = Mean(after);
        if (mr.cuped) o.pre = pre_mean(unit, x.exposed_at, 0);
      }
      outcomes.push_back(o);
    }
    bool binary = KpiMetricIsShare(metric.metric);
    for (const UnitOutcome& o : outcomes) binary = binary && (o.value == 0 || o.value == 1);
    mr.kind = binary ? "proportion" : "mean";
    std::vector<ArmSummary> arms(e.variants.size());
    for (size_t i = 0; i < arms.size(); ++i) {
      arms[i].variant = e.variants[i].name;
      arms[i].has_pre = mr.cuped;
    }
    for (const UnitOutcome& o : outcomes) {
      ArmSummary& a = arms[o.arm];
      a.units += 1;
      a.sum += o.value;
      a.sum_squares += o.value * o.value;
      a.pre_sum += o.pre;
      a.pre_sum_squares += o.pre * o.pre;
      a.sum_products += o.value * o.pre;
    }
    mr.enough_data = std::all_of(arms.begin(), arms.end(), [&](const ArmSummary& a) { return a.units >= options_.min_units; });
    for (const ArmSummary& a : arms) {
      ExperimentArm arm;
      arm.variant = a.variant;
      arm.units = a.units;
      if (a.units > 0) arm.mean = a.sum / a.units;
      mr.arms.push_back(std::move(arm));
    }
    if (!mr.enough_data) {
      for (size_t i = 1; i < mr.arms.size(); ++i) mr.arms[i].verdict = "not enough data";
      mr.warnings.push_back("not enough data: every variant needs at least " + Num(options_.min_units) +
                            " units with a value of " + metric.metric);
      r.metrics.push_back(std::move(mr));
      continue;
    }
    AnalysisOptions ao;
    ao.metric = binary ? MetricKind::kProportion : MetricKind::kMean;
    ao.lift = LiftKind::kRelative;
    ao.alpha = e.alpha;
    ao.sequential_tuning = e.sequential_tuning;
    ao.weights = weights;
    ao.correction = Correction::kNone;
    ao.min_units = options_.min_units;
    TP_ASSIGN_OR_RETURN(AnalysisResult ar, AnalyzeExperiment(arms, ao));
    mr.theta = ar.theta;
    for (std::string& w : ar.warnings) {
      // The SRM of the units with a value is not the experiment's: that is judged on the exposures.
      if (w.rfind("sample ratio mismatch", 0) != 0) mr.warnings.push_back(std::move(w));
    }
    for (size_t i = 1; i < ar.variants.size() && i < mr.arms.size(); ++i) {
      const VariantResult& v = ar.variants[i];
      if (!v.has_lift) {
        mr.arms[i].verdict = "inconclusive";
        continue;
      }
      mr.arms[i].lift = v.lift;
      mr.arms[i].ci_low = v.ci_low;
      mr.arms[i].ci_high = v.ci_high;
      mr.arms[i].se = v.se;
      mr.arms[i].p_value = v.p_value;
      all_p.push_back(v.p_value);
      all_at.emplace_back(r.metrics.size(), i);
    }
    r.metrics.push_back(std::move(mr));
  }
  // The correction over every comparison, then the verdicts at alpha.
  if (e.correction != "none" && !all_p.empty()) {
    const std::vector<double> adjusted = e.correction == "bh" ? BenjaminiHochbergAdjust(all_p) : HolmAdjust(all_p);
    for (size_t k = 0; k < adjusted.size(); ++k) r.metrics[all_at[k].first].arms[all_at[k].second].p_adjusted = adjusted[k];
  }
  for (ExperimentMetricResult& mr : r.metrics) {
    for (size_t i = 1; i < mr.arms.size(); ++i) {
      ExperimentArm& a = mr.arms[i];
      if (!a.p_value) continue;
      const double p = a.p_adjusted.value_or(*a.p_value);
      if (p >= e.alpha) {
        a.verdict = "inconclusive";
      } else {
        const bool up = *a.lift > 0;
        a.verdict = (up == (mr.direction == "increase")) ? "better" : "worse";
      }
    }
  }
  r.experiment = std::move(e);
  return r;
}

std::string ExperimentJson(const store::ExperimentRecord& e, bool with_salt) {
  return ExperimentObject(e, with_salt).dump();
}

std::string ExperimentListJson(std::span<const store::ExperimentRecord> list, bool with_salt) {
  Json j;
  Json items = Json::array();
  for (const auto& e : list) items.push_back(ExperimentObject(e, with_salt));
  j["experiments"] = std::move(items);
  return j.dump();
}

std::string AssignmentJson(const store::ExperimentRecord& e, std::string_view unit, const Assignment& a) {
  Json j;
  j["experiment"] = e.id;
  j["name"] = e.name;
  j["unit"] = std::string(unit);
  j["in_experiment"] = a.in_experiment;
  if (a.in_experiment) {
    j["variant"] = a.variant;
    j["control"] = !e.variants.empty() && e.variants.front().name == a.variant;
    j["first_exposure"] = a.first_exposure;
    j["exposed_at"] = FormatTimestamp(a.exposed_at);
  } else {
    j["reason"] = a.reason;
  }
  return j.dump();
}

std::string ExperimentResultsJson(const ExperimentResults& r) {
  Json j;
  j["experiment"] = ExperimentObject(r.experiment, false);
  j["as_of"] = FormatTimestamp(r.as_of);
  j["min_units"] = Units(r.min_units);
  Json exposures = Json::array();
  for (size_t i = 0; i < r.exposures.size(); ++i) {
    exposures.push_back({{"variant", r.exposures[i].first},
                         {"weight", i < r.experiment.variants.size() ? r.experiment.variants[i].weight : 0},
                         {"units", r.exposures[i].second}});
  }
  j["exposures"] = std::move(exposures);
  j["srm_p"] = r.srm_p;
  j["warnings"] = r.warnings;
  Json metrics = Json::array();
  for (const ExperimentMetricResult& m : r.metrics) {
    Json mj;
    mj["metric"] = m.metric;
    mj["direction"] = m.direction;
    mj["kind"] = m.kind;
    mj["status"] = m.enough_data ? "ok" : "not enough data";
    mj["cuped"] = m.cuped;
    mj["sequential"] = m.sequential;
    PutOptional(mj, "theta", m.theta);
    mj["warnings"] = m.warnings;
    Json arms = Json::array();
    for (const ExperimentArm& a : m.arms) {
      Json aj;
      aj["variant"] = a.variant;
      aj["units"] = Units(a.units);
      PutOptional(aj, "mean", a.mean);
      PutOptional(aj, "lift", a.lift);
      PutOptional(aj, "ci_low", a.ci_low);
      PutOptional(aj, "ci_high", a.ci_high);
      PutOptional(aj, "se", a.se);
      PutOptional(aj, "p_value", a.p_value);
      PutOptional(aj, "p_adjusted", a.p_adjusted);
      if (!a.verdict.empty()) aj["verdict"] = a.verdict;
      arms.push_back(std::move(aj));
    }
    mj["variants"] = std::move(arms);
    metrics.push_back(std::move(mj));
  }
  j["metrics"] = std::move(metrics);
  return j.dump();
}

std::string ExperimentResultsTable(const ExperimentResults& r) {
  const store::ExperimentRecord& e = r.experiment;
  std::string out = "experiment " + std::to_string(e.id) + " " + e.name + " (" + e.status + ", unit " + e.unit +
                    ", alpha " + Num(e.alpha) + ", correction " + e.correction + ") as of " + FormatTimestamp(r.as_of) +
                    "\n";
  out += "exposures:";
  for (const auto& [variant, n] : r.exposures) out += " " + variant + "=" + std::to_string(n);
  out += "  (SRM p = " + Num(r.srm_p) + ")\n";
  for (const std::string& w : r.warnings) out += "warning: " + w + "\n";
  char line[256];
  for (const ExperimentMetricResult& m : r.metrics) {
    out += "\n" + m.metric + " (" + m.direction + " is better, " + m.kind + (m.cuped ? ", CUPED" : "") +
           (m.sequential ? ", sequential" : "") + ")\n";
    std::snprintf(line, sizeof line, "  %-16s %8s %12s %10s %22s %9s %9s  %s\n", "variant", "units", "mean", "lift",
                  "interval", "p", "p adj.", "verdict");
    out += line;
    for (const ExperimentArm& a : m.arms) {
      auto f = [](const std::optional<double>& v) { return v ? Num(*v) : std::string("-"); };
      const std::string interval = a.ci_low ? "[" + Num(*a.ci_low) + ", " + Num(*a.ci_high) + "]" : "-";
      std::snprintf(line, sizeof line, "  %-16s %8.0f %12s %10s %22s %9s %9s  %s\n", a.variant.c_str(), a.units,
                    f(a.mean).c_str(), f(a.lift).c_str(), interval.c_str(), f(a.p_value).c_str(),
                    f(a.p_adjusted).c_str(), a.verdict.c_str());
      out += line;
    }
    for (const std::string& w : m.warnings) out += "  warning: " + w + "\n";
  }
  return out;
}

}  // namespace touchpoint::insight

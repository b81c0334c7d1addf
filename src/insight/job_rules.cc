#include <touchpoint/insight/job_rules.h>

#include <charconv>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>
#include <touchpoint/insight/customer_features.h>

#include "insight/job_params_internal.h"

namespace touchpoint::insight {
namespace {

bool IsCategoryIntent(const RulesJobParams& p) { return p.kind == "category-intent"; }

std::vector<std::string> Quoted(const std::vector<std::string>& names) {
  std::vector<std::string> quoted(names.size());
  for (size_t i = 0; i < names.size(); ++i) quoted[i] = nlohmann::json(names[i]).dump();
  return quoted;
}

}  // namespace

void AppendRuleJson(std::string& out, const ml::AssociationRule& r, const std::vector<std::string>& quoted) {
  auto number = [&out](auto v) {
    char tmp[32];
    auto res = std::to_chars(tmp, tmp + sizeof tmp, v);
    out.append(tmp, res.ptr);
  };
  out += "{\"lhs\":[";
  for (size_t i = 0; i < r.lhs.size(); ++i) {
    if (i > 0) out += ',';
    out += quoted[r.lhs[i]];
  }
  out += "],\"rhs\":[";
  out += quoted[r.rhs];
  out += "],\"support\":";
  number(r.support);
  out += ",\"confidence\":";
  number(r.confidence);
  out += ",\"lift\":";
  number(r.lift);
  out += ",\"count\":";
  number(r.count);
  out += "}\n";
}

Result<RulesJobParams> ParseRulesJobParams(std::string_view json) {
  TP_ASSIGN_OR_RETURN(internal::ParamReader r, internal::ParamReader::Parse(json));
  RulesJobParams p;
  r.String("kind", &p.kind);
  r.Number("min_support", &p.min_support);
  r.Number("min_confidence", &p.min_confidence);
  r.Int("max_len", 0, 1000, &p.max_len);
  r.Int("window_days", 1, 3650, &p.window_days);
  r.Int("limit", 0, 1'000'000, &p.limit);
  TP_RETURN_IF_ERROR(r.Finish());
  TP_RETURN_IF_ERROR(ValidateRulesJobParams(p, JobContext()));
  return p;
}

Status ValidateRulesJobParams(const RulesJobParams& params, const JobContext& context) {
  if (params.kind == "products" || params.kind == "category-intent") return Status::Ok();
  return Status::InvalidArgument(context.Param("kind") + " must be products or category-intent, got '" + params.kind +
                                 "'");
}

ActivityRequest RulesActivityRequest(const RulesJobParams& params) {
  return {.orders = true, .order_ids = false, .items = true, .messages = IsCategoryIntent(params), .seen = false};
}

Result<RulesJobResult> RunRulesJob(const RulesJobParams& params, ActivitySource& source, const JobContext& context) {
  TP_RETURN_IF_ERROR(ValidateRulesJobParams(params, context));
  context.Report("loading");
  TP_ASSIGN_OR_RETURN(Activity activity, source.Load(RulesActivityRequest(params)));
  return RunRulesJob(params, activity, context);
}

Result<RulesJobResult> RunRulesJob(const RulesJobParams& params, const Activity& activity, const JobContext& context) {
  TP_RETURN_IF_ERROR(ValidateRulesJobParams(params, context));
  TP_RETURN_IF_ERROR(context.CheckCancelled());
  context.Report("computing");
  const bool category_intent = IsCategoryIntent(params);
  const auto baskets = category_intent
                           ? CategoryIntentBaskets(activity.orders, activity.messages, params.window_days * kMillisPerDay)
                           : ProductBaskets(activity.orders);
  if (baskets.empty()) return Status::InvalidArgument(context.Where() + "no orders with products ingested yet");
  ml::NamedBaskets enc = ml::EncodeBaskets(baskets);
  TP_ASSIGN_OR_RETURN(ml::AssociationResult mined,
                      ml::MineAssociationRules(enc.transactions, static_cast<std::uint32_t>(enc.names.size()),
                                               {.min_support = params.min_support,
                                                .min_confidence = params.min_confidence,
                                                .max_len = params.max_len}));
  RulesJobResult result{.params = params, .mined = std::move(mined), .names = std::move(enc.names), .kept = {}};
  std::vector<std::string_view> lhs;
  for (size_t i = 0; i < result.mined.rules.size(); ++i) {
    const ml::AssociationRule& r = result.mined.rules[i];
    if (category_intent) {
      lhs.clear();
      for (auto id : r.lhs) lhs.push_back(result.names[id]);
      if (!IsCategoryToIntentRule(lhs, result.names[r.rhs])) continue;
    }
    result.kept.push_back(i);
  }
  return result;
}

std::string RulesJobResult::Ndjson() const {
  const std::vector<std::string> quoted = Quoted(names);
  std::string out;
  for (size_t i : kept) AppendRuleJson(out, mined.rules[i], quoted);
  return out;
}

std::string RulesJobResult::ToJson() const {
  const bool category_intent = IsCategoryIntent(params);
  nlohmann::ordered_json j;
  j["kind"] = params.kind;
  if (category_intent) j["window_days"] = params.window_days;
  j["transactions"] = mined.transactions;
  j["items"] = mined.items;
  j["min_count"] = mined.min_count;
  j["frequent_itemsets"] = mined.itemsets.size();
  j["rules"] = kept.size();
  if (category_intent) j["rules_before_filter"] = mined.rules.size();
  // The best rules (mined.rules is sorted by lift), each in AppendRuleJson's form.
  const std::vector<std::string> quoted = Quoted(names);
  std::string top = "[";
  for (size_t n = 0; n < kept.size() && n < params.limit; ++n) {
    if (n > 0) top += ',';
    AppendRuleJson(top, mined.rules[kept[n]], quoted);
    top.pop_back();  // the line's '\n'
  }
  top += ']';
  std::string text = j.dump();
  text.pop_back();  // '}'
  text += ",\"top_rules\":" + top + "}";
  return text;
}

}  // namespace touchpoint::insight

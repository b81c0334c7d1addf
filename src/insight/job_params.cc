#include "insight/job_params_internal.h"

#include <cmath>
#include <utility>

#include <touchpoint/core/strings.h>

namespace touchpoint::insight::internal {
namespace {

std::string Shown(const nlohmann::json& v) {
  std::string text = v.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

}  // namespace

Result<ParamReader> ParamReader::Parse(std::string_view json) {
  nlohmann::json object = nlohmann::json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (TrimView(json, kJsonWhitespace).empty() || object.is_null()) {
    object = nlohmann::json::object();
  }
  if (object.is_discarded()) return Status::InvalidArgument("parameters: not valid JSON");
  if (!object.is_object()) return Status::InvalidArgument("parameters: expected a JSON object, got " + Shown(object));
  return ParamReader(std::move(object));
}

const nlohmann::json* ParamReader::Field(const char* key) {
  asked_.insert(key);
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool ParamReader::Has(const char* key) const {
  auto it = object_.find(key);
  return it != object_.end() && !it->is_null();
}

void ParamReader::Fail(const char* key, const std::string& what) {
  if (error_.ok()) error_ = Status::InvalidArgument(std::string(key) + ": " + what);
}

void ParamReader::Number(const char* key, double* out) {
  const nlohmann::json* v = Field(key);
  if (v == nullptr) return;
  if (!v->is_number()) return Fail(key, "expected a number, got " + Shown(*v));
  *out = v->get<double>();
}

void ParamReader::Int(const char* key, std::int64_t min, std::int64_t max, std::int64_t* out) {
  const nlohmann::json* v = Field(key);
  if (v == nullptr) return;
  const std::string range = "[" + std::to_string(min) + ", " + std::to_string(max) + "]";
  if (!v->is_number()) return Fail(key, "expected an integer in " + range + ", got " + Shown(*v));
  const double d = v->get<double>();
  if (std::floor(d) != d || d < static_cast<double>(min) || d > static_cast<double>(max)) {
    return Fail(key, "expected an integer in " + range + ", got " + Shown(*v));
  }
  *out = v->is_number_integer() ? v->get<std::int64_t>() : static_cast<std::int64_t>(d);
}

void ParamReader::IntOrAuto(const char* key, std::int64_t min, std::int64_t max, int* out) {
  const nlohmann::json* v = Field(key);
  if (v == nullptr) return;
  if (v->is_string() && v->get<std::string>() == "auto") {
    *out = 0;
    return;
  }
  const std::string range = "[" + std::to_string(min) + ", " + std::to_string(max) + "]";
  if (!v->is_number() || std::floor(v->get<double>()) != v->get<double>() || v->get<double>() < static_cast<double>(min) ||
      v->get<double>() > static_cast<double>(max)) {
    return Fail(key, "expected \"auto\" or an integer in " + range + ", got " + Shown(*v));
  }
  *out = static_cast<int>(v->get<double>());
}

void ParamReader::String(const char* key, std::string* out) {
  const nlohmann::json* v = Field(key);
  if (v == nullptr) return;
  if (!v->is_string()) return Fail(key, "expected a string, got " + Shown(*v));
  *out = v->get<std::string>();
}

void ParamReader::StringList(const char* key, std::vector<std::string>* out) {
  const nlohmann::json* v = Field(key);
  if (v == nullptr) return;
  if (!v->is_array()) return Fail(key, "expected an array of strings, got " + Shown(*v));
  std::vector<std::string> list;
  for (const auto& item : *v) {
    if (!item.is_string()) return Fail(key, "expected an array of strings, got " + Shown(*v));
    list.push_back(item.get<std::string>());
  }
  *out = std::move(list);
}

void ParamReader::StringList(const char* key, std::optional<std::vector<std::string>>* out) {
  if (Field(key) == nullptr) return;
  std::vector<std::string> list;
  StringList(key, &list);
  *out = std::move(list);
}

void ParamReader::Time(const char* key, const std::function<Result<Millis>(std::string_view)>& parse, Millis* out) {
  const nlohmann::json* v = Field(key);
  if (v == nullptr) return;
  if (!v->is_string()) return Fail(key, "expected a date text such as \"2026-03-01\", got " + Shown(*v));
  auto t = parse(v->get<std::string>());
  if (!t.ok()) return Fail(key, t.status().message());
  *out = *t;
}

Status ParamReader::Finish() const {
  if (!error_.ok()) return error_;
  for (const auto& [key, value] : object_.items()) {
    if (asked_.count(key)) continue;
    std::string known;
    for (const auto& k : asked_) known += (known.empty() ? "" : ", ") + k;
    return Status::InvalidArgument(key + ": unknown parameter (known: " + known + ")");
  }
  return Status::Ok();
}

}  // namespace touchpoint::insight::internal

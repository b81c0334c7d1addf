#include <touchpoint/insight/jobs.h>

#include <string>

#include <touchpoint/insight/job_churn.h>
#include <touchpoint/insight/job_contacts.h>
#include <touchpoint/insight/job_kmeans.h>
#include <touchpoint/insight/job_rfm.h>
#include <touchpoint/insight/job_rules.h>

namespace touchpoint::insight {

Status JobContext::CheckCancelled() const {
  return cancelled() ? Status::Unavailable("job cancelled") : Status::Ok();
}

std::string JobContext::Param(std::string_view name) const {
  if (param_style == ParamStyle::kJson) return std::string(name);
  std::string flag = "--";
  for (char c : name) flag += c == '_' ? '-' : c;
  return flag;
}

const std::vector<std::string>& JobNames() {
  static const std::vector<std::string> kNames = {"rfm", "ltv", "kmeans", "churn", "rules", "forecast", "staffing"};
  return kNames;
}

namespace {

Status UnknownJob(std::string_view name) {
  std::string known;
  for (const auto& n : JobNames()) known += (known.empty() ? "" : ", ") + n;
  return Status::NotFound("unknown job '" + std::string(name) + "' (jobs: " + known + ")");
}

template <typename T>
Result<std::string> Json(Result<T> r) {
  if (!r.ok()) return r.status();
  return r->ToJson();
}

}  // namespace

Status ValidateJob(std::string_view name, std::string_view params_json) {
  const JobContext context;
  if (name == "rfm") return ParseRfmJobParams(params_json).status();
  if (name == "ltv") return ParseLtvJobParams(params_json).status();
  if (name == "kmeans") {
    TP_ASSIGN_OR_RETURN(KMeansJobParams p, ParseKMeansJobParams(params_json));
    return ValidateKMeansJobParams(p, context);
  }
  if (name == "churn") return ParseChurnJobParams(params_json).status();
  if (name == "rules") return ParseRulesJobParams(params_json).status();
  if (name == "forecast") return ParseForecastJobParams(params_json).status();
  if (name == "staffing") return ParseStaffingJobParams(params_json).status();
  return UnknownJob(name);
}

Result<std::string> RunJob(std::string_view name, std::string_view params_json, ActivitySource& source,
                           TagSink& sink, const JobContext& context) {
  if (name == "rfm") {
    TP_ASSIGN_OR_RETURN(RfmJobParams p, ParseRfmJobParams(params_json));
    return Json(RunRfmJob(p, source, sink, context));
  }
  if (name == "ltv") {
    TP_ASSIGN_OR_RETURN(LtvJobParams p, ParseLtvJobParams(params_json));
    return Json(RunLtvJob(p, source, sink, context));
  }
  if (name == "kmeans") {
    TP_ASSIGN_OR_RETURN(KMeansJobParams p, ParseKMeansJobParams(params_json));
    return Json(RunKMeansJob(p, source, sink, context));
  }
  if (name == "churn") {
    TP_ASSIGN_OR_RETURN(ChurnJobParams p, ParseChurnJobParams(params_json));
    return Json(RunChurnJob(p, source, sink, context));
  }
  if (name == "rules") {
    TP_ASSIGN_OR_RETURN(RulesJobParams p, ParseRulesJobParams(params_json));
    return Json(RunRulesJob(p, source, context));
  }
  if (name == "forecast") {
    TP_ASSIGN_OR_RETURN(ContactForecastParams p, ParseForecastJobParams(params_json));
    return Json(RunForecastJob(p, source, context));
  }
  if (name == "staffing") {
    TP_ASSIGN_OR_RETURN(StaffingJobParams p, ParseStaffingJobParams(params_json));
    return Json(RunStaffingJob(p, source, context));
  }
  return UnknownJob(name);
}

}  // namespace touchpoint::insight

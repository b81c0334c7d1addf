// The audit entry of a reveal on the command line (cli/reveal.h).
#include "cli/reveal.h"

#include <nlohmann/json.hpp>

#include "cli/audit_access.h"
#include "cli/data_access.h"

namespace touchpoint::cli {

Status AuditCliReveal(const privacy::MaskPolicy& policy, const std::string& data_dir, const std::string& target) {
  if (policy.reveal.empty()) return Status::Ok();
  const auto refused = [](const Status& s) {
    return Status::Unavailable("the reveal could not be recorded in the audit log, so nothing is revealed: " +
                               s.message());
  };
  auto store = OpenForKeys(data_dir);
  if (!store.ok()) return refused(store.status());
  auto audit = OpenCliAudit(**store, data_dir);
  if (!audit.ok()) return refused(audit.status());
  const privacy::Masker& masker = policy.masker != nullptr ? *policy.masker : privacy::DefaultMasker();
  const nlohmann::json details = {{"fields", policy.reveal.fields}, {"reason", masker.MaskText(policy.reveal.reason)}};
  Status s = (*audit)->Record(CliActor(), "pii.reveal", target, details.dump());
  if (s.ok()) s = (*audit)->Close();
  if (!s.ok()) return refused(s);
  return Status::Ok();
}

}  // namespace touchpoint::cli

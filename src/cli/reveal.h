// cli/reveal.h — personal data on the command line: masked like the API masks it, unless the
// command names the fields to reveal and a reason (`--reveal phone,email --reason "…"`).
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <touchpoint/core/result.h>
#include <touchpoint/privacy/masking.h>
#include <touchpoint/server/config.h>

namespace touchpoint::cli {

struct RevealArgs {
  std::string fields;
  std::string reason;
  privacy::Masker masker;  // set by MaskPolicyFor; the policy points at it
};

inline void AddRevealOptions(CLI::App* cmd, RevealArgs* a) {
  cmd->add_option("--reveal", a->fields,
                  "Show these personal-data fields in clear (comma-separated: phone, email, id_number, name, …); "
                  "needs --reason; audited");
  cmd->add_option("--reason", a->reason, "Why the fields are revealed (recorded in the audit log)");
}

// The policy of a command over data directory `data_dir`: the masks of its touchpoint.toml
// ([privacy.masking]; defaults without one), revealing what --reveal names. kInvalidArgument for
// a bad --reveal or a missing --reason.
inline Result<privacy::MaskPolicy> MaskPolicyFor(RevealArgs& a, const std::string& data_dir) {
  auto config = server::LoadConfig(data_dir + "/touchpoint.toml", server::ServerConfig{});
  if (!config.ok()) return config.status();
  a.masker = privacy::Masker(config->masking);
  TP_ASSIGN_OR_RETURN(privacy::RevealRequest reveal, privacy::ParseRevealRequest(a.fields, a.reason));
  return privacy::MaskPolicy::Masked(a.masker, std::move(reveal));
}

// Records the reveal `policy` asks for (nothing when it reveals nothing) in the audit log of
// `data_dir` as `pii.reveal` on `target` ("customer:42", "segment:vip"), with the fields and
// the reason (masked), before anything is shown — as the server does. kUnavailable when it
// cannot be recorded: then nothing may be revealed.
Status AuditCliReveal(const privacy::MaskPolicy& policy, const std::string& data_dir, const std::string& target);

}  // namespace touchpoint::cli

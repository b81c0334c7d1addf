// privacy consent show|set and privacy customer-token: a customer's consents and preferences
// (privacy/consent.h) and customer self-service tokens (privacy/customer_token.h) from the command
// line. Both work next to a running server (small writes on a connection without the writer lock).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/pipeline/customer_view.h>
#include <touchpoint/privacy/audit.h>
#include <touchpoint/privacy/consent.h>
#include <touchpoint/privacy/customer_token.h>
#include <touchpoint/privacy/master_key.h>
#include <touchpoint/server/config.h>

#include "cli/audit_access.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/data_access.h"

namespace touchpoint::cli {
namespace {

struct ConsentArgs {
  std::string data_dir = DefaultDataDir();
  std::string identifier;
  std::string personalisation;
  std::vector<std::string> marketing;  // "email=in", "sms=out"
  std::string wording_version;
  std::string ttl = "15m";
};

// [privacy] personalisation_default of DATA/touchpoint.toml (default "low").
Result<privacy::ConsentPolicy> PolicyFor(const std::string& data_dir) {
  server::ServerConfig defaults;
  defaults.data_dir = data_dir;
  TP_ASSIGN_OR_RETURN(server::ServerConfig config,
                      server::LoadConfig(data_dir + "/touchpoint.toml", defaults, /*must_exist=*/false));
  privacy::ConsentPolicy policy;
  TP_ASSIGN_OR_RETURN(policy.default_personalisation, privacy::ParseIntensity(config.personalisation_default));
  return policy;
}

// The person of a customer as the store's identity tables say: the live customer, then its merged ones.
privacy::PersonResolver StoreResolver(const pipeline::CustomerView& view) {
  return [&view](CustomerId customer) -> Result<std::vector<CustomerId>> {
    TP_ASSIGN_OR_RETURN(pipeline::CustomerData data, view.Find(std::to_string(customer.value())));
    std::vector<CustomerId> person{data.id};
    person.insert(person.end(), data.merged.begin(), data.merged.end());
    return person;
  };
}

// The customer IDENTIFIER names, looked up on a read-only connection (a read left open there
// never keeps the others from writing, also next to a running server).
struct FoundCustomer {
  std::unique_ptr<store::Store> reader;
  std::unique_ptr<pipeline::CustomerView> view;  // over *reader
  pipeline::CustomerData data;
};

Result<FoundCustomer> FindCustomer(const std::string& data_dir, const std::string& identifier) {
  FoundCustomer c;
  TP_ASSIGN_OR_RETURN(c.reader, OpenReadOnly(data_dir));
  c.view = pipeline::StoreCustomerView(*c.reader);
  auto data = c.view->Find(identifier);
  if (!data.ok()) {
    return data.status().code() == StatusCode::kNotFound ? Status::NotFound("no customer with this identifier")
                                                          : data.status();
  }
  c.data = std::move(*data);
  return c;
}

int RunShow(const ConsentArgs& a) {
  auto policy = PolicyFor(a.data_dir);
  if (!policy.ok()) return Fail(policy.status());
  auto found = FindCustomer(a.data_dir, a.identifier);
  if (!found.ok()) return Fail(found.status());
  privacy::Consent consent(*found->reader, StoreResolver(*found->view), *policy, SystemClock::Instance());
  auto history = consent.History(found->data.id);
  if (!history.ok()) return Fail(history.status());
  const privacy::ConsentState state = privacy::DecideConsent(*history, *policy);
  std::printf("{\"customer_id\":%lld,\"consents\":%s,\"history\":%s}\n", static_cast<long long>(found->data.id.value()),
              state.ToJson().c_str(), privacy::ConsentHistoryJson(*history).c_str());
  return kExitOk;
}

Result<privacy::ConsentChange> ChangeFrom(const ConsentArgs& a) {
  privacy::ConsentChange change;
  if (!a.personalisation.empty()) {
    TP_ASSIGN_OR_RETURN(privacy::Intensity level, privacy::ParseIntensity(a.personalisation));
    change.personalisation = level;
  }
  for (const std::string& m : a.marketing) {
    const size_t eq = m.find('=');
    if (eq == std::string::npos) return Status::InvalidArgument("--marketing takes CHANNEL=in|out, e.g. email=in");
    TP_ASSIGN_OR_RETURN(privacy::Channel channel, privacy::ParseChannel(m.substr(0, eq)));
    const std::string value = m.substr(eq + 1);
    if (value != "in" && value != "out") return Status::InvalidArgument("--marketing " + m + ": say in or out");
    change.marketing.emplace_back(channel, value == "in");
  }
  change.wording_version = a.wording_version;
  if (change.empty()) return Status::InvalidArgument("nothing to record: give --personalisation and/or --marketing");
  return change;
}

int RunSet(const ConsentArgs& a) {
  auto change = ChangeFrom(a);
  if (!change.ok()) return Fail(change.status());
  auto policy = PolicyFor(a.data_dir);
  if (!policy.ok()) return Fail(policy.status());
  // Three connections: identities are read on a read-only one (FindCustomer), decisions and
  // audit entries are written on their own. The audit log first: an unusable key refuses the change.
  auto audit_store = OpenForKeys(a.data_dir);
  if (!audit_store.ok()) return Fail(audit_store.status());
  auto audit = OpenCliAudit(**audit_store, a.data_dir);
  if (!audit.ok()) return Fail(audit.status());
  auto found = FindCustomer(a.data_dir, a.identifier);
  if (!found.ok()) return Fail(found.status());
  auto store = OpenForKeys(a.data_dir);
  if (!store.ok()) return Fail(store.status());
  privacy::Consent consent(**store, StoreResolver(*found->view), *policy, SystemClock::Instance());
  auto changed = consent.Change(found->data.id, *change, privacy::ConsentSource::kCli, CliActor(), audit->get());
  if (!changed.ok()) return Fail(changed.status());
  Status closed = (*audit)->Close();
  if (!changed->audited.ok() || !closed.ok()) {
    std::fprintf(stderr, "touchpoint: warning: recorded, but not completely audited: %s\n",
                 (!changed->audited.ok() ? changed->audited : closed).message().c_str());
  }
  auto history = consent.History(changed->live);
  if (!history.ok()) return Fail(history.status());
  std::printf("{\"customer_id\":%lld,\"consents\":%s,\"recorded\":%s}\n",
              static_cast<long long>(changed->live.value()), privacy::DecideConsent(*history, *policy).ToJson().c_str(),
              privacy::ConsentHistoryJson(changed->records).c_str());
  return kExitOk;
}

int RunCustomerToken(const ConsentArgs& a) {
  auto ttl = privacy::ParseTokenTtl(a.ttl);
  if (!ttl.ok()) return Fail(ttl.status());
  const std::string key_path = MasterKeyPathFor(a.data_dir);
  auto key = privacy::LoadMasterKey(key_path);
  if (!key.ok()) {
    return Fail(key.status().code() == StatusCode::kNotFound
                    ? Status::Unavailable(key.status().message() + " (customer tokens need the master key)")
                    : key.status());
  }
  auto store = OpenForKeys(a.data_dir);  // the audit log's
  if (!store.ok()) return Fail(store.status());
  auto audit = OpenCliAudit(**store, a.data_dir);
  if (!audit.ok()) return Fail(audit.status());
  auto found = FindCustomer(a.data_dir, a.identifier);
  if (!found.ok()) return Fail(found.status());
  const CustomerId customer = found->data.id;
  const privacy::CustomerTokens tokens = privacy::CustomerTokens::FromMasterKey(*key);
  auto issued = tokens.Issue(customer, SystemClock::Instance().Now(), *ttl);
  if (!issued.ok()) return Fail(issued.status());
  // Recorded before the token is shown: no token leaves without its audit entry.
  Status s = (*audit)->Record(CliActor(), "customer_token.issue", "customer:" + std::to_string(customer.value()),
                              nlohmann::json({{"token_id", issued->claims.token_id},
                                              {"expires_at", issued->claims.expires_at}})
                                  .dump());
  if (s.ok()) s = (*audit)->Close();
  if (!s.ok()) return Fail(Status::Unavailable("the token's issue could not be audited; no token issued: " + s.message()));
  nlohmann::ordered_json out = {{"token", issued->token},
                                {"customer_id", customer.value()},
                                {"token_id", issued->claims.token_id},
                                {"expires_at", issued->claims.expires_at}};
  std::printf("%s\n", out.dump().c_str());
  return kExitOk;
}

}  // namespace

CLI::App* PrivacyCommand(CLI::App& app) {
  auto found = app.get_subcommands([](CLI::App* sub) { return sub->get_name() == "privacy"; });
  if (!found.empty()) return found.front();
  CLI::App* privacy = app.add_subcommand("privacy", "Consent, customer tokens and data subjects' rights");
  privacy->require_subcommand(1);
  return privacy;
}

void RegisterPrivacyCommands(CLI::App& app, int* exit_code) {
  CLI::App* privacy = PrivacyCommand(app);

  CLI::App* consent = privacy->add_subcommand("consent", "A customer's consents and preferences");
  consent->require_subcommand(1);

  auto show_args = std::make_shared<ConsentArgs>();
  CLI::App* show = consent->add_subcommand("show", "The consents of the person IDENTIFIER names, and their history");
  show->add_option("identifier", show_args->identifier, "kind:value (user:u1, phone:…) or a customer id")->required();
  show->add_option("--data", show_args->data_dir, "Data directory (default: $TOUCHPOINT_DATA or ./touchpoint-data)");
  show->callback([=] { *exit_code = RunShow(*show_args); });

  auto set_args = std::make_shared<ConsentArgs>();
  CLI::App* set = consent->add_subcommand("set", "Record consent decisions (source cli; audited)");
  set->add_option("identifier", set_args->identifier, "kind:value (user:u1, phone:…) or a customer id")->required();
  set->add_option("--personalisation", set_args->personalisation, "off, low, medium or high");
  set->add_option("--marketing", set_args->marketing, "CHANNEL=in|out (sms, email, push, wechat, phone); repeatable");
  set->add_option("--wording-version", set_args->wording_version, "The version of the text the person agreed to");
  set->add_option("--data", set_args->data_dir, "Data directory (default: $TOUCHPOINT_DATA or ./touchpoint-data)");
  set->callback([=] { *exit_code = RunSet(*set_args); });

  auto token_args = std::make_shared<ConsentArgs>();
  CLI::App* token = privacy->add_subcommand(
      "customer-token", "Issue a short-lived self-service token for the customer IDENTIFIER names (audited)");
  token->add_option("identifier", token_args->identifier, "kind:value (user:u1, phone:…) or a customer id")->required();
  token->add_option("--ttl", token_args->ttl, "Lifetime: 15m (default), 900s, 2h; at most 24h");
  token->add_option("--data", token_args->data_dir, "Data directory (default: $TOUCHPOINT_DATA or ./touchpoint-data)");
  token->callback([=] { *exit_code = RunCustomerToken(*token_args); });
}

}  // namespace touchpoint::cli

// ingest, customer, identity and stats: the commands over a data directory.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <span>
#include <string>

#include <nlohmann/json.hpp>
#include <touchpoint/pipeline/file_ingest.h>
#include <touchpoint/privacy/consent.h>
#include <touchpoint/privacy/keys.h>
#include <touchpoint/store/activity_repository.h>
#include <touchpoint/store/api_key_repository.h>
#include <touchpoint/store/escalation_repository.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/wiring/render.h>

#include "cli/audit_access.h"
#include "cli/data_access.h"
#include "cli/allocator.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/demo_run.h"
#include "cli/engine_options.h"
#include "cli/reveal.h"

namespace touchpoint::cli {

std::string DefaultDataDir() {
  const char* env = std::getenv("TOUCHPOINT_DATA");
  return env && *env ? env : "./touchpoint-data";
}

namespace {

struct IngestArgs {
  std::string data_dir = DefaultDataDir();
  std::vector<std::string> files;
  std::string format = "auto";
  std::string kind = "auto";
  std::string rejects;
  int max_customers = 5;
  bool no_text = false;
  std::string synchronous = "full";
};

void DrawProgress(std::uint64_t done, std::uint64_t total, std::int64_t records,
                  std::chrono::steady_clock::time_point start) {
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double rate = secs > 0 ? static_cast<double>(records) / secs : 0;
  if (total > 0) {
    const double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    const int width = 30;
    const int filled = static_cast<int>(frac * width);
    std::fprintf(stderr, "\r[%.*s%*s] %5.1f%%  %lld records  %.0f/s ", filled,
                 "##############################", width - filled, "", frac * 100,
                 static_cast<long long>(records), rate);
  } else {
    std::fprintf(stderr, "\r%lld records  %.0f/s ", static_cast<long long>(records), rate);
  }
  std::fflush(stderr);
}

// Audits the consent decisions of committed identify calls, as the server's hook consumer does
// (privacy/consent.h); the audit log is opened at the first decision, so loads without any print
// nothing about it. At most once, like every hook consumer.
class IngestConsentAudit final : public pipeline::CommitObserver {
 public:
  explicit IngestConsentAudit(std::string data_dir) : data_dir_(std::move(data_dir)) {}
  void OnCommitted(std::span<const pipeline::CommittedEvent> events) override {
    for (const auto& e : events) {
      for (const store::ConsentRecord& r : e.consents) {
        if (!Ready() ||
            !privacy::AuditConsentRecord(*audit_, "pipeline:identify/event:" + std::to_string(e.seq), r).ok()) {
          ++lost_;
        }
      }
    }
  }
  // After the engine stopped (its hook drained): the last checkpoint.
  Status Close() { return audit_ ? audit_->Close() : Status::Ok(); }
  std::int64_t lost() const { return lost_; }

 private:
  bool Ready() {
    if (audit_ != nullptr) return true;
    if (failed_) return false;
    auto store = OpenForKeys(data_dir_);
    if (store.ok()) {
      store_ = std::move(*store);
      auto audit = OpenCliAudit(*store_, data_dir_);
      if (audit.ok()) audit_ = std::move(*audit);
    }
    failed_ = audit_ == nullptr;
    return !failed_;
  }
  std::string data_dir_;
  std::unique_ptr<store::Store> store_;  // declared before the log that uses it
  std::unique_ptr<privacy::AuditLog> audit_;
  bool failed_ = false;
  std::int64_t lost_ = 0;
};

int RunIngest(const IngestArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  KeepFreedMemory();  // a bulk load that exits when done
  pipeline::EngineOptions engine_options = MakeEngineOptions(a.max_customers, !a.no_text);
  // A bulk load: commits of 10–20 k events keep the writer and the committer both busy; a
  // deeper queue only adds memory (100 k queued took ~100 MB more for the same speed).
  engine_options.min_batch_events = 10'000;
  engine_options.max_batch_events = 20'000;
  engine_options.max_queued_events = 40'000;
  auto dir = OpenForWriting(a.data_dir, std::move(engine_options), "touchpoint ingest", a.synchronous,
                            /*escalation=*/!a.no_text);
  if (!dir.ok()) {
    std::fprintf(stderr, "touchpoint: %s\n", dir.status().message().c_str());
    return kExitUnavailable;
  }
  auto consent_audit = std::make_shared<IngestConsentAudit>(a.data_dir);
  (*dir)->engine->Subscribe(consent_audit);
  pipeline::FileIngestOptions o;
  o.format = a.format;
  o.kind = a.kind;
  o.rejects_path = a.rejects.empty() ? a.data_dir + "/rejects.ndjson" : a.rejects;
  const bool tty = isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
  if (tty) {
    o.progress = [start](std::uint64_t done, std::uint64_t total, std::int64_t records) {
      DrawProgress(done, total, records, start);
    };
  }
  // Nothing else will be submitted once the input ends: stopping then lets the engine write its
  // final profile checkpoint while the last batches commit (measured ~0.1 s of a 4 s load).
  o.on_input_end = [&engine = *(*dir)->engine] { engine.Stop(); };
  auto summary = pipeline::IngestFiles(*(*dir)->engine, a.files, o);
  if (tty) std::fprintf(stderr, "\n");
  if (!summary.ok()) {
    std::fprintf(stderr, "touchpoint: ingest stopped: %s\n", summary.status().message().c_str());
    return kExitUnavailable;
  }
  const auto stats = (*dir)->engine->Stats();
  (*dir)->engine->Stop();
  if (Status closed = consent_audit->Close(); !closed.ok() || consent_audit->lost() > 0) {
    std::fprintf(stderr, "touchpoint: %lld consent decisions were stored but not audited%s%s\n",
                 static_cast<long long>(consent_audit->lost()), closed.ok() ? "" : ": ",
                 closed.ok() ? "" : closed.message().c_str());
  }
  for (const auto& u : summary->unreadable) std::fprintf(stderr, "touchpoint: %s\n", u.c_str());
  if (summary->rejected > 0) {
    std::fprintf(stderr, "touchpoint: %lld records rejected; see %s\n", static_cast<long long>(summary->rejected),
                 o.rejects_path.c_str());
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::ordered_json out = {{"accepted", summary->accepted},
                        {"rejected", summary->rejected},
                        {"duplicates", summary->duplicates},
                        {"customers", stats.customers},
                        {"seconds", std::round(secs * 1000) / 1000}};
  // Only when there were some: events of erased people (the suppression list), dropped.
  if (summary->suppressed > 0) out["suppressed"] = summary->suppressed;
  std::printf("%s\n", out.dump().c_str());
  pipeline::Engine::CloseForExit(std::move((*dir)->engine));  // the process exits next
  if ((*dir)->escalation) {
    if ((*dir)->escalation->lost() > 0) {
      std::fprintf(stderr, "touchpoint: %lld escalation firings could not be stored (the database refused writes)\n",
                   static_cast<long long>((*dir)->escalation->lost()));
    }
    (*dir)->escalation->Close();
  }
  if (!summary->unreadable.empty()) return kExitUnavailable;
  return summary->rejected > 0 ? kExitPartial : kExitOk;
}

Result<Millis> ParseAsOf(const std::string& text) {
  if (text.empty()) return Millis{0};
  return ParseTimestamp(text);
}

}  // namespace

void RegisterStoreCommands(CLI::App& app, int* exit_code) {
  // ingest
  auto ingest_args = std::make_shared<IngestArgs>();
  CLI::App* ingest = app.add_subcommand("ingest", "Ingest NDJSON (Segment tracking format) or CSV/TSV files");
  ingest->add_option("files", ingest_args->files, "Files to ingest ('-' = standard input; .gz is decompressed)")
      ->required();
  ingest->add_option("--data", ingest_args->data_dir, "Data directory (created when missing)");
  ingest->add_option("--format", ingest_args->format, "auto | ndjson | csv | tsv")
      ->check(CLI::IsMember({"auto", "ndjson", "csv", "tsv"}));
  ingest->add_option("--kind", ingest_args->kind, "CSV content: auto | customers | orders | messages")
      ->check(CLI::IsMember({"auto", "customers", "orders", "messages"}));
  ingest->add_option("--rejects", ingest_args->rejects, "Rejects file (default DATA/rejects.ndjson)");
  ingest->add_option("--max-customers-per-identifier", ingest_args->max_customers,
                     "An identifier joining more customers than this stops being a merge key")
      ->check(CLI::Range(2, 1000));
  ingest->add_flag("--no-text", ingest_args->no_text, "Skip sentiment/intent analysis of messages");
  ingest->add_option("--synchronous", ingest_args->synchronous, "full (fsync each commit) | normal")
      ->check(CLI::IsMember({"full", "normal"}));
  ingest->callback([ingest_args, exit_code] { *exit_code = RunIngest(*ingest_args); });

  // customer show
  CLI::App* customer = app.add_subcommand("customer", "Look at customers");
  customer->require_subcommand(1);
  auto show_data = std::make_shared<std::string>(DefaultDataDir());
  auto show_ref = std::make_shared<std::string>();
  auto show_as_of = std::make_shared<std::string>();
  auto show_reveal = std::make_shared<RevealArgs>();
  CLI::App* show = customer->add_subcommand("show", "Print a customer profile as JSON");
  show->add_option("identifier", *show_ref,
                   "kind:value (phone, email, user, anon, device, member, external, open) or a customer id")
      ->required();
  show->add_option("--data", *show_data, "Data directory");
  show->add_option("--as-of", *show_as_of, "Compute windowed features as of this time (default: newest event)");
  AddRevealOptions(show, show_reveal.get());
  show->callback([=] {
    auto as_of = ParseAsOf(*show_as_of);
    if (!as_of.ok()) {
      *exit_code = Fail(as_of.status().WithContext("--as-of"));
      return;
    }
    auto policy = MaskPolicyFor(*show_reveal, *show_data);
    if (!policy.ok()) {
      *exit_code = Fail(policy.status());
      return;
    }
    auto store = OpenReadOnly(*show_data);
    if (!store.ok()) {
      *exit_code = Fail(Status::Unavailable(store.status().message()));
      return;
    }
    auto json = wiring::CustomerJson(*pipeline::StoreCustomerView(**store), *show_ref, *as_of, *policy);
    if (!json.ok()) {
      *exit_code = Fail(json.status());
      return;
    }
    const nlohmann::json shown = nlohmann::json::parse(*json);
    const std::string target = "customer:" + std::to_string(shown.value("id", std::int64_t{0}));
    if (Status audited = AuditCliReveal(*policy, *show_data, target); !audited.ok()) {
      *exit_code = Fail(audited);
      return;
    }
    std::printf("%s\n", shown.dump(2).c_str());
  });

  // identity explain | split | shared
  CLI::App* identity = app.add_subcommand("identity", "Explain, list and undo identity merges");
  identity->require_subcommand(1);
  auto id_data = std::make_shared<std::string>(DefaultDataDir());
  auto id_ref = std::make_shared<std::string>();
  CLI::App* explain = identity->add_subcommand("explain", "Why the records of this person are together");
  explain->add_option("identifier", *id_ref, "kind:value or a customer id")->required();
  explain->add_option("--data", *id_data, "Data directory");
  auto explain_reveal = std::make_shared<RevealArgs>();
  AddRevealOptions(explain, explain_reveal.get());
  explain->callback([=] {
    auto policy = MaskPolicyFor(*explain_reveal, *id_data);
    if (!policy.ok()) {
      *exit_code = Fail(policy.status());
      return;
    }
    auto store = OpenReadOnly(*id_data);
    if (!store.ok()) {
      *exit_code = Fail(Status::Unavailable(store.status().message()));
      return;
    }
    auto json = wiring::ExplainJson(*pipeline::StoreCustomerView(**store), *id_ref, *policy);
    if (!json.ok()) {
      *exit_code = Fail(json.status());
      return;
    }
    const std::string target =
        "customer:" + std::to_string(nlohmann::json::parse(*json).value("customer", std::int64_t{0}));
    if (Status audited = AuditCliReveal(*policy, *id_data, target); !audited.ok()) {
      *exit_code = Fail(audited);
      return;
    }
    std::printf("%s\n", json->c_str());
  });
  auto merge_id = std::make_shared<std::int64_t>(0);
  CLI::App* split = identity->add_subcommand("split", "Undo a merge (see identity explain for merge ids)");
  split->add_option("merge", *merge_id, "Merge id")->required()->check(CLI::PositiveNumber);
  split->add_option("--data", *id_data, "Data directory");
  split->callback([=] {
    auto dir = OpenForWriting(*id_data, MakeEngineOptions(5, true), "touchpoint identity split");
    if (!dir.ok()) {
      *exit_code = Fail(Status::Unavailable(dir.status().message()));
      return;
    }
    Status s = (*dir)->engine->Split(MergeId(*merge_id));
    if (!s.ok()) {
      *exit_code = Fail(s);
      return;
    }
    std::printf("{\"split\":%lld}\n", static_cast<long long>(*merge_id));
  });
  CLI::App* shared = identity->add_subcommand("shared", "Identifiers that stopped being merge keys");
  shared->add_option("--data", *id_data, "Data directory");
  shared->callback([=] {
    auto store = OpenReadOnly(*id_data);
    if (!store.ok()) {
      *exit_code = Fail(Status::Unavailable(store.status().message()));
      return;
    }
    auto ids = (*store)->Get<store::IdentityRepository>().BlockedIdentifiers();
    if (!ids.ok()) {
      *exit_code = Fail(ids.status());
      return;
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : *ids) {
      out.push_back({{"identifier", r.kind + ":" + r.value}, {"customers_seen_with", r.joins + 2},
                     {"first_seen", FormatTimestamp(r.first_seen)}});
    }
    std::printf("%s\n", out.dump(2).c_str());
  });

  // keys create | list | revoke
  CLI::App* keys = app.add_subcommand(
      "keys", "API keys (create, list, revoke) and the master key (init-master, public-key)");
  keys->require_subcommand(1);
  auto keys_data = std::make_shared<std::string>(DefaultDataDir());
  auto role = std::make_shared<std::string>();
  CLI::App* create = keys->add_subcommand("create", "Create a key; it is printed once (last line) and only its hash is kept");
  create->add_option("--role", *role, "ingest | admin | supervisor | agent | analyst")->required();
  create->add_option("--data", *keys_data, "Data directory");
  create->callback([=] {
    auto r = privacy::ParseRole(*role);
    if (!r.ok()) {
      *exit_code = Fail(r.status());
      return;
    }
    auto store = OpenForKeys(*keys_data);
    if (!store.ok()) {
      *exit_code = Fail(Status::Unavailable(store.status().message()));
      return;
    }
    auto audit = OpenCliAudit(**store, *keys_data);  // before the change: an unusable key refuses it
    if (!audit.ok()) {
      *exit_code = Fail(Status::Unavailable(audit.status().message()));
      return;
    }
    auto created = privacy::CreateApiKey((*store)->Get<store::ApiKeyRepository>(), *r, SystemClock::Instance().Now());
    if (!created.ok()) {
      *exit_code = Fail(created.status());
      return;
    }
    Status recorded = (*audit)->Record(CliActor(), "api_key.create", "api_key:" + std::to_string(created->record.id),
                                       "{\"role\":\"" + *role + "\",\"prefix\":\"" + created->record.prefix + "\"}");
    if (recorded.ok()) recorded = (*audit)->Close();
    if (!recorded.ok()) {
      std::fprintf(stderr, "touchpoint: the key was created but not audited: %s\n", recorded.message().c_str());
      *exit_code = kExitUnavailable;
    }
    std::fprintf(stderr, "created %s key %lld (prefix %s); store it now, it is not shown again\n",
                 role->c_str(), static_cast<long long>(created->record.id), created->record.prefix.c_str());
    std::printf("%s\n", created->key.c_str());
  });
  CLI::App* list = keys->add_subcommand("list", "List keys (prefix, role, created, revoked)");
  list->add_option("--data", *keys_data, "Data directory");
  list->callback([=] {
    auto store = OpenForKeys(*keys_data);
    if (!store.ok()) {
      *exit_code = Fail(Status::Unavailable(store.status().message()));
      return;
    }
    auto all = (*store)->Get<store::ApiKeyRepository>().List();
    if (!all.ok()) {
      *exit_code = Fail(all.status());
      return;
    }
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& k : *all) {
      nlohmann::ordered_json e = {{"id", k.id}, {"prefix", k.prefix}, {"role", k.role},
                                  {"created_at", FormatTimestamp(k.created_at)}};
      e["revoked_at"] = k.revoked_at ? nlohmann::ordered_json(FormatTimestamp(k.revoked_at)) : nlohmann::ordered_json(nullptr);
      out.push_back(e);
    }
    std::printf("%s\n", out.dump(2).c_str());
  });
  auto which = std::make_shared<std::string>();
  CLI::App* revoke = keys->add_subcommand("revoke", "Revoke a key by id or prefix");
  revoke->add_option("key", *which, "Key id or prefix (see keys list)")->required();
  revoke->add_option("--data", *keys_data, "Data directory");
  revoke->callback([=] {
    auto store = OpenForKeys(*keys_data);
    if (!store.ok()) {
      *exit_code = Fail(Status::Unavailable(store.status().message()));
      return;
    }
    auto audit = OpenCliAudit(**store, *keys_data);
    if (!audit.ok()) {
      *exit_code = Fail(Status::Unavailable(audit.status().message()));
      return;
    }
    Status s = (*store)->Get<store::ApiKeyRepository>().Revoke(*which, SystemClock::Instance().Now());
    if (!s.ok()) {
      *exit_code = Fail(s);
      return;
    }
    // The target as given: an id or a prefix that matched (both shown by `keys list`); a whole
    // key matches neither, so it never reaches the log.
    Status recorded = (*audit)->Record(CliActor(), "api_key.revoke", "api_key:" + *which);
    if (recorded.ok()) recorded = (*audit)->Close();
    if (!recorded.ok()) {
      std::fprintf(stderr, "touchpoint: the key was revoked but not audited: %s\n", recorded.message().c_str());
      *exit_code = kExitUnavailable;
    }
    std::printf("{\"revoked\":\"%s\"}\n", which->c_str());
  });

  // demo (generate, ingest, serve) and demo generate
  auto demo_args = std::make_shared<DemoArgs>();
  CLI::App* demo = app.add_subcommand("demo", "Generate demo data, ingest it and serve (see `demo generate`)");
  demo->add_option("--data", demo_args->data_dir, "Data directory");
  demo->add_option("--listen", demo_args->listen, "HOST:PORT to serve on");
  demo->add_option("--customers", demo_args->customers, "Customers in the generated set")->check(CLI::PositiveNumber);
  demo->add_option("--events", demo_args->events, "Events (default 50 per customer)");
  demo->add_option("--seed", demo_args->seed, "Seed of the generator");
  demo->add_option("--tickets", demo_args->tickets, "Tickets of the demo service desk, about (0: no desk)")
      ->check(CLI::Range(int64_t{0}, int64_t{100'000}));
  demo->add_flag_callback("--no-serve", [demo_args] { demo_args->serve = false; },
                          "Build the demo and print what to try, without serving");
  RegisterDemoGenerateCommand(*demo, exit_code);
  demo->callback([demo, demo_args, exit_code] {
    if (!demo->get_subcommands().empty()) return;  // `demo generate` ran
    *exit_code = RunDemo(*demo_args);
  });

  // stats
  auto stats_data = std::make_shared<std::string>(DefaultDataDir());
  CLI::App* stats = app.add_subcommand("stats", "Counts of events, customers, identifiers, messages, surveys");
  stats->add_option("--data", *stats_data, "Data directory");
  stats->callback([=] {
    auto store = OpenReadOnly(*stats_data);
    if (!store.ok()) {
      *exit_code = Fail(Status::Unavailable(store.status().message()));
      return;
    }
    store::Store& st = **store;
    auto events = st.Get<store::EventLog>().Count();
    auto ids = st.Get<store::IdentityRepository>().Counts();
    auto activity = st.Get<store::ActivityRepository>().Counts();
    auto escalations = st.Get<store::EscalationRepository>().Count();
    for (const Status& s : {events.status(), ids.status(), activity.status(), escalations.status()}) {
      if (!s.ok()) {
        *exit_code = Fail(s);
        return;
      }
    }
    nlohmann::ordered_json out = {{"events", *events},
                                  {"customers", ids->live_customers},
                                  {"identifiers", ids->identifiers},
                                  {"messages", activity->messages},
                                  {"surveys", activity->surveys},
                                  {"orders", activity->orders},
                                  {"merges", ids->merges},
                                  {"escalations", *escalations}};
    std::printf("%s\n", out.dump().c_str());
  });

  // store migrate
  RegisterStoreMigrateCommand(app, exit_code);
}

}  // namespace touchpoint::cli

// `touchpoint privacy export | erase | verify-receipt`: a person's subject rights from the command
// line (docs/security.md, "Subject rights: export and erasure"). The work is wiring's
// (wiring/subject_rights.h), shared with the HTTP API; this file parses arguments, opens the
// store and writes files.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <touchpoint/core/time.h>
#include <touchpoint/pipeline/customer_view.h>
#include <touchpoint/privacy/encrypted_store.h>
#include <touchpoint/privacy/export_archive.h>
#include <touchpoint/privacy/master_key.h>
#include <touchpoint/privacy/receipt.h>
#include <touchpoint/privacy/signing.h>
#include <touchpoint/store/audit_repository.h>
#include <touchpoint/wiring/subject_rights.h>

#include "cli/audit_access.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/data_access.h"
#include "cli/engine_options.h"

namespace touchpoint::cli {
namespace {

// Exit codes of `privacy verify-receipt`.
constexpr int kReceiptValid = 0;
constexpr int kReceiptMismatch = 1;
constexpr int kReceiptMalformed = 2;

// Writes `text` to `path` (mode 600: it is personal data or names the person's ids), or to
// stdout when `path` is empty or "-". A failure names the path and the system's reason.
Status WriteOut(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return Status::Ok();
  }
  const auto failed = [&path] { return Status::Unavailable("cannot write " + path + ": " + std::strerror(errno)); };
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return failed();
  ::fchmod(fd, 0600);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      const Status s = failed();
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const Status s = failed();
    ::close(fd);
    return s;
  }
  if (::close(fd) != 0) return failed();
  return Status::Ok();
}

// "sqlite", "postgres" or "memory", from a store URL (store/open.h's schemes).
std::string BackendOf(const std::string& url) {
  if (url.rfind("postgres", 0) == 0) return "postgres";
  if (url.rfind("memory", 0) == 0) return "memory";
  return "sqlite";
}

struct ExportArgs {
  std::string data_dir;
  std::string ref;
  std::string out;
  std::string format;  // json | zip; empty: zip when --out ends in .zip, else json
};

int RunExport(const ExportArgs& a) {
  const bool zip = a.format.empty() ? a.out.size() > 4 && a.out.compare(a.out.size() - 4, 4, ".zip") == 0
                                    : a.format == "zip";
  auto store = OpenReadOnly(a.data_dir);
  if (!store.ok()) return Fail(store.status());
  std::unique_ptr<pipeline::CustomerView> view = pipeline::StoreCustomerView(**store);
  // Recorded before the document leaves: no export without its audit entry.
  auto audit_store = OpenForKeys(a.data_dir);
  if (!audit_store.ok()) return Fail(audit_store.status().WithContext("the export cannot be audited"));
  auto audit = OpenCliAudit(**audit_store, a.data_dir);
  if (!audit.ok()) return Fail(audit.status().WithContext("the export cannot be audited"));
  const Millis now = SystemClock::Instance().Now();
  auto exported = wiring::ExportPerson(*view, **store, a.ref, CliActor(), audit->get(), now);
  if (!exported.ok()) return Fail(exported.status());
  (void)(*audit)->Close();
  std::string document = std::move(exported->json);
  if (zip) {
    auto archive = privacy::ExportArchive(document, now);
    if (!archive.ok()) return Fail(archive.status());
    document = std::move(*archive);
  }
  if (Status s = WriteOut(a.out, document); !s.ok()) return Fail(s);
  if (!a.out.empty() && a.out != "-") {
    const privacy::ExportCounts& c = exported->counts;
    std::fprintf(stderr, "exported %lld events, %lld messages, %lld orders, %lld surveys to %s\n",
                 static_cast<long long>(c.events), static_cast<long long>(c.messages),
                 static_cast<long long>(c.orders), static_cast<long long>(c.surveys), a.out.c_str());
  }
  return kExitOk;
}

struct EraseArgs {
  std::string data_dir;
  std::string ref;
  std::string reason;
  std::string out;
};

int RunErase(const EraseArgs& a) {
  const std::string key_path = MasterKeyPathFor(a.data_dir);
  auto master = privacy::LoadMasterKey(key_path);
  if (!master.ok()) {
    return Fail(Status::FailedPrecondition("an erasure needs the master key (" + key_path +
                                           "): it signs the receipt and keys the suppression list: " +
                                           master.status().message()));
  }
  const privacy::Signer signer = privacy::Signer::FromMasterKey(*master);
  pipeline::EngineOptions options = MakeEngineOptions(5, /*with_text=*/false);
  options.suppression_key = wiring::SuppressionKeyFrom(*master);
  auto opened = OpenForWriting(a.data_dir, std::move(options), "touchpoint privacy erase");
  if (!opened.ok()) {
    return Fail(opened.status().WithContext("a running server erases through POST /v1/privacy/erasures"));
  }
  auto audit_store = OpenForKeys(a.data_dir);
  if (!audit_store.ok()) return Fail(audit_store.status());
  auto audit = OpenCliAudit(**audit_store, a.data_dir);
  if (!audit.ok()) return Fail(audit.status());
  wiring::ErasureOptions o;
  o.signer = &signer;
  o.audit = audit->get();
  o.backend = BackendOf(StoreUrl(a.data_dir));
  // Crypto-shredding: the person's data keys go with the erasure (the store shares the writer's
  // keyring; nothing when the data is not encrypted).
  o.shred = privacy::CryptoShredder(**audit_store);
#ifdef TP_TEST_FAULTS
  // Fault injection for the crash tests (tests/cli/rights_cli_test.cc), only in the test binary
  // `touchpoint-faults` (src/cli/CMakeLists.txt): SIGKILL inside the erasure's transaction (after
  // its deletes, before its commit: the shred hook runs there) or right after its commit.
  const char* kill_at = std::getenv("TOUCHPOINT_TEST_KILL_IN_ERASURE");
  const std::string kill(kill_at != nullptr ? kill_at : "");
  if (kill == "before-commit") {
    o.shred = [](std::span<const CustomerId>) {
      ::raise(SIGKILL);
      return Status::Ok();
    };
  }
#endif
  auto erased = wiring::ErasePerson(*(*opened)->engine, a.ref, CliActor(), a.reason, o);
#ifdef TP_TEST_FAULTS
  if (kill == "after-commit") ::raise(SIGKILL);
#endif
  if (!erased.ok()) return Fail(erased.status());
  if (!erased->audit_status.ok()) {
    std::fprintf(stderr, "touchpoint: warning: the erasure is done but its audit entry failed: %s\n",
                 erased->audit_status.message().c_str());
  }
  (void)(*audit)->Close();
  (*opened)->engine->Stop();
  if (Status s = WriteOut(a.out, erased->receipt); !s.ok()) {
    // The erasure is done: say where the receipt went instead.
    std::fprintf(stderr, "touchpoint: %s; the receipt follows on stdout\n", s.message().c_str());
    std::fwrite(erased->receipt.data(), 1, erased->receipt.size(), stdout);
    return kExitUnavailable;
  }
  const store::ErasureCounts& c = erased->facts.counts;
  std::fprintf(stderr, "erased customer %lld (%zu customer ids): %lld events, %lld messages, %lld orders, %lld surveys, "
               "%lld consents, %lld tickets de-identified, %zu identifiers suppressed\n",
               static_cast<long long>(erased->facts.subject.customer.value()), erased->facts.subject.members.size(),
               static_cast<long long>(c.events), static_cast<long long>(c.messages), static_cast<long long>(c.orders),
               static_cast<long long>(c.surveys), static_cast<long long>(c.consents),
               static_cast<long long>(c.tickets), erased->facts.suppressed.size());
  return kExitOk;
}

struct VerifyArgs {
  std::string data_dir;
  std::string file;
  std::string public_key_file;
};

int RunVerify(const VerifyArgs& a) {
  std::ifstream in(a.file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "touchpoint: cannot read %s\n", a.file.c_str());
    return kReceiptMalformed;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::vector<privacy::PublicKey> trusted;
  if (!a.public_key_file.empty()) {
    std::ifstream kin(a.public_key_file);
    if (!kin) {
      std::fprintf(stderr, "touchpoint: cannot read public key file %s\n", a.public_key_file.c_str());
      return kReceiptMalformed;
    }
    for (std::string line; std::getline(kin, line);) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      auto key = privacy::ParsePublicKeyFile(line);
      if (!key.ok()) {
        std::fprintf(stderr, "touchpoint: %s: %s\n", a.public_key_file.c_str(), key.status().message().c_str());
        return kReceiptMalformed;
      }
      trusted.push_back(*key);
    }
  } else {
    // The installation's keys: every public key the store recorded (rotations included), else
    // the one derived from the master key file.
    if (auto store = OpenReadOnly(a.data_dir); store.ok()) {
      if (auto keys = (*store)->Get<store::SigningKeyRepository>().List(); keys.ok()) {
        for (const auto& k : *keys) {
          if (auto parsed = privacy::ParsePublicKey(k.public_key); parsed.ok()) trusted.push_back(*parsed);
        }
      }
    }
    if (trusted.empty()) {
      if (auto signer = LoadSigner(MasterKeyPathFor(a.data_dir)); signer.ok() && signer->has_value()) {
        trusted.push_back((*signer)->public_key());
      }
    }
    if (trusted.empty()) {
      std::fprintf(stderr, "touchpoint: no public key of this installation found; pass --public-key FILE\n");
      return kReceiptMalformed;
    }
  }
  const privacy::ReceiptCheck check = privacy::VerifyReceipt(text.str(), trusted);
  switch (check.verdict) {
    case privacy::ReceiptVerdict::kValid:
      std::printf("%s\n", check.message.c_str());
      return kReceiptValid;
    case privacy::ReceiptVerdict::kMismatch:
      std::printf("INVALID: %s\n", check.message.c_str());
      return kReceiptMismatch;
    case privacy::ReceiptVerdict::kMalformed:
      std::fprintf(stderr, "touchpoint: %s: malformed receipt: %s\n", a.file.c_str(), check.message.c_str());
      return kReceiptMalformed;
  }
  return kReceiptMalformed;
}

}  // namespace

void RegisterRightsCommands(CLI::App& app, int* exit_code) {
  CLI::App* privacy = PrivacyCommand(app);

  auto ex = std::make_shared<ExportArgs>();
  ex->data_dir = DefaultDataDir();
  CLI::App* exp = privacy->add_subcommand(
      "export", "Everything held on the person IDENTIFIER resolves to, as one JSON file or a zip of CSV files "
                "(audited)");
  exp->add_option("identifier", ex->ref, "kind:value (phone:…, email:…, user:…) or a customer id")->required();
  exp->add_option("--out", ex->out, "Write here (mode 600) instead of stdout");
  exp->add_option("--format", ex->format,
                  "json (one document) or zip (a CSV file per kind of record and a README); "
                  "default: zip when --out ends in .zip, else json")
      ->check(CLI::IsMember({"json", "zip"}));
  exp->add_option("--data", ex->data_dir, "Data directory");
  exp->callback([=] { *exit_code = RunExport(*ex); });

  auto er = std::make_shared<EraseArgs>();
  er->data_dir = DefaultDataDir();
  CLI::App* erase = privacy->add_subcommand(
      "erase", "Erase the person IDENTIFIER resolves to (all merged customers) and print a signed receipt; "
               "exit 4 when unknown");
  erase->add_option("identifier", er->ref, "kind:value (phone:…, email:…, user:…) or a customer id")->required();
  erase->add_option("--reason", er->reason, "Why (kept in the receipt, not in the audit log)");
  erase->add_option("--out", er->out, "Write the receipt here (mode 600) instead of stdout");
  erase->add_option("--data", er->data_dir, "Data directory");
  erase->callback([=] { *exit_code = RunErase(*er); });

  auto vr = std::make_shared<VerifyArgs>();
  vr->data_dir = DefaultDataDir();
  CLI::App* verify = privacy->add_subcommand(
      "verify-receipt", "Check an erasure receipt's signature: exit 0 valid, 1 signature mismatch, 2 malformed");
  verify->add_option("file", vr->file, "The receipt file")->required();
  verify->add_option("--public-key", vr->public_key_file,
                     "A public key file (touchpoint keys public-key); default: this installation's keys");
  verify->add_option("--data", vr->data_dir, "Data directory (whose store lists the installation's keys)");
  verify->callback([=] { *exit_code = RunVerify(*vr); });
}

}  // namespace touchpoint::cli

// keys encrypt: encrypting a clear SQLite data directory (one created before encryption at rest,
// or with `[privacy] encryption = false`) — docs/security.md "Encrypting an existing directory".
//
// The clear database is copied (store/copy.h: every table it copies, in batches of one
// transaction each, resumable) into a new store in DATA/encrypting/ that is opened through the
// encryption layer (wiring::ApplyEncryption with encryption on): that store is marked encrypted
// before anything is copied into it (installation id, key check, keyring), and every value the
// layer seals at write time is sealed on the way in. When the copy is complete and its counts
// equal the source's, the encrypted file replaces the clear one (rename, under the directory's
// writer lock) and DATA/encrypting/ is removed. Afterwards the directory is one created encrypted.
//
// Resumable: a kill -9 during the copy leaves DATA/encrypting/ with part of the data (and the
// clear database untouched); `keys encrypt --resume` goes on where the copy ended. A kill after
// the rename leaves an encrypted directory with DATA/encrypting/ still there: --resume removes it.
//
// Audited (`store.encrypt`, counts only) once the encrypted file is in place.
//
// Refused: PostgreSQL (not supported yet), a directory in use by a writer (its LOCK), one already
// encrypted, and one holding data the copy does not carry yet (service desk, outbox deliveries).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/privacy/encrypted_store.h>
#include <touchpoint/store/agent_repository.h>
#include <touchpoint/store/copy.h>
#include <touchpoint/store/deskflow_repository.h>
#include <touchpoint/store/keyring_repository.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/outbox_repository.h>
#include <touchpoint/store/rekey_repository.h>
#include <touchpoint/store/sla_repository.h>
#include <touchpoint/store/ticket_repository.h>
#include <touchpoint/wiring/encryption.h>

#include "cli/audit_access.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/data_access.h"

namespace touchpoint::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPurpose = "touchpoint keys encrypt";
constexpr const char* kWorkDir = "encrypting";

struct EncryptArgs {
  std::string key_file;
  std::string data_dir = DefaultDataDir();
  bool resume = false;
  std::int64_t batch = 5'000;
};

// What the copy does not carry yet, named when the source holds any of it (empty: nothing).
Result<std::vector<std::string>> UncopiedData(store::Store& source) {
  std::vector<std::string> found;
  if (auto* tickets = source.Find<store::TicketRepository>(); tickets != nullptr) {
    std::int64_t n = 0;
    TP_RETURN_IF_ERROR(tickets->Scan([&](store::TicketRecord&&) { ++n; }));
    if (n > 0) found.push_back("service desk tickets");
  }
  if (auto* agents = source.Find<store::AgentRepository>(); agents != nullptr) {
    TP_ASSIGN_OR_RETURN(auto list, agents->List());
    if (!list.empty()) found.push_back("service desk agents");
  }
  if (auto* sla = source.Find<store::SlaRepository>(); sla != nullptr) {
    TP_ASSIGN_OR_RETURN(auto policies, sla->Policies());
    if (!policies.empty()) found.push_back("SLA policies");
  }
  if (auto* desk = source.Find<store::DeskflowRepository>(); desk != nullptr) {
    TP_ASSIGN_OR_RETURN(auto canned, desk->ListCanned());
    if (!canned.empty()) found.push_back("canned replies");
    std::int64_t contacts = 0;
    TP_RETURN_IF_ERROR(desk->ScanContacts(std::numeric_limits<Millis>::min(), std::numeric_limits<Millis>::max(),
                                          [&](store::TicketContactRecord&&) { ++contacts; }));
    if (contacts > 0) found.push_back("ticket contacts");
  }
  if (auto* outbox = source.Find<store::OutboxRepository>(); outbox != nullptr) {
    TP_ASSIGN_OR_RETURN(auto counts, outbox->CountByState());
    std::int64_t n = 0;
    for (std::int64_t c : counts) n += c;
    if (n > 0) found.push_back("outbox deliveries");
  }
  if (auto* rekey = source.Find<store::RekeyRepository>(); rekey != nullptr) {
    TP_ASSIGN_OR_RETURN(auto cells, rekey->CellsAfter(store::SealedColumn::kAttachmentData, "", 1));
    if (!cells.empty()) found.push_back("attachments");
  }
  return found;
}

Status SyncDir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Unavailable("cannot open " + dir.string());
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Status::Unavailable("cannot fsync " + dir.string());
}

// The directory's writer lock (the protocol of the SQLite store's: flock on DATA/LOCK), held
// while the encrypted file replaces the clear one, after both stores were closed.
class DirLock {
 public:
  static Result<std::unique_ptr<DirLock>> Take(const fs::path& dir) {
    const std::string path = (dir / "LOCK").string();
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::Unavailable("cannot open " + path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return Status::Unavailable("data directory " + dir.string() +
                                 " was taken by another process before the encrypted database replaced the clear "
                                 "one: stop it, then run `touchpoint keys encrypt --resume`");
    }
    return std::unique_ptr<DirLock>(new DirLock(fd));
  }
  ~DirLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_;
};

fs::path SqliteFile(std::string_view url) {
  std::string_view rest = url.substr(7);  // "sqlite:"
  if (rest.starts_with("//")) rest.remove_prefix(2);
  return fs::path(std::string(rest));
}

// Replaces the clear database `db` by the encrypted `encrypted` (both closed).
Status Swap(const fs::path& db, const fs::path& encrypted) {
  const fs::path dir = db.parent_path().empty() ? fs::path(".") : db.parent_path();
  TP_ASSIGN_OR_RETURN(auto lock, DirLock::Take(dir));
  std::error_code ec;
  for (const char* suffix : {"-wal", "-journal"}) {
    for (const fs::path& f : {fs::path(db.string() + suffix), fs::path(encrypted.string() + suffix)}) {
      if (fs::exists(f, ec) && fs::file_size(f, ec) > 0) {
        return Status::FailedPrecondition(f.string() + " is not empty (a database was not closed cleanly): start and "
                                          "stop `touchpoint serve` once, then run `touchpoint keys encrypt --resume`");
      }
    }
  }
  for (const char* suffix : {"-wal", "-shm", "-journal"}) fs::remove(fs::path(db.string() + suffix), ec);
  fs::rename(encrypted, db, ec);
  if (ec) return Status::Unavailable("cannot move the encrypted database into place: " + ec.message());
  TP_RETURN_IF_ERROR(SyncDir(dir));
  return Status::Ok();
}

// Records the encryption in the (now encrypted) store's audit log: `store.encrypt`, counts only.
void AuditEncryption(const std::string& data_dir, const nlohmann::json& details) {
  auto store = OpenForKeys(data_dir);
  Status s = store.ok() ? Status::Ok() : store.status();
  if (s.ok()) {
    auto audit = OpenCliAudit(**store, data_dir);
    s = audit.ok() ? (*audit)->Record(CliActor(), "store.encrypt", "store", details.dump()) : audit.status();
    if (s.ok()) s = (*audit)->Close();
  }
  if (!s.ok()) std::fprintf(stderr, "touchpoint: note: the encryption is not audited: %s\n", s.message().c_str());
}

int RunEncrypt(const EncryptArgs& a) {
  if (!a.key_file.empty()) MasterKeyFileOverride() = a.key_file;
  const std::string url = StoreUrl(a.data_dir);
  if (!url.starts_with("sqlite:")) {
    return Fail(Status::FailedPrecondition(
        "keys encrypt works on SQLite data directories; encrypting a " + std::string(url.substr(0, url.find(':'))) +
        " store in place is not supported yet (docs/security.md, \"Encrypting an existing directory\")"));
  }
  const fs::path db = SqliteFile(url);
  const fs::path dir = db.parent_path().empty() ? fs::path(".") : db.parent_path();
  const fs::path work = dir / kWorkDir;
  const fs::path target_db = work / db.filename();
  std::error_code ec;
  if (!fs::exists(db, ec)) {
    return Fail(Status::FailedPrecondition("no Touchpoint database at " + db.string()));
  }
  auto base = BaseOpenOptions();
  if (!base.ok()) return Fail(base.status());
  store::OpenOptions options = *base;
  options.purpose = kPurpose;
  options.without_layer = true;  // the source as stored: its marks are read below

  nlohmann::json out;
  {
    auto source = store::Open(url, options);  // the writer lock: no writer runs meanwhile
    if (!source.ok()) return Fail(source.status());
    auto* marks = (*source)->Find<store::KeyringRepository>();
    if (marks == nullptr) return Fail(Status::Internal("this store has no settings table"));
    auto marked = marks->Setting(privacy::kInstallationSetting);
    if (!marked.ok()) return Fail(marked.status());
    if (*marked) {
      if (fs::exists(work, ec)) {
        // Killed after the swap: only the work directory is left.
        fs::remove_all(work, ec);
        if (ec) return Fail(Status::Unavailable("cannot remove " + work.string() + ": " + ec.message()));
        source->reset();  // its writer lock, before the audit's open
        AuditEncryption(a.data_dir, nlohmann::json{{"resumed_after_swap", true}});
        std::printf("%s\n", nlohmann::json{{"encrypted", true}, {"finished", "removed the work directory"}}.dump().c_str());
        return kExitOk;
      }
      return Fail(Status::FailedPrecondition("this data directory is already encrypted at rest (" + db.string() + ")"));
    }
    if (fs::exists(work, ec) && !a.resume) {
      return Fail(Status::FailedPrecondition("an encryption of this directory was interrupted (" + work.string() +
                                             " exists): run `touchpoint keys encrypt --resume`"));
    }
    auto uncopied = UncopiedData(**source);
    if (!uncopied.ok()) return Fail(uncopied.status());
    if (!uncopied->empty()) {
      std::string what;
      for (size_t i = 0; i < uncopied->size(); ++i) what += (i > 0 ? ", " : "") + (*uncopied)[i];
      return Fail(Status::FailedPrecondition("this directory holds " + what +
                                             ", which keys encrypt does not carry over yet: it is not encrypted "
                                             "(docs/security.md, \"Encrypting an existing directory\")"));
    }

    // The target: a new store, encrypted from its first write.
    fs::create_directories(work, ec);
    if (ec) return Fail(Status::Unavailable("cannot create " + work.string() + ": " + ec.message()));
    fs::permissions(work, fs::perms::owner_all, fs::perm_options::replace, ec);
    const std::string to_url = "sqlite://" + target_db.string();
    auto raw = store::Open(to_url, options);
    if (!raw.ok()) return Fail(raw.status().WithContext("the encrypted copy"));
    wiring::EncryptionSettings settings = EncryptionSettingsFor(url);
    settings.enabled = true;
    auto target = wiring::ApplyEncryption(to_url, options, std::move(*raw), settings);
    if (!target.ok()) return Fail(target.status().WithContext("the encrypted copy"));
    if (dynamic_cast<privacy::EncryptedStore*>(target->get()) == nullptr) {
      return Fail(Status::Internal("the copy in " + work.string() +
                                   " is neither new nor encrypted: remove that directory and run keys encrypt again"));
    }
    std::fprintf(stderr, "touchpoint: encrypting %s (copy in %s)\n", db.string().c_str(), work.string().c_str());
    store::CopyOptions copy;
    copy.batch_rows = a.batch;
    auto report = store::CopyStore(**source, **target, copy);
    if (!report.ok()) {
      std::fprintf(stderr, "touchpoint: the encryption stopped; the clear data is untouched. Run `touchpoint keys "
                           "encrypt --resume` to go on\n");
      return Fail(report.status());
    }
    nlohmann::json tables = nlohmann::json::object();
    for (const store::TableCount& t : report->tables) tables[t.table] = t.target;
    out["tables"] = tables;
    out["rows_written"] = report->rows_written;
  }  // both closed (their WAL checkpointed), and the writer lock released
  if (Status s = Swap(db, target_db); !s.ok()) return Fail(s);
  fs::remove_all(work, ec);
  AuditEncryption(a.data_dir, nlohmann::json{{"rows_written", out["rows_written"]}});
  out["encrypted"] = true;
  out["database"] = db.string();
  std::fprintf(stderr,
               "touchpoint: %s is encrypted at rest now; the clear file was deleted (not overwritten: its blocks may "
               "remain on the disk, and backups taken before hold the data in clear)\n",
               db.string().c_str());
  std::printf("%s\n", out.dump().c_str());
  return kExitOk;
}

}  // namespace

void RegisterKeyEncryptCommand(CLI::App& keys, int* exit_code) {
  auto args = std::make_shared<EncryptArgs>();
  CLI::App* e = keys.add_subcommand(
      "encrypt",
      "Encrypt a clear SQLite data directory (stop the server first); resumable after an interruption");
  e->add_option("--key-file", args->key_file, "The master key file (default as for init-master; created if absent)");
  e->add_option("--data", args->data_dir, "Data directory (default: $TOUCHPOINT_DATA or ./touchpoint-data)");
  e->add_flag("--resume", args->resume, "Finish an interrupted encryption");
  e->add_option("--batch", args->batch, "Rows per transaction (default 5000)")->check(CLI::Range(1, 1'000'000));
  e->callback([=] { *exit_code = RunEncrypt(*args); });
}

}  // namespace touchpoint::cli

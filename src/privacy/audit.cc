#include <touchpoint/privacy/audit.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <touchpoint/core/status.h>

#include "privacy/sodium_internal.h"

namespace touchpoint::privacy {
namespace {

constexpr std::string_view kEntryMagic = "TPA1";
constexpr std::string_view kCheckpointMagic = "TPC1";
constexpr std::string_view kLinePrefix = "tp-audit-checkpoint v1 ";
const std::string kZeroHash(64, '0');

void PutU64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void PutField(std::string& out, std::string_view v) {
  const auto n = static_cast<std::uint32_t>(v.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
  out.append(v);
}

// Lower-case hex digit values; 0xff for anything else (upper case is not canonical here: hashes
// are stored lower-case). A table: verification decodes two hashes per entry.
constexpr std::array<unsigned char, 256> kHexValue = [] {
  std::array<unsigned char, 256> t{};
  t.fill(0xff);
  for (int c = '0'; c <= '9'; ++c) t[static_cast<size_t>(c)] = static_cast<unsigned char>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[static_cast<size_t>(c)] = static_cast<unsigned char>(c - 'a' + 10);
  return t;
}();

// Raw bytes of a 64-character lower-case hex hash; false when it is not one.
bool DecodeHash(std::string_view hex, unsigned char out[32]) {
  if (hex.size() != 64) return false;
  unsigned bad = 0;
  for (size_t i = 0; i < 32; ++i) {
    const unsigned hi = kHexValue[static_cast<unsigned char>(hex[2 * i])];
    const unsigned lo = kHexValue[static_cast<unsigned char>(hex[2 * i + 1])];
    bad |= (hi | lo) & 0xf0;
    out[i] = static_cast<unsigned char>(hi << 4 | (lo & 0x0f));
  }
  return bad == 0;
}

void AppendCanonical(std::string& out, const store::AuditEntryRecord& e) {
  out.append(kEntryMagic);
  PutU64(out, static_cast<std::uint64_t>(e.seq));
  PutU64(out, static_cast<std::uint64_t>(e.time));
  PutField(out, e.actor);
  PutField(out, e.action);
  PutField(out, e.target);
  PutField(out, e.details_json);
}

// SHA-256(prev || canonical) into `digest`; false when prev is not a hash.
bool HashEntry(std::string_view prev_hex, std::string_view canonical, unsigned char digest[32]) {
  unsigned char prev[32];
  if (!DecodeHash(prev_hex, prev)) return false;
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, prev, sizeof prev);
  crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size());
  crypto_hash_sha256_final(&st, digest);
  return true;
}

// `s` as valid UTF-8 without NUL: bad sequences become U+FFFD (so PostgreSQL stores it byte
// for byte and the hash checks later).
std::string CleanUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    if (ok && len == 2) ok = c >= 0xc2;
    if (ok && len == 3) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
    }
    if (ok && len == 4) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = c <= 0xf4 && !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
    }
    if (!ok) {
      out.append("\xef\xbf\xbd");
      ++i;
      continue;
    }
    if (c == 0) {
      ++i;
      continue;
    }
    out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

Status AppendLine(const std::string& path, const std::string& line) {
  const std::filesystem::path p(path);
  if (p.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) return Status::Unavailable("cannot create directory " + p.parent_path().string() + ": " + ec.message());
  }
  // O_APPEND and one write() of a short line: lines of two processes never interleave.
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Status::Unavailable("cannot open checkpoint file " + path + ": " + std::strerror(errno));
  const std::string text = line + "\n";
  const ssize_t n = ::write(fd, text.data(), text.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size()) || !synced) {
    return Status::Unavailable("cannot append to checkpoint file " + path);
  }
  return Status::Ok();
}

bool ParseInt(std::string_view text, std::int64_t* out) {
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return err == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string CanonicalEntryBytes(const store::AuditEntryRecord& entry) {
  std::string out;
  AppendCanonical(out, entry);
  return out;
}

std::string ChainHash(std::string_view prev_hash_hex, const store::AuditEntryRecord& entry) {
  InitSodium();
  std::string canonical;
  AppendCanonical(canonical, entry);
  unsigned char digest[32];
  if (!HashEntry(prev_hash_hex, canonical, digest)) {
    // A malformed previous hash (only after tampering): hashed as its text, so nothing aborts and
    // verification reports the broken link.
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(prev_hash_hex.data()), prev_hash_hex.size());
    crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size());
    crypto_hash_sha256_final(&st, digest);
  }
  return HexOf(digest, sizeof digest);
}

std::string CheckpointMessage(const store::AuditCheckpointRecord& c) {
  std::string out(kCheckpointMagic);
  PutU64(out, static_cast<std::uint64_t>(c.count));
  unsigned char head[32] = {};
  DecodeHash(c.head_hash, head);  // a malformed head signs (and verifies) as zeros: never matches a chain
  out.append(reinterpret_cast<const char*>(head), sizeof head);
  PutU64(out, static_cast<std::uint64_t>(c.time));
  out.append(c.key_id);
  return out;
}

std::string CheckpointLine(const store::AuditCheckpointRecord& c) {
  return std::string(kLinePrefix) + std::to_string(c.count) + " " + c.head_hash + " " + std::to_string(c.time) +
         " " + c.key_id + " " + c.signature;
}

Result<store::AuditCheckpointRecord> ParseCheckpointLine(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  if (!line.starts_with(kLinePrefix)) return Status::InvalidArgument("not a checkpoint line");
  line.remove_prefix(kLinePrefix.size());
  std::vector<std::string_view> fields;
  while (!line.empty()) {
    const size_t space = line.find(' ');
    fields.push_back(line.substr(0, space));
    if (space == std::string_view::npos) break;
    line.remove_prefix(space + 1);
  }
  store::AuditCheckpointRecord c;
  unsigned char head[32];
  if (fields.size() != 5 || !ParseInt(fields[0], &c.count) || c.count < 0 || !DecodeHash(fields[1], head) ||
      !ParseInt(fields[2], &c.time) || fields[3].size() != 16) {
    return Status::InvalidArgument("malformed checkpoint line");
  }
  c.head_hash = std::string(fields[1]);
  c.key_id = std::string(fields[3]);
  c.signature = std::string(fields[4]);
  return c;
}

std::string DefaultCheckpointsPath(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "audit" / "checkpoints").string();
}

// ---- AuditLog ----

struct AuditLog::Batch {
  std::vector<store::AuditEntryRecord> entries;
  Status status;
  bool done = false;
};

AuditLog::AuditLog(store::Store& store, const Clock& clock, std::optional<Signer> signer, AuditLogOptions options)
    : repo_(store.Get<store::AuditRepository>()),
      clock_(clock),
      signer_(std::move(signer)),
      options_(std::move(options)),
      filling_(std::make_shared<Batch>()),
      base_hash_(kZeroHash) {}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(store::Store& store, const Clock& clock, std::optional<Signer> signer,
                                                 AuditLogOptions options) {
  InitSodium();
  if (store.read_only()) return Status::FailedPrecondition("the audit log needs a writable store");
  std::unique_ptr<AuditLog> log(new AuditLog(store, clock, std::move(signer), std::move(options)));
  if (!log->signer_) {
    log->warning_ = "no master key: audit entries are chained but no checkpoint is signed "
                    "(create one with `touchpoint keys init-master`)";
  } else {
    TP_RETURN_IF_ERROR(store.Get<store::SigningKeyRepository>().Put(
        {log->signer_->key_id(), log->signer_->public_key().Base64(), clock.Now()}));
  }
  // The newest checkpoint signed by this installation's key is where the next one's check of
  // the chain starts (older keys' checkpoints are left to `audit verify`).
  TP_ASSIGN_OR_RETURN(auto checkpoints, log->repo_.Checkpoints());
  std::scoped_lock lock(log->store_mu_);
  log->last_checkpoint_at_ = clock.Now();
  if (log->signer_) {
    for (auto it = checkpoints.rbegin(); it != checkpoints.rend(); ++it) {
      auto sig = FromBase64(it->signature);
      if (it->key_id == log->signer_->key_id() && sig &&
          VerifySignature(log->signer_->public_key(), CheckpointMessage(*it), *sig)) {
        log->base_count_ = it->count;
        log->base_hash_ = it->head_hash;
        break;
      }
    }
  }
  return log;
}

AuditLog::~AuditLog() { (void)Close(); }

std::int64_t AuditLog::appended() const {
  std::scoped_lock lock(mu_);
  return appended_;
}

Status AuditLog::Record(std::string_view actor, std::string_view action, std::string_view target,
                        std::string_view details_json) {
  store::AuditEntryRecord e;
  e.time = clock_.Now();
  e.actor = CleanUtf8(actor);
  e.action = CleanUtf8(action);
  e.target = CleanUtf8(target);
  if (details_json.empty()) details_json = "{}";
  auto details = nlohmann::ordered_json::parse(details_json, nullptr, /*allow_exceptions=*/false);
  if (details.is_discarded() || !details.is_object()) {
    return Status::InvalidArgument("audit details must be a JSON object");
  }
  e.details_json = CleanUtf8(details.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));

  std::unique_lock lock(mu_);
  std::shared_ptr<Batch> batch = filling_;
  batch->entries.push_back(std::move(e));
  while (!batch->done) {
    if (flushing_) {
      cv_.wait(lock);
      continue;
    }
    // Leader: append everything gathered so far in one transaction.
    flushing_ = true;
    std::shared_ptr<Batch> mine = std::move(filling_);
    filling_ = std::make_shared<Batch>();
    lock.unlock();
    Status s;
    {
      std::scoped_lock store_lock(store_mu_);
      s = closed_ ? Status::FailedPrecondition("the audit log is closed") : AppendBatch(mine->entries);
    }
    lock.lock();
    mine->status = s;
    mine->done = true;
    if (s.ok()) appended_ += static_cast<std::int64_t>(mine->entries.size());
    flushing_ = false;
    cv_.notify_all();
  }
  return batch->status;
}

Status AuditLog::AppendBatch(std::vector<store::AuditEntryRecord>& entries) {
  TP_ASSIGN_OR_RETURN(auto stored, repo_.Append(entries, ChainHash));
  since_checkpoint_ += static_cast<std::int64_t>(stored.size());
  if (signer_ && since_checkpoint_ >= options_.checkpoint_every) {
    // The entries are committed: a checkpoint that fails is reported, not the Record.
    Status s = CheckpointLocked();
    if (!s.ok() && options_.on_checkpoint_error) options_.on_checkpoint_error(s);
  }
  return Status::Ok();
}

Result<std::vector<store::AuditEntryRecord>> AuditLog::Query(const store::AuditQuery& query) {
  std::scoped_lock lock(store_mu_);
  return repo_.Query(query);
}

Status AuditLog::Checkpoint() {
  std::scoped_lock lock(store_mu_);
  return CheckpointLocked();
}

Status AuditLog::Tick() {
  std::scoped_lock lock(store_mu_);
  if (clock_.Now() - last_checkpoint_at_ < options_.checkpoint_interval) return Status::Ok();
  return CheckpointLocked();
}

Status AuditLog::CheckpointLocked() {
  if (!signer_) return Status::Ok();
  const Millis now = clock_.Now();
  TP_ASSIGN_OR_RETURN(auto head, repo_.Head());
  const std::int64_t count = head ? head->seq : 0;
  const std::string head_hash = head ? head->hash : kZeroHash;
  if (count == base_count_ && head_hash == base_hash_) {
    last_checkpoint_at_ = now;  // nothing new to vouch for
    since_checkpoint_ = 0;
    return Status::Ok();
  }
  // Never sign a head that does not chain back to the last checkpoint this log trusts.
  ChainVerifier verifier;
  std::string prev = kZeroHash;
  std::int64_t first = 1;
  if (base_count_ > 0) {
    first = base_count_ + 1;
    prev = base_hash_;
  }
  Status broken = Status::Ok();
  std::int64_t expected = first;
  bool saw_base = base_count_ == 0;
  TP_RETURN_IF_ERROR(repo_.Scan(base_count_ > 0 ? base_count_ - 1 : 0, [&](store::AuditEntryRecord&& e) {
    if (!saw_base) {
      saw_base = true;
      if (e.seq != base_count_ || e.hash != base_hash_ || ChainHash(e.prev_hash, e) != e.hash) {
        broken = Status::Internal("entry " + std::to_string(base_count_) + " no longer matches its signed checkpoint");
        return false;
      }
      return true;
    }
    std::string reason;
    if (e.seq != expected) {
      reason = "missing";
    } else if (e.prev_hash != prev) {
      reason = "previous hash does not match entry " + std::to_string(expected - 1);
    } else if (ChainHash(prev, e) != e.hash) {
      reason = "hash does not match its content";
    }
    if (!reason.empty()) {
      broken = Status::Internal("entry " + std::to_string(expected) + ": " + reason);
      return false;
    }
    prev = e.hash;
    ++expected;
    return e.seq < count;
  }));
  if (broken.ok() && !saw_base) {
    broken = Status::Internal("entry " + std::to_string(base_count_) + " of the last checkpoint is missing");
  }
  if (broken.ok() && expected <= count) {
    broken = Status::Internal("entry " + std::to_string(expected) + ": missing");
  }
  if (!broken.ok()) {
    return Status::Internal("audit chain broken (" + broken.message() +
                            "); not signing a checkpoint over it — run `touchpoint audit verify`");
  }
  store::AuditCheckpointRecord c;
  c.count = count;
  c.head_hash = head_hash;
  c.time = now;
  c.key_id = signer_->key_id();
  c.signature = ToBase64(signer_->Sign(CheckpointMessage(c)));
  TP_RETURN_IF_ERROR(repo_.AddCheckpoint(c).status());
  if (!options_.checkpoints_path.empty()) TP_RETURN_IF_ERROR(AppendLine(options_.checkpoints_path, CheckpointLine(c)));
  base_count_ = count;
  base_hash_ = head_hash;
  last_checkpoint_at_ = now;
  since_checkpoint_ = 0;
  return Status::Ok();
}

void AuditLog::StartTimer(std::chrono::milliseconds period, std::function<void(const Status&)> on_error) {
  TP_CHECK(!timer_.joinable(), "the audit timer runs already");
  timer_ = std::thread([this, period, on_error = std::move(on_error)] {
    std::unique_lock lock(timer_mu_);
    while (!stop_timer_) {
      timer_cv_.wait_for(lock, period);
      if (stop_timer_) break;
      lock.unlock();
      Status s = Tick();
      if (!s.ok() && on_error) on_error(s);
      lock.lock();
    }
  });
}

Status AuditLog::Close() {
  if (timer_.joinable()) {
    {
      std::scoped_lock lock(timer_mu_);
      stop_timer_ = true;
    }
    timer_cv_.notify_all();
    timer_.join();
  }
  std::scoped_lock lock(store_mu_);
  if (closed_) return Status::Ok();
  closed_ = true;
  if (since_checkpoint_ > 0) return CheckpointLocked();
  return Status::Ok();
}

// ---- verification ----

bool ChainVerifier::EntryHashMatches(const store::AuditEntryRecord& e) {
  thread_local std::string canonical;
  canonical.clear();
  AppendCanonical(canonical, e);
  unsigned char digest[32];
  unsigned char stored[32];
  return HashEntry(e.prev_hash, canonical, digest) && DecodeHash(e.hash, stored) &&
         std::memcmp(digest, stored, 32) == 0;  // not secret: no constant time needed
}

bool ChainVerifier::Add(const store::AuditEntryRecord& e, bool hash_matches) {
  if (bad_seq_ != 0) return false;
  const std::int64_t expected = count_ + 1;
  if (e.seq != expected) {
    bad_seq_ = expected;
    reason_ = e.seq > expected ? "missing: the log goes from entry " + std::to_string(count_) + " to entry " +
                                     std::to_string(e.seq)
                               : "out of order: entry " + std::to_string(e.seq) + " after entry " +
                                     std::to_string(count_);
    return false;
  }
  if (e.prev_hash != head_) {
    bad_seq_ = expected;
    reason_ = expected == 1 ? "the first entry does not start the chain"
                            : "previous hash does not match entry " + std::to_string(count_);
    return false;
  }
  if (!hash_matches) {
    bad_seq_ = expected;
    reason_ = "hash does not match its content (edited)";
    return false;
  }
  head_ = e.hash;
  count_ = expected;
  return true;
}

namespace {

// Checks EntryHashMatches of every entry of `batch` into `ok`, on up to `threads` threads.
void HashBatch(const std::vector<store::AuditEntryRecord>& batch, std::vector<char>& ok, unsigned threads) {
  ok.assign(batch.size(), 0);
  const size_t per = (batch.size() + threads - 1) / threads;
  auto run = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) ok[i] = ChainVerifier::EntryHashMatches(batch[i]) ? 1 : 0;
  };
  std::vector<std::future<void>> others;
  for (unsigned t = 1; t < threads && t * per < batch.size(); ++t) {
    others.push_back(std::async(std::launch::async, run, t * per, std::min(batch.size(), (t + 1) * per)));
  }
  run(0, std::min(batch.size(), per));
  for (auto& f : others) f.get();
}

}  // namespace

Result<AuditVerdict> VerifyAuditLog(store::AuditRepository& audit, store::SigningKeyRepository& keys,
                                    const AuditVerifyOptions& options) {
  InitSodium();
  AuditVerdict v;
  std::vector<PublicKey> trusted = options.trusted_keys;
  if (trusted.empty()) {
    TP_ASSIGN_OR_RETURN(auto recorded, keys.List());
    for (const auto& k : recorded) {
      auto parsed = ParsePublicKey(k.public_key);
      if (parsed.ok() && parsed->key_id == k.key_id) trusted.push_back(*parsed);
    }
    v.warnings.push_back("checkpoints checked with the keys recorded in the store; pass --public-key for a check "
                         "independent of the database");
  }

  // Every checkpoint whose signature holds: count → head hash, and where it came from.
  struct Expected {
    std::string head_hash;
    std::string source;
  };
  std::multimap<std::int64_t, Expected> expected;
  std::int64_t unknown_key = 0;
  auto check = [&](const store::AuditCheckpointRecord& c, const std::string& source) -> bool {
    const PublicKey* key = nullptr;
    for (const auto& k : trusted) {
      if (k.key_id == c.key_id) key = &k;
    }
    if (key == nullptr) {
      ++unknown_key;
      return false;
    }
    auto sig = FromBase64(c.signature);
    if (!sig || !VerifySignature(*key, CheckpointMessage(c), *sig)) {
      if (v.bad_checkpoint.empty()) v.bad_checkpoint = source + " (signature does not match its content)";
      return false;
    }
    expected.emplace(c.count, Expected{c.head_hash, source});
    v.covered = std::max(v.covered, c.count);
    return true;
  };
  TP_ASSIGN_OR_RETURN(auto stored, audit.Checkpoints());
  for (const auto& c : stored) {
    if (check(c, "store checkpoint " + std::to_string(c.id))) ++v.store_checkpoints;
  }
  if (!options.checkpoints_path.empty()) {
    std::ifstream in(options.checkpoints_path);
    if (!in) return Status::NotFound("cannot read checkpoint file " + options.checkpoints_path);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (line.empty()) continue;
      const std::string source = options.checkpoints_path + ":" + std::to_string(number);
      auto c = ParseCheckpointLine(line);
      if (!c.ok()) {
        if (v.bad_checkpoint.empty()) v.bad_checkpoint = source + " (malformed line)";
        continue;
      }
      if (check(*c, source)) ++v.file_checkpoints;
    }
  } else {
    v.warnings.push_back("no checkpoint file: only the store's own checkpoints were checked, which whoever edits "
                         "the database can edit too");
  }
  if (unknown_key > 0) {
    v.warnings.push_back(std::to_string(unknown_key) + " checkpoint(s) signed by keys not trusted here were skipped");
  }
  if (v.store_checkpoints + v.file_checkpoints == 0) {
    v.warnings.push_back("no valid signed checkpoint: a cut-off tail or a consistently rewritten chain cannot be "
                         "detected");
  }

  ChainVerifier chain;
  auto next = expected.begin();
  std::int64_t last_good = 0;  // the highest checkpoint count the chain matched
  // One entry in chain order, its own hash already checked; false at the first bad one.
  auto walk = [&](const store::AuditEntryRecord& e, bool hash_matches) {
    if (!chain.Add(e, hash_matches)) return false;
    while (next != expected.end() && next->first < chain.count()) ++next;  // count 0 checkpoints
    while (next != expected.end() && next->first == chain.count()) {
      if (next->second.head_hash != chain.head_hash()) {
        v.first_bad_seq = last_good + 1;
        v.reason = "entries " + std::to_string(last_good + 1) + ".." + std::to_string(chain.count()) +
                   " differ from the signed checkpoint at entry " + std::to_string(chain.count()) + " (" +
                   next->second.source + "): rewritten";
        return false;
      }
      last_good = chain.count();
      ++next;
    }
    return true;
  };
  // Hashing is most of the work and independent per entry: batches are hashed on other threads
  // while the next batch is read; the walk in chain order stays on this one.
  constexpr size_t kBatch = 8192;
  const unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  std::vector<store::AuditEntryRecord> reading, hashing;
  std::vector<char> ok;
  std::future<void> hashed;
  bool stopped = false;
  auto finish = [&]() {  // waits for `hashing` and walks it
    if (!hashed.valid()) return true;
    hashed.get();
    for (size_t i = 0; i < hashing.size(); ++i) {
      if (!walk(hashing[i], ok[i] != 0)) return false;
    }
    return true;
  };
  auto hand_over = [&]() {
    std::swap(reading, hashing);
    reading.clear();
    hashed = std::async(std::launch::async, [&] { HashBatch(hashing, ok, threads); });
  };
  reading.reserve(kBatch);
  Status scanned = audit.Scan(0, [&](store::AuditEntryRecord&& e) {
    reading.push_back(std::move(e));
    if (reading.size() < kBatch) return true;
    if (!finish()) {
      stopped = true;
      return false;
    }
    hand_over();
    return true;
  });
  if (!stopped && finish() && scanned.ok()) {
    hand_over();
    finish();
  } else if (hashed.valid()) {
    hashed.get();
  }
  TP_RETURN_IF_ERROR(scanned);
  v.entries = chain.count();
  if (v.first_bad_seq == 0 && chain.bad_seq() != 0) {
    v.first_bad_seq = chain.bad_seq();
    v.reason = chain.reason();
  }
  if (v.first_bad_seq == 0 && v.covered > chain.count()) {
    v.first_bad_seq = chain.count() + 1;
    v.reason = "missing: the log ends at entry " + std::to_string(chain.count()) + " but a signed checkpoint covers " +
               std::to_string(v.covered) + " entries (the tail was cut off)";
  }
  return v;
}

}  // namespace touchpoint::privacy

#include <touchpoint/privacy/encrypted_store.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>
#include <mutex>
#include <utility>
#include <vector>

#include <touchpoint/store/activity_repository.h>
#include <touchpoint/store/change_feed.h>
#include <touchpoint/store/channel_repository.h>
#include <touchpoint/store/consent_repository.h>
#include <touchpoint/store/deskflow_repository.h>
#include <touchpoint/store/erasure_repository.h>
#include <touchpoint/store/event_log.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/outbox_repository.h>
#include <touchpoint/store/profile_repository.h>
#include <touchpoint/store/ticket_repository.h>
#include <touchpoint/store/user_repository.h>

#include "privacy/sodium_internal.h"

namespace touchpoint::privacy {

// ---- the context ----

std::string NewInstallationId() {
  const DataKey random = DataKey::Random();
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    out.push_back(kDigits[random.bytes()[i] >> 4]);
    out.push_back(kDigits[random.bytes()[i] & 15]);
  }
  return out;
}

struct EncryptionContext::FieldKeys {
  // Per master key version, per field; filled at construction, read-only afterwards.
  std::map<int, std::map<std::string, DataKey, std::less<>>> keys;
};

namespace {

constexpr std::string_view kFields[] = {"identifiers.value", "profiles.data", "events.body", "messages.text",
                                        "messages.masked_text", "orders.items_json", "surveys.comment",
                                        "settings.check", "tickets.subject", "ticket_messages.text",
                                        "consents.value", "consents.wording_version", "consents.actor",
                                        "users.totp_secret", "csat_surveys.comment", "attachments.data",
                                        "message_attachments.filename", "ticket_fields.value",
                                        "outbox.payload"};
constexpr std::string_view kCheckText = "touchpoint encryption at rest";

std::string Ad(std::string_view field, std::string_view row) {
  std::string ad;
  ad.reserve(field.size() + 1 + row.size());
  ad.append(field);
  ad.push_back('\0');
  ad.append(row);
  return ad;
}

}  // namespace

EncryptionContext::EncryptionContext(const MasterKey& master, std::unique_ptr<Keyring> keyring)
    : EncryptionContext(MasterKeySet::Of(master), std::move(keyring)) {}

EncryptionContext::EncryptionContext(const MasterKeySet& masters, std::unique_ptr<Keyring> keyring)
    : version_(masters.current().version()), keyring_(std::move(keyring)), fields_(std::make_unique<FieldKeys>()) {
  indexers_.push_back(std::make_unique<BlindIndexer>(BlindIndexer::FromMasterKey(masters.current())));
  for (auto it = masters.keys().rbegin(); it != masters.keys().rend(); ++it) {
    if (it->version() != version_) indexers_.push_back(std::make_unique<BlindIndexer>(BlindIndexer::FromMasterKey(*it)));
    auto& keys = fields_->keys[it->version()];
    for (std::string_view f : kFields) keys.emplace(std::string(f), DeriveFieldKey(*it, f));
  }
}

EncryptionContext::~EncryptionContext() = default;

std::vector<int> EncryptionContext::versions() const {
  std::vector<int> out;
  for (const auto& [v, keys] : fields_->keys) out.push_back(v);
  return out;
}

Result<const DataKey*> EncryptionContext::FieldKey(std::string_view field, int version) {
  auto v = fields_->keys.find(version);
  if (v == fields_->keys.end()) {
    return Status::FailedPrecondition("stored " + std::string(field) + " is encrypted under master key version " +
                                      std::to_string(version) +
                                      ", which the master key file does not hold (restore the key file that has "
                                      "it; `touchpoint keys status`)");
  }
  auto it = v->second.find(field);
  TP_CHECK(it != v->second.end(), "every encrypted field is listed in kFields");
  return &it->second;
}

const DataKey& EncryptionContext::FieldKey(std::string_view field) {
  auto key = FieldKey(field, version_);
  TP_CHECK(key.ok(), "the current version's keys exist");
  return **key;
}

Result<SealedHeader> EncryptionContext::HeaderOf(std::string_view sealed, bool text) {
  return text ? ReadSealedTextHeader(sealed) : ReadSealedHeader(sealed);
}

Result<std::string> EncryptionContext::Reseal(std::string_view field, std::string_view row, std::string_view sealed,
                                              bool text) {
  TP_ASSIGN_OR_RETURN(SealedHeader h, HeaderOf(sealed, text));
  if (h.person || h.key_version == version_) return std::string(sealed);
  TP_ASSIGN_OR_RETURN(std::string plain, Open(field, row, sealed, text));
  std::string out;
  {
    const std::string ad = Ad(field, row);
    const DataKey& key = FieldKey(field);
    out = text ? SealText(key, version_, CustomerId(), ad, plain) : privacy::Seal(key, version_, CustomerId(), ad, plain);
  }
  sodium_memzero(plain.data(), plain.size());
  return out;
}

Result<std::string> EncryptionContext::Seal(CustomerId owner, std::string_view field, std::string_view row,
                                            std::string_view plain, bool text) {
  const std::string ad = Ad(field, row);
  if (owner.valid()) {
    TP_ASSIGN_OR_RETURN(DataKey key, keyring_->KeyForWriting(owner));
    return text ? SealText(key, version_, owner, ad, plain) : privacy::Seal(key, version_, owner, ad, plain);
  }
  const DataKey& key = FieldKey(field);
  return text ? SealText(key, version_, CustomerId(), ad, plain)
              : privacy::Seal(key, version_, CustomerId(), ad, plain);
}

Result<std::string> EncryptionContext::Open(std::string_view field, std::string_view row, std::string_view sealed,
                                            bool text) {
  if (text ? !IsSealedText(sealed) : !IsSealed(sealed)) {
    return Status::Internal("stored " + std::string(field) + " is not encrypted in an encrypted store");
  }
  TP_ASSIGN_OR_RETURN(SealedHeader h, text ? ReadSealedTextHeader(sealed) : ReadSealedHeader(sealed));
  const std::string ad = Ad(field, row);
  if (h.person) {
    // The header's version is the one that wrapped the data key when the value was sealed; the
    // keyring unwraps the key with whichever version wraps it now (a rotation re-wraps keys,
    // not values).
    auto key = keyring_->KeyFor(h.owner);
    if (!key.ok()) return key.status().WithContext("reading " + std::string(field));
    return text ? UnsealText(*key, ad, sealed, field) : Unseal(*key, ad, sealed, field);
  }
  TP_ASSIGN_OR_RETURN(const DataKey* key, FieldKey(field, h.key_version));
  return text ? UnsealText(*key, ad, sealed, field) : Unseal(*key, ad, sealed, field);
}

std::string EncryptionContext::MakeKeyCheck() {
  return SealText(FieldKey("settings.check"), version_, CustomerId(), Ad("settings.check", ""), kCheckText);
}

Status EncryptionContext::VerifyKeyCheck(std::string_view check) {
  // The check is sealed under the version current when it was last written (a rotation seals it
  // again under the new one when it finishes).
  auto header = ReadSealedTextHeader(check);
  const int version = header.ok() ? header->key_version : version_;
  auto key = FieldKey("settings.check", version);
  if (!key.ok()) {
    return Status::FailedPrecondition("this store's key check is sealed under master key version " +
                                      std::to_string(version) +
                                      ", which the master key file does not hold: restore the key file that has it");
  }
  auto opened = UnsealText(**key, Ad("settings.check", ""), check, "key check");
  if (!opened.ok() || *opened != kCheckText) {
    return Status::FailedPrecondition(
        "the master key does not open this store: it was encrypted under another master key "
        "(restore the key file this data directory was created with)");
  }
  return Status::Ok();
}

// ---- the layers ----

namespace {

std::string IdentifierRow(const store::IdentifierRecord& r) { return std::to_string(r.id.value()) + ':' + r.kind; }

// Whether opening failed because the owner's data key was destroyed by an erasure (an old copy of
// the data read after it): such rows are skipped, as erased. Any other failure is an error.
bool Erased(const Status& s) { return s.code() == StatusCode::kNotFound; }

std::string HashRow(const store::MessageHash& h) {
  std::string row(16, '\0');
  std::memcpy(row.data(), &h.hi, 8);
  std::memcpy(row.data() + 8, &h.lo, 8);
  return row;
}

class EncIdentity final : public store::IdentityRepository {
 public:
  EncIdentity(store::IdentityRepository& inner, EncryptionContext& ctx) : in_(inner), ctx_(ctx) {}

  Status PutCustomers(store::Transaction& txn, std::span<const store::CustomerRecord> c) override {
    return in_.PutCustomers(txn, c);
  }
  Status PutIdentifiers(store::Transaction& txn, std::span<const store::IdentifierRecord> identifiers) override {
    std::vector<store::IdentifierRecord> sealed(identifiers.begin(), identifiers.end());
    for (store::IdentifierRecord& r : sealed) {
      r.lookup_key = ctx_.indexer().Of(r.kind, r.value).value;
      if (r.lookup_key == 0) r.lookup_key = 1;  // 0 means "none" to the adapters
      TP_ASSIGN_OR_RETURN(r.value, ctx_.Seal(r.customer, "identifiers.value", IdentifierRow(r), r.value, true));
    }
    TP_RETURN_IF_ERROR(ctx_.keyring().Flush());  // the keys before the data that uses them
    return in_.PutIdentifiers(txn, sealed);
  }
  Status PutMerges(store::Transaction& txn, std::span<const store::MergeRecord> m) override {
    return in_.PutMerges(txn, m);
  }
  Status AddMergeBlocks(store::Transaction& txn, std::span<const store::MergeBlock> b) override {
    return in_.AddMergeBlocks(txn, b);
  }
  Status ScanIdentifiers(const std::function<void(store::IdentifierRecord&&)>& fn) override {
    TP_RETURN_IF_ERROR(ctx_.keyring().LoadAll());
    Status failed;
    TP_RETURN_IF_ERROR(in_.ScanIdentifiers([&](store::IdentifierRecord&& r) {
      if (!failed.ok()) return;
      if (Status s = OpenValue(r); !s.ok()) {
        if (!Erased(s)) failed = s;
        return;
      }
      fn(std::move(r));
    }));
    return failed;
  }
  Status ScanCustomers(const std::function<void(const store::CustomerRecord&)>& fn) override {
    return in_.ScanCustomers(fn);
  }
  Status ScanMerges(const std::function<void(store::MergeRecord&&)>& fn) override { return in_.ScanMerges(fn); }
  Status ScanMergeBlocks(const std::function<void(CustomerId, CustomerId)>& fn) override {
    return in_.ScanMergeBlocks(fn);
  }
  Result<std::optional<store::IdentifierRecord>> FindIdentifier(const std::string& kind,
                                                                const std::string& value) override {
    // Under every version the key file holds, the current one first: until a rotation's job has
    // re-indexed every identifier, some are stored under an older version's index.
    std::int64_t previous[8] = {};
    int tried = 0;
    for (const auto& indexer : ctx_.indexers()) {
      std::int64_t key = indexer->Of(kind, value).value;
      if (key == 0) key = 1;
      if (std::find(previous, previous + tried, key) != previous + tried) continue;
      if (tried < 8) previous[tried++] = key;
      TP_ASSIGN_OR_RETURN(std::vector<store::IdentifierRecord> candidates, in_.FindIdentifiersByKey(kind, key));
      for (store::IdentifierRecord& r : candidates) {  // a hit is a candidate: decrypt and re-check
        if (Status s = OpenValue(r); !s.ok()) {
          if (Erased(s)) continue;
          return s;
        }
        if (r.value == value) return std::optional<store::IdentifierRecord>(std::move(r));
      }
    }
    return std::optional<store::IdentifierRecord>();
  }
  Result<std::vector<store::IdentifierRecord>> FindIdentifiersByKey(const std::string& kind,
                                                                    std::int64_t lookup_key) override {
    TP_ASSIGN_OR_RETURN(std::vector<store::IdentifierRecord> out, in_.FindIdentifiersByKey(kind, lookup_key));
    TP_RETURN_IF_ERROR(OpenAll(out));
    return out;
  }
  Result<std::optional<store::CustomerRecord>> FindCustomer(CustomerId id) override { return in_.FindCustomer(id); }
  Result<std::vector<store::IdentifierRecord>> IdentifiersOf(std::span<const CustomerId> customers) override {
    TP_ASSIGN_OR_RETURN(std::vector<store::IdentifierRecord> out, in_.IdentifiersOf(customers));
    TP_RETURN_IF_ERROR(OpenAll(out));
    return out;
  }
  Result<std::vector<CustomerId>> CustomersMergedInto(CustomerId id) override { return in_.CustomersMergedInto(id); }
  Result<std::vector<store::MergeRecord>> MergesInvolving(std::span<const CustomerId> customers) override {
    return in_.MergesInvolving(customers);
  }
  Result<std::vector<store::IdentifierRecord>> BlockedIdentifiers() override {
    TP_ASSIGN_OR_RETURN(std::vector<store::IdentifierRecord> out, in_.BlockedIdentifiers());
    TP_RETURN_IF_ERROR(OpenAll(out));
    return out;
  }
  Result<store::IdentityCounts> Counts() override { return in_.Counts(); }

  Status OpenValue(store::IdentifierRecord& r) {
    TP_ASSIGN_OR_RETURN(r.value, ctx_.Open("identifiers.value", IdentifierRow(r), r.value, true));
    return Status::Ok();
  }
  // Opens every record; erased people's are dropped.
  Status OpenAll(std::vector<store::IdentifierRecord>& records) {
    size_t kept = 0;
    for (auto& r : records) {
      if (Status s = OpenValue(r); !s.ok()) {
        if (Erased(s)) continue;
        return s;
      }
      if (&records[kept] != &r) records[kept] = std::move(r);
      ++kept;
    }
    records.resize(kept);
    return Status::Ok();
  }

 private:
  store::IdentityRepository& in_;
  EncryptionContext& ctx_;
};

class EncProfiles final : public store::ProfileRepository {
 public:
  EncProfiles(store::ProfileRepository& inner, EncryptionContext& ctx) : in_(inner), ctx_(ctx) {}
  Status Put(store::Transaction& txn, std::span<const store::ProfileRecord> profiles) override {
    std::vector<store::ProfileRecord> sealed(profiles.begin(), profiles.end());
    for (store::ProfileRecord& p : sealed) {
      TP_ASSIGN_OR_RETURN(p.data, ctx_.Seal(p.customer, "profiles.data", Row(p.customer), p.data, true));
    }
    TP_RETURN_IF_ERROR(ctx_.keyring().Flush());
    return in_.Put(txn, sealed);
  }
  Status SetCheckpoint(store::Transaction& txn, std::int64_t seq) override { return in_.SetCheckpoint(txn, seq); }
  Status Scan(const std::function<void(store::ProfileRecord&&)>& fn) override {
    TP_RETURN_IF_ERROR(ctx_.keyring().LoadAll());
    Status failed;
    TP_RETURN_IF_ERROR(in_.Scan([&](store::ProfileRecord&& p) {
      if (!failed.ok()) return;
      if (Status s = OpenData(p); !s.ok()) {
        if (!Erased(s)) failed = s;
        return;
      }
      fn(std::move(p));
    }));
    return failed;
  }
  Result<std::optional<store::ProfileRecord>> Find(CustomerId customer) override {
    TP_ASSIGN_OR_RETURN(std::optional<store::ProfileRecord> p, in_.Find(customer));
    if (p) {
      if (Status s = OpenData(*p); !s.ok()) {
        if (Erased(s)) return std::optional<store::ProfileRecord>();
        return s;
      }
    }
    return p;
  }
  Result<std::int64_t> Checkpoint() override { return in_.Checkpoint(); }

  Status OpenData(store::ProfileRecord& p) {
    TP_ASSIGN_OR_RETURN(p.data, ctx_.Open("profiles.data", Row(p.customer), p.data, true));
    return Status::Ok();
  }

 private:
  static std::string Row(CustomerId c) { return std::to_string(c.value()); }
  store::ProfileRepository& in_;
  EncryptionContext& ctx_;
};

class EncActivity final : public store::ActivityRepository {
 public:
  EncActivity(store::ActivityRepository& inner, EncryptionContext& ctx) : in_(inner), ctx_(ctx) {}
  Status AddOrders(store::Transaction& txn, std::span<const store::OrderRecord> orders) override {
    std::vector<store::OrderRecord> sealed(orders.begin(), orders.end());
    for (auto& o : sealed) {
      TP_ASSIGN_OR_RETURN(o.items_json, ctx_.Seal(o.customer, "orders.items_json", o.order_id, o.items_json, true));
    }
    TP_RETURN_IF_ERROR(ctx_.keyring().Flush());
    return in_.AddOrders(txn, sealed);
  }
  Status AddMessages(store::Transaction& txn, std::span<const store::MessageRecord> messages) override {
    std::vector<store::MessageRecord> sealed(messages.begin(), messages.end());
    for (auto& m : sealed) {
      TP_ASSIGN_OR_RETURN(m.text, ctx_.Seal(m.customer, "messages.text", m.message_id, m.text, true));
      TP_ASSIGN_OR_RETURN(m.masked_text,
                          ctx_.Seal(m.customer, "messages.masked_text", m.message_id, m.masked_text, true));
    }
    TP_RETURN_IF_ERROR(ctx_.keyring().Flush());
    return in_.AddMessages(txn, sealed);
  }
  Status AddSurveys(store::Transaction& txn, std::span<const store::SurveyRecord> surveys) override {
    std::vector<store::SurveyRecord> sealed(surveys.begin(), surveys.end());
    for (auto& s : sealed) {
      TP_ASSIGN_OR_RETURN(s.comment, ctx_.Seal(s.customer, "surveys.comment", s.message_id, s.comment, true));
    }
    TP_RETURN_IF_ERROR(ctx_.keyring().Flush());
    return in_.AddSurveys(txn, sealed);
  }
  Status ScanOrders(const std::function<void(store::OrderRecord&&)>& fn) override {
    return ScanOpened<store::OrderRecord>(
        [&](auto&& f) { return in_.ScanOrders(f); },
        [&](store::OrderRecord& o) -> Status {
          TP_ASSIGN_OR_RETURN(o.items_json, ctx_.Open("orders.items_json", o.order_id, o.items_json, true));
          return Status::Ok();
        },
        fn);
  }
  Status ScanMessages(const std::function<void(store::MessageRecord&&)>& fn) override {
    return ScanOpened<store::MessageRecord>(
        [&](auto&& f) { return in_.ScanMessages(f); },
        [&](store::MessageRecord& m) -> Status {
          TP_ASSIGN_OR_RETURN(m.text, ctx_.Open("messages.text", m.message_id, m.text, true));
          TP_ASSIGN_OR_RETURN(m.masked_text, ctx_.Open("messages.masked_text", m.message_id, m.masked_text, true));
          return Status::Ok();
        },
        fn);
  }
  Status ScanSurveys(const std::function<void(store::SurveyRecord&&)>& fn) override {
    return ScanOpened<store::SurveyRecord>(
        [&](auto&& f) { return in_.ScanSurveys(f); },
        [&](store::SurveyRecord& s) -> Status {
          TP_ASSIGN_OR_RETURN(s.comment, ctx_.Open("surveys.comment", s.message_id, s.comment, true));
          return Status::Ok();
        },
        fn);
  }
  Result<store::ActivityCounts> Counts() override { return in_.Counts(); }

 private:
  template <class R, class ScanFn, class OpenFn>
  Status ScanOpened(ScanFn scan, OpenFn open, const std::function<void(R&&)>& fn) {
    TP_RETURN_IF_ERROR(ctx_.keyring().LoadAll());
    Status failed;
    std::function<void(R&&)> each = [&](R&& r) {
      if (!failed.ok()) return;
      if (Status s = open(r); !s.ok()) {
        if (!Erased(s)) failed = s;
        return;
      }
      fn(std::move(r));
    };
    TP_RETURN_IF_ERROR(scan(each));
    return failed;
  }
  store::ActivityRepository& in_;
  EncryptionContext& ctx_;
};

// The event log's chunks sealed whole (store.h, ChunkSealer): each chunk, compressed by the
// store's codec, sealed under a key of its own (privacy/keyring.h, chunk keys) with the chunk's
// message hashes as associated data. Why a key per chunk and not the person's: a chunk mixes the
// events of thousands of people, and only the whole chunk compresses well (6×; one person's one
// or two events in a chunk hardly compress). Crypto-shredding still works per person: an erasure
// rewrites every chunk holding the person's events under a new key and destroys the old chunk
// keys once it commits (EncErasure::Scrub), so an old copy of those chunks cannot be opened.
class ChunkKeys final : public store::ChunkSealer {
 public:
  explicit ChunkKeys(EncryptionContext& ctx) : ctx_(ctx) {}

  std::string Seal(std::string_view records, std::string_view ad) override {
    Keyring::ChunkKeyEntry k = ctx_.keyring().NewChunkKey();
    return SealChunk(k.key, ctx_.key_version(), k.id, Ad("event_chunks.data", ad), records);
  }
  Result<std::string> Open(std::string_view sealed, std::string_view ad) override {
    TP_ASSIGN_OR_RETURN(SealedHeader h, ReadSealedHeader(sealed));
    if (!h.chunk) return Status::Internal("stored event chunk is not sealed as a chunk");
    // The header's version wrapped the chunk key when it was sealed; the keyring unwraps it with
    // whichever version wraps it now.
    TP_ASSIGN_OR_RETURN(DataKey key, ctx_.keyring().ChunkKey(h.owner.value()));
    return Unseal(key, Ad("event_chunks.data", ad), sealed, "event chunk");
  }
  void Retire(std::string_view sealed) override {
    auto h = ReadSealedHeader(sealed);
    if (!h.ok() || !h->chunk) return;
    std::scoped_lock lock(mu_);
    retired_.push_back(h->owner.value());
  }

  // An erasure starts: what an earlier one retired without committing is forgotten (its chunks
  // were not rewritten, their keys are still the live ones).
  void ForgetRetired() {
    std::scoped_lock lock(mu_);
    retired_.clear();
  }
  // The erasure committed: the old versions' keys go.
  Status DestroyRetired() {
    std::vector<std::int64_t> ids;
    {
      std::scoped_lock lock(mu_);
      ids.swap(retired_);
    }
    if (ids.empty()) return Status::Ok();
    return ctx_.keyring().DestroyChunkKeys(ids);
  }

 private:
  EncryptionContext& ctx_;
  std::mutex mu_;
  std::vector<std::int64_t> retired_;  // guarded by mu_
};

// Erasure over a store whose chunks are sealed: the old keys of the chunks an erasure rewrote
// are destroyed after its commit (the engine calls Scrub after every committed erasure).
class EncErasure final : public store::ErasureRepository {
 public:
  EncErasure(store::ErasureRepository& inner, ChunkKeys& keys, Keyring& keyring)
      : in_(inner), keys_(keys), keyring_(keyring) {}
  Result<store::ErasureCounts> Erase(store::Transaction& txn, std::span<const CustomerId> customers) override {
    keys_.ForgetRetired();
    TP_ASSIGN_OR_RETURN(store::ErasureCounts counts, in_.Erase(txn, customers));
    TP_RETURN_IF_ERROR(keyring_.Flush());  // the rewritten chunks' new keys before the commit
    return counts;
  }
  Status Scrub() override {
    TP_RETURN_IF_ERROR(keys_.DestroyRetired().WithContext("destroying the keys of rewritten event chunks"));
    return in_.Scrub();
  }
  Result<std::int64_t> DeleteOlderThan(store::Transaction& txn, store::RetentionKind kind, Millis before,
                                       int limit) override {
    return in_.DeleteOlderThan(txn, kind, before, limit);
  }

 private:
  store::ErasureRepository& in_;
  ChunkKeys& keys_;
  Keyring& keyring_;
};

// What a text under a destroyed data key reads as (an erased person's ticket texts: the ticket
// stays for statistics, its texts are gone). The erasure also writes it in clear over those texts
// (store/erasure_repository.h): stored as it is, it reads as it is.
constexpr std::string_view kErasedText = store::kErasedText;

// The service desk's texts (store/ticket_repository.h keeps them apart for this): a ticket's
// subject and its messages' texts, under the data key of the ticket's customer, so that erasing
// the person leaves the ticket and its timings but not its words. Messages carry no customer: the
// layer remembers each ticket's customer from the Create/Update/Find calls it sees (a ticket
// created in the same transaction is not readable yet) and reads the ticket otherwise.
class EncTickets final : public store::TicketRepository {
 public:
  EncTickets(store::TicketRepository& inner, EncryptionContext& ctx) : in_(inner), ctx_(ctx) {}

  Result<std::int64_t> NextNumber(store::Transaction& txn) override { return in_.NextNumber(txn); }
  Status Create(store::Transaction& txn, const store::TicketRecord& ticket) override {
    TP_ASSIGN_OR_RETURN(store::TicketRecord sealed, SealTicket(ticket));
    TP_RETURN_IF_ERROR(ctx_.keyring().Flush());
    return in_.Create(txn, sealed);
  }
  Status Update(store::Transaction& txn, const store::TicketRecord& ticket, std::int64_t expected_version) override {
    TP_ASSIGN_OR_RETURN(store::TicketRecord sealed, SealTicket(ticket));
    TP_RETURN_IF_ERROR(ctx_.keyring().Flush());
    return in_.Update(txn, sealed, expected_version);
  }
  Result<std::optional<store::TicketRecord>> Find(std::int64_t number) override {
    TP_ASSIGN_OR_RETURN(std::optional<store::TicketRecord> t, in_.Find(number));
    if (t) TP_RETURN_IF_ERROR(OpenTicket(*t));
    return t;
  }
  Result<std::optional<store::TicketRecord>> FindActive(CustomerId customer) override {
    TP_ASSIGN_OR_RETURN(std::optional<store::TicketRecord> t, in_.FindActive(customer));
    if (t) TP_RETURN_IF_ERROR(OpenTicket(*t));
    return t;
  }
  Result<std::vector<store::TicketRecord>> List(const store::TicketFilter& filter) override {
    TP_ASSIGN_OR_RETURN(std::vector<store::TicketRecord> out, in_.List(filter));
    for (auto& t : out) TP_RETURN_IF_ERROR(OpenTicket(t));
    return out;
  }
  Status Scan(const std::function<void(store::TicketRecord&&)>& fn) override {
    Status failed;
    TP_RETURN_IF_ERROR(in_.Scan([&](store::TicketRecord&& t) {
      if (!failed.ok()) return;
      if (Status st = OpenTicket(t); !st.ok()) {
        failed = st;
        return;
      }
      fn(std::move(t));
    }));
    return failed;
  }

  Status AddMessages(store::Transaction& txn, std::span<const store::TicketMessageRecord> messages) override {
    std::vector<store::TicketMessageRecord> sealed(messages.begin(), messages.end());
    for (auto& m : sealed) {
      TP_ASSIGN_OR_RETURN(CustomerId owner, CustomerOf(m.ticket));
      TP_ASSIGN_OR_RETURN(m.text, ctx_.Seal(owner, "ticket_messages.text", MessageRow(m), m.text, true));
    }
    TP_RETURN_IF_ERROR(ctx_.keyring().Flush());
    return in_.AddMessages(txn, sealed);
  }
  Result<std::vector<store::TicketMessageRecord>> Messages(std::int64_t ticket) override {
    TP_ASSIGN_OR_RETURN(std::vector<store::TicketMessageRecord> out, in_.Messages(ticket));
    for (auto& m : out) {
      TP_ASSIGN_OR_RETURN(m.text, OpenText("ticket_messages.text", MessageRow(m), m.text));
    }
    return out;
  }
  Status MoveMessages(store::Transaction& txn, std::int64_t from, std::int64_t to) override {
    return in_.MoveMessages(txn, from, to);  // the texts' associated data does not name the ticket
  }
  Status AddHistory(store::Transaction& txn, std::span<const store::TicketHistoryRecord> rows) override {
    return in_.AddHistory(txn, rows);  // no texts (store/ticket_repository.h)
  }
  Result<std::vector<store::TicketHistoryRecord>> History(std::int64_t ticket) override { return in_.History(ticket); }
  Status ScanHistory(const std::function<void(store::TicketHistoryRecord&&)>& fn) override {
    return in_.ScanHistory(fn);
  }
  Result<std::optional<std::int64_t>> Cursor(const std::string& name) override { return in_.Cursor(name); }
  Status SetCursor(store::Transaction& txn, const std::string& name, std::int64_t seq) override {
    return in_.SetCursor(txn, name, seq);
  }

  // The customer whose data key seals the texts of ticket `number` (the desk's other texts use
  // it too: EncChannels, EncDeskflow); invalid for an unknown ticket (the field's key).
  Result<CustomerId> CustomerOf(std::int64_t number) {
    {
      std::scoped_lock lock(mu_);
      if (auto it = customers_.find(number); it != customers_.end()) return CustomerId(it->second);
    }
    TP_ASSIGN_OR_RETURN(std::optional<store::TicketRecord> t, in_.Find(number));
    const CustomerId c = t ? t->customer : CustomerId();
    if (t) Remember(number, c);
    return c;  // unknown ticket: the field's key (the inner store refuses the message anyway)
  }
  // A desk text as stored: opened; the erasure's kErasedText as it is; under a destroyed key
  // (an old copy read after the erasure): kErasedText.
  Result<std::string> OpenText(std::string_view field, std::string_view row, std::string_view sealed) {
    if (sealed == kErasedText) return std::string(kErasedText);
    auto opened = ctx_.Open(field, row, sealed, true);
    if (!opened.ok() && opened.status().code() == StatusCode::kNotFound) return std::string(kErasedText);
    return opened;
  }

 private:
  static std::string MessageRow(const store::TicketMessageRecord& m) {
    return std::to_string(m.at) + ':' + m.author + ':' + std::to_string(m.agent) + ':' + m.message_id;
  }
  void Remember(std::int64_t number, CustomerId customer) {
    std::scoped_lock lock(mu_);
    customers_[number] = customer.value();
  }
  Result<store::TicketRecord> SealTicket(const store::TicketRecord& ticket) {
    Remember(ticket.number, ticket.customer);
    store::TicketRecord sealed = ticket;
    // A de-identified ticket changed after the erasure (its status, …) keeps kErasedText as it
    // is: no new data key for an erased person.
    if (ticket.subject == kErasedText) return sealed;
    TP_ASSIGN_OR_RETURN(sealed.subject, ctx_.Seal(ticket.customer, "tickets.subject", std::to_string(ticket.number),
                                                  ticket.subject, true));
    return sealed;
  }
  Status OpenTicket(store::TicketRecord& t) {
    Remember(t.number, t.customer);
    TP_ASSIGN_OR_RETURN(t.subject, OpenText("tickets.subject", std::to_string(t.number), t.subject));
    return Status::Ok();
  }
  store::TicketRepository& in_;
  EncryptionContext& ctx_;
  std::mutex mu_;
  std::unordered_map<std::int64_t, std::int64_t> customers_;  // ticket number → customer; guarded by mu_
};

// The owner of a desk text: the ticket's customer (EncTickets::CustomerOf), or none (the field's
// key) without a ticket layer.
Result<CustomerId> DeskOwner(EncTickets* tickets, std::int64_t ticket) {
  if (tickets == nullptr) return CustomerId();
  return tickets->CustomerOf(ticket);
}

// The desk's channels (store/channel_repository.h): CSAT comments and attachment file names under
// the data key of the ticket's customer, attachment bytes under the field's key (a file is stored
// once by the SHA-256 of its bytes, possibly for several people; an erasure deletes the files
// only its person's messages link). Message-IDs, channels, delivery ids, scores, content types
// and sizes stay clear (lookups and reports); so does the hash.
class EncChannels final : public store::ChannelRepository {
 public:
  EncChannels(store::ChannelRepository& inner, EncryptionContext& ctx, EncTickets* tickets)
      : in_(inner), ctx_(ctx), tickets_(tickets) {}

  Status PutMessage(store::Transaction& txn, const store::ChannelMessageRecord& record) override {
    return in_.PutMessage(txn, record);
  }
  Result<std::optional<store::ChannelMessageRecord>> FindMessage(const std::string& key) override {
    return in_.FindMessage(key);
  }
  Result<std::optional<store::ChannelMessageRecord>> FindByMailId(const std::string& mail_id) override {
    return in_.FindByMailId(mail_id);
  }

  Status AddSurvey(store::Transaction& txn, const store::CsatSurveyRecord& survey) override {
    store::CsatSurveyRecord sealed = survey;
    TP_ASSIGN_OR_RETURN(sealed.comment, SealComment(survey.ticket, survey.id, survey.comment));
    return in_.AddSurvey(txn, sealed);
  }
  Result<std::optional<store::CsatSurveyRecord>> FindSurvey(const std::string& id) override {
    TP_ASSIGN_OR_RETURN(std::optional<store::CsatSurveyRecord> s, in_.FindSurvey(id));
    if (s) TP_RETURN_IF_ERROR(OpenComment(*s));
    return s;
  }
  Result<std::vector<store::CsatSurveyRecord>> Surveys(std::int64_t ticket) override {
    TP_ASSIGN_OR_RETURN(std::vector<store::CsatSurveyRecord> out, in_.Surveys(ticket));
    for (auto& s : out) TP_RETURN_IF_ERROR(OpenComment(s));
    return out;
  }
  Status AnswerSurvey(store::Transaction& txn, const std::string& id, int score, const std::string& comment,
                      Millis at) override {
    // The survey names the ticket; one not found here is refused by the inner store.
    TP_ASSIGN_OR_RETURN(std::optional<store::CsatSurveyRecord> s, in_.FindSurvey(id));
    TP_ASSIGN_OR_RETURN(std::string sealed, SealComment(s ? s->ticket : 0, id, comment));
    return in_.AnswerSurvey(txn, id, score, sealed, at);
  }

  Status PutAttachment(store::Transaction& txn, const store::AttachmentRecord& attachment) override {
    store::AttachmentRecord sealed = attachment;
    TP_ASSIGN_OR_RETURN(sealed.data, ctx_.Seal(CustomerId(), "attachments.data", attachment.hash, attachment.data,
                                               false));
    return in_.PutAttachment(txn, sealed);
  }
  Result<std::optional<store::AttachmentRecord>> FindAttachment(const std::string& hash) override {
    TP_ASSIGN_OR_RETURN(std::optional<store::AttachmentRecord> a, in_.FindAttachment(hash));
    if (a) {
      TP_ASSIGN_OR_RETURN(a->data, ctx_.Open("attachments.data", a->hash, a->data, false));
    }
    return a;
  }
  Status LinkAttachments(store::Transaction& txn, std::span<const store::MessageAttachmentRecord> links) override {
    std::vector<store::MessageAttachmentRecord> sealed(links.begin(), links.end());
    for (auto& l : sealed) {
      TP_ASSIGN_OR_RETURN(CustomerId owner, DeskOwner(tickets_, l.ticket));
      TP_ASSIGN_OR_RETURN(l.filename,
                          ctx_.Seal(owner, "message_attachments.filename", LinkRow(l), l.filename, true));
    }
    TP_RETURN_IF_ERROR(ctx_.keyring().Flush());
    return in_.LinkAttachments(txn, sealed);
  }
  Result<std::vector<store::MessageAttachmentRecord>> MessageAttachments(const std::string& message_key) override {
    TP_ASSIGN_OR_RETURN(std::vector<store::MessageAttachmentRecord> out, in_.MessageAttachments(message_key));
    for (auto& l : out) {
      TP_ASSIGN_OR_RETURN(l.filename, OpenDeskText("message_attachments.filename", LinkRow(l), l.filename));
    }
    return out;
  }

 private:
  static std::string LinkRow(const store::MessageAttachmentRecord& l) { return l.message_key + '\0' + l.hash; }
  Result<std::string> SealComment(std::int64_t ticket, const std::string& id, const std::string& comment) {
    if (comment.empty()) return std::string();  // not answered (or no comment): nothing to hide
    CustomerId owner;
    if (ticket != 0) {
      TP_ASSIGN_OR_RETURN(owner, DeskOwner(tickets_, ticket));
    }
    TP_ASSIGN_OR_RETURN(std::string sealed, ctx_.Seal(owner, "csat_surveys.comment", id, comment, true));
    TP_RETURN_IF_ERROR(ctx_.keyring().Flush());
    return sealed;
  }
  Status OpenComment(store::CsatSurveyRecord& s) {
    if (s.comment.empty()) return Status::Ok();
    TP_ASSIGN_OR_RETURN(s.comment, OpenDeskText("csat_surveys.comment", s.id, s.comment));
    return Status::Ok();
  }
  Result<std::string> OpenDeskText(std::string_view field, std::string_view row, std::string_view sealed) {
    if (sealed == kErasedText) return std::string(kErasedText);
    auto opened = ctx_.Open(field, row, sealed, true);
    if (!opened.ok() && opened.status().code() == StatusCode::kNotFound) return std::string(kErasedText);
    return opened;
  }
  store::ChannelRepository& in_;
  EncryptionContext& ctx_;
  EncTickets* tickets_;
};

// What the desk keeps beside its tickets (store/deskflow_repository.h): custom field values under
// the data key of the ticket's customer; the full-text index's tokens keyed with the blind-index
// key, so the stored index holds no hash anyone could compute from a word without the master key
// (docs/service-desk.md, "Search and encryption"). Contacts (customer number, intent, channel,
// times), tags and canned replies (company text) stay clear.
class EncDeskflow final : public store::DeskflowRepository {
 public:
  EncDeskflow(store::DeskflowRepository& inner, EncryptionContext& ctx, EncTickets* tickets)
      : in_(inner), ctx_(ctx), tickets_(tickets) {}

  Status PutContact(store::Transaction& txn, const store::TicketContactRecord& record) override {
    return in_.PutContact(txn, record);
  }
  Result<std::optional<store::TicketContactRecord>> FindContact(std::int64_t ticket) override {
    return in_.FindContact(ticket);
  }
  Result<std::vector<store::TicketContactRecord>> Contacts(CustomerId customer, Millis since) override {
    return in_.Contacts(customer, since);
  }
  Status ScanContacts(Millis from, Millis to, const std::function<void(store::TicketContactRecord&&)>& fn) override {
    return in_.ScanContacts(from, to, fn);
  }

  Status AddTag(store::Transaction& txn, std::int64_t ticket, const std::string& tag) override {
    return in_.AddTag(txn, ticket, tag);
  }
  Status RemoveTag(store::Transaction& txn, std::int64_t ticket, const std::string& tag) override {
    return in_.RemoveTag(txn, ticket, tag);
  }
  Result<std::vector<std::string>> Tags(std::int64_t ticket) override { return in_.Tags(ticket); }
  Result<std::vector<std::int64_t>> TicketsWithTag(const std::string& tag, std::int64_t before, int limit) override {
    return in_.TicketsWithTag(tag, before, limit);
  }

  Status SetField(store::Transaction& txn, std::int64_t ticket, const std::string& name,
                  const std::string& value) override {
    if (value.empty()) return in_.SetField(txn, ticket, name, value);  // removes the field
    TP_ASSIGN_OR_RETURN(CustomerId owner, DeskOwner(tickets_, ticket));
    TP_ASSIGN_OR_RETURN(std::string sealed, ctx_.Seal(owner, "ticket_fields.value", FieldRow(ticket, name), value, true));
    TP_RETURN_IF_ERROR(ctx_.keyring().Flush());
    return in_.SetField(txn, ticket, name, sealed);
  }
  Result<std::vector<std::pair<std::string, std::string>>> Fields(std::int64_t ticket) override {
    TP_ASSIGN_OR_RETURN(auto out, in_.Fields(ticket));
    for (auto& [name, value] : out) {
      auto opened = ctx_.Open("ticket_fields.value", FieldRow(ticket, name), value, true);
      if (!opened.ok() && opened.status().code() == StatusCode::kNotFound) {
        value = kErasedText;
        continue;
      }
      if (!opened.ok()) return opened.status();
      value = std::move(*opened);
    }
    return out;
  }

  Status AddTokens(store::Transaction& txn, std::int64_t ticket, std::span<const std::int64_t> tokens) override {
    std::vector<std::int64_t> keyed(tokens.begin(), tokens.end());
    for (std::int64_t& t : keyed) t = Keyed(t);
    return in_.AddTokens(txn, ticket, keyed);
  }
  // Under every version of the key file: tokens are keyed under the version current when their
  // text was indexed, and a rotation cannot re-key them (the words are not stored).
  Result<std::vector<std::int64_t>> TicketsWithToken(std::int64_t token, std::int64_t before, int limit) override {
    if (ctx_.indexers().size() == 1) return in_.TicketsWithToken(Keyed(token), before, limit);
    std::vector<std::int64_t> out;
    for (const auto& indexer : ctx_.indexers()) {
      TP_ASSIGN_OR_RETURN(std::vector<std::int64_t> some, in_.TicketsWithToken(Keyed(*indexer, token), before, limit));
      out.insert(out.end(), some.begin(), some.end());
    }
    std::sort(out.begin(), out.end(), std::greater<>());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    if (limit >= 0 && out.size() > static_cast<size_t>(limit)) out.resize(static_cast<size_t>(limit));
    return out;
  }

  Status PutCanned(store::Transaction& txn, const store::CannedReplyRecord& record) override {
    return in_.PutCanned(txn, record);
  }
  Result<std::optional<store::CannedReplyRecord>> FindCanned(const std::string& name) override {
    return in_.FindCanned(name);
  }
  Result<std::vector<store::CannedReplyRecord>> ListCanned() override { return in_.ListCanned(); }
  Status DeleteCanned(store::Transaction& txn, const std::string& name) override {
    return in_.DeleteCanned(txn, name);
  }

 private:
  static std::string FieldRow(std::int64_t ticket, const std::string& name) {
    return std::to_string(ticket) + ':' + name;
  }
  // The index's token (service/search.h: the token hasher's 64-bit hash of a word) keyed with the
  // blind-index key: BLAKE2b-64 keyed over ("search", its 8 little-endian bytes).
  std::int64_t Keyed(std::int64_t token) const { return Keyed(ctx_.indexer(), token); }
  static std::int64_t Keyed(const BlindIndexer& indexer, std::int64_t token) {
    char bytes[8];
    const auto u = static_cast<std::uint64_t>(token);
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((u >> (8 * i)) & 0xff);
    return indexer.Of("search", std::string_view(bytes, 8)).value;
  }
  store::DeskflowRepository& in_;
  EncryptionContext& ctx_;
  EncTickets* tickets_;
};

// The outbox's queued deliveries (store/outbox_repository.h): the payload — a webhook's JSON body
// (a desk event may carry a ticket's text) or a whole e-mail (a reply's text and the customer's
// address in its headers) — under the field's key, with the delivery's idempotency key as the
// row, as text (the column is text on PostgreSQL). The envelope recipient (`target`), the event type, states, times and errors stay clear:
// the dispatcher claims by them (docs/security.md, "What is encrypted").
class EncOutbox final : public store::OutboxRepository {
 public:
  EncOutbox(store::OutboxRepository& inner, EncryptionContext& ctx) : in_(inner), ctx_(ctx) {}

  Result<std::int64_t> Enqueue(store::Transaction& txn, const store::Delivery& delivery) override {
    store::Delivery sealed = delivery;
    TP_ASSIGN_OR_RETURN(sealed.payload,
                        ctx_.Seal(CustomerId(), "outbox.payload", delivery.idempotency_key, delivery.payload, true));
    return in_.Enqueue(txn, sealed);
  }
  Result<std::vector<store::Delivery>> Claim(store::DeliveryKind kind, const std::string& target, Millis now,
                                             Millis claim_until, int limit) override {
    TP_ASSIGN_OR_RETURN(std::vector<store::Delivery> out, in_.Claim(kind, target, now, claim_until, limit));
    for (auto& d : out) TP_RETURN_IF_ERROR(OpenPayload(d));
    return out;
  }
  Status Finish(std::span<const store::DeliveryOutcome> outcomes) override { return in_.Finish(outcomes); }
  Result<std::int64_t> ReleaseClaims(Millis now) override { return in_.ReleaseClaims(now); }
  Result<std::int64_t> Retry(std::int64_t id, Millis now) override { return in_.Retry(id, now); }
  Result<std::optional<store::Delivery>> Find(std::int64_t id) override {
    TP_ASSIGN_OR_RETURN(std::optional<store::Delivery> d, in_.Find(id));
    if (d) TP_RETURN_IF_ERROR(OpenPayload(*d));
    return d;
  }
  Result<std::vector<store::Delivery>> List(const store::DeliveryQuery& query) override {
    TP_ASSIGN_OR_RETURN(std::vector<store::Delivery> out, in_.List(query));
    for (auto& d : out) TP_RETURN_IF_ERROR(OpenPayload(d));
    return out;
  }
  Result<std::array<std::int64_t, store::kDeliveryStateCount>> CountByState() override { return in_.CountByState(); }
  Result<std::optional<Millis>> NextDue(store::DeliveryKind kind, const std::string& target) override {
    return in_.NextDue(kind, target);
  }
  Result<std::int64_t> PruneDelivered(Millis before) override { return in_.PruneDelivered(before); }

 private:
  Status OpenPayload(store::Delivery& d) {
    TP_ASSIGN_OR_RETURN(d.payload, ctx_.Open("outbox.payload", d.idempotency_key, d.payload, true));
    return Status::Ok();
  }
  store::OutboxRepository& in_;
  EncryptionContext& ctx_;
};

// Consent decisions: the value, the wording version and the actor under the person's data key
// (the purpose, channel, source and time stay clear: fixed vocabulary and what a report counts).
class EncConsents final : public store::ConsentRepository {
 public:
  EncConsents(store::ConsentRepository& inner, EncryptionContext& ctx) : in_(inner), ctx_(ctx) {}
  Status Add(store::Transaction& txn, std::span<const store::ConsentRecord> records) override {
    TP_ASSIGN_OR_RETURN(std::vector<store::ConsentRecord> sealed, SealAll(records));
    return in_.Add(txn, sealed);
  }
  Result<std::vector<store::ConsentRecord>> Record(std::span<const store::ConsentRecord> records) override {
    TP_ASSIGN_OR_RETURN(std::vector<store::ConsentRecord> sealed, SealAll(records));
    TP_ASSIGN_OR_RETURN(std::vector<store::ConsentRecord> stored, in_.Record(sealed));
    for (size_t i = 0; i < stored.size() && i < records.size(); ++i) {
      const std::int64_t id = stored[i].id;
      stored[i] = records[i];
      stored[i].id = id;
    }
    return stored;
  }
  Result<std::vector<store::ConsentRecord>> ForCustomers(std::span<const CustomerId> customers) override {
    TP_ASSIGN_OR_RETURN(std::vector<store::ConsentRecord> out, in_.ForCustomers(customers));
    Status failed;
    std::erase_if(out, [&](store::ConsentRecord& r) {
      Status s = OpenRecord(r);
      if (!s.ok() && !Erased(s) && failed.ok()) failed = s;
      return !s.ok();
    });
    TP_RETURN_IF_ERROR(failed);
    return out;
  }
  Status Scan(const std::function<void(store::ConsentRecord&&)>& fn) override {
    Status failed;
    TP_RETURN_IF_ERROR(in_.Scan([&](store::ConsentRecord&& r) {
      if (!failed.ok()) return;
      if (Status st = OpenRecord(r); !st.ok()) {
        if (!Erased(st)) failed = st;
        return;
      }
      fn(std::move(r));
    }));
    return failed;
  }
  Result<std::int64_t> Count() override { return in_.Count(); }

 private:
  // The row: what stays clear of the record (its id is assigned at commit).
  static std::string Row(const store::ConsentRecord& r) {
    return std::to_string(r.customer.value()) + ':' + r.purpose + ':' + r.channel + ':' + r.source + ':' +
           std::to_string(r.at);
  }
  Result<std::vector<store::ConsentRecord>> SealAll(std::span<const store::ConsentRecord> records) {
    std::vector<store::ConsentRecord> sealed(records.begin(), records.end());
    for (auto& r : sealed) {
      const std::string row = Row(r);
      TP_ASSIGN_OR_RETURN(r.value, ctx_.Seal(r.customer, "consents.value", row, r.value, true));
      TP_ASSIGN_OR_RETURN(r.wording_version,
                          ctx_.Seal(r.customer, "consents.wording_version", row, r.wording_version, true));
      TP_ASSIGN_OR_RETURN(r.actor, ctx_.Seal(r.customer, "consents.actor", row, r.actor, true));
    }
    TP_RETURN_IF_ERROR(ctx_.keyring().Flush());
    return sealed;
  }
  Status OpenRecord(store::ConsentRecord& r) {
    const std::string row = Row(r);
    TP_ASSIGN_OR_RETURN(r.value, ctx_.Open("consents.value", row, r.value, true));
    TP_ASSIGN_OR_RETURN(r.wording_version, ctx_.Open("consents.wording_version", row, r.wording_version, true));
    TP_ASSIGN_OR_RETURN(r.actor, ctx_.Open("consents.actor", row, r.actor, true));
    return Status::Ok();
  }
  store::ConsentRepository& in_;
  EncryptionContext& ctx_;
};

// Users' TOTP secrets under the field's key, bound to the user's e-mail (lower-cased, never
// changed): a secret copied onto another user's row does not open. An empty secret (not
// enrolled) stays empty.
class EncUsers final : public store::UserRepository {
 public:
  EncUsers(store::UserRepository& inner, EncryptionContext& ctx) : in_(inner), ctx_(ctx) {}
  Result<store::UserRecord> Create(const store::UserRecord& user) override {
    store::UserRecord sealed = user;
    TP_ASSIGN_OR_RETURN(sealed.totp_secret, SealSecret(user.email, user.totp_secret));
    TP_ASSIGN_OR_RETURN(store::UserRecord stored, in_.Create(sealed));
    stored.totp_secret = user.totp_secret;
    return stored;
  }
  Result<std::optional<store::UserRecord>> Find(std::int64_t id) override {
    TP_ASSIGN_OR_RETURN(std::optional<store::UserRecord> u, in_.Find(id));
    if (u) TP_RETURN_IF_ERROR(OpenSecret(*u));
    return u;
  }
  Result<std::optional<store::UserRecord>> FindByEmail(const std::string& email) override {
    TP_ASSIGN_OR_RETURN(std::optional<store::UserRecord> u, in_.FindByEmail(email));
    if (u) TP_RETURN_IF_ERROR(OpenSecret(*u));
    return u;
  }
  Result<std::vector<store::UserRecord>> List() override {
    TP_ASSIGN_OR_RETURN(std::vector<store::UserRecord> out, in_.List());
    for (auto& u : out) TP_RETURN_IF_ERROR(OpenSecret(u));
    return out;
  }
  Status Update(std::int64_t id, const store::UserUpdate& update) override {
    if (!update.totp_secret || update.totp_secret->empty()) return in_.Update(id, update);
    TP_ASSIGN_OR_RETURN(std::optional<store::UserRecord> u, in_.Find(id));
    if (!u) return Status::NotFound("no user with id " + std::to_string(id));
    store::UserUpdate sealed = update;
    TP_ASSIGN_OR_RETURN(*sealed.totp_secret, SealSecret(u->email, *update.totp_secret));
    return in_.Update(id, sealed);
  }
  Result<bool> AdvanceTotpStep(std::int64_t id, std::int64_t step) override { return in_.AdvanceTotpStep(id, step); }
  Result<int> AddFailedLogin(std::int64_t id) override { return in_.AddFailedLogin(id); }

 private:
  Result<std::string> SealSecret(const std::string& email, const std::string& secret) {
    if (secret.empty()) return std::string();
    return ctx_.Seal(CustomerId(), "users.totp_secret", email, secret, true);
  }
  Status OpenSecret(store::UserRecord& u) {
    if (u.totp_secret.empty()) return Status::Ok();
    TP_ASSIGN_OR_RETURN(u.totp_secret, ctx_.Open("users.totp_secret", u.email, u.totp_secret, true));
    return Status::Ok();
  }
  store::UserRepository& in_;
  EncryptionContext& ctx_;
};

// Events sealed ahead of the commit (in PrepareEvents, on the writer's thread), with the inner
// store's own preparation of the sealed copies — only over a backend without chunks (memory),
// which cannot seal chunks: there each body is sealed under its person's key.
struct SealedEvents final : store::PreparedEvents {
  mutable std::vector<store::EventRecord> sealed;
  std::unique_ptr<store::PreparedEvents> inner;
};

class EncEvents final : public store::EventLog {
 public:
  EncEvents(store::EventLog& inner, store::Maintenance* inner_maintenance, EncryptionContext& ctx, bool chunks_sealed)
      : in_(inner), inner_maintenance_(inner_maintenance), ctx_(ctx), chunks_sealed_(chunks_sealed) {}

  Result<std::unique_ptr<SealedEvents>> SealAll(std::span<const store::EventRecord> events) {
    auto out = std::make_unique<SealedEvents>();
    out->sealed.assign(events.begin(), events.end());
    for (store::EventRecord& e : out->sealed) {
      TP_ASSIGN_OR_RETURN(e.body, ctx_.Seal(e.customer, "events.body", HashRow(e.hash), e.body, false));
    }
    return out;
  }

  Status Append(store::Transaction& txn, std::span<store::EventRecord> events,
                const store::PreparedEvents* prepared = nullptr) override {
    if (chunks_sealed_) {
      TP_RETURN_IF_ERROR(in_.Append(txn, events, prepared));
      return ctx_.keyring().Flush();  // the chunk keys before the commit of the chunks
    }
    const auto* ready = dynamic_cast<const SealedEvents*>(prepared);
    std::unique_ptr<SealedEvents> own;
    if (ready == nullptr || !Matches(*ready, events)) {
      TP_ASSIGN_OR_RETURN(own, SealAll(events));
      ready = own.get();
    }
    TP_RETURN_IF_ERROR(ctx_.keyring().Flush());  // the keys before the data that uses them
    TP_RETURN_IF_ERROR(in_.Append(txn, ready->sealed, ready->inner.get()));
    for (size_t i = 0; i < events.size(); ++i) events[i].seq = ready->sealed[i].seq;
    return Status::Ok();
  }
  // A copy's events (store/copy.h) keep their seqs: sealed like Append's.
  Status AppendWithSeqs(store::Transaction& txn, std::span<const store::EventRecord> events,
                        std::int64_t last_seq) override {
    if (chunks_sealed_) {
      TP_RETURN_IF_ERROR(in_.AppendWithSeqs(txn, events, last_seq));
      return ctx_.keyring().Flush();  // the chunk keys before the commit of the chunks
    }
    TP_ASSIGN_OR_RETURN(std::unique_ptr<SealedEvents> sealed, SealAll(events));
    TP_RETURN_IF_ERROR(ctx_.keyring().Flush());  // the keys before the data that uses them
    return in_.AppendWithSeqs(txn, sealed->sealed, last_seq);
  }
  Status RaiseNewestEventAt(store::Transaction& txn, Millis at) override { return in_.RaiseNewestEventAt(txn, at); }
  Status ScanHashes(const std::function<void(const store::MessageHash&)>& fn) override { return in_.ScanHashes(fn); }
  Status ScanFrom(std::int64_t from_seq, const std::function<bool(store::EventRecord&&)>& fn) override {
    if (chunks_sealed_) return in_.ScanFrom(from_seq, fn);  // the store opens the chunks
    Status failed;
    TP_RETURN_IF_ERROR(in_.ScanFrom(from_seq, [&](store::EventRecord&& e) {
      auto body = ctx_.Open("events.body", HashRow(e.hash), e.body, false);
      if (!body.ok()) {
        if (Erased(body.status())) return true;
        failed = body.status().WithContext("event " + std::to_string(e.seq));
        return false;
      }
      e.body = std::move(*body);
      return fn(std::move(e));
    }));
    return failed;
  }
  Result<std::int64_t> LastSeq() override { return in_.LastSeq(); }
  Result<Millis> NewestEventAt() override { return in_.NewestEventAt(); }
  Result<std::int64_t> Count() override { return in_.Count(); }

  std::unique_ptr<store::PreparedEvents> Prepare(std::span<const store::EventRecord> events) {
    if (chunks_sealed_) {
      return inner_maintenance_ != nullptr ? inner_maintenance_->PrepareEvents(events) : nullptr;
    }
    auto sealed = SealAll(events);
    if (!sealed.ok()) return nullptr;  // Append seals again and reports the error
    if (inner_maintenance_ != nullptr) (*sealed)->inner = inner_maintenance_->PrepareEvents((*sealed)->sealed);
    return std::move(*sealed);
  }

 private:
  static bool Matches(const SealedEvents& s, std::span<const store::EventRecord> events) {
    if (s.sealed.size() != events.size()) return false;
    for (size_t i = 0; i < events.size(); ++i) {
      if (!(s.sealed[i].hash == events[i].hash)) return false;
    }
    return true;
  }
  store::EventLog& in_;
  store::Maintenance* inner_maintenance_;
  EncryptionContext& ctx_;
  bool chunks_sealed_;  // the inner store seals whole chunks (ChunkKeys)
};

class EncMaintenance final : public store::Maintenance {
 public:
  EncMaintenance(EncEvents& events, store::Maintenance* inner) : events_(events), inner_(inner) {}
  std::unique_ptr<store::PreparedEvents> PrepareEvents(std::span<const store::EventRecord> events) override {
    return events_.Prepare(events);
  }
  void FoldLog() override {
    if (inner_ != nullptr) inner_->FoldLog();
  }

 private:
  EncEvents& events_;
  store::Maintenance* inner_;
};

class EncChangeFeed final : public store::ChangeFeed {
 public:
  EncChangeFeed(store::ChangeFeed& inner, EncIdentity& identity, EncProfiles& profiles)
      : in_(inner), identity_(identity), profiles_(profiles) {}
  Result<store::Changes> ChangesSince(std::int64_t mark) override {
    TP_ASSIGN_OR_RETURN(store::Changes c, in_.ChangesSince(mark));
    TP_RETURN_IF_ERROR(identity_.OpenAll(c.identifiers));
    std::erase_if(c.profiles, [&](store::ProfileRecord& p) {
      Status s = profiles_.OpenData(p);
      if (!s.ok() && !Erased(s) && failed_.ok()) failed_ = s;
      return !s.ok();
    });
    if (!failed_.ok()) return std::exchange(failed_, Status::Ok());
    return c;
  }

 private:
  store::ChangeFeed& in_;
  EncIdentity& identity_;
  EncProfiles& profiles_;
  Status failed_;
};

}  // namespace

struct EncryptedStore::Layers {
  Layers(store::Store& inner, EncryptionContext& ctx)
      : chunk_keys(std::make_shared<ChunkKeys>(ctx)),
        chunks_sealed(inner.SealEventChunks(chunk_keys)),
        identity(inner.Get<store::IdentityRepository>(), ctx),
        profiles(inner.Get<store::ProfileRepository>(), ctx),
        activity(inner.Get<store::ActivityRepository>(), ctx),
        events(inner.Get<store::EventLog>(), inner.maintenance(), ctx, chunks_sealed),
        maintenance(events, inner.maintenance()),
        tickets(Wrap<EncTickets, store::TicketRepository>(inner, ctx)),
        channels(inner.Find<store::ChannelRepository>() != nullptr
                     ? std::make_unique<EncChannels>(*inner.Find<store::ChannelRepository>(), ctx, tickets.get())
                     : nullptr),
        deskflow(inner.Find<store::DeskflowRepository>() != nullptr
                     ? std::make_unique<EncDeskflow>(*inner.Find<store::DeskflowRepository>(), ctx, tickets.get())
                     : nullptr),
        consents(Wrap<EncConsents, store::ConsentRepository>(inner, ctx)),
        users(Wrap<EncUsers, store::UserRepository>(inner, ctx)),
        outbox(Wrap<EncOutbox, store::OutboxRepository>(inner, ctx)),
        erasure(inner.Find<store::ErasureRepository>() != nullptr
                    ? std::make_unique<EncErasure>(*inner.Find<store::ErasureRepository>(), *chunk_keys,
                                                   ctx.keyring())
                    : nullptr),
        feed(inner.change_feed() != nullptr
                 ? std::make_unique<EncChangeFeed>(*inner.change_feed(), identity, profiles)
                 : nullptr) {}
  std::shared_ptr<ChunkKeys> chunk_keys;  // shared with the inner store (SealEventChunks)
  bool chunks_sealed;
  EncIdentity identity;
  EncProfiles profiles;
  EncActivity activity;
  EncEvents events;
  EncMaintenance maintenance;
  std::unique_ptr<EncTickets> tickets;
  std::unique_ptr<EncChannels> channels;
  std::unique_ptr<EncDeskflow> deskflow;
  std::unique_ptr<EncConsents> consents;
  std::unique_ptr<EncUsers> users;
  std::unique_ptr<EncOutbox> outbox;
  std::unique_ptr<EncErasure> erasure;
  std::unique_ptr<EncChangeFeed> feed;

  // The layer of repository R when the inner store has one.
  template <class L, class R>
  static std::unique_ptr<L> Wrap(store::Store& inner, EncryptionContext& ctx) {
    R* r = inner.Find<R>();
    return r != nullptr ? std::make_unique<L>(*r, ctx) : nullptr;
  }
};

EncryptedStore::EncryptedStore(std::unique_ptr<store::Store> inner, std::shared_ptr<EncryptionContext> context)
    : inner_(std::move(inner)),
      context_(std::move(context)),
      layers_(std::make_unique<Layers>(*inner_, *context_)) {
  ProvideAllOf(*inner_);
  Provide<store::IdentityRepository>(layers_->identity);
  Provide<store::ProfileRepository>(layers_->profiles);
  Provide<store::ActivityRepository>(layers_->activity);
  Provide<store::EventLog>(layers_->events);
  if (layers_->erasure != nullptr) Provide<store::ErasureRepository>(*layers_->erasure);
  if (layers_->tickets != nullptr) Provide<store::TicketRepository>(*layers_->tickets);
  if (layers_->channels != nullptr) Provide<store::ChannelRepository>(*layers_->channels);
  if (layers_->deskflow != nullptr) Provide<store::DeskflowRepository>(*layers_->deskflow);
  if (layers_->consents != nullptr) Provide<store::ConsentRepository>(*layers_->consents);
  if (layers_->users != nullptr) Provide<store::UserRepository>(*layers_->users);
  if (layers_->outbox != nullptr) Provide<store::OutboxRepository>(*layers_->outbox);
}

EncryptedStore::~EncryptedStore() = default;

store::Maintenance* EncryptedStore::maintenance() { return &layers_->maintenance; }

store::ChangeFeed* EncryptedStore::change_feed() { return layers_->feed.get(); }

std::function<Status(std::span<const CustomerId>)> CryptoShredder(store::Store& store) {
  auto* encrypted = dynamic_cast<EncryptedStore*>(&store);
  if (encrypted == nullptr) return [](std::span<const CustomerId>) { return Status::Ok(); };
  return [encrypted](std::span<const CustomerId> customers) { return encrypted->context().keyring().Destroy(customers); };
}

}  // namespace touchpoint::privacy

#include <touchpoint/store/chunk/event_chunk.h>

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

namespace touchpoint::store {
namespace {

// LEB128 varints, written by hand: a dozen lines, and no Debian library offers them alone.
void PutVarint(std::uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(static_cast<unsigned char>(v | 0x80)));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutBytes(std::string_view s, std::string& out) {
  PutVarint(s.size(), out);
  out.append(s);
}

std::uint64_t ZigZag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::int64_t UnZigZag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

// Bounds-checked reader over one chunk's records.
class Reader {
 public:
  explicit Reader(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}
  bool Varint(std::uint64_t* v) {
    std::uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return false;
      const auto b = static_cast<unsigned char>(*p_++);
      r |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) {
        *v = r;
        return true;
      }
    }
    return false;
  }
  bool AtEnd() const { return p_ == end_; }
  const char* position() const { return p_; }
  // A length-prefixed field, as a view into the records.
  bool View(std::string_view* s) {
    std::uint64_t n = 0;
    if (!Varint(&n) || n > static_cast<std::uint64_t>(end_ - p_)) return false;
    *s = std::string_view(p_, static_cast<size_t>(n));
    p_ += n;
    return true;
  }
  bool Skip() {
    std::string_view ignored;
    return View(&ignored);
  }
  bool Byte(unsigned char* b) {
    if (p_ == end_) return false;
    *b = static_cast<unsigned char>(*p_++);
    return true;
  }
  bool Bytes(std::string* s) {
    std::uint64_t n = 0;
    if (!Varint(&n) || n > static_cast<std::uint64_t>(end_ - p_)) return false;
    s->assign(p_, static_cast<size_t>(n));
    p_ += n;
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

void PutLe64(std::uint64_t v, std::string& out) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.append(b, 8);
}

// The sorted, distinct ids as varint deltas (CustomerSetOf's format), appended to `out`.
void PutCustomerSet(std::span<const std::int64_t> sorted_ids, std::string& out) {
  std::int64_t prev = 0;
  for (std::int64_t id : sorted_ids) {
    PutVarint(static_cast<std::uint64_t>(id - prev), out);
    prev = id;
  }
}

Status Corrupt(std::int64_t first_seq, const char* what) {
  return Status::Internal("event chunk at seq " + std::to_string(first_seq) + " is corrupt: " + what);
}

std::uint64_t GetLe64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

}  // namespace

struct EventChunkCodec::Contexts {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ~Contexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};

EventChunkCodec::EventChunkCodec(int level) : level_(level), ctx_(std::make_unique<Contexts>()) {}
EventChunkCodec::~EventChunkCodec() = default;

void AppendHash(const MessageHash& h, std::string& out) {
  PutLe64(h.hi, out);
  PutLe64(h.lo, out);
}

MessageHash ReadHash(const char* p) { return MessageHash{GetLe64(p), GetLe64(p + 8)}; }

void EventChunkCodec::Encode(std::span<const EventRecord> events, EncodedChunk& out) {
  out.hashes.clear();
  out.hashes.reserve(events.size() * 16);
  raw_.clear();
  for (const EventRecord& e : events) {
    AppendHash(e.hash, out.hashes);
    PutVarint(static_cast<std::uint64_t>(e.customer.value()), raw_);
    PutVarint(ZigZag(e.timestamp), raw_);
    raw_.push_back(static_cast<char>(static_cast<int>(e.kind)));
    PutBytes(e.message_id, raw_);
    PutBytes(e.name, raw_);
    PutBytes(e.body, raw_);
  }
  out.n = static_cast<int>(events.size());
  Compress(raw_, out);
}

void EventChunkCodec::Compress(const std::string& records, EncodedChunk& out) {
  out.raw_size = static_cast<std::int64_t>(records.size());
  if (level_ > 0 && ctx_->c != nullptr) {
    // Into a reused scratch buffer: sizing out.data to the bound would zero-fill ~2 MiB a chunk.
    const size_t bound = ZSTD_compressBound(records.size());
    if (bound > zcap_) {
      zbuf_ = std::make_unique_for_overwrite<char[]>(bound);
      zcap_ = bound;
    }
    const size_t got = ZSTD_compressCCtx(ctx_->c, zbuf_.get(), zcap_, records.data(), records.size(), level_);
    if (!ZSTD_isError(got) && got < records.size()) {
      if (sealer_ != nullptr) {
        out.data = sealer_->Seal(std::string_view(zbuf_.get(), got), out.hashes);
        out.codec = ChunkCodec::kZstdSealed;
        return;
      }
      out.data.assign(zbuf_.get(), got);
      out.codec = ChunkCodec::kZstd;
      return;
    }
  }
  if (sealer_ != nullptr) {
    out.data = sealer_->Seal(records, out.hashes);
    out.codec = ChunkCodec::kRawSealed;
    return;
  }
  out.data.assign(records);
  out.codec = ChunkCodec::kRaw;
}

Result<bool> EventChunkCodec::Unseal(std::int64_t first_seq, std::string_view hashes, int& codec,
                                     std::string_view& data) {
  if ((codec & kSealedBit) == 0) return true;
  if (sealer_ == nullptr) {
    return Status::FailedPrecondition("event chunk at seq " + std::to_string(first_seq) +
                                      " is encrypted at rest: open this store through its encryption layer");
  }
  auto opened = sealer_->Open(data, hashes);
  if (!opened.ok() && opened.status().code() == StatusCode::kNotFound) return false;
  if (!opened.ok()) return opened.status().WithContext("event chunk at seq " + std::to_string(first_seq));
  opened_ = std::move(*opened);
  data = opened_;
  codec &= ~kSealedBit;
  return true;
}

Result<std::string_view> EventChunkCodec::Records(std::int64_t first_seq, int n, int codec, std::int64_t raw_size,
                                                  std::string_view hashes, std::string_view data) {
  if (n < 0 || hashes.size() != static_cast<size_t>(n) * 16) return Corrupt(first_seq, "hash column size");
  if (codec == static_cast<int>(ChunkCodec::kRaw)) return data;
  if (codec != static_cast<int>(ChunkCodec::kZstd)) return Corrupt(first_seq, "unknown codec");
  // raw_size is bounded by the writer (kMaxChunkRawBytes plus one record); refuse absurd sizes
  // rather than allocate them.
  if (raw_size < 0 || raw_size > (std::int64_t{1} << 32)) return Corrupt(first_seq, "raw size");
  raw_.resize(static_cast<size_t>(raw_size));
  const size_t got = ZSTD_decompressDCtx(ctx_->d, raw_.data(), raw_.size(), data.data(), data.size());
  if (ZSTD_isError(got) || got != raw_.size()) return Corrupt(first_seq, "zstd frame");
  return std::string_view(raw_);
}

Status EventChunkCodec::Decode(std::int64_t first_seq, int n, int codec, std::int64_t raw_size,
                               std::string_view hashes, std::string_view data,
                               const std::function<bool(EventRecord&&)>& fn, bool* stopped) {
  *stopped = false;
  if (n < 0 || hashes.size() != static_cast<size_t>(n) * 16) return Corrupt(first_seq, "hash column size");
  TP_ASSIGN_OR_RETURN(const bool readable, Unseal(first_seq, hashes, codec, data));
  // Not readable: its key was destroyed by an erasure that rewrote the chunk (this is an old
  // copy): its events read as erased.
  if (!readable) return Status::Ok();
  TP_ASSIGN_OR_RETURN(const std::string_view records, Records(first_seq, n, codec, raw_size, hashes, data));
  Reader r(records);
  for (int i = 0; i < n; ++i) {
    EventRecord e;
    e.seq = first_seq + i;
    e.hash = ReadHash(hashes.data() + static_cast<size_t>(i) * 16);
    std::uint64_t customer = 0;
    std::uint64_t ts = 0;
    unsigned char kind = 0;
    if (!r.Varint(&customer) || !r.Varint(&ts) || !r.Byte(&kind) || !r.Bytes(&e.message_id) ||
        !r.Bytes(&e.name) || !r.Bytes(&e.body)) {
      return Corrupt(first_seq, "truncated record");
    }
    e.customer = CustomerId(static_cast<std::int64_t>(customer));
    e.timestamp = UnZigZag(ts);
    e.kind = static_cast<EventKind>(kind);
    if (IsTombstone(e)) continue;
    if (!fn(std::move(e))) {
      *stopped = true;
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Result<EventChunkCodec::Rewritten> EventChunkCodec::EraseFrom(std::int64_t first_seq, int n, int codec,
                                                              std::int64_t raw_size, std::string_view hashes,
                                                              std::string_view data,
                                                              std::span<const std::int64_t> erase, EncodedChunk& out) {
  // On the records' bytes, not on decoded EventRecords: a kept record is copied as it is, an
  // erased one becomes the tombstone record, and nothing is allocated per event (the erasure of
  // a person in every chunk rewrites the whole log: docs/performance.md).
  if (n < 0 || hashes.size() != static_cast<size_t>(n) * 16) return Corrupt(first_seq, "hash column size");
  const bool sealed = (codec & kSealedBit) != 0;
  const std::string_view sealed_data = data;
  TP_ASSIGN_OR_RETURN(const bool readable, Unseal(first_seq, hashes, codec, data));
  if (!readable) return Rewritten{};  // its key is gone (only an old copy): nothing to erase
  TP_ASSIGN_OR_RETURN(const std::string_view records, Records(first_seq, n, codec, raw_size, hashes, data));
  static const MessageHash kNoHash{};
  Rewritten r;
  kept_.clear();
  kept_.reserve(records.size());
  out.hashes.assign(hashes);
  customers_.clear();
  bool first = true;
  Reader reader(records);
  for (int i = 0; i < n; ++i) {
    const char* begin = reader.position();
    std::uint64_t customer = 0;
    std::uint64_t ts = 0;
    unsigned char kind = 0;
    std::string_view id;
    if (!reader.Varint(&customer) || !reader.Varint(&ts) || !reader.Byte(&kind) || !reader.View(&id) ||
        !reader.Skip() || !reader.Skip()) {
      return Corrupt(first_seq, "truncated record");
    }
    const char* end = reader.position();
    const std::string_view hash = hashes.substr(static_cast<size_t>(i) * 16, 16);
    const bool tombstone = customer == 0 && id.empty() && ReadHash(hash.data()) == kNoHash;
    if (!tombstone && std::binary_search(erase.begin(), erase.end(), static_cast<std::int64_t>(customer))) {
      // The tombstone: customer 0, timestamp 0, kind 0, empty id, name and body; a zero hash.
      kept_.append(6, '\0');
      std::memset(out.hashes.data() + static_cast<size_t>(i) * 16, 0, 16);
      ++r.removed;
      continue;
    }
    kept_.append(begin, static_cast<size_t>(end - begin));
    if (tombstone) continue;
    ++r.live;
    const Millis at = UnZigZag(ts);
    r.min_ts = first ? at : std::min(r.min_ts, at);
    r.max_ts = first ? at : std::max(r.max_ts, at);
    first = false;
    if (customer != 0) customers_.push_back(static_cast<std::int64_t>(customer));
  }
  if (!reader.AtEnd()) return Corrupt(first_seq, "trailing bytes");
  if (r.removed == 0) return r;
  std::sort(customers_.begin(), customers_.end());
  customers_.erase(std::unique(customers_.begin(), customers_.end()), customers_.end());
  PutCustomerSet(customers_, r.customers);
  Compress(kept_, out);  // sealed under a new key when sealing (out.hashes is the new one)
  if (sealed && sealer_ != nullptr) sealer_->Retire(sealed_data);
  out.n = n;
  return r;
}

void EraseFromAll(std::span<ChunkErasure> jobs, std::span<const std::int64_t> erase, size_t threads,
                  std::vector<std::unique_ptr<EventChunkCodec>>& codecs, int level, ChunkSealer* sealer) {
  threads = std::clamp<size_t>(threads, 1, std::max<size_t>(jobs.size(), 1));
  while (codecs.size() < threads) codecs.push_back(std::make_unique<EventChunkCodec>(level));
  for (auto& codec : codecs) codec->set_sealer(sealer);
  const auto run = [&](size_t worker) {
    for (size_t k = worker; k < jobs.size(); k += threads) {
      ChunkErasure& job = jobs[k];
      auto r = codecs[worker]->EraseFrom(job.first_seq, job.n, job.codec, job.raw_size, job.hashes, job.data, erase,
                                         job.out);
      job.status = r.status();
      if (r.ok()) job.result = std::move(*r);
    }
  };
  std::vector<std::thread> pool;
  for (size_t w = 1; w < threads; ++w) pool.emplace_back(run, w);
  run(0);
  for (std::thread& t : pool) t.join();
}

size_t ErasureThreads() { return std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4); }

std::string CustomerSetOf(std::span<const EventRecord> events) {
  std::vector<std::int64_t> ids;
  ids.reserve(events.size());
  for (const EventRecord& e : events) {
    if (e.customer.valid()) ids.push_back(e.customer.value());
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::string out;
  out.reserve(ids.size() * 3);
  PutCustomerSet(ids, out);
  return out;
}

bool CustomerSetIntersects(std::string_view set, std::span<const std::int64_t> sorted) {
  if (sorted.empty()) return false;
  Reader r(set);
  std::int64_t id = 0;
  size_t k = 0;
  while (!r.AtEnd()) {
    std::uint64_t delta = 0;
    if (!r.Varint(&delta)) return true;  // does not parse: let the caller decode the chunk
    id += static_cast<std::int64_t>(delta);
    while (k < sorted.size() && sorted[k] < id) ++k;
    if (k == sorted.size()) return false;
    if (sorted[k] == id) return true;
  }
  return false;
}

}  // namespace touchpoint::store

// store/chunk/event_chunk.h — the stored encoding of the event log, shared by the SQLite and
// PostgreSQL adapters (private to src/store).
//
// Events are stored in chunks: one row per run of up to kMaxChunkEvents events written by one
// Append. A row per event cost 2–3 µs of SQLite work on the single writer and wrote every
// ~400-byte body twice (WAL, then the checkpoint); on PostgreSQL it cost the server as much CPU
// as Touchpoint's whole ingest (parsing the COPY text, heap and WAL for ~565 bytes a row). A
// chunk row amortises the insert, and its records are zstd-compressed (about 6× on tracking
// JSON), so the log writes a sixth of the bytes.
//
// A chunk row holds: first_seq (the seq of its first event; events are numbered consecutively),
// n, codec, raw_size, hashes (n × 16 bytes, little-endian hi then lo: read at start-up without
// decompressing anything) and data (the records, compressed as `codec` says). Each record is
//   varint customer | zigzag-varint timestamp | kind byte | varint len + message_id |
//   varint len + name | varint len + body
//
// Erasure (store/erasure_repository.h) rewrites a chunk in place with the erased events replaced
// by tombstones: customer 0, timestamp 0, empty id, name and body, zero hash. seq numbers stay;
// Decode skips tombstones. A chunk row also holds `customers`: the sorted distinct customer ids
// of its events as delta varints (CustomerSetOf), so an erasure decodes only the chunks that
// name the person (NULL in chunks written before schema 12: those are decoded).
//
// Encryption at rest (store.h, ChunkSealer): with a sealer, `data` holds the sealed form of the
// (compressed) records and the codec has kSealedBit; the hashes, customers, n, raw_size and the
// time range stay clear. A codec without a sealer refuses sealed chunks (kFailedPrecondition).
// An erasure rewrites a sealed chunk under a new key and retires the old one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/store/event_log.h>
#include <touchpoint/store/store.h>

namespace touchpoint::store {

enum class ChunkCodec : int { kRaw = 0, kZstd = 1, kRawSealed = 16, kZstdSealed = 17 };
inline constexpr int kSealedBit = 16;

inline constexpr size_t kMaxChunkEvents = 4096;
inline constexpr size_t kMaxChunkRawBytes = 2 << 20;  // a chunk is closed once its records pass 2 MiB

struct EncodedChunk {
  std::string hashes;  // n × 16 bytes
  std::string data;    // records, compressed as `codec` says
  ChunkCodec codec = ChunkCodec::kRaw;
  std::int64_t raw_size = 0;  // bytes of the uncompressed records
  int n = 0;
};

// Owns the compression contexts (reused across chunks). Not thread-safe.
class EventChunkCodec {
 public:
  // level: zstd level (1 = fastest of the standard levels); 0 disables compression.
  explicit EventChunkCodec(int level);
  ~EventChunkCodec();
  EventChunkCodec(const EventChunkCodec&) = delete;
  EventChunkCodec& operator=(const EventChunkCodec&) = delete;

  // Seals what Encode writes and opens what Decode reads from now on (store.h); not owned.
  void set_sealer(ChunkSealer* sealer) { sealer_ = sealer; }

  // Encodes events[0, n) into `out` (its buffers are reused).
  void Encode(std::span<const EventRecord> events, EncodedChunk& out);

  // Decodes a stored chunk and calls fn for each event in order; stops early (OK) when fn returns
  // false, and sets *stopped. A chunk that does not decode is kInternal naming first_seq.
  Status Decode(std::int64_t first_seq, int n, int codec, std::int64_t raw_size, std::string_view hashes,
                std::string_view data, const std::function<bool(EventRecord&&)>& fn, bool* stopped);

  // What EraseFrom wrote.
  struct Rewritten {
    int removed = 0;           // events tombstoned now (0: `out` was not written)
    int live = 0;              // events left that are not tombstones
    Millis min_ts = 0;         // of the live events (0 when none)
    Millis max_ts = 0;
    std::string customers;     // CustomerSetOf the live events
  };
  // Re-encodes a stored chunk into `out` with every event of a customer in `erase` (sorted
  // ascending) replaced by a tombstone (above). kInternal when the chunk does not decode.
  Result<Rewritten> EraseFrom(std::int64_t first_seq, int n, int codec, std::int64_t raw_size,
                              std::string_view hashes, std::string_view data, std::span<const std::int64_t> erase,
                              EncodedChunk& out);

 private:
  struct Contexts;
  int level_;
  std::unique_ptr<Contexts> ctx_;
  // Compresses `records` into out.data (codec, raw_size); n and hashes are the caller's.
  void Compress(const std::string& records, EncodedChunk& out);
  // A sealed chunk's records opened in place (data then points at opened_, codec loses
  // kSealedBit); false when its key was destroyed (an old copy of an erased chunk).
  Result<bool> Unseal(std::int64_t first_seq, std::string_view hashes, int& codec, std::string_view& data);
  // The uncompressed records of a stored chunk (a view into `data` or into raw_), after checking
  // the hash column's size: kInternal naming first_seq when the chunk does not decode.
  Result<std::string_view> Records(std::int64_t first_seq, int n, int codec, std::int64_t raw_size,
                                   std::string_view hashes, std::string_view data);

  std::string raw_;  // scratch: uncompressed records
  std::string kept_;  // scratch: EraseFrom's rewritten records
  std::vector<std::int64_t> customers_;  // scratch: EraseFrom's live customers
  std::unique_ptr<char[]> zbuf_;  // scratch: compressed records
  size_t zcap_ = 0;
  ChunkSealer* sealer_ = nullptr;
  std::string opened_;  // scratch: a sealed chunk's records, opened
};

// One stored chunk as an erasure reads it, and what EraseFrom made of it.
struct ChunkErasure {
  std::int64_t first_seq = 0;
  int n = 0;
  int codec = 0;
  std::int64_t raw_size = 0;
  std::string hashes;
  std::string data;
  Status status;                        // EraseFrom's
  EventChunkCodec::Rewritten result;    // valid when status is OK
  EncodedChunk out;                     // written when result.removed > 0
};

// Runs EraseFrom on every job, spread over up to `threads` threads (the calling one included;
// the rewrite is CPU: zstd both ways). `codecs` grows to one codec per thread and is kept for the
// next call (a store's erasure repository holds it). With `sealer` (encryption at rest), every
// codec opens sealed chunks and seals the rewritten ones with it (ChunkSealer is thread-safe).
void EraseFromAll(std::span<ChunkErasure> jobs, std::span<const std::int64_t> erase, size_t threads,
                  std::vector<std::unique_ptr<EventChunkCodec>>& codecs, int level, ChunkSealer* sealer = nullptr);
// The erasure's threads: the machine's cores, at most 4.
size_t ErasureThreads();

// Whether a record is a tombstone (an erased event; see the top of this file).
inline bool IsTombstone(const EventRecord& e) {
  return !e.customer.valid() && e.message_id.empty() && e.hash == MessageHash{};
}

// The sorted distinct customer ids of `events` (tombstones left out) as delta varints: a chunk
// row's `customers` column.
std::string CustomerSetOf(std::span<const EventRecord> events);
// Whether a `customers` column names any of `sorted` (ascending). A set that does not parse
// answers true (the caller then decodes the chunk).
bool CustomerSetIntersects(std::string_view set, std::span<const std::int64_t> sorted);

// The 16-byte encoding of a message hash in a chunk's `hashes` column.
void AppendHash(const MessageHash& h, std::string& out);
MessageHash ReadHash(const char* p);

// Calls fn(run) for each run of `events` that makes one chunk (at most kMaxChunkEvents events,
// closed once its records pass kMaxChunkRawBytes), in order; stops at the first error.
template <typename Span, typename Fn>
Status ForEachChunk(Span events, Fn&& fn) {
  size_t begin = 0;
  size_t bytes = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    bytes += events[i].body.size() + events[i].message_id.size() + events[i].name.size() + 16;
    if (i + 1 - begin == kMaxChunkEvents || bytes >= kMaxChunkRawBytes || i + 1 == events.size()) {
      TP_RETURN_IF_ERROR(fn(events.subspan(begin, i + 1 - begin)));
      begin = i + 1;
      bytes = 0;
    }
  }
  return Status::Ok();
}

}  // namespace touchpoint::store

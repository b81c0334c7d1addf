#include <touchpoint/store/chunk/event_chunk.h>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::store::sqlite {
namespace {

std::vector<EventRecord> Events(int n, size_t body_size) {
  std::vector<EventRecord> out;
  for (int i = 0; i < n; ++i) {
    EventRecord e;
    e.hash = {static_cast<std::uint64_t>(i) * 0x9e3779b97f4a7c15ull, ~static_cast<std::uint64_t>(i)};
    e.message_id = "m-" + std::to_string(i);
    e.customer = CustomerId(1000 + i % 7);
    e.timestamp = i % 2 ? 1'700'000'000'000 + i : -5'000 + i;  // negative times survive too
    e.kind = static_cast<EventKind>(1 + i % 4);
    e.name = i % 3 ? "Order Completed" : "";
    e.body = std::string(body_size, static_cast<char>('a' + i % 26)) + "{\"i\":" + std::to_string(i) + "}";
    out.push_back(std::move(e));
  }
  return out;
}

struct Decoded {
  std::vector<EventRecord> events;
  bool stopped = false;
};

Result<Decoded> DecodeAll(EventChunkCodec& codec, const EncodedChunk& c, std::int64_t first_seq, size_t stop_after = SIZE_MAX) {
  Decoded d;
  Status s = codec.Decode(first_seq, c.n, static_cast<int>(c.codec), c.raw_size, c.hashes, c.data,
                          [&](EventRecord&& e) {
                            d.events.push_back(std::move(e));
                            return d.events.size() < stop_after;
                          },
                          &d.stopped);
  if (!s.ok()) return s;
  return d;
}

TEST(EventChunkTest, RoundTripsEveryFieldCompressedAndRaw) {
  for (int level : {1, 0}) {
    EventChunkCodec codec(level);
    auto events = Events(300, 200);
    EncodedChunk c;
    codec.Encode(events, c);
    EXPECT_EQ(c.codec, level ? ChunkCodec::kZstd : ChunkCodec::kRaw);
    if (level) {
      EXPECT_LT(c.data.size() * 4, static_cast<size_t>(c.raw_size)) << "repetitive JSON compresses well";
    }
    auto d = DecodeAll(codec, c, 41);
    ASSERT_OK(d);
    ASSERT_EQ(d->events.size(), events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      const EventRecord& a = events[i];
      const EventRecord& b = d->events[i];
      EXPECT_EQ(b.seq, 41 + static_cast<std::int64_t>(i));
      EXPECT_EQ(b.hash, a.hash);
      EXPECT_EQ(b.message_id, a.message_id);
      EXPECT_EQ(b.customer, a.customer);
      EXPECT_EQ(b.timestamp, a.timestamp);
      EXPECT_EQ(b.kind, a.kind);
      EXPECT_EQ(b.name, a.name);
      EXPECT_EQ(b.body, a.body);
    }
  }
}

TEST(EventChunkTest, StopsEarlyWhenAsked) {
  EventChunkCodec codec(1);
  EncodedChunk c;
  codec.Encode(Events(10, 10), c);
  auto d = DecodeAll(codec, c, 1, 3);
  ASSERT_OK(d);
  EXPECT_EQ(d->events.size(), 3u);
  EXPECT_TRUE(d->stopped);
}

// Erasure rewrites a chunk with the erased customers' events as tombstones: the others come back
// unchanged with their seq, the erased bytes are gone, and a second pass finds nothing new.
TEST(EventChunkTest, EraseFromTombstonesOnlyTheErasedCustomers) {
  for (int level : {1, 0}) {
    SCOPED_TRACE(level);
    EventChunkCodec codec(level);
    std::vector<EventRecord> events = Events(70, 30);
    events[2].body = "SECRET-OF-1002";  // customer 1000 + 2 % 7
    events[2].message_id = "MSGID-OF-1002";
    EncodedChunk c;
    codec.Encode(events, c);
    const std::vector<std::int64_t> erase = {1002, 1004};
    EncodedChunk out;
    auto r = codec.EraseFrom(11, c.n, static_cast<int>(c.codec), c.raw_size, c.hashes, c.data, erase, out);
    ASSERT_OK(r);
    EXPECT_EQ(r->removed, 20);
    EXPECT_EQ(r->live, 50);
    EXPECT_EQ(out.n, 70);
    EXPECT_EQ(out.hashes.size(), 70u * 16);
    // The live customers as delta varints: 1000, 1001, 1003, 1005, 1006.
    EXPECT_EQ(r->customers, std::string("\xe8\x07\x01\x02\x02\x01", 6));
    auto d = DecodeAll(codec, out, 11);
    ASSERT_OK(d);
    ASSERT_EQ(d->events.size(), 50u);
    Millis lo = 0, hi = 0;
    bool first = true;
    size_t k = 0;
    for (size_t i = 0; i < events.size(); ++i) {
      const EventRecord& want = events[i];
      if (want.customer.value() == 1002 || want.customer.value() == 1004) continue;
      const EventRecord& got = d->events[k++];
      EXPECT_EQ(got.seq, 11 + static_cast<std::int64_t>(i)) << "seq numbers keep their meaning";
      EXPECT_EQ(got.customer, want.customer);
      EXPECT_EQ(got.hash, want.hash);
      EXPECT_EQ(got.message_id, want.message_id);
      EXPECT_EQ(got.kind, want.kind);
      EXPECT_EQ(got.name, want.name);
      EXPECT_EQ(got.body, want.body);
      EXPECT_EQ(got.timestamp, want.timestamp);
      lo = first ? want.timestamp : std::min(lo, want.timestamp);
      hi = first ? want.timestamp : std::max(hi, want.timestamp);
      first = false;
    }
    EXPECT_EQ(r->min_ts, lo);
    EXPECT_EQ(r->max_ts, hi);
    if (level == 0) {
      EXPECT_EQ(out.data.find("SECRET-OF-1002"), std::string::npos);
      EXPECT_EQ(out.data.find("MSGID-OF-1002"), std::string::npos);
      EXPECT_NE(c.data.find("MSGID-OF-1002"), std::string::npos) << "the search sees it before";
    }
    // Again, with one more customer: the tombstones are not counted twice.
    EncodedChunk again;
    const std::vector<std::int64_t> more = {1002, 1003, 1004};
    auto r2 = codec.EraseFrom(11, out.n, static_cast<int>(out.codec), out.raw_size, out.hashes, out.data, more, again);
    ASSERT_OK(r2);
    EXPECT_EQ(r2->removed, 10);
    EXPECT_EQ(r2->live, 40);
    EncodedChunk none;
    auto r3 = codec.EraseFrom(11, again.n, static_cast<int>(again.codec), again.raw_size, again.hashes, again.data,
                              std::vector<std::int64_t>{999}, none);
    ASSERT_OK(r3);
    EXPECT_EQ(r3->removed, 0);
    EXPECT_EQ(r3->live, 40);
  }
}

TEST(EventChunkTest, CorruptChunksAreClearErrorsNeverCrashes) {
  EventChunkCodec codec(1);
  EncodedChunk c;
  codec.Encode(Events(50, 100), c);
  auto expect_corrupt = [&](EncodedChunk bad, const char* what) {
    auto d = DecodeAll(codec, bad, 7);
    ASSERT_FALSE(d.ok()) << what;
    EXPECT_NE(d.status().message().find("seq 7"), std::string::npos) << d.status().message();
  };
  EncodedChunk truncated = c;
  truncated.data.resize(truncated.data.size() / 2);
  expect_corrupt(truncated, "truncated frame");
  EncodedChunk flipped = c;
  flipped.data[flipped.data.size() / 2] ^= 0x5a;
  flipped.raw_size += 1;
  expect_corrupt(flipped, "wrong size");
  EncodedChunk hashes = c;
  hashes.hashes.pop_back();
  expect_corrupt(hashes, "hash column");
  EncodedChunk raw;
  EventChunkCodec plain(0);
  plain.Encode(Events(5, 10), raw);
  raw.data.resize(raw.data.size() - 3);
  expect_corrupt(raw, "truncated raw record");
  EncodedChunk codec_id = c;
  codec_id.codec = static_cast<ChunkCodec>(9);
  expect_corrupt(codec_id, "unknown codec");
}

}  // namespace
}  // namespace touchpoint::store::sqlite

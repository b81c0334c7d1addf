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

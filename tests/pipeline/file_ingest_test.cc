#include <touchpoint/pipeline/file_ingest.h>

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <touchpoint/wiring/render.h>

#include "testing/data_dir.h"

#include "pipeline/test_dir.h"
#include "testing/matchers.h"

namespace touchpoint::pipeline {
namespace {

using nlohmann::json;
using ::touchpoint::testing::OpenForWriting;
using ::touchpoint::testing::WritableDataDir;

class FileIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = OpenForWriting(tmp_.path(), EngineOptions{}, "test");
    ASSERT_OK(d);
    dir_ = std::move(*d);
  }
  std::string Write(const std::string& name, const std::string& content) {
    std::ofstream(tmp_.File(name), std::ios::binary) << content;
    return tmp_.File(name);
  }
  FileIngestSummary Ingest(const std::vector<std::string>& files, FileIngestOptions o = {}) {
    o.rejects_path = tmp_.File("rejects.ndjson");
    auto s = IngestFiles(*dir_->engine, files, o);
    EXPECT_OK(s);
    return s.ok() ? *s : FileIngestSummary{};
  }
  std::vector<json> Rejects() {
    std::vector<json> out;
    std::ifstream in(tmp_.File("rejects.ndjson"));
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
  }

  ::touchpoint::testing::TempDir tmp_;
  std::unique_ptr<WritableDataDir> dir_;
};

std::string Event(int i) {
  return R"({"type":"track","event":"Product Viewed","userId":"u)" + std::to_string(i % 7) + R"(","messageId":"m)" +
         std::to_string(i) + R"(","timestamp":"2024-03-01T00:00:00Z","properties":{"dwell_seconds":5}})";
}

TEST_F(FileIngestTest, BadLinesAreRejectedOneByOneAndTheRestGoesIn) {
  std::string content = "\xEF\xBB\xBF" + Event(1) + "\r\n";             // BOM + CRLF
  content += R"({"type":"track","event":"x","userId":"u1")" "\n";      // truncated JSON
  content += Event(2) + "\n\n";                                         // empty line is skipped
  content += R"({"type":"track","event":42,"userId":["u1"]})" "\n";    // wrong types
  content += "{\"type\":\"track\",\"event\":\"\xc3\x28\",\"userId\":\"u1\"}\n";  // invalid UTF-8
  const std::string huge = "{\"type\":\"track\",\"event\":\"x\",\"userId\":\"u1\",\"pad\":\"" + std::string(10 << 20, 'z') + "\"}";
  content += huge + "\n";
  content += Event(3);  // no newline at the end
  auto s = Ingest({Write("mixed.ndjson", content)});
  EXPECT_EQ(s.accepted, 3);
  EXPECT_EQ(s.rejected, 4);
  auto rejects = Rejects();
  ASSERT_EQ(rejects.size(), 4u);
  EXPECT_EQ(rejects[0]["line"], 2);
  EXPECT_NE(rejects[0]["reason"].get<std::string>().find("invalid JSON"), std::string::npos);
  EXPECT_EQ(rejects[1]["line"], 5);
  EXPECT_EQ(rejects[2]["line"], 6);
  EXPECT_EQ(rejects[3]["line"], 7);
  EXPECT_NE(rejects[3]["reason"].get<std::string>().find("over the limit"), std::string::npos);
  EXPECT_EQ(rejects[3]["raw_truncated_from_bytes"].get<std::int64_t>(), static_cast<std::int64_t>(huge.size()));
  EXPECT_EQ(rejects[0]["file"], tmp_.File("mixed.ndjson"));
}

TEST_F(FileIngestTest, EmptyFileAndMissingFile) {
  auto s = Ingest({Write("empty.ndjson", ""), tmp_.File("missing.ndjson")});
  EXPECT_EQ(s.accepted, 0);
  EXPECT_EQ(s.rejected, 0);
  ASSERT_EQ(s.unreadable.size(), 1u);
  EXPECT_NE(s.unreadable[0].find("missing.ndjson"), std::string::npos);
}

TEST_F(FileIngestTest, SameFileTwiceChangesNothing) {
  std::string content;
  for (int i = 0; i < 2000; ++i) content += Event(i) + "\n";
  const auto path = Write("events.ndjson", content);
  auto first = Ingest({path});
  EXPECT_EQ(first.accepted, 2000);
  const auto stats = dir_->engine->Stats();
  auto second = Ingest({path});
  EXPECT_EQ(second.accepted, 0);
  EXPECT_EQ(second.duplicates, 2000);
  EXPECT_EQ(dir_->engine->Stats().events, stats.events);
  EXPECT_EQ(dir_->engine->Stats().customers, 7);
}

TEST_F(FileIngestTest, BatchWrapperLinesAreUnpacked) {
  auto s = Ingest({Write("b.ndjson", R"({"batch":[)" + Event(1) + "," + Event(2) + R"(,{"type":"nope"}]})" "\n")});
  EXPECT_EQ(s.accepted, 2);
  EXPECT_EQ(s.rejected, 1);
}

TEST_F(FileIngestTest, CsvCustomersOrdersAndMessages) {
  auto customers = Write("customers.csv",
                         "\xEF\xBB\xBFuser_id,phone,email,name,city\r\n"
                         "u1,138 1234 5678,Li@Example.com,\"Li, Lei\",Shanghai\r\n"
                         "u2,not-a-phone,b@example.com,Bo,Beijing\r\n");
  auto orders = Write("orders.csv",
                      "order_id,user_id,timestamp,total,channel\n"
                      "o1,u1,2024-03-01T10:00:00+08:00,99.5,app\n"
                      "o2,u1,2024-03-05,abc,web\n");
  auto messages = Write("messages.tsv",
                        "message_id\tconversation_id\tphone\ttimestamp\tchannel\tauthor\ttext\n"
                        "x1\tc1\t+8613812345678\t2024-03-06\tchat\tcustomer\t\"多行\n消息\"\n");
  auto s = Ingest({customers, orders, messages});
  EXPECT_EQ(s.accepted, 3);
  EXPECT_EQ(s.rejected, 2);
  auto j = json::parse(*wiring::CustomerJson(*dir_->engine, "email:li@example.com", 0, privacy::MaskPolicy::Clear()));
  EXPECT_EQ(j["features"]["orders_total"], 1);
  EXPECT_EQ(j["features"]["messages"], 1);
  EXPECT_EQ(j["traits"]["name"], "Li, Lei");
  auto rejects = Rejects();
  ASSERT_EQ(rejects.size(), 2u);
  EXPECT_EQ(rejects[0]["line"], 3);
  EXPECT_NE(rejects[0]["reason"].get<std::string>().find("traits.phone"), std::string::npos);
  EXPECT_NE(rejects[1]["reason"].get<std::string>().find("total"), std::string::npos);
}

// A record without a timestamp is stamped with the injected clock's "now" (read once, when the
// run starts), not the wall clock: with a fixed clock the stored times are exact.
TEST_F(FileIngestTest, RecordsWithoutATimestampGetTheInjectedClocksTime) {
  class FixedClock final : public Clock {
   public:
    explicit FixedClock(Millis now) : now_(now) {}
    Millis Now() const override { return now_; }

   private:
    Millis now_;
  };
  auto now = ParseTimestamp("2021-06-01T08:00:00Z");
  ASSERT_OK(now);
  const FixedClock clock(*now);
  FileIngestOptions o;
  o.clock = &clock;
  const std::string content =
      std::string(R"({"type":"track","event":"Opened","userId":"u1","messageId":"t1"})") + "\n" +
      R"({"type":"identify","userId":"u1","messageId":"t2"})" + "\n";
  auto s = Ingest({Write("untimed.ndjson", content)}, o);
  EXPECT_EQ(s.accepted, 2);
  auto j = json::parse(*wiring::CustomerJson(*dir_->engine, "user:u1", 0, privacy::MaskPolicy::Clear()));
  EXPECT_EQ(j["features"]["first_seen_at"], "2021-06-01T08:00:00.000Z");
  EXPECT_EQ(j["features"]["last_seen_at"], "2021-06-01T08:00:00.000Z");
}

}  // namespace
}  // namespace touchpoint::pipeline

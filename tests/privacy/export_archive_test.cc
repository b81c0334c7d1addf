// The CSV zip of a subject export (privacy/export_archive.h): one CSV per section of the JSON
// document with a README explaining every column, values as the JSON holds them, RFC 4180
// quoting; the archive read back with libzip holds exactly those files.
#include <touchpoint/privacy/export_archive.h>

#include <zip.h>

#include <map>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <touchpoint/core/csv.h>

#include "testing/matchers.h"

namespace touchpoint::privacy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::touchpoint::testing::StatusIs;

// A small export document as ExportSubject writes it: a profile, two events (one with a comma,
// quotes and a line break in its text), an identifier, a consent and a ticket.
constexpr char kDoc[] = R"({
  "export": {"version": 1, "kind": "touchpoint.subject_export", "generated_at": "2026-12-07T10:00:00Z",
             "requested_by": "key:tp_1", "customer": 7, "customer_ids": [7, 9]},
  "profile": {"id": 7, "traits": {"name": "Wanda", "phone": "13912345678"}, "tags": ["vip"]},
  "identifiers": [{"kind": "phone", "value": "+8613912345678", "first_seen": "2024-03-01T10:00:00Z",
                   "first_message_id": "w1", "customer": 7, "shared": false}],
  "merges": [],
  "stored_profiles": [],
  "events": [{"seq": 1, "message_id": "w1", "timestamp": "2024-03-01T10:00:00Z", "type": "identify", "name": "",
              "customer": 7, "body": {"traits": {"phone": "13912345678"}}},
             {"seq": 2, "message_id": "w2", "timestamp": "2024-03-02T10:00:00Z", "type": "track",
              "name": "Message Received", "customer": 9, "body": {"text": "hi, \"there\"\nbye"}}],
  "orders": [], "messages": [], "surveys": [], "escalations": [],
  "consents": [{"id": 3, "customer_id": 7, "purpose": "marketing", "channel": "email", "value": "opt_in",
                "source": "customer", "wording_version": "v2", "at": 1767225600000, "actor": "customer:7/token:ab"}],
  "tickets": [{"number": 12, "customer": 7, "status": "open", "priority": "low", "type": "request",
               "channel": "chat", "subject": "Parcel", "created_at": "2024-03-03T10:00:00Z",
               "updated_at": "2024-03-03T10:00:00Z", "solved_at": null, "queue_hint": "x"}],
  "ticket_messages": [], "ticket_history": [],
  "audit": []
})";

std::map<std::string, std::string> ByName(const std::vector<CsvFile>& files) {
  std::map<std::string, std::string> out;
  for (const CsvFile& f : files) out[f.name] = f.text;
  return out;
}

// The export's fields are core/csv.h's CsvField.
TEST(CsvFieldTest, QuotesOnlyWhatNeedsItAndDoublesQuotes) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField(""), "");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField("电话 13912345678"), "电话 13912345678");
}

TEST(ExportCsvFilesTest, OneCsvPerSectionWithTheJsonValues) {
  auto files = ExportCsvFiles(kDoc);
  ASSERT_OK(files);
  const auto by_name = ByName(*files);
  EXPECT_EQ(files->front().name, "profile.csv");
  EXPECT_EQ(files->back().name, "README.txt");
  for (const char* name : {"identifiers.csv", "events.csv", "consents.csv", "tickets.csv", "ticket_messages.csv",
                           "merges.csv", "orders.csv", "messages.csv", "surveys.csv", "escalations.csv", "audit.csv",
                           "stored_profiles.csv"}) {
    EXPECT_EQ(by_name.count(name), 1u) << name;
  }
  EXPECT_EQ(by_name.at("profile.csv"),
            "field,value\r\nid,7\r\ntraits.name,Wanda\r\ntraits.phone,13912345678\r\ntags,\"[\"\"vip\"\"]\"\r\n");
  EXPECT_EQ(by_name.at("identifiers.csv"),
            "kind,value,first_seen,first_message_id,customer,shared\r\n"
            "phone,+8613912345678,2024-03-01T10:00:00Z,w1,7,false\r\n");
  EXPECT_EQ(by_name.at("events.csv"),
            "seq,message_id,timestamp,type,name,customer,body\r\n"
            "1,w1,2024-03-01T10:00:00Z,identify,,7,\"{\"\"traits\"\":{\"\"phone\"\":\"\"13912345678\"\"}}\"\r\n"
            "2,w2,2024-03-02T10:00:00Z,track,Message Received,9,"
            "\"{\"\"text\"\":\"\"hi, \\\"\"there\\\"\"\\nbye\"\"}\"\r\n");
  EXPECT_EQ(by_name.at("consents.csv"),
            "id,customer_id,purpose,channel,value,source,wording_version,at,actor\r\n"
            "3,7,marketing,email,opt_in,customer,v2,1767225600000,customer:7/token:ab\r\n");
  // A key the table does not list is kept, as a column of its own after the listed ones.
  EXPECT_EQ(by_name.at("tickets.csv"),
            "number,customer,status,priority,type,channel,subject,created_at,updated_at,solved_at,queue_hint\r\n"
            "12,7,open,low,request,chat,Parcel,2024-03-03T10:00:00Z,2024-03-03T10:00:00Z,,x\r\n");
  EXPECT_EQ(by_name.at("orders.csv"), "order_id,timestamp,total,currency,channel,items\r\n") << "a header even when empty";
}

TEST(ExportCsvFilesTest, TheReadmeExplainsEveryFileAndColumn) {
  auto files = ExportCsvFiles(kDoc);
  ASSERT_OK(files);
  const std::string readme = files->back().text;
  EXPECT_THAT(readme, HasSubstr("customer 7"));
  EXPECT_THAT(readme, HasSubstr("2026-12-07T10:00:00Z"));
  for (const CsvFile& f : *files) {
    if (f.name == "README.txt") continue;
    EXPECT_THAT(readme, HasSubstr(f.name + "\r\n")) << f.name;
    // Every column of the header row is explained under its file.
    const std::string header = f.text.substr(0, f.text.find("\r\n"));
    const std::string section = readme.substr(readme.find(f.name + "\r\n"));
    const std::string own = section.substr(0, section.find("\r\n\r\n"));
    size_t start = 0;
    while (start <= header.size()) {
      const size_t comma = std::min(header.find(',', start), header.size());
      const std::string column = header.substr(start, comma - start);
      EXPECT_THAT(own, HasSubstr("  " + column + ": ")) << f.name << " column " << column;
      start = comma + 1;
    }
  }
  EXPECT_THAT(readme, Not(HasSubstr("13912345678"))) << "the README holds no data";
}

TEST(ExportCsvFilesTest, TicketsOnlyWhenTheDocumentHasThem) {
  auto files = ExportCsvFiles(R"({"export":{"customer":1},"profile":null,"events":[]})");
  ASSERT_OK(files);
  std::vector<std::string> names;
  for (const CsvFile& f : *files) names.push_back(f.name);
  EXPECT_THAT(names, ElementsAre("profile.csv", "events.csv", "README.txt"));
  EXPECT_THAT(ExportCsvFiles("[1,2]"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ExportCsvFiles("not json"), StatusIs(StatusCode::kInvalidArgument));
}

TEST(ExportArchiveTest, TheZipHoldsTheCsvFilesAndTheReadme) {
  auto zip = ExportArchive(kDoc, 1'796'637'600'000);
  ASSERT_OK(zip);
  ASSERT_GE(zip->size(), 4u);
  EXPECT_EQ(zip->substr(0, 4), std::string("PK\x03\x04", 4));
  auto files = ExportCsvFiles(kDoc);
  ASSERT_OK(files);

  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* src = zip_source_buffer_create(zip->data(), zip->size(), 0, &error);
  ASSERT_NE(src, nullptr);
  zip_t* archive = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  ASSERT_NE(archive, nullptr) << zip_error_strerror(&error);
  ASSERT_EQ(zip_get_num_entries(archive, 0), static_cast<zip_int64_t>(files->size()));
  for (zip_uint64_t i = 0; i < files->size(); ++i) {
    const CsvFile& want = (*files)[i];
    EXPECT_STREQ(zip_get_name(archive, i, 0), want.name.c_str());
    zip_stat_t st;
    ASSERT_EQ(zip_stat_index(archive, i, 0, &st), 0);
    EXPECT_EQ(st.mtime, 1'796'637'600) << "dated when the export was made";
    std::string got(static_cast<size_t>(st.size), '\0');
    zip_file_t* f = zip_fopen_index(archive, i, 0);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(zip_fread(f, got.data(), st.size), static_cast<zip_int64_t>(st.size));
    zip_fclose(f);
    EXPECT_EQ(got, want.text) << want.name;
  }
  zip_close(archive);
  zip_error_fini(&error);
}

}  // namespace
}  // namespace touchpoint::privacy

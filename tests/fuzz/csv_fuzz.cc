// libFuzzer target: the RFC 4180 reader and the CSV → tracking-message mapping.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <touchpoint/core/csv.h>
#include <touchpoint/ingest/parser.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto reader = touchpoint::CsvReader::FromString(std::string(reinterpret_cast<const char*>(data), size));
  std::vector<std::string> row;
  auto head = reader->Next(&row);
  if (!head.ok() || !*head) return 0;
  touchpoint::CsvHeader header(row);
  const auto kind = touchpoint::ingest::GuessCsvKind(header);
  for (int i = 0; i < 10000; ++i) {
    auto more = reader->Next(&row);
    if (!more.ok()) continue;
    if (!*more) break;
    auto msg = touchpoint::ingest::CsvRowToMessage(kind, header, row, "fuzz.csv", reader->record_line());
    (void)msg;
  }
  return 0;
}

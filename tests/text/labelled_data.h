// Loads the project's hand-labelled Chinese customer-service set (data/text).
#pragma once

#include <string>
#include <vector>

#include <touchpoint/core/csv.h>

namespace touchpoint::text::testing {

struct ZhExample {
  std::string text, sentiment, intent;
};

inline std::vector<ZhExample> LoadZhLabelled() {
  std::vector<ZhExample> out;
  auto reader = CsvReader::Open(std::string(TP_SOURCE_DIR) + "/data/text/zh_cs_labelled.csv");
  if (!reader.ok()) return out;
  std::vector<std::string> f;
  auto header = (*reader)->Next(&f);
  if (!header.ok() || !*header) return out;
  while (true) {
    auto next = (*reader)->Next(&f);
    if (!next.ok() || !*next) break;
    if (f.size() >= 3) out.push_back({f[0], f[1], f[2]});
  }
  return out;
}

}  // namespace touchpoint::text::testing

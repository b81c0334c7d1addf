// libFuzzer target: one NDJSON line (or batch wrapper) through the tracking-message parser.
// Build: cmake -B build/fuzz -DCMAKE_CXX_COMPILER=clang++ -DTP_BUILD_FUZZ=ON && cmake --build build/fuzz
// Run:   build/fuzz/tests/fuzz/tp_ndjson_fuzz -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include <touchpoint/ingest/parser.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static touchpoint::ingest::Parser parser;
  std::vector<touchpoint::ingest::Event> events;
  std::vector<touchpoint::Status> rejected;
  const size_t added =
      parser.ParseLineInto(std::string_view(reinterpret_cast<const char*>(data), size), events, rejected);
  if (added != events.size()) __builtin_trap();  // invariant: the count is what was appended
  for (const auto& e : events) {
    if (e.identifiers.empty()) __builtin_trap();  // invariant: every event has an anchor
  }
  return 0;
}

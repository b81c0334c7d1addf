// libFuzzer target: one NDJSON line (or batch wrapper) through the tracking-message parser.
// Build: cmake -B build/fuzz -DCMAKE_CXX_COMPILER=clang++ -DTP_BUILD_FUZZ=ON && cmake --build build/fuzz
// Run:   build/fuzz/tests/fuzz/tp_ndjson_fuzz -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <touchpoint/ingest/parser.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static touchpoint::ingest::Parser parser;
  auto items = parser.ParseLine(std::string_view(reinterpret_cast<const char*>(data), size));
  for (auto& item : items) {
    if (item.event.ok() && item.event->identifiers.empty()) __builtin_trap();  // invariant
  }
  return 0;
}

// A libFuzzer-compatible driver for compilers without libFuzzer (GCC): runs LLVMFuzzerTestOneInput
// on every file of the corpus directories given, then on `--mutations N` deterministic mutations
// of them (byte flips, inserts, deletes, splices of two seeds; xorshift seeded with `--seed`).
// Exit 0 when every input ran; a broken invariant traps (the test fails with the signal).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  std::vector<std::string> seeds;
  long mutations = 2000;
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--mutations" && i + 1 < argc) {
      mutations = std::strtol(argv[++i], nullptr, 10);
    } else if (a == "--seed" && i + 1 < argc) {
      state = std::strtoull(argv[++i], nullptr, 10) | 1;
    } else {
      for (const auto& e : std::filesystem::directory_iterator(a)) {
        std::ifstream in(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        seeds.push_back(ss.str());
      }
    }
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR... [--mutations N] [--seed S]\n", argv[0]);
    return 2;
  }
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  auto run = [](const std::string& s) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  for (const auto& s : seeds) run(s);
  for (long m = 0; m < mutations; ++m) {
    std::string s = seeds[next() % seeds.size()];
    const int edits = 1 + static_cast<int>(next() % 8);
    for (int e = 0; e < edits; ++e) {
      const size_t at = s.empty() ? 0 : next() % s.size();
      switch (next() % 5) {
        case 0: if (!s.empty()) s[at] = static_cast<char>(next()); break;
        case 1: s.insert(at, 1, static_cast<char>(next())); break;
        case 2: if (!s.empty()) s.erase(at, 1 + next() % 16); break;
        case 3: {  // a chunk of another seed
          const std::string& o = seeds[next() % seeds.size()];
          if (!o.empty()) {
            const size_t from = next() % o.size();
            s.insert(at, o.substr(from, 1 + next() % 64));
          }
          break;
        }
        default: {  // structural bytes mail parsers trip on
          static const char* kTokens[] = {"\r\n", "\r\n\r\n", "--", "=?", "?=", "boundary=", ";", "\"", "=\r\n", "<", ">"};
          s.insert(at, kTokens[next() % (sizeof(kTokens) / sizeof(kTokens[0]))]);
        }
      }
    }
    run(s);
  }
  std::printf("%zu seeds and %ld mutations ran\n", seeds.size(), mutations);
  return 0;
}

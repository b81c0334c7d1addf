// libFuzzer target: one raw message through the inbound e-mail parser (service/email_inbound.h).
// Build: cmake -B build/fuzz -DCMAKE_CXX_COMPILER=clang++ -DTP_BUILD_FUZZ=ON && cmake --build build/fuzz --target tp_email_fuzz
// Run:   build/fuzz/tests/fuzz/tp_email_fuzz -max_total_time=60 tests/fuzz/email_corpus
// Or without the whole project in clang (the parser needs only GMime and core's Status):
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -Iinclude -Ibuild/dev/generated
//     $(pkg-config --cflags gmime-3.0) tests/fuzz/email_fuzz.cc src/service/email_inbound.cc
//     src/core/status.cc -o /tmp/tp_email_fuzz $(pkg-config --libs gmime-3.0)   (one line)
// With GCC the same function runs in the test suite through tests/fuzz/replay_main.cc
// (tp_email_fuzz_replay: the seed corpus and deterministic mutations of it).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <touchpoint/service/email_inbound.h>

namespace {
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  auto mail = touchpoint::service::ParseEmail(raw);
  if (!mail.ok()) {
    if (mail.status().message().empty()) __builtin_trap();  // invariant: a refusal says why
    return 0;
  }
  // Invariants of an accepted message: a sender address, UTF-8 texts, the reply within the text.
  if (mail->from_address.find('@') == std::string::npos) __builtin_trap();
  if (!ValidUtf8(mail->subject) || !ValidUtf8(mail->text) || !ValidUtf8(mail->reply_text)) __builtin_trap();
  if (mail->reply_text.size() > mail->text.size()) __builtin_trap();
  if (touchpoint::service::StripQuotedReply(mail->reply_text).size() > mail->reply_text.size()) __builtin_trap();
  return 0;
}

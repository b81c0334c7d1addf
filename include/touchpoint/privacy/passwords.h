// privacy/passwords.h — password hashing for people who log in: Argon2id through libsodium's
// crypto_pwhash_str at the INTERACTIVE level (64 MiB, 2 passes), with a bound on how many hashes
// run at once so that a burst of logins cannot exhaust memory (the rest queue).
//
// Thread safety: a PasswordHasher is safe for concurrent use; Hash/Verify block while
// max_concurrent hashes are already running.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <semaphore>
#include <string>
#include <string_view>

#include <touchpoint/core/result.h>

namespace touchpoint::privacy {

// Argon2id cost parameters (libsodium's opslimit and memlimit).
struct PasswordHashParams {
  unsigned long long opslimit = 0;
  size_t memlimit = 0;
  // crypto_pwhash_OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE: the production setting.
  static PasswordHashParams Interactive();
  // The smallest libsodium accepts (for tests of everything but the cost itself).
  static PasswordHashParams Minimum();
};

struct PasswordHasherOptions {
  PasswordHashParams params = PasswordHashParams::Interactive();
  int max_concurrent = 4;  // hashes running at once; more wait (each holds `memlimit` bytes)
};

// Whether `password` may be set: 12 to 1024 bytes. kInvalidArgument saying which rule it breaks
// (never echoing the password).
Status CheckNewPassword(std::string_view password);

class PasswordHasher {
 public:
  // The first Verify or VerifyDummy also computes a hash of a random password (the dummy for
  // unknown accounts), whichever account it is for, so that this one-off cost tells nothing.
  explicit PasswordHasher(PasswordHasherOptions options = {});
  PasswordHasher(const PasswordHasher&) = delete;
  PasswordHasher& operator=(const PasswordHasher&) = delete;

  // The crypto_pwhash_str string of `password` ("$argon2id$v=19$m=65536,t=2,p=1$…").
  // kInvalidArgument when CheckNewPassword refuses it; kInternal when libsodium cannot (memory).
  Result<std::string> Hash(std::string_view password);

  struct Verdict {
    bool match = false;
    bool needs_rehash = false;  // matched, but hashed with other parameters than this hasher's
  };
  // Checks `password` against a stored hash string. A malformed hash never matches.
  Verdict Verify(const std::string& stored_hash, std::string_view password);
  // A verification of the same cost against a hash no password matches: for unknown accounts,
  // so that the time of an answer does not tell whether the account exists.
  void VerifyDummy(std::string_view password);

  const PasswordHashParams& params() const { return options_.params; }
  // Hashes running now, and the most that ever ran at once (the bench and tests read these).
  int in_flight() const { return in_flight_.load(); }
  int peak_in_flight() const { return peak_.load(); }

 private:
  class Slot;
  const std::string& DummyHash();

  PasswordHasherOptions options_;
  std::counting_semaphore<1024> slots_;
  std::atomic<int> in_flight_{0};
  std::atomic<int> peak_{0};
  std::once_flag dummy_once_;
  std::string dummy_hash_;  // set once, by DummyHash()
};

}  // namespace touchpoint::privacy

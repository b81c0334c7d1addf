// privacy/throttle.h — slowing and then locking repeated failed logins, per key (an account's
// e-mail, a client address). Keys are counted whether or not an account exists, so the answers
// an attacker sees are the same either way.
//
// After `free_failures` consecutive failures each further attempt must wait: first_delay, then
// twice that after each failure, at most max_delay; after `lock_after` failures the key is locked
// for lock_for. A success forgets the key; so does lock_for passing without a failure.
//
// Thread safety: safe for concurrent use.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include <touchpoint/core/thread_annotations.h>
#include <touchpoint/core/time.h>

namespace touchpoint::privacy {

struct ThrottlePolicy {
  int free_failures = 3;
  Millis first_delay = 1'000;
  Millis max_delay = 30'000;
  int lock_after = 10;
  Millis lock_for = 15 * 60'000;

  // Per account: 3 free failures, then 1 s, 2 s, 4 s … 30 s; locked for 15 minutes after 10.
  static ThrottlePolicy Account() { return {}; }
  // Per client address (offices share one behind NAT): 20 free, locked for 15 minutes after 100.
  static ThrottlePolicy Address() { return {20, 1'000, 30'000, 100, 15 * 60'000}; }
};

class LoginThrottle {
 public:
  // At most `max_keys` keys are remembered; beyond that, keys neither locked nor delayed are
  // forgotten first.
  explicit LoginThrottle(ThrottlePolicy policy, size_t max_keys = 100'000);

  // 0 when an attempt for `key` may go ahead at `now`; otherwise the milliseconds to wait.
  Millis RetryAfter(const std::string& key, Millis now);
  // Counts a failure. Returns true when this failure locked the key.
  bool RecordFailure(const std::string& key, Millis now);
  // Forgets the key (a successful login).
  void RecordSuccess(const std::string& key);
  // Whether the key is locked at `now` (not only delayed).
  bool Locked(const std::string& key, Millis now);

  const ThrottlePolicy& policy() const { return policy_; }

 private:
  struct Entry {
    int failures = 0;
    Millis last_failure = 0;
    Millis next_allowed = 0;
    Millis locked_until = 0;
  };
  void Expire(Entry& e, Millis now) const;
  void MakeRoom(Millis now) TP_REQUIRES(mu_);

  ThrottlePolicy policy_;
  size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_ TP_GUARDED_BY(mu_);
};

}  // namespace touchpoint::privacy

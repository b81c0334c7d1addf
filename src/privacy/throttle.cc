#include <touchpoint/privacy/throttle.h>

#include <algorithm>

namespace touchpoint::privacy {

LoginThrottle::LoginThrottle(ThrottlePolicy policy, size_t max_keys) : policy_(policy), max_keys_(max_keys) {}

void LoginThrottle::Expire(Entry& e, Millis now) const {
  // A key quiet for lock_for since its last failure (and not locked) starts afresh.
  if (e.failures > 0 && e.locked_until <= now && now - e.last_failure >= policy_.lock_for) e = Entry{};
}

Millis LoginThrottle::RetryAfter(const std::string& key, Millis now) {
  std::scoped_lock lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return 0;
  Expire(it->second, now);
  const Millis until = std::max(it->second.locked_until, it->second.next_allowed);
  return until > now ? until - now : 0;
}

bool LoginThrottle::Locked(const std::string& key, Millis now) {
  std::scoped_lock lock(mu_);
  auto it = entries_.find(key);
  return it != entries_.end() && it->second.locked_until > now;
}

bool LoginThrottle::RecordFailure(const std::string& key, Millis now) {
  std::scoped_lock lock(mu_);
  if (entries_.size() >= max_keys_ && entries_.find(key) == entries_.end()) MakeRoom(now);
  Entry& e = entries_[key];
  Expire(e, now);
  ++e.failures;
  e.last_failure = now;
  if (e.failures >= policy_.lock_after) {
    const bool newly = e.locked_until <= now;
    e.locked_until = now + policy_.lock_for;
    // After the lock the count starts again at the threshold's edge: one more failure locks again.
    e.failures = policy_.lock_after - 1;
    return newly;
  }
  if (e.failures > policy_.free_failures) {
    Millis delay = policy_.first_delay;
    for (int i = policy_.free_failures + 1; i < e.failures && delay < policy_.max_delay; ++i) delay *= 2;
    e.next_allowed = now + std::min(delay, policy_.max_delay);
  }
  return false;
}

void LoginThrottle::RecordSuccess(const std::string& key) {
  std::scoped_lock lock(mu_);
  entries_.erase(key);
}

void LoginThrottle::MakeRoom(Millis now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    Expire(it->second, now);
    const bool idle = it->second.locked_until <= now && it->second.next_allowed <= now;
    it = idle ? entries_.erase(it) : std::next(it);
  }
  // Still full of locked or delayed keys (a flood from many addresses): drop the delayed ones
  // rather than grow without bound; locked keys stay.
  if (entries_.size() >= max_keys_) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = it->second.locked_until <= now ? entries_.erase(it) : std::next(it);
    }
  }
}

}  // namespace touchpoint::privacy

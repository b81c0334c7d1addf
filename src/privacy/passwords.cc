#include <touchpoint/privacy/passwords.h>

#include <algorithm>
#include <array>
#include <cstdlib>

#include <sodium.h>

#include <touchpoint/core/status.h>

namespace touchpoint::privacy {
namespace {

constexpr size_t kMinPasswordBytes = 12;
constexpr size_t kMaxPasswordBytes = 1024;

void InitSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
}

}  // namespace

PasswordHashParams PasswordHashParams::Interactive() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

PasswordHashParams PasswordHashParams::Minimum() {
  return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

Status CheckNewPassword(std::string_view password) {
  if (password.size() < kMinPasswordBytes) {
    return Status::InvalidArgument("a password needs at least " + std::to_string(kMinPasswordBytes) + " characters");
  }
  if (password.size() > kMaxPasswordBytes) {
    return Status::InvalidArgument("a password may have at most " + std::to_string(kMaxPasswordBytes) + " bytes");
  }
  return Status::Ok();
}

// Holds one of the hasher's slots while a hash runs; counts what runs.
class PasswordHasher::Slot {
 public:
  explicit Slot(PasswordHasher& h) : h_(h) {
    h_.slots_.acquire();
    const int now = ++h_.in_flight_;
    int peak = h_.peak_.load();
    while (now > peak && !h_.peak_.compare_exchange_weak(peak, now)) {
    }
  }
  ~Slot() {
    --h_.in_flight_;
    h_.slots_.release();
  }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

 private:
  PasswordHasher& h_;
};

PasswordHasher::PasswordHasher(PasswordHasherOptions options)
    : options_(options), slots_(std::clamp(options.max_concurrent, 1, 1024)) {
  InitSodium();
}

const std::string& PasswordHasher::DummyHash() {
  std::call_once(dummy_once_, [this] {
    std::array<unsigned char, 32> random{};
    randombytes_buf(random.data(), random.size());
    char out[crypto_pwhash_STRBYTES];
    Slot slot(*this);
    if (crypto_pwhash_str_alg(out, reinterpret_cast<const char*>(random.data()), random.size(),
                              options_.params.opslimit, options_.params.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
      std::abort();  // out of memory for a single hash: nothing sensible is left to do
    }
    dummy_hash_ = out;
  });
  return dummy_hash_;
}

Result<std::string> PasswordHasher::Hash(std::string_view password) {
  TP_RETURN_IF_ERROR(CheckNewPassword(password));
  char out[crypto_pwhash_STRBYTES];
  int rc;
  {
    Slot slot(*this);
    rc = crypto_pwhash_str_alg(out, password.data(), password.size(), options_.params.opslimit,
                               options_.params.memlimit, crypto_pwhash_ALG_ARGON2ID13);
  }
  if (rc != 0) return Status::Internal("password hashing failed (out of memory)");
  return std::string(out);
}

PasswordHasher::Verdict PasswordHasher::Verify(const std::string& stored_hash, std::string_view password) {
  Verdict v;
  DummyHash();
  if (stored_hash.empty() || stored_hash.size() >= crypto_pwhash_STRBYTES || password.size() > kMaxPasswordBytes) {
    VerifyDummy(password);  // the same time as a real check
    return v;
  }
  {
    Slot slot(*this);
    v.match = crypto_pwhash_str_verify(stored_hash.c_str(), password.data(), password.size()) == 0;
  }
  if (v.match) {
    v.needs_rehash =
        crypto_pwhash_str_needs_rehash(stored_hash.c_str(), options_.params.opslimit, options_.params.memlimit) != 0;
  }
  return v;
}

void PasswordHasher::VerifyDummy(std::string_view password) {
  const std::string& dummy = DummyHash();
  Slot slot(*this);
  const std::string_view p = password.substr(0, kMaxPasswordBytes);
  volatile int ignored = crypto_pwhash_str_verify(dummy.c_str(), p.data(), p.size());  // never 0
  (void)ignored;
}

}  // namespace touchpoint::privacy

#include "server/read_pool_internal.h"

#include <utility>

#include <touchpoint/store/activity_repository.h>
#include <touchpoint/store/event_log.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/open.h>

namespace touchpoint::server {

ReadPool::ReadPool(std::string url, std::string password, size_t max_open)
    : url_(std::move(url)), password_(std::move(password)), max_open_(max_open < 1 ? 1 : max_open) {}

ReadPool::~ReadPool() = default;

ReadPool::Borrowed::~Borrowed() {
  if (store_ != nullptr) pool_->Return(std::move(store_), discard_);
}

Result<ReadPool::Borrowed> ReadPool::Borrow() {
  {
    std::unique_lock lock(mu_);
    returned_.wait(lock, [&] { return !idle_.empty() || open_ < max_open_; });
    if (!idle_.empty()) {
      auto store = std::move(idle_.back());
      idle_.pop_back();
      return Borrowed(*this, std::move(store));
    }
    ++open_;  // a slot for the store opened below, outside the lock
  }
  store::OpenOptions o;
  o.read_only = true;
  o.cache_mib = 8;
  o.password = password_;
  auto opened = store::Open(url_, o);
  if (!opened.ok()) {
    {
      std::scoped_lock lock(mu_);
      --open_;
    }
    returned_.notify_one();
    return opened.status();
  }
  return Borrowed(*this, std::move(*opened));
}

void ReadPool::Return(std::unique_ptr<store::Store> store, bool discard) {
  {
    std::scoped_lock lock(mu_);
    if (discard) {
      --open_;
    } else {
      idle_.push_back(std::move(store));
    }
  }
  returned_.notify_one();
  // A discarded store closes here, outside the lock.
}

namespace {

template <class T>
Result<T> Discarding(ReadPool::Borrowed& borrowed, Result<T> r) {
  if (!r.ok() && r.status().code() == StatusCode::kUnavailable) borrowed.Discard();
  return r;
}

}  // namespace

Result<pipeline::CustomerData> PooledCustomerView::Find(std::string_view ref) const {
  TP_ASSIGN_OR_RETURN(ReadPool::Borrowed store, pool_.Borrow());
  return Discarding(store, pipeline::StoreCustomerView(*store)->Find(ref));
}

Result<Millis> PooledCustomerView::NewestEventAt() const {
  TP_ASSIGN_OR_RETURN(ReadPool::Borrowed store, pool_.Borrow());
  return Discarding(store, (*store).Get<store::EventLog>().NewestEventAt());
}

Result<pipeline::EngineStats> StoreStats(ReadPool& pool) {
  TP_ASSIGN_OR_RETURN(ReadPool::Borrowed borrowed, pool.Borrow());
  auto read = [&]() -> Result<pipeline::EngineStats> {
    store::Store& st = *borrowed;
    pipeline::EngineStats s;
    TP_ASSIGN_OR_RETURN(s.events, st.Get<store::EventLog>().Count());
    TP_ASSIGN_OR_RETURN(store::IdentityCounts ids, st.Get<store::IdentityRepository>().Counts());
    s.customers = ids.live_customers;
    s.identifiers = ids.identifiers;
    s.merges = ids.merges;
    TP_ASSIGN_OR_RETURN(store::ActivityCounts activity, st.Get<store::ActivityRepository>().Counts());
    s.orders = activity.orders;
    s.messages = activity.messages;
    s.surveys = activity.surveys;
    return s;
  };
  return Discarding(borrowed, read());
}

}  // namespace touchpoint::server

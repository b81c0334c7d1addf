#include "server/replica_internal.h"

#include <spdlog/spdlog.h>

#include <touchpoint/store/event_log.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/memory.h>
#include <touchpoint/store/profile_repository.h>

namespace touchpoint::server {

Replica::Replica(std::unique_ptr<store::Store> source, const pipeline::CustomerView& fallback, spdlog::logger* log)
    : source_(std::move(source)), fallback_(fallback), log_(log), copy_(store::memory::Open()) {
  view_ = pipeline::StoreCustomerView(*copy_);
  thread_ = std::thread([this] { Run(); });
}

Replica::~Replica() {
  {
    std::scoped_lock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Result<pipeline::CustomerData> Replica::Find(std::string_view ref) const {
  return loaded_.load() ? view_->Find(ref) : fallback_.Find(ref);
}

Result<Millis> Replica::NewestEventAt() const {
  return loaded_.load() ? view_->NewestEventAt() : fallback_.NewestEventAt();
}

Status Replica::Apply(store::Changes&& c) {
  TP_ASSIGN_OR_RETURN(auto txn, copy_->Begin());
  auto& identity = copy_->Get<store::IdentityRepository>();
  TP_RETURN_IF_ERROR(identity.PutCustomers(*txn, c.customers));
  TP_RETURN_IF_ERROR(identity.PutIdentifiers(*txn, c.identifiers));
  TP_RETURN_IF_ERROR(identity.PutMerges(*txn, c.merges));
  auto& profiles = copy_->Get<store::ProfileRepository>();
  TP_RETURN_IF_ERROR(profiles.Put(*txn, c.profiles));
  TP_RETURN_IF_ERROR(profiles.SetCheckpoint(*txn, c.profile_checkpoint));
  TP_RETURN_IF_ERROR(copy_->Get<store::EventLog>().RaiseNewestEventAt(*txn, c.newest_event_at));
  return txn->Commit();
}

void Replica::Run() {
  store::ChangeFeed* feed = source_->change_feed();
  store::Cluster* cluster = source_->cluster();
  std::int64_t seen_seq = 0;
  bool failing = false;
  for (;;) {
    {
      std::scoped_lock lock(mu_);
      if (stop_) return;
    }
    Status s = Status::Ok();
    if (feed == nullptr) {
      s = Status::FailedPrecondition("the store has no change feed");
    } else {
      auto changes = feed->ChangesSince(mark_.load());
      if (changes.ok()) {
        const std::int64_t mark = changes->mark;
        const size_t rows = changes->customers.size() + changes->identifiers.size() + changes->profiles.size();
        s = Apply(std::move(*changes));
        if (s.ok()) {
          if (!loaded_.load() && log_) log_->info("replica loaded rows={}", rows);
          mark_ = mark;
          loaded_ = true;
        }
      } else {
        s = changes.status();
      }
    }
    if (!s.ok()) {
      if (!failing && log_) log_->warn("replica cannot follow the database error={}", s.message());
      failing = true;
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_; });
      continue;
    }
    if (failing && log_) log_->info("replica follows the database again");
    failing = false;
    // Until the next commit (the change sequence) or half a second: writes without events
    // (analytics tags, splits) are picked up by the timeout.
    if (cluster != nullptr) {
      auto next = cluster->WaitForChange(seen_seq, std::chrono::milliseconds(500));
      if (next.ok()) seen_seq = next->seq;
    } else {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stop_; });
    }
  }
}

}  // namespace touchpoint::server

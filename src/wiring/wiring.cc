#include <touchpoint/wiring/wiring.h>

#include <touchpoint/store/activity_repository.h>

namespace touchpoint::wiring {

Result<std::unique_ptr<OpenedEngine>> OpenEngine(const std::string& url, pipeline::EngineOptions engine_options,
                                                 const store::OpenOptions& options, bool escalation, bool desk,
                                                 service::DeskOptions desk_options) {
  TP_ASSIGN_OR_RETURN(auto writer, store::Open(url, options));
  const bool analysed = static_cast<bool>(engine_options.analyze_message);
  auto analyze = engine_options.analyze_message;  // the desk re-analyses the messages it catches up on
  auto out = std::make_unique<OpenedEngine>();
  TP_ASSIGN_OR_RETURN(out->engine, pipeline::Engine::Open(std::move(writer), std::move(engine_options)));
  if (escalation && analysed) {
    store::OpenOptions side;  // beside the writer: no writer lock
    side.password = options.password;
    side.cache_mib = 4;
    side.synchronous = "normal";  // firings are not acknowledged to anyone: no fsync per batch
    TP_ASSIGN_OR_RETURN(auto side_store, store::Open(url, side));
    auto attached = service::AttachEscalation(*out->engine, std::move(side_store));
    if (attached.ok()) out->escalation = std::move(*attached);  // else: rule data missing, run without
  }
  if (desk) {
    store::OpenOptions side;  // beside the writer: no writer lock; tickets are acknowledged (fsync)
    side.password = options.password;
    side.cache_mib = 8;
    TP_ASSIGN_OR_RETURN(auto desk_store, store::Open(url, side));
    TP_ASSIGN_OR_RETURN(out->desk, service::AttachDesk(*out->engine, std::move(desk_store), std::move(analyze),
                                                       SystemClock::Instance(), std::move(desk_options)));
    if (out->escalation) {
      // Subscribed before the desk: a batch's firings reach the desk before its messages do.
      std::weak_ptr<service::Desk> weak = out->desk;
      out->escalation->SetListener([weak](std::span<const store::EscalationRecord> firings) {
        if (auto d = weak.lock()) d->OnEscalations(firings);
      });
    }
  }
  return out;
}

Result<insight::Activity> EngineActivitySource::Load(const insight::ActivityRequest& request) {
  store::ActivityRepository* from = reader_ != nullptr ? &reader_->Get<store::ActivityRepository>() : nullptr;
  insight::Activity a;
  a.newest_event = engine_.newest_event_at();
  if (request.orders) {
    auto orders = engine_.Orders(request.items, from);
    if (!orders.ok()) {
      failed_ = true;
      return orders.status();
    }
    a.orders.reserve(orders->size());
    if (request.order_ids) a.order_ids.reserve(orders->size());
    for (auto& o : *orders) {
      insight::ActivityOrder row{.customer = o.customer.value(), .at = o.at, .total = o.total, .categories = {},
                                 .products = {}};
      for (auto& item : o.items) {
        row.categories.push_back(std::move(item.category));
        row.products.push_back(std::move(item.product_id));
      }
      a.orders.push_back(std::move(row));
      if (request.order_ids) a.order_ids.push_back(std::move(o.order_id));
    }
  }
  if (request.seen) {
    for (const auto& c : engine_.Customers()) a.seen.push_back({.customer = c.customer.value(), .first_seen = c.first_seen});
  }
  if (request.messages) {
    auto messages = engine_.Messages(from);
    if (!messages.ok()) {
      failed_ = true;
      return messages.status();
    }
    a.messages.reserve(messages->size());
    for (auto& m : *messages) {
      a.messages.push_back({.customer = m.customer.value(), .at = m.at,
                            .from_customer = m.inbound && m.author == "customer", .intent = std::move(m.intent),
                            .sentiment_label = std::move(m.sentiment_label), .sentiment_score = m.sentiment_score});
    }
  }
  return a;
}

Status EngineTagSink::Write(const insight::CustomerTags& tags) {
  Status s = engine_.SetTags(tags);
  if (!s.ok()) failed_ = true;
  return s;
}

Result<store::JobRecord> SerializedJobRepository::Create(const store::JobRecord& job) {
  std::scoped_lock lock(mu_);
  return repo_.Create(job);
}
Status SerializedJobRepository::Update(const store::JobRecord& job) {
  std::scoped_lock lock(mu_);
  return repo_.Update(job);
}
Result<std::optional<store::JobRecord>> SerializedJobRepository::Find(std::int64_t id) {
  std::scoped_lock lock(mu_);
  return repo_.Find(id);
}
Result<std::vector<store::JobRecord>> SerializedJobRepository::Recent(int limit) {
  std::scoped_lock lock(mu_);
  return repo_.Recent(limit);
}
Result<std::vector<store::JobRecord>> SerializedJobRepository::Unfinished() {
  std::scoped_lock lock(mu_);
  return repo_.Unfinished();
}

}  // namespace touchpoint::wiring

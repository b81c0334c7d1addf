#include <touchpoint/service/escalation.h>

#include <string>
#include <vector>


namespace touchpoint::service {

EscalationConsumer::EscalationConsumer(std::unique_ptr<store::Store> store,
                                       std::unique_ptr<text::EscalationEngine> rules, EscalationOptions options)
    : store_(std::move(store)), rules_(std::move(rules)), options_(options) {}

void EscalationConsumer::OnCommitted(std::span<const pipeline::CommittedEvent> events) {
  std::vector<store::EscalationRecord>& out = pending_;
  const size_t before = out.size();
  for (const pipeline::CommittedEvent& e : events) {
    if (e.message == nullptr) continue;
    const store::MessageRecord& msg = *e.message;
    auto author = text::ParseAuthor(msg.author);
    if (!author.ok()) continue;
    text::ConversationMessage m;
    m.conversation_id = msg.conversation_id.empty() ? "customer-" + std::to_string(e.customer.value())
                                                    : msg.conversation_id;
    m.author = *author;
    if (e.normalized_text.empty()) {
      m.text = msg.text;
    } else {
      m.normalized = e.normalized_text;  // analysed on the submitting thread already
    }
    m.high_value_customer = e.customer_revenue >= options_.high_value_revenue;
    if (!msg.sentiment_label.empty()) m.sentiment_score = msg.sentiment_score;
    for (auto& f : rules_->Process(m)) {
      std::string reason = f.reason;
      if (!f.history.empty()) reason += " (attach " + f.history + ")";
      out.push_back(store::EscalationRecord{e.timestamp, e.original, m.conversation_id, msg.message_id, f.rule,
                                            f.action, std::move(reason)});
    }
  }
  if (listener_ && out.size() > before) {
    listener_(std::span<const store::EscalationRecord>(out.data() + before, out.size() - before));
  }
  if (before == 0 && !out.empty()) oldest_pending_ = std::chrono::steady_clock::now();
  if (out.size() >= options_.flush_records ||
      (!out.empty() && std::chrono::steady_clock::now() - oldest_pending_ >=
                           std::chrono::milliseconds(options_.flush_ms))) {
    Flush();
  }
}

void EscalationConsumer::OnStop() {
  Flush();
  lost_.fetch_add(static_cast<std::int64_t>(pending_.size()), std::memory_order_relaxed);
  pending_.clear();
}

void EscalationConsumer::Flush() {
  if (pending_.empty() || store_ == nullptr) return;
  Status s = [&]() -> Status {
    TP_ASSIGN_OR_RETURN(auto txn, store_->Begin());
    TP_RETURN_IF_ERROR(store_->Get<store::EscalationRepository>().Add(*txn, pending_));
    return txn->Commit();
  }();
  if (s.ok()) {
    fired_.fetch_add(static_cast<std::int64_t>(pending_.size()), std::memory_order_relaxed);
    pending_.clear();
    return;
  }
  // Kept for the next flush (the age check makes it come soon); the oldest go when too many wait.
  if (pending_.size() > options_.max_pending) {
    const size_t drop = pending_.size() - options_.max_pending;
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(drop));
    lost_.fetch_add(static_cast<std::int64_t>(drop), std::memory_order_relaxed);
  }
  oldest_pending_ = std::chrono::steady_clock::now();
}

Result<std::shared_ptr<EscalationConsumer>> AttachEscalation(pipeline::Engine& engine,
                                                             std::unique_ptr<store::Store> store,
                                                             EscalationOptions options) {
  TP_ASSIGN_OR_RETURN(std::unique_ptr<text::EscalationEngine> rules, text::EscalationEngine::Default());
  auto consumer = std::make_shared<EscalationConsumer>(std::move(store), std::move(rules), options);
  engine.Subscribe(consumer);
  return consumer;
}

}  // namespace touchpoint::service

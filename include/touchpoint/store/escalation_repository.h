// store/escalation_repository.h — firings of the escalation rules on customer messages, for the
// service desk (written by its post-commit consumer, not by the write path).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/transaction.h>

namespace touchpoint::store {

struct EscalationRecord {
  Millis at = 0;
  CustomerId customer;  // original customer of the message's event
  std::string conversation_id;
  std::string message_id;
  std::string rule;
  std::string action;
  std::string reason;
  friend bool operator==(const EscalationRecord&, const EscalationRecord&) = default;
};

class EscalationRepository {
 public:
  virtual ~EscalationRepository() = default;
  virtual Status Add(Transaction& txn, std::span<const EscalationRecord> escalations) = 0;
  // In insertion order.
  virtual Status Scan(const std::function<void(EscalationRecord&&)>& fn) = 0;
  virtual Result<std::int64_t> Count() = 0;
};

}  // namespace touchpoint::store

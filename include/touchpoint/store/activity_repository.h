// store/activity_repository.h — first-class records extracted from events: orders, messages
// (with their text analysis) and survey answers. Each belongs to the *original* customer of its
// event's anchor identifier; readers map it to the live customer through the identity graph.
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

struct OrderRecord {
  std::string order_id;
  CustomerId customer;
  Millis timestamp = 0;
  double total = 0;
  std::string currency;
  std::string channel;
  std::string items_json;
  friend bool operator==(const OrderRecord&, const OrderRecord&) = default;
};

struct MessageRecord {
  std::string message_id;
  CustomerId customer;
  Millis timestamp = 0;
  std::string conversation_id;
  std::string channel;
  std::string author;     // customer | agent | bot
  std::string direction;  // in | out
  std::string text;
  std::string language;
  std::string sentiment_label;
  double sentiment_score = 0;
  std::string intent;
  std::string masked_text;
  friend bool operator==(const MessageRecord&, const MessageRecord&) = default;
};

struct SurveyRecord {
  std::string message_id;
  CustomerId customer;
  Millis timestamp = 0;
  int nps = -1;   // -1 when not answered
  int csat = -1;  // -1 when not answered
  std::string comment;
  std::string touchpoint;
  friend bool operator==(const SurveyRecord&, const SurveyRecord&) = default;
};

struct ActivityCounts {
  std::int64_t orders = 0;
  std::int64_t messages = 0;
  std::int64_t surveys = 0;
};

class ActivityRepository {
 public:
  virtual ~ActivityRepository() = default;

  // Appends (several records may share an order or message id: each event is one record).
  virtual Status AddOrders(Transaction& txn, std::span<const OrderRecord> orders) = 0;
  virtual Status AddMessages(Transaction& txn, std::span<const MessageRecord> messages) = 0;
  virtual Status AddSurveys(Transaction& txn, std::span<const SurveyRecord> surveys) = 0;

  // In insertion order.
  virtual Status ScanOrders(const std::function<void(OrderRecord&&)>& fn) = 0;
  virtual Status ScanMessages(const std::function<void(MessageRecord&&)>& fn) = 0;
  virtual Status ScanSurveys(const std::function<void(SurveyRecord&&)>& fn) = 0;
  virtual Result<ActivityCounts> Counts() = 0;
};

}  // namespace touchpoint::store

// ingest/parser.h — turns tracking payloads (NDJSON lines, HTTP bodies, CSV rows) into Events.
// Each malformed record fails alone with a reason a user can act on.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/csv.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/ingest/event.h>

namespace touchpoint::ingest {

struct ParserOptions {
  size_t max_record_bytes = 1u << 20;  // larger records are rejected
  Millis default_timestamp = 0;        // used when a record has none (0 = now, from `clock`)
  // "Now" for records without a timestamp when default_timestamp is 0; null: the system clock.
  // Must outlive the parser.
  const Clock* clock = nullptr;
};

// Parses JSON tracking messages. Not thread-safe: use one per thread (they are cheap).
class Parser {
 public:
  explicit Parser(ParserOptions options = {});
  ~Parser();
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // One message (identify / track / page / alias object). kInvalidArgument with the reason.
  Result<Event> ParseMessage(std::string_view json);

  // An HTTP body for /v1/<type>: `type` is forced from the route unless empty.
  Result<Event> ParseTyped(std::string_view json, std::string_view type);

  // A batch body {"batch":[...], "context":{...}}: each item parsed on its own. The outer
  // Result fails only when the body itself is not a batch object.
  struct BatchItem {
    Result<Event> event;
    std::string message_id;  // as given, for the error report
  };
  Result<std::vector<BatchItem>> ParseBatch(std::string_view json);

  // An NDJSON line: a message, or a {"batch":[...]} wrapper. Appends each accepted event to
  // `out` (built in place, never moved) and each rejected item's reason to `rejected`, in order.
  // Returns how many events were added.
  size_t ParseLineInto(std::string_view line, std::vector<Event>& out, std::vector<Status>& rejected);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// CSV/TSV record kinds with documented columns (docs/ingest.md):
//  customers: user_id, anonymous_id, phone, email, member_id, external_id, open_id, name, … (other
//             columns become traits), timestamp
//  orders:    order_id, user_id|phone|email|member_id, timestamp, total, currency, channel,
//             and optionally one line item: product_id, category, price, quantity (one row per
//             order; total defaults to price × quantity)
//  messages:  message_id, conversation_id, user_id|phone|email|member_id, timestamp, channel,
//             author, direction, text
enum class CsvKind { kCustomers, kOrders, kMessages };

// Maps one CSV row (with its header) to a JSON tracking message, so CSV and NDJSON share one
// validation path. `line` makes derived message ids stable.
Result<std::string> CsvRowToMessage(CsvKind kind, const CsvHeader& header,
                                    const std::vector<std::string>& row, std::string_view file,
                                    std::int64_t line);

// Guesses the CSV kind from the header: order_id → orders, text → messages, else customers.
CsvKind GuessCsvKind(const CsvHeader& header);

}  // namespace touchpoint::ingest

// insight/orders.h — order lines in memory (the input of RFM, tiers and lifetime value) and a
// fast reader that builds them from a CSV file.
//
// Customers and orders are interned to dense ids once, so the analytics work on integers.
// The lead can feed OrderBookBuilder from the store instead of a file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>

namespace touchpoint::insight {

// One purchased line. `amount` is the line total (quantity × unit price), in any currency.
struct OrderLine {
  std::uint32_t customer = 0;  // index into OrderBook::customers
  std::uint32_t order = 0;     // dense order id, < OrderBook::num_orders
  Millis time = 0;
  double amount = 0;
};

struct OrderBook {
  std::vector<std::string> customers;  // customer id -> external customer key
  std::uint32_t num_orders = 0;
  std::vector<OrderLine> lines;
};

// Builds an OrderBook, interning customer and order keys. Not thread-safe.
class OrderBookBuilder {
 public:
  OrderBookBuilder();
  ~OrderBookBuilder();
  OrderBookBuilder(const OrderBookBuilder&) = delete;
  OrderBookBuilder& operator=(const OrderBookBuilder&) = delete;

  // Adds a line. An empty `order_key` means "no order id": lines of one customer with the
  // same timestamp form one order. Order keys are global (the same key under two customers
  // is counted as an order of each).
  void Add(std::string_view customer, std::string_view order_key, Millis time, double amount);
  // Pre-allocates room for this many lines (an optimisation only).
  void Reserve(size_t lines);
  size_t size() const;
  // Returns the book; the builder is empty afterwards.
  OrderBook Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses an order date. Accepted: ISO 8601 (2011-12-09, 2011-12-09 12:50, 2011-12-09T12:50:00Z,
// with offsets), US month/day/year as in the UCI Online Retail file (12/9/2011 12:50,
// 12/9/2011, optional :SS), year/month/day with slashes (2011/12/09[ 12:50[:00]]), and epoch
// seconds or milliseconds. Times without an offset are UTC. Fails with kInvalidArgument.
Result<Millis> ParseOrderDate(std::string_view text);

struct OrderCsvOptions {
  std::string customer_column = "customer";
  std::string date_column = "date";
  std::string amount_column;    // the line total; or give quantity_column + price_column
  std::string quantity_column;
  std::string price_column;
  std::string order_column;     // optional
  // Rows whose order id starts with this are cancellations and are skipped; "" disables.
  std::string cancel_prefix = "C";
};

struct OrderCsvStats {
  std::int64_t rows = 0;              // data rows read
  std::int64_t kept = 0;
  std::int64_t cancelled = 0;         // order id starts with cancel_prefix
  std::int64_t missing_customer = 0;  // empty customer cell
  std::int64_t non_positive = 0;      // quantity, price or amount <= 0
};

struct OrderCsvResult {
  OrderBook book;
  OrderCsvStats stats;
};

// Reads order lines from CSV (header required; .gz allowed; "-" = stdin). Rows are skipped
// and counted in this order: cancellation, missing customer, non-positive quantity / price /
// amount. Fails with kNotFound when the file cannot be opened; kInvalidArgument for an empty
// file, a missing column, or an unparsable number or date, naming "FILE:LINE: column 'x'".
Result<OrderCsvResult> ReadOrdersCsv(const std::string& path, const OrderCsvOptions& options);

}  // namespace touchpoint::insight

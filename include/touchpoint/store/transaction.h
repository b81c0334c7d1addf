// store/transaction.h — a unit of atomic work across repositories.
//
// Changes of several modules join one transaction: every repository write method takes the
// Transaction it belongs to, and nothing it wrote is visible to other readers until Commit()
// returns OK. Destroying a Transaction without a successful Commit() rolls everything back.
//
// Thread safety: a Transaction is used by one thread. A store has at most one open transaction
// at a time (Store::Begin blocks or fails while another is open, depending on the backend).
#pragma once

#include <touchpoint/core/status.h>

namespace touchpoint::store {

class Transaction {
 public:
  virtual ~Transaction() = default;  // rolls back unless Commit() returned OK
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Makes every write of this transaction durable and visible, all or nothing. kUnavailable when
  // the database is busy or the disk is full; the transaction is then rolled back. Call at most once.
  virtual Status Commit() = 0;

 protected:
  Transaction() = default;
};

}  // namespace touchpoint::store

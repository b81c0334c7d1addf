// store/rekey_repository.h — what a master key rotation (privacy/key_rotation.h) rewrites in
// place, a few rows at a time: the identifiers' blind-index keys (IdentifierRecord::lookup_key)
// and the values sealed under a field's key rather than a person's (outbox payloads, attachment
// bytes, users' TOTP secrets). Values under a person's or an event chunk's data key are not
// here: the rotation re-wraps those data keys in the keyring instead.
//
// Rows come back exactly as stored (sealed: the encryption layer does not wrap this repository);
// the rotation opens and re-seals them itself. Writes are conditional on the value read, so a
// row changed meanwhile by someone else (a user enrolling a new TOTP secret) is left as the other
// writer put it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/transaction.h>

namespace touchpoint::store {

// The columns holding values sealed under a field's key.
enum class SealedColumn {
  kOutboxPayload,   // outbox.payload: key = the delivery id (decimal), row = its idempotency key
  kAttachmentData,  // attachments.data: key = row = the file's SHA-256 (hex)
  kUserTotpSecret,  // users.totp_secret (non-empty only): key = the user id (decimal), row = the e-mail
};
inline constexpr SealedColumn kSealedColumns[] = {SealedColumn::kOutboxPayload, SealedColumn::kAttachmentData,
                                                  SealedColumn::kUserTotpSecret};
// "outbox.payload", "attachments.data", "users.totp_secret": the layer's field names.
const char* SealedColumnName(SealedColumn column);

struct SealedCell {
  std::string key;    // the row's primary key (integers as decimal text); the scan's cursor
  std::string row;    // what the value's associated data names (see SealedColumn)
  std::string value;  // as stored
  friend bool operator==(const SealedCell&, const SealedCell&) = default;
};

struct SealedCellUpdate {
  std::string key;
  std::string old_value;  // the value read: the row is changed only if it still holds it
  std::string new_value;
};

class RekeyRepository {
 public:
  virtual ~RekeyRepository() = default;

  // Up to `limit` identifiers with an id greater than `after`, in id order, as stored (value
  // sealed, lookup_key the stored key).
  virtual Result<std::vector<IdentifierRecord>> IdentifiersAfter(IdentifierId after, int limit) = 0;
  // Sets the stored lookup key of each identifier (by id) to its `lookup_key`; nothing else
  // changes. Unknown ids are skipped.
  virtual Status SetIdentifierKeys(Transaction& txn, std::span<const IdentifierRecord> identifiers) = 0;

  // Up to `limit` cells of `column` whose key sorts after `after` ("" = from the start; integer
  // keys in numeric order, text keys in byte order), in that order. Users without a TOTP secret
  // are not listed.
  virtual Result<std::vector<SealedCell>> CellsAfter(SealedColumn column, const std::string& after, int limit) = 0;
  // Replaces each cell's value where it still equals `old_value`; returns how many changed.
  virtual Result<std::int64_t> ReplaceCells(Transaction& txn, SealedColumn column,
                                            std::span<const SealedCellUpdate> updates) = 0;
};

inline const char* SealedColumnName(SealedColumn column) {
  switch (column) {
    case SealedColumn::kOutboxPayload:
      return "outbox.payload";
    case SealedColumn::kAttachmentData:
      return "attachments.data";
    case SealedColumn::kUserTotpSecret:
      return "users.totp_secret";
  }
  return "";
}

}  // namespace touchpoint::store

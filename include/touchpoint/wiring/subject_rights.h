// wiring/subject_rights.h — export and erasure of one person, the same for the HTTP API
// (POST /v1/privacy/exports, /v1/privacy/erasures) and the CLI (`touchpoint privacy export|
// erase`): resolve the identifier, run the erasure through the engine's single writer, sign the
// receipt, record both in the audit log (docs/security.md, "Subject rights").
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>
#include <string_view>

#include <touchpoint/core/result.h>
#include <touchpoint/pipeline/customer_view.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/privacy/audit.h>
#include <touchpoint/privacy/master_key.h>
#include <touchpoint/privacy/signing.h>
#include <touchpoint/privacy/subject_rights.h>
#include <touchpoint/store/store.h>

namespace touchpoint::wiring {

// The engine's suppression key (pipeline::EngineOptions::suppression_key) from the master key:
// privacy::BlindIndexer's value and key version.
std::function<store::SuppressionRecord(std::string_view, std::string_view)> SuppressionKeyFrom(
    const privacy::MasterKey& master);
// pipeline::EngineOptions::older_suppression_keys from the key file at `key_path`: the values
// under each of its versions but the current one. Empty (no function) when the file holds one
// version or cannot be read (the caller reports a missing key by itself).
std::function<std::vector<std::int64_t>(std::string_view, std::string_view)> OlderSuppressionKeysAt(
    const std::string& key_path);

// Everything held on the person `ref` resolves to in `view` (the engine's live view or a store's),
// read from `store` (a read-only connection is enough); recorded as "subject.export" on
// customer:<id> when `audit` is given (before the document is returned: no export without its
// entry). kNotFound / kInvalidArgument as CustomerView::Find.
Result<privacy::SubjectExport> ExportPerson(const pipeline::CustomerView& view, store::Store& store,
                                            std::string_view ref, std::string_view actor, privacy::AuditLog* audit,
                                            Millis now);

struct ErasureOptions {
  const privacy::Signer* signer = nullptr;  // required: the receipt is signed
  privacy::AuditLog* audit = nullptr;       // "subject.erase" entry when given
  // Crypto-shredding of the person's data keys (privacy::CryptoShredder over the data's store;
  // the server and `privacy erase` set it). Called inside the erasure's transaction
  // (pipeline::ErasureRequest).
  std::function<Status(std::span<const CustomerId>)> shred;
  std::string backend;  // the store's ("sqlite", "postgres", …), named in the receipt
};

struct ErasureOutcome {
  std::string receipt;            // the signed receipt file (privacy/receipt.h), newline-terminated
  privacy::ErasureFacts facts;
  Status audit_status;            // the audit entry's (the erasure itself is done when this fails)
};

// Erases the person `ref` resolves to through `engine` (pipeline::Engine::Erase) and signs the
// receipt. kFailedPrecondition without a signer (nothing is erased then); the engine's errors
// otherwise (kNotFound for an unknown person).
Result<ErasureOutcome> ErasePerson(pipeline::Engine& engine, std::string_view ref, std::string_view actor,
                                   std::string_view reason, const ErasureOptions& options);

}  // namespace touchpoint::wiring

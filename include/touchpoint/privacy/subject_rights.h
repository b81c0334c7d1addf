// privacy/subject_rights.h — what a person may ask for about their data: an export of
// everything held on them, and an erasure with a signed receipt (docs/security.md, "Subject
// rights: export and erasure"). The erasure itself runs through the engine's single writer
// (pipeline::Engine::Erase) so the running server forgets the person together with the store;
// this header builds the export document and the receipt's content.
//
// Thread-safe (stateless functions); the store passed in is used by the calling thread only.
#pragma once

#include <string>
#include <vector>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/erasure_repository.h>
#include <touchpoint/store/store.h>
#include <touchpoint/store/suppression_repository.h>

namespace touchpoint::privacy {

// The person a request is about, as the caller resolved the identifier: the live customer and
// every original customer merged into it (customer included), ascending.
struct Subject {
  CustomerId customer;
  std::vector<CustomerId> members;
};

struct ExportOptions {
  // The live customer as the API renders it (identifiers, traits, tags, scores, features),
  // unmasked — it is the person's own data; a JSON object, or empty to leave it out.
  std::string profile_json;
  Millis now = 0;
  std::string requested_by;  // the actor ("cli:uid:1000", "key:tp_3f9c12", "user:7")
};

// Counts per section of an export (what the audit entry records).
struct ExportCounts {
  std::int64_t identifiers = 0;
  std::int64_t events = 0;
  std::int64_t orders = 0;
  std::int64_t messages = 0;
  std::int64_t surveys = 0;
  std::int64_t escalations = 0;
  std::int64_t merges = 0;
  std::int64_t audit_entries = 0;
  std::int64_t consents = 0;
  std::int64_t tickets = 0;
};

struct SubjectExport {
  std::string json;  // the document (docs/security.md lists its sections)
  ExportCounts counts;
};

// Everything `store` holds on `subject`, as one JSON document: the rendered profile, stored
// profile accumulators (traits, tags, scores), identifiers, merges, events (with their bodies),
// orders, messages, surveys, escalation firings, consent decisions, service tickets (with their
// messages and history), and the audit entries whose target is one of their customer ids. A
// read-only store is enough. Fails as the store does. privacy/export_archive.h turns the
// document into a zip of CSV files.
Result<SubjectExport> ExportSubject(store::Store& store, const Subject& subject, const ExportOptions& options);

// What an erasure did, for its receipt.
struct ErasureFacts {
  std::string erasure_id;  // NewErasureId()
  Millis at = 0;
  std::string by;          // the actor
  std::string reason;      // as the operator gave it (may be empty)
  Subject subject;
  std::vector<std::string> identifier_kinds;  // kinds only, never values
  store::ErasureCounts counts;
  std::vector<store::SuppressionRecord> suppressed;
  std::string backend;     // "sqlite", "postgres", "memory"
  bool keys_destroyed = false;  // a crypto-shredding callback ran
};

// 32 random hex characters (libsodium randombytes).
std::string NewErasureId();
// The "receipt" object of a receipt file (privacy/receipt.h signs it): version, kind, id, time,
// actor, reason, customer ids, identifier kinds, counts per kind, suppression entries
// (blind-index values as decimal strings with their key version), backend and what guarantees
// the erasure there.
std::string ReceiptJson(const ErasureFacts& facts);
// The audit entry's details for an erasure: pseudonymous values only (no reason text).
std::string ErasureAuditDetails(const ErasureFacts& facts);

}  // namespace touchpoint::privacy

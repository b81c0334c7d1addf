#include <touchpoint/wiring/subject_rights.h>

#include <memory>

#include <nlohmann/json.hpp>
#include <touchpoint/privacy/blind_index.h>
#include <touchpoint/privacy/masking.h>
#include <touchpoint/privacy/receipt.h>
#include <touchpoint/wiring/render.h>

namespace touchpoint::wiring {

std::function<store::SuppressionRecord(std::string_view, std::string_view)> SuppressionKeyFrom(
    const privacy::MasterKey& master) {
  // Shared: the engine's options are copied, the indexer (a secret key) is not copyable.
  auto indexer = std::make_shared<privacy::BlindIndexer>(privacy::BlindIndexer::FromMasterKey(master));
  return [indexer](std::string_view kind, std::string_view value) {
    const privacy::BlindIndexValue v = indexer->Of(kind, value);
    return store::SuppressionRecord{v.value, v.key_version, 0};
  };
}

std::function<std::vector<std::int64_t>(std::string_view, std::string_view)> OlderSuppressionKeysAt(
    const std::string& key_path) {
  auto keys = privacy::LoadMasterKeySet(key_path);
  if (!keys.ok() || keys->keys().size() < 2) return {};
  auto indexers = std::make_shared<std::vector<privacy::BlindIndexer>>();
  for (const privacy::MasterKey& k : keys->keys()) {
    if (k.version() != keys->current().version()) indexers->push_back(privacy::BlindIndexer::FromMasterKey(k));
  }
  return [indexers](std::string_view kind, std::string_view value) {
    std::vector<std::int64_t> out;
    out.reserve(indexers->size());
    for (const privacy::BlindIndexer& b : *indexers) out.push_back(b.Of(kind, value).value);
    return out;
  };
}

Result<privacy::SubjectExport> ExportPerson(const pipeline::CustomerView& view, store::Store& store,
                                            std::string_view ref, std::string_view actor, privacy::AuditLog* audit,
                                            Millis now) {
  TP_ASSIGN_OR_RETURN(pipeline::CustomerData d, view.Find(ref));
  TP_ASSIGN_OR_RETURN(Millis as_of, view.NewestEventAt());
  privacy::Subject subject{d.id, {d.id}};
  subject.members.insert(subject.members.end(), d.merged.begin(), d.merged.end());
  std::sort(subject.members.begin(), subject.members.end());
  privacy::ExportOptions o;
  o.profile_json = RenderCustomer(d, as_of, privacy::MaskPolicy::Clear());  // their own data: unmasked
  o.now = now;
  o.requested_by = std::string(actor);
  TP_ASSIGN_OR_RETURN(privacy::SubjectExport out, privacy::ExportSubject(store, subject, o));
  if (audit != nullptr) {
    const privacy::ExportCounts& c = out.counts;
    nlohmann::json details = {{"events", c.events},     {"identifiers", c.identifiers}, {"messages", c.messages},
                              {"orders", c.orders},     {"surveys", c.surveys},         {"escalations", c.escalations},
                              {"merges", c.merges},     {"audit_entries", c.audit_entries}};
    TP_RETURN_IF_ERROR(audit->Record(actor, "subject.export", "customer:" + std::to_string(d.id.value()),
                                     details.dump()));
  }
  return out;
}

Result<ErasureOutcome> ErasePerson(pipeline::Engine& engine, std::string_view ref, std::string_view actor,
                                   std::string_view reason, const ErasureOptions& options) {
  TP_RETURN_IF_ERROR(engine.Find(ref).status());  // an unknown person is kNotFound, key or not
  if (options.signer == nullptr) {
    return Status::FailedPrecondition(
        "an erasure needs the master key to sign its receipt: none is configured (touchpoint keys init-master)");
  }
  pipeline::ErasureRequest request;
  request.ref = std::string(ref);
  request.shred = options.shred;
  TP_ASSIGN_OR_RETURN(pipeline::ErasureResult r, engine.Erase(request));
  ErasureOutcome out;
  privacy::ErasureFacts& f = out.facts;
  f.erasure_id = privacy::NewErasureId();
  f.at = r.at;
  f.by = std::string(actor);
  f.reason = std::string(reason);
  f.subject = privacy::Subject{r.customer, r.members};
  f.identifier_kinds = r.identifier_kinds;
  f.counts = r.counts;
  f.suppressed = r.suppressed;
  f.backend = options.backend;
  f.keys_destroyed = static_cast<bool>(options.shred);
  TP_ASSIGN_OR_RETURN(out.receipt, privacy::SignReceipt(privacy::ReceiptJson(f), *options.signer));
  if (options.audit != nullptr) {
    out.audit_status = options.audit->Record(actor, "subject.erase", "customer:" + std::to_string(r.customer.value()),
                                             privacy::ErasureAuditDetails(f));
  }
  return out;
}

}  // namespace touchpoint::wiring

// insight/segment_index.h — saved segments: rules of the segment language (profile/segment.h)
// stored by name through a store::SegmentRepository, each with a live membership count, and the
// export of their members. docs/analytics.md ("Saved segments") describes the behaviour.
//
// How current a count is:
//   - a full count at Open (every saved segment, one pass over the profiles) and at Define;
//   - then OnCustomersChanged re-evaluates only the customers it is given (the composition roots
//     call it from the engine's post-commit hook with each committed batch's customers, and after
//     analytics jobs wrote tags); a customer merged away since is dropped from every count;
//   - a rule whose membership moves with time alone (Segment::depends_on_as_of: windows,
//     recency_days, tenure_days) is recounted in full when the as-of day (the newest event's
//     UTC day) changes, at the next OnCustomersChanged. Between two such recounts the members
//     nobody touched were judged at an earlier as-of of the same day: such a count can lag by up
//     to a day.
//   - the hook delivers at most once: events committed just before a crash are counted at the
//     next start (Open counts in full).
// Export always evaluates the rule over the profiles as they are now: it is exact.
//
// Thread safety: every method may be called from any thread. Define, Delete and Recount
// serialise with each other; OnCustomersChanged (the hook thread) is never blocked by a
// Define's full count, and readers (Count, List, Get) only wait for short critical sections.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/thread_annotations.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/jobs.h>
#include <touchpoint/privacy/masking.h>
#include <touchpoint/profile/profile_source.h>
#include <touchpoint/profile/segment.h>
#include <touchpoint/store/segment_repository.h>

namespace touchpoint::insight {

// A saved segment as List/Get/Define report it.
struct SavedSegment {
  std::string name;
  std::string rule;  // the canonical text (Segment::text())
  std::string description;
  std::int64_t count = 0;         // live members (see the top of this file for how current)
  bool depends_on_as_of = false;  // membership moves with time alone
  Millis created_at = 0;
  Millis updated_at = 0;
  // Non-empty when the stored rule no longer compiles (a catalogue feature was removed): why.
  // Such a segment counts 0 and cannot be exported; define it again or delete it.
  std::string error;
};

// {"name":…,"rule":…,"description":…,"count":…,"depends_on_as_of":…,"created_at":"…",
//  "updated_at":"…"} (+ "error":… when the rule no longer compiles; "count" is then null).
std::string SavedSegmentJson(const SavedSegment& segment);

enum class SegmentExportFormat { kCsv, kNdjson };
// "csv" or "ndjson"; kInvalidArgument otherwise.
Result<SegmentExportFormat> ParseSegmentExportFormat(std::string_view text);

class SegmentIndex {
 public:
  static constexpr size_t kMaxNameLength = 64;

  // OK when `name` is 1–64 characters of a–z, 0–9, '_' and '-'; kInvalidArgument saying so
  // otherwise.
  static Status ValidateName(std::string_view name);

  // Loads the saved segments and counts their members (one pass over `profiles` for all).
  // `repository`, `profiles` and `clock` must outlive the index. Fails with the repository's
  // status. Call before the hook's observer is subscribed: events committed between the count and
  // the subscription would be missed until the next full count.
  static Result<std::unique_ptr<SegmentIndex>> Open(store::SegmentRepository& repository,
                                                    const profile::ProfileSource& profiles,
                                                    const Clock& clock);

  SegmentIndex(const SegmentIndex&) = delete;
  SegmentIndex& operator=(const SegmentIndex&) = delete;

  // Defines `name` (or replaces its rule and description): compiles the rule, stores it, counts
  // its members and returns it; *created (optional) is set to whether it is new. Readers see the
  // previous definition until the new count is complete. kInvalidArgument for a bad name or a
  // rule that does not compile (the language's "column N: …" message); the repository's status
  // when storing fails (nothing changes then).
  Result<SavedSegment> Define(std::string_view name, std::string_view rule, std::string_view description,
                              bool* created = nullptr);
  // kNotFound when there is no such segment.
  Status Delete(std::string_view name);

  // The segment with its count; kNotFound when there is none.
  Result<SavedSegment> Get(std::string_view name) const;
  Result<std::int64_t> Count(std::string_view name) const;
  // Every saved segment, in name order.
  std::vector<SavedSegment> List() const;

  // How many live customers match `rule` now (a full pass; nothing is saved). kInvalidArgument
  // with the column when it does not compile.
  Result<std::int64_t> Preview(std::string_view rule) const;

  // Writes the members of segment `name` as they are now (evaluated over the profiles, not from
  // the kept count), in ascending customer id order: CSV with the header
  // `customer_id,<field>,…` (the fields the rule reads, as Segment::fields() names them: a
  // string value unquoted, null empty), or NDJSON objects {"customer_id":…,"<field>":…,…,
  // "features":{…every profile feature…}}. Traits of class medium or high (phone, e-mail,
  // names, addresses, ids: core/sensitivity.h) as `policy` shows them (privacy/masking.h). `write` receives chunks of up to ~64 KB; it runs under the profile source's read lock,
  // so it must not block for long (append to a buffer, write a file). Returns the number of
  // members written. Stops at the first non-OK status of `write` and returns it; kNotFound for an
  // unknown segment, kFailedPrecondition for one whose stored rule no longer compiles.
  using ExportWriter = std::function<Status(std::string_view chunk)>;
  Result<std::int64_t> Export(std::string_view name, SegmentExportFormat format,
                              const privacy::MaskPolicy& policy, const ExportWriter& write) const;

  // ---- without an index (the CLI defines, counts and exports in one-shot commands) ----

  // What Define stores: validates `name`, compiles `rule` and stores its canonical text with
  // `description` (created_at kept on a redefinition). Errors as Define's.
  struct Definition {
    store::SegmentRecord record;  // as stored
    profile::Segment segment;
    bool created = false;  // there was no segment by that name
  };
  static Result<Definition> Save(store::SegmentRepository& repository, const Clock& clock,
                                 std::string_view name, std::string_view rule, std::string_view description);
  // The members of `segment` among the live customers now (one pass over `profiles`).
  static std::int64_t CountRule(const profile::Segment& segment, const profile::ProfileSource& profiles);
  // Export for a compiled rule that need not be saved.
  static Result<std::int64_t> ExportRule(const profile::Segment& segment,
                                         const profile::ProfileSource& profiles, SegmentExportFormat format,
                                         const privacy::MaskPolicy& policy, const ExportWriter& write);

  // Re-evaluates `customers` (any order, duplicates allowed) in every segment: a live customer
  // joins or leaves by the rule, one merged away or unknown leaves, and so do the customers merged
  // into a live one. Recounts as-of-dependent rules first when the as-of day changed; counts every
  // rule in full instead when more than 250,000 customers are given (cheaper then).
  void OnCustomersChanged(std::span<const CustomerId> customers);
  // Counts every segment again from scratch (e.g. after an identity split, which commits no
  // event). Blocks OnCustomersChanged meanwhile.
  void Recount();

  struct Entry;  // private: segment_index.cc

 private:
  struct Build;
  SegmentIndex(store::SegmentRepository& repository, const profile::ProfileSource& profiles,
               const Clock& clock);

  // The published entries whose rule compiles.
  std::vector<std::shared_ptr<Entry>> Snapshot() const;
  // REQUIRES: mu_ held (reads the count).
  static SavedSegment Describe(const Entry& entry);

  store::SegmentRepository& repository_;
  const profile::ProfileSource& profiles_;
  const Clock& clock_;

  std::mutex define_mu_;  // one Define/Delete/Recount at a time; before update_mu_ and mu_
  std::mutex repo_mu_;    // the repository (its connection is not shared across threads)
  // Held while membership is changed incrementally (OnCustomersChanged) and while a Define
  // publishes its count; before mu_.
  std::mutex update_mu_;
  mutable std::mutex mu_;  // guards entries_, builds_ and every entry's members
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> entries_ TP_GUARDED_BY(mu_);
  std::vector<Build*> builds_ TP_GUARDED_BY(mu_);  // Defines counting now: what changed meanwhile
};

// A TagSink that writes through `inner`, then tells `changed` which customers it tagged (e.g.
// SegmentIndex::OnCustomersChanged, so rules over tags follow the analytics jobs). `inner` must
// outlive it.
class NotifyingTagSink final : public TagSink {
 public:
  NotifyingTagSink(TagSink& inner, std::function<void(std::span<const CustomerId>)> changed)
      : inner_(inner), changed_(std::move(changed)) {}
  Status Write(const CustomerTags& tags) override;

 private:
  TagSink& inner_;
  std::function<void(std::span<const CustomerId>)> changed_;
};

}  // namespace touchpoint::insight

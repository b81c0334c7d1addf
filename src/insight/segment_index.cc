#include <touchpoint/insight/segment_index.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>
#include <touchpoint/core/csv.h>
#include <touchpoint/core/json_text.h>
#include <touchpoint/core/sensitivity.h>

namespace touchpoint::insight {
namespace {

constexpr size_t kExportChunk = 64 * 1024;
// Above this many changed customers a full count is cheaper than re-evaluating each (an analytics
// job tags most customers at once): per customer the incremental path costs ~1.2 µs plus
// ~0.15 µs a segment (two lookups under the engine's lock), a full count ~0.07 µs plus ~0.3 µs a
// segment (bench/insight/segment_index_bench.cc), so even one segment breaks even near 250 k.
constexpr size_t kFullCountAbove = 250'000;

std::int64_t DayOf(Millis t) { return t >= 0 ? t / kMillisPerDay : (t - kMillisPerDay + 1) / kMillisPerDay; }

// A set of customer ids as a bitmap (ids are dense, from 1): 125 KB per million customers, O(1)
// updates, and the count kept beside it.
class MemberSet {
 public:
  void Set(CustomerId customer, bool member) {
    if (!customer.valid()) return;
    const auto id = static_cast<std::uint64_t>(customer.value());
    const size_t word = static_cast<size_t>(id / 64);
    const std::uint64_t bit = std::uint64_t{1} << (id % 64);
    if (word >= words_.size()) {
      if (!member) return;
      words_.resize(std::max(word + 1, words_.size() + words_.size() / 2), 0);
    }
    std::uint64_t& w = words_[word];
    if (((w & bit) != 0) == member) return;
    w ^= bit;
    count_ += member ? 1 : -1;
  }
  std::int64_t count() const { return count_; }

 private:
  std::vector<std::uint64_t> words_;
  std::int64_t count_ = 0;
};

void AppendNumber(std::string& out, double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) {
    out += "0";
    return;
  }
  out.append(buf, end);
}

void AppendInteger(std::string& out, std::int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;  // 24 characters always hold an int64
  out.append(buf, end);
}

// A field's value as JSON text ("null" when null or missing).
std::string FeatureJson(const profile::Features& f, profile::FeatureId id) {
  const profile::FeatureValue v = f.Get(id);
  std::string out;
  switch (v.kind) {
    case profile::FeatureValue::Kind::kNull: return "null";
    case profile::FeatureValue::Kind::kString: AppendJsonString(out, v.text); return out;
    case profile::FeatureValue::Kind::kNumber: break;
  }
  switch (profile::Describe(id).type) {
    case profile::FeatureType::kInteger: AppendInteger(out, static_cast<std::int64_t>(v.number)); break;
    case profile::FeatureType::kTimestamp:
      AppendJsonString(out, FormatTimestamp(static_cast<Millis>(v.number)));
      break;
    case profile::FeatureType::kNumber:
    case profile::FeatureType::kString: AppendNumber(out, v.number); break;
  }
  return out;
}

// The value of one field the rule reads, as JSON text.
std::string FieldJson(const profile::SegmentField& field, const profile::Profile& p,
                      const profile::Features& f, const privacy::MaskPolicy& policy) {
  switch (field.source) {
    case profile::SegmentField::Source::kFeature: return FeatureJson(f, field.feature);
    case profile::SegmentField::Source::kTag: {
      const std::string* v = p.FindTag(field.name);
      return v != nullptr ? *v : "null";
    }
    case profile::SegmentField::Source::kTrait: {
      const std::string* v = p.FindTrait(field.name);
      if (v == nullptr) return "null";
      return policy.ShowJson(field.name, *v);
    }
  }
  return "null";
}

// A CSV cell (RFC 4180) from a JSON value text: a string unquoted, null empty, anything else as
// its JSON text.
void AppendCsvCell(std::string& out, const std::string& json_value) {
  std::string text;
  if (json_value == "null") return;
  if (!json_value.empty() && json_value.front() == '"') {
    nlohmann::json v = nlohmann::json::parse(json_value, nullptr, /*allow_exceptions=*/false);
    text = v.is_string() ? v.get<std::string>() : json_value;
  } else {
    text = json_value;
  }
  AppendCsvField(out, text);
}

}  // namespace

struct SegmentIndex::Entry {
  store::SegmentRecord record;              // rule: the canonical text when it compiles
  std::optional<profile::Segment> segment;  // nullopt: the stored rule no longer compiles
  std::string error;
  MemberSet members;             // guarded by SegmentIndex::mu_ once published
  std::int64_t counted_day = 0;  // the as-of day of the last full count
};

// A Define counting its members: what changed meanwhile, re-evaluated before it is published.
struct SegmentIndex::Build {
  std::vector<CustomerId> pending;  // guarded by SegmentIndex::mu_
};

namespace {

// Membership of `segments` (null: skipped) over every live customer at `as_of`, one pass.
std::vector<MemberSet> CountAll(const profile::ProfileSource& profiles,
                                const std::vector<const profile::Segment*>& segments, Millis as_of) {
  std::vector<MemberSet> out(segments.size());
  if (segments.empty()) return out;
  profiles.ForEach([&](CustomerId id, const profile::Profile& p) {
    for (size_t k = 0; k < segments.size(); ++k) {
      if (segments[k] != nullptr && segments[k]->Matches(p, as_of)) out[k].Set(id, true);
    }
  });
  return out;
}

// The outcome of re-evaluating some customers in some segments.
struct Evaluation {
  std::vector<CustomerId> customers;
  std::vector<std::uint8_t> match;  // customers × segments: 1 = member
  std::vector<CustomerId> gone;     // not live, or merged into one of `customers`
};

Evaluation Evaluate(const profile::ProfileSource& profiles,
                    const std::vector<const profile::Segment*>& segments, std::vector<CustomerId> customers,
                    Millis as_of) {
  Evaluation e;
  e.customers = std::move(customers);
  const size_t k = segments.size();
  e.match.assign(e.customers.size() * k, 0);
  for (size_t i = 0; i < e.customers.size(); ++i) {
    const CustomerId c = e.customers[i];
    const bool live = profiles.With(c, [&](const profile::Profile& p) {
      for (size_t s = 0; s < k; ++s) {
        e.match[i * k + s] = segments[s] != nullptr && segments[s]->Matches(p, as_of) ? 1 : 0;
      }
    });
    if (!live) {
      e.gone.push_back(c);
    } else {
      for (CustomerId m : profiles.MergedInto(c)) e.gone.push_back(m);
    }
  }
  return e;
}

void Install(const Evaluation& e, const std::vector<MemberSet*>& sets) {
  const size_t k = sets.size();
  for (size_t i = 0; i < e.customers.size(); ++i) {
    for (size_t s = 0; s < k; ++s) sets[s]->Set(e.customers[i], e.match[i * k + s] != 0);
  }
  for (CustomerId g : e.gone) {
    for (MemberSet* set : sets) set->Set(g, false);
  }
}

std::vector<CustomerId> SortedDistinct(std::vector<CustomerId> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  ids.erase(std::remove_if(ids.begin(), ids.end(), [](CustomerId c) { return !c.valid(); }), ids.end());
  return ids;
}

}  // namespace

std::string SavedSegmentJson(const SavedSegment& s) {
  nlohmann::ordered_json j;
  j["name"] = s.name;
  j["rule"] = s.rule;
  j["description"] = s.description;
  j["count"] = s.error.empty() ? nlohmann::ordered_json(s.count) : nlohmann::ordered_json(nullptr);
  j["depends_on_as_of"] = s.depends_on_as_of;
  j["created_at"] = FormatTimestamp(s.created_at);
  j["updated_at"] = FormatTimestamp(s.updated_at);
  if (!s.error.empty()) j["error"] = s.error;
  return j.dump();
}

Result<SegmentExportFormat> ParseSegmentExportFormat(std::string_view text) {
  if (text == "csv") return SegmentExportFormat::kCsv;
  if (text == "ndjson") return SegmentExportFormat::kNdjson;
  return Status::InvalidArgument("format must be csv or ndjson");
}

Status SegmentIndex::ValidateName(std::string_view name) {
  const bool ok =
      !name.empty() && name.size() <= kMaxNameLength && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
      });
  if (!ok) {
    return Status::InvalidArgument("a segment name is 1 to 64 characters of a-z, 0-9, '_' and '-'");
  }
  return Status::Ok();
}

SegmentIndex::SegmentIndex(store::SegmentRepository& repository, const profile::ProfileSource& profiles,
                           const Clock& clock)
    : repository_(repository), profiles_(profiles), clock_(clock) {}

Result<std::unique_ptr<SegmentIndex>> SegmentIndex::Open(store::SegmentRepository& repository,
                                                         const profile::ProfileSource& profiles,
                                                         const Clock& clock) {
  std::unique_ptr<SegmentIndex> index(new SegmentIndex(repository, profiles, clock));
  TP_ASSIGN_OR_RETURN(std::vector<store::SegmentRecord> records, repository.List());
  std::vector<std::shared_ptr<Entry>> entries;
  std::vector<const profile::Segment*> segments;
  for (store::SegmentRecord& r : records) {
    auto e = std::make_shared<Entry>();
    auto compiled = profile::Segment::Compile(r.rule);
    if (compiled.ok()) {
      e->segment = std::move(*compiled);
      r.rule = e->segment->text();
    } else {
      e->error = compiled.status().message();
    }
    e->record = std::move(r);
    entries.push_back(std::move(e));
  }
  for (const auto& e : entries) segments.push_back(e->segment ? &*e->segment : nullptr);
  const Millis as_of = profiles.as_of();
  std::vector<MemberSet> counted = CountAll(profiles, segments, as_of);
  std::scoped_lock lock(index->mu_);  // nobody else sees the index yet; for the annotations' sake
  for (size_t k = 0; k < entries.size(); ++k) {
    entries[k]->members = std::move(counted[k]);
    entries[k]->counted_day = DayOf(as_of);
    index->entries_.emplace(entries[k]->record.name, std::move(entries[k]));
  }
  return index;
}

SavedSegment SegmentIndex::Describe(const Entry& e) {
  SavedSegment s;
  s.name = e.record.name;
  s.rule = e.record.rule;
  s.description = e.record.description;
  s.count = e.members.count();
  s.depends_on_as_of = e.segment && e.segment->depends_on_as_of();
  s.created_at = e.record.created_at;
  s.updated_at = e.record.updated_at;
  s.error = e.error;
  return s;
}

Result<SavedSegment> SegmentIndex::Define(std::string_view name, std::string_view rule,
                                          std::string_view description, bool* created) {
  TP_RETURN_IF_ERROR(ValidateName(name));
  TP_RETURN_IF_ERROR(profile::Segment::Compile(rule).status());  // before waiting for another Define
  std::scoped_lock define(define_mu_);
  auto entry = std::make_shared<Entry>();
  bool existed = false;
  {
    std::scoped_lock repo(repo_mu_);
    TP_ASSIGN_OR_RETURN(Definition saved, Save(repository_, clock_, name, rule, description));
    existed = !saved.created;
    entry->record = std::move(saved.record);
    entry->segment = std::move(saved.segment);
  }

  // Count without blocking the hook: customers it changes meanwhile are collected in `build` and
  // re-evaluated before the entry is published (the profiles are always at least as new as what
  // the hook delivers, so a customer not among them was counted as it is now).
  Build build;
  {
    std::scoped_lock lock(mu_);
    builds_.push_back(&build);
  }
  const std::vector<const profile::Segment*> segments = {&*entry->segment};
  const Millis as_of = profiles_.as_of();
  entry->members = std::move(CountAll(profiles_, segments, as_of).front());
  entry->counted_day = DayOf(as_of);
  {
    std::scoped_lock update(update_mu_);  // no incremental change is half applied now
    std::vector<CustomerId> pending;
    {
      std::scoped_lock lock(mu_);
      builds_.erase(std::find(builds_.begin(), builds_.end(), &build));
      pending = std::move(build.pending);
    }
    pending = SortedDistinct(std::move(pending));
    if (!pending.empty()) {
      Install(Evaluate(profiles_, segments, std::move(pending), profiles_.as_of()), {&entry->members});
    }
    std::scoped_lock lock(mu_);
    entries_[entry->record.name] = entry;
  }
  if (created != nullptr) *created = !existed;
  std::scoped_lock lock(mu_);
  return Describe(*entry);
}

Result<SegmentIndex::Definition> SegmentIndex::Save(store::SegmentRepository& repository, const Clock& clock,
                                                    std::string_view name, std::string_view rule,
                                                    std::string_view description) {
  TP_RETURN_IF_ERROR(ValidateName(name));
  TP_ASSIGN_OR_RETURN(profile::Segment segment, profile::Segment::Compile(rule));
  const Millis now = clock.Now();
  store::SegmentRecord record{std::string(name), segment.text(), std::string(description), now, now};
  TP_ASSIGN_OR_RETURN(std::optional<store::SegmentRecord> before, repository.Find(record.name));
  TP_RETURN_IF_ERROR(repository.Put(record));
  TP_ASSIGN_OR_RETURN(std::optional<store::SegmentRecord> stored, repository.Find(record.name));
  if (stored) record = std::move(*stored);  // created_at of a redefined segment is kept
  return Definition{std::move(record), std::move(segment), !before.has_value()};
}

std::int64_t SegmentIndex::CountRule(const profile::Segment& segment,
                                     const profile::ProfileSource& profiles) {
  return CountAll(profiles, {&segment}, profiles.as_of()).front().count();
}

Status SegmentIndex::Delete(std::string_view name) {
  TP_RETURN_IF_ERROR(ValidateName(name));
  std::scoped_lock define(define_mu_);
  {
    std::scoped_lock repo(repo_mu_);
    TP_RETURN_IF_ERROR(repository_.Delete(std::string(name)));
  }
  std::scoped_lock lock(mu_);
  if (auto it = entries_.find(name); it != entries_.end()) entries_.erase(it);
  return Status::Ok();
}

Result<SavedSegment> SegmentIndex::Get(std::string_view name) const {
  std::scoped_lock lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return Status::NotFound("no segment named \"" + std::string(name) + "\"");
  return Describe(*it->second);
}

Result<std::int64_t> SegmentIndex::Count(std::string_view name) const {
  TP_ASSIGN_OR_RETURN(SavedSegment s, Get(name));
  if (!s.error.empty()) return Status::FailedPrecondition("segment " + s.name + ": " + s.error);
  return s.count;
}

std::vector<SavedSegment> SegmentIndex::List() const {
  std::scoped_lock lock(mu_);
  std::vector<SavedSegment> out;
  out.reserve(entries_.size());
  for (const auto& [name, e] : entries_) out.push_back(Describe(*e));
  return out;
}

Result<std::int64_t> SegmentIndex::Preview(std::string_view rule) const {
  TP_ASSIGN_OR_RETURN(profile::Segment segment, profile::Segment::Compile(rule));
  return CountRule(segment, profiles_);
}

Result<std::int64_t> SegmentIndex::Export(std::string_view name, SegmentExportFormat format,
                                          const privacy::MaskPolicy& policy, const ExportWriter& write) const {
  std::optional<profile::Segment> segment;
  {
    std::scoped_lock lock(mu_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return Status::NotFound("no segment named \"" + std::string(name) + "\"");
    if (!it->second->segment) {
      return Status::FailedPrecondition("segment " + it->second->record.name + ": " + it->second->error);
    }
    segment = it->second->segment;  // shares the compiled program
  }
  return ExportRule(*segment, profiles_, format, policy, write);
}

Result<std::int64_t> SegmentIndex::ExportRule(const profile::Segment& segment,
                                              const profile::ProfileSource& profiles,
                                              SegmentExportFormat format, const privacy::MaskPolicy& policy,
                                              const ExportWriter& write) {
  const std::vector<profile::SegmentField>& fields = segment.fields();
  std::vector<std::string> names;
  for (const auto& f : fields) names.push_back(f.ToString());
  const profile::FeatureMask wanted = segment.features();
  const Millis as_of = profiles.as_of();
  const bool csv = format == SegmentExportFormat::kCsv;

  std::string buf;
  buf.reserve(kExportChunk + 4096);
  if (csv) {
    buf += "customer_id";
    for (const auto& n : names) {
      buf += ',';
      AppendCsvField(buf, n);
    }
    buf += "\r\n";
  }
  Status failed;
  std::int64_t rows = 0;
  profiles.ForEach([&](CustomerId id, const profile::Profile& p) {
    if (!failed.ok() || !segment.Matches(p, as_of)) return;
    ++rows;
    const profile::Features f = wanted != 0 ? p.ComputeFeatures(as_of, wanted) : profile::Features{};
    if (csv) {
      AppendInteger(buf, id.value());
      for (const auto& field : fields) {
        buf += ',';
        AppendCsvCell(buf, FieldJson(field, p, f, policy));
      }
      buf += "\r\n";
    } else {
      buf += "{\"customer_id\":";
      AppendInteger(buf, id.value());
      for (size_t i = 0; i < fields.size(); ++i) {
        buf += ',';
        AppendJsonString(buf, names[i]);
        buf += ':';
        buf += FieldJson(fields[i], p, f, policy);
      }
      buf += ",\"features\":";
      buf += p.FeaturesJson(as_of);
      buf += "}\n";
    }
    if (buf.size() >= kExportChunk) {
      failed = write(buf);
      buf.clear();
    }
  });
  if (failed.ok() && !buf.empty()) failed = write(buf);
  if (!failed.ok()) return failed;
  return rows;
}

std::vector<std::shared_ptr<SegmentIndex::Entry>> SegmentIndex::Snapshot() const {
  std::scoped_lock lock(mu_);
  std::vector<std::shared_ptr<Entry>> out;
  for (const auto& [name, e] : entries_) {
    if (e->segment) out.push_back(e);
  }
  return out;
}

void SegmentIndex::OnCustomersChanged(std::span<const CustomerId> customers) {
  if (customers.empty()) return;
  std::vector<CustomerId> ids = SortedDistinct(std::vector<CustomerId>(customers.begin(), customers.end()));
  std::scoped_lock update(update_mu_);
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::scoped_lock lock(mu_);
    for (Build* b : builds_) b->pending.insert(b->pending.end(), ids.begin(), ids.end());
    for (const auto& [name, e] : entries_) {
      if (e->segment) entries.push_back(e);
    }
  }
  if (entries.empty()) return;
  const Millis as_of = profiles_.as_of();
  const std::int64_t day = DayOf(as_of);

  // Rules that move with time: a full count when the as-of day changed (counted_day is written
  // only under update_mu_, which this thread holds). Every rule when most customers changed.
  const bool bulk = ids.size() > kFullCountAbove;
  std::vector<std::shared_ptr<Entry>> stale;
  std::vector<const profile::Segment*> stale_segments;
  for (const auto& e : entries) {
    if (bulk || (e->segment->depends_on_as_of() && e->counted_day != day)) {
      stale.push_back(e);
      stale_segments.push_back(&*e->segment);
    }
  }
  if (!stale.empty()) {
    std::vector<MemberSet> counted = CountAll(profiles_, stale_segments, as_of);
    std::scoped_lock lock(mu_);
    for (size_t k = 0; k < stale.size(); ++k) {
      stale[k]->members = std::move(counted[k]);
      stale[k]->counted_day = day;
    }
  }
  if (bulk) return;

  std::vector<const profile::Segment*> segments;
  for (const auto& e : entries) segments.push_back(&*e->segment);
  Evaluation evaluation = Evaluate(profiles_, segments, std::move(ids), as_of);
  std::vector<MemberSet*> sets;
  for (const auto& e : entries) sets.push_back(&e->members);
  std::scoped_lock lock(mu_);
  Install(evaluation, sets);
}

void SegmentIndex::Recount() {
  std::scoped_lock define(define_mu_);
  std::scoped_lock update(update_mu_);
  std::vector<std::shared_ptr<Entry>> entries = Snapshot();
  std::vector<const profile::Segment*> segments;
  for (const auto& e : entries) segments.push_back(&*e->segment);
  const Millis as_of = profiles_.as_of();
  std::vector<MemberSet> counted = CountAll(profiles_, segments, as_of);
  std::scoped_lock lock(mu_);
  for (size_t k = 0; k < entries.size(); ++k) {
    entries[k]->members = std::move(counted[k]);
    entries[k]->counted_day = DayOf(as_of);
  }
}

Status NotifyingTagSink::Write(const CustomerTags& tags) {
  TP_RETURN_IF_ERROR(inner_.Write(tags));
  std::vector<CustomerId> customers;
  customers.reserve(tags.size());
  for (const auto& [customer, values] : tags) customers.push_back(customer);
  if (changed_) changed_(customers);
  return Status::Ok();
}

}  // namespace touchpoint::insight

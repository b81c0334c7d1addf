#include <touchpoint/profile/profile.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cmath>

#include <nlohmann/json.hpp>
#include <touchpoint/core/json_text.h>

namespace touchpoint::profile {
namespace {

using nlohmann::json;

void MinTime(Millis& slot, Millis t) {
  if (t != 0 && (slot == 0 || t < slot)) slot = t;
}
void MaxTime(Millis& slot, Millis t) {
  if (t > slot) slot = t;
}

}  // namespace

void Profile::Apply(const Activity& a) {
  ++events_;
  MinTime(first_seen_, a.at);
  MaxTime(last_seen_, a.at);
  for (const auto& [name, value] : a.traits) {
    auto it = traits_.find(name);
    if (it == traits_.end()) it = traits_.emplace(name, Trait{}).first;
    Trait& t = it->second;
    if (a.at >= t.at) {
      t.value = value;
      t.at = a.at;
    }
  }
  if (!a.channel.empty() && a.kind != Activity::Kind::kIdentify) {
    auto it = channels_.find(a.channel);
    if (it == channels_.end()) it = channels_.emplace(std::string(a.channel), 0).first;
    ++it->second;
  }
  switch (a.kind) {
    case Activity::Kind::kOrder: {
      if (!IsPurchase(a.order_total)) break;  // an event (and a channel use), not a purchase
      ++order_count_;
      revenue_ += a.order_total;
      MinTime(first_order_at_, a.at);
      MaxTime(last_order_at_, a.at);
      auto pos = std::upper_bound(orders_.begin(), orders_.end(), std::make_pair(a.at, a.order_total));
      orders_.insert(pos, {a.at, a.order_total});
      if (orders_.size() > kMaxOrdersKept) orders_.erase(orders_.begin());
      break;
    }
    case Activity::Kind::kView:
      ++views_;
      if (a.dwell_seconds >= 0) {
        dwell_sum_ += a.dwell_seconds;
        ++dwell_count_;
      }
      break;
    case Activity::Kind::kMessage:
      ++messages_;
      MaxTime(last_contact_at_, a.at);
      if (a.inbound_message && a.has_sentiment) {
        sentiment_sum_ += a.sentiment;
        ++sentiment_count_;
        if (IsNegativeSentiment(a.sentiment_label)) ++negative_messages_;
      }
      if (a.inbound_message && !a.intent.empty() && a.at >= last_intent_at_) {
        last_intent_ = a.intent;
        last_intent_at_ = a.at;
      }
      break;
    case Activity::Kind::kSurvey:
      ++surveys_;
      if (a.nps >= 0) {
        nps_sum_ += a.nps;
        ++nps_count_;
      }
      if (a.csat >= 0) {
        csat_sum_ += a.csat;
        ++csat_count_;
      }
      break;
    default: break;
  }
}

void Profile::Absorb(const Profile& o) {
  events_ += o.events_;
  MinTime(first_seen_, o.first_seen_);
  MaxTime(last_seen_, o.last_seen_);
  for (const auto& [name, t] : o.traits_) {
    Trait& mine = traits_[name];
    if (t.at >= mine.at) mine = t;
  }
  for (const auto& [name, v] : o.tags_) tags_.emplace(name, v);
  std::vector<std::pair<Millis, double>> merged;
  merged.reserve(orders_.size() + o.orders_.size());
  std::merge(orders_.begin(), orders_.end(), o.orders_.begin(), o.orders_.end(), std::back_inserter(merged));
  if (merged.size() > kMaxOrdersKept) merged.erase(merged.begin(), merged.end() - kMaxOrdersKept);
  orders_ = std::move(merged);
  order_count_ += o.order_count_;
  revenue_ += o.revenue_;
  MinTime(first_order_at_, o.first_order_at_);
  MaxTime(last_order_at_, o.last_order_at_);
  views_ += o.views_;
  dwell_sum_ += o.dwell_sum_;
  dwell_count_ += o.dwell_count_;
  messages_ += o.messages_;
  MaxTime(last_contact_at_, o.last_contact_at_);
  for (const auto& [c, n] : o.channels_) channels_[c] += n;
  sentiment_sum_ += o.sentiment_sum_;
  sentiment_count_ += o.sentiment_count_;
  negative_messages_ += o.negative_messages_;
  if (o.last_intent_at_ >= last_intent_at_ && !o.last_intent_.empty()) {
    last_intent_ = o.last_intent_;
    last_intent_at_ = o.last_intent_at_;
  }
  surveys_ += o.surveys_;
  nps_sum_ += o.nps_sum_;
  nps_count_ += o.nps_count_;
  csat_sum_ += o.csat_sum_;
  csat_count_ += o.csat_count_;
}

void Profile::SetTag(const std::string& name, const std::string& json_value) { tags_[name] = json_value; }

const std::string* Profile::FindTag(std::string_view name) const {
  auto it = tags_.find(name);
  return it != tags_.end() ? &it->second : nullptr;
}

const std::string* Profile::FindTrait(std::string_view name) const {
  auto it = traits_.find(name);
  return it != traits_.end() ? &it->second.value : nullptr;
}

namespace {

// The storage form is written by hand: the writer serialises every changed profile at each
// checkpoint (tens of thousands a second under load), and building an nlohmann::json tree first
// cost about 3x more (bench/profile: 0.72 vs 2.3 µs CPU for a typical profile). Parse (rare:
// start-up, read-only commands) stays on nlohmann; the format is the same either way.
void PutString(std::string_view v, std::string& out) { AppendJsonString(out, v); }

void PutInt(std::int64_t v, std::string& out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Shortest text that reads back as the same double; non-finite values (never produced by the
// accumulators) are written as 0 so the record stays parseable.
void PutDouble(double v, std::string& out) {
  if (!std::isfinite(v)) v = 0;
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// {"name":value,...} for a map with string keys; put_value writes each value.
template <typename Map, typename PutValue>
void PutObject(const Map& map, std::string& out, PutValue&& put_value) {
  out.push_back('{');
  bool first = true;
  for (const auto& [name, value] : map) {
    if (!first) out.push_back(',');
    first = false;
    PutString(name, out);
    out.push_back(':');
    put_value(value);
  }
  out.push_back('}');
}

// A JSON number as nlohmann::json::dump writes a double: the shortest text that reads back,
// with ".0" on integral values.
void PutJsonDouble(double v, std::string& out) {
  if (!std::isfinite(v)) {
    out.append("null");
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
  if (std::string_view(buf, static_cast<size_t>(r.ptr - buf)).find_first_of(".e") == std::string_view::npos) {
    out.append(".0");
  }
}

// Writes `"key":` — callers go in the key order nlohmann's std::map gave (alphabetical).
void PutKey(std::string_view key, std::string& out) {
  if (out.back() != '{') out.push_back(',');
  out.push_back('"');
  out.append(key);
  out.append("\":");
}

void PutTimeOrNull(Millis t, std::string& out) {
  if (t == 0) {
    out.append("null");
  } else {
    AppendJsonString(out, FormatTimestamp(t));
  }
}

}  // namespace

namespace {

constexpr FeatureMask kWindowFeatures =
    FeatureBit(FeatureId::kOrders30d) | FeatureBit(FeatureId::kOrders90d) | FeatureBit(FeatureId::kOrders365d) |
    FeatureBit(FeatureId::kRevenue30d) | FeatureBit(FeatureId::kRevenue90d) | FeatureBit(FeatureId::kRevenue365d) |
    FeatureBit(FeatureId::kMonetary365d);
constexpr FeatureMask kChannelFeatures = FeatureBit(FeatureId::kPreferredChannel);

}  // namespace

// The rules are those of profile/features.h; every accumulator here already holds purchases only.
Features Profile::ComputeFeatures(Millis as_of, FeatureMask wanted) const {
  Features f;
  f.events = events_;
  f.messages = messages_;
  f.negative_messages = negative_messages_;
  f.surveys = surveys_;
  f.views = views_;
  f.orders_total = order_count_;
  // Copies cost nothing; roundings and divisions only for the features asked for (a segment
  // evaluates a rule over every profile).
  auto wants = [wanted](FeatureMask m) { return (wanted & m) != 0; };
  using enum FeatureId;
  if (wants(FeatureBit(kRevenueTotal) | FeatureBit(kMonetary))) f.revenue_total = Round2(revenue_);
  if (wants(FeatureBit(kAvgOrderValue))) f.avg_order_value = Mean2(revenue_, order_count_);
  if (wants(FeatureBit(kAvgSentiment))) f.avg_sentiment = Mean2(sentiment_sum_, sentiment_count_);
  if (wants(FeatureBit(kNegativeShare))) {
    f.negative_share = Mean2(static_cast<double>(negative_messages_), sentiment_count_);
  }
  if (wants(FeatureBit(kAvgDwellSeconds))) f.avg_dwell_seconds = Mean2(dwell_sum_, dwell_count_);
  if (wants(FeatureBit(kAvgNps))) f.avg_nps = Mean2(nps_sum_, nps_count_);
  if (wants(FeatureBit(kAvgCsat))) f.avg_csat = Mean2(csat_sum_, csat_count_);
  f.first_seen_at = first_seen_;
  f.last_seen_at = last_seen_;
  f.last_contact_at = last_contact_at_;
  f.last_intent = last_intent_;
  if (first_seen_ != 0 && first_seen_ <= as_of) f.tenure_days = WholeDaysSince(first_seen_, as_of);
  if (first_order_at_ <= as_of) f.first_order_at = first_order_at_;
  // The purchases at or before as-of end here (all of them, unless as-of is in the past).
  auto end = orders_.end();
  if (last_order_at_ <= as_of) {
    f.last_order_at = last_order_at_;
  } else {
    end = std::upper_bound(orders_.begin(), orders_.end(), as_of,
                           [](Millis t, const std::pair<Millis, double>& o) { return t < o.first; });
    if (end != orders_.begin()) f.last_order_at = std::prev(end)->first;
  }
  if (f.last_order_at != 0) f.recency_days = WholeDaysSince(f.last_order_at, as_of);
  if (wants(kWindowFeatures)) {
    // Forward over the 365-day window (the summation order, and so the last bit, of every sum
    // is that of a scan over all kept purchases).
    auto begin = std::partition_point(orders_.begin(), end, [as_of](const std::pair<Millis, double>& o) {
      return !InWindow(o.first, as_of, 365);
    });
    double r30 = 0, r90 = 0, r365 = 0;
    for (auto it = begin; it != end; ++it) {
      const auto& [t, total] = *it;
      ++f.orders_365d;
      r365 += total;
      if (InWindow(t, as_of, 90)) {
        ++f.orders_90d;
        r90 += total;
      }
      if (InWindow(t, as_of, 30)) {
        ++f.orders_30d;
        r30 += total;
      }
    }
    f.revenue_30d = Round2(r30);
    f.revenue_90d = Round2(r90);
    f.revenue_365d = Round2(r365);
  }
  if (wants(kChannelFeatures)) {
    std::int64_t best = 0;
    for (const auto& [c, n] : channels_) {
      if (n > best) {
        best = n;
        f.preferred_channel = c;
      }
    }
  }
  return f;
}

namespace {

void PutOptional(const std::optional<double>& v, std::string& out) {
  if (v) {
    PutJsonDouble(*v, out);
  } else {
    out.append("null");
  }
}

void PutStringOrNull(std::string_view v, std::string& out) {
  if (v.empty()) {
    out.append("null");
  } else {
    AppendJsonString(out, v);
  }
}

}  // namespace

// Written by hand (it renders on every GET /v1/customers); byte-identical to the nlohmann
// document it replaced (tests/profile: FeaturesMatchTheDocumentForm).
std::string Profile::FeaturesJson(Millis as_of) const {
  const Features f = ComputeFeatures(as_of);
  std::string out;
  out.reserve(768);
  out.push_back('{');
  PutKey("avg_csat", out);
  PutOptional(f.avg_csat, out);
  PutKey("avg_dwell_seconds", out);
  PutOptional(f.avg_dwell_seconds, out);
  PutKey("avg_nps", out);
  PutOptional(f.avg_nps, out);
  PutKey("avg_order_value", out);
  PutOptional(f.avg_order_value, out);
  PutKey("avg_sentiment", out);
  PutOptional(f.avg_sentiment, out);
  PutKey("events", out);
  PutInt(f.events, out);
  PutKey("first_order_at", out);
  PutTimeOrNull(f.first_order_at, out);
  PutKey("first_seen_at", out);
  PutTimeOrNull(f.first_seen_at, out);
  PutKey("last_contact_at", out);
  PutTimeOrNull(f.last_contact_at, out);
  PutKey("last_intent", out);
  PutStringOrNull(f.last_intent, out);
  PutKey("last_order_at", out);
  PutTimeOrNull(f.last_order_at, out);
  PutKey("last_seen_at", out);
  PutTimeOrNull(f.last_seen_at, out);
  PutKey("messages", out);
  PutInt(f.messages, out);
  PutKey("negative_messages", out);
  PutInt(f.negative_messages, out);
  PutKey("orders_30d", out);
  PutInt(f.orders_30d, out);
  PutKey("orders_365d", out);
  PutInt(f.orders_365d, out);
  PutKey("orders_90d", out);
  PutInt(f.orders_90d, out);
  PutKey("orders_total", out);
  PutInt(f.orders_total, out);
  PutKey("preferred_channel", out);
  PutStringOrNull(f.preferred_channel, out);
  PutKey("recency_days", out);
  if (f.recency_days) {
    PutInt(*f.recency_days, out);
  } else {
    out.append("null");
  }
  PutKey("revenue_30d", out);
  PutJsonDouble(f.revenue_30d, out);
  PutKey("revenue_365d", out);
  PutJsonDouble(f.revenue_365d, out);
  PutKey("revenue_90d", out);
  PutJsonDouble(f.revenue_90d, out);
  PutKey("revenue_total", out);
  PutJsonDouble(f.revenue_total, out);
  PutKey("surveys", out);
  PutInt(f.surveys, out);
  PutKey("views", out);
  PutInt(f.views, out);
  out.push_back('}');
  return out;
}

std::string Profile::TraitsJson() const {
  json t = json::object();
  for (const auto& [name, trait] : traits_) t[name] = json::parse(trait.value, nullptr, false);
  return t.dump();
}

std::string Profile::TagsJson() const {
  json t = json::object();
  for (const auto& [name, v] : tags_) t[name] = json::parse(v, nullptr, false);
  return t.dump();
}


std::string Profile::Serialize() const {
  std::string out;
  out.reserve(128 + traits_.size() * 48 + orders_.size() * 24);
  out.append("{\"t\":");
  PutObject(traits_, out, [&](const Trait& t) {
    out.push_back('[');
    PutString(t.value, out);
    out.push_back(',');
    PutInt(t.at, out);
    out.push_back(']');
  });
  if (!tags_.empty()) {
    out.append(",\"g\":");
    PutObject(tags_, out, [&](const std::string& v) { PutString(v, out); });
  }
  out.append(",\"o\":[");
  bool first = true;
  for (const auto& [t, v] : orders_) {
    if (!first) out.push_back(',');
    first = false;
    out.push_back('[');
    PutInt(t, out);
    out.push_back(',');
    PutDouble(v, out);
    out.push_back(']');
  }
  out.append("],\"a\":[");
  PutInt(order_count_, out), out.push_back(',');
  PutDouble(revenue_, out), out.push_back(',');
  PutInt(first_order_at_, out), out.push_back(',');
  PutInt(last_order_at_, out), out.push_back(',');
  PutInt(views_, out), out.push_back(',');
  PutDouble(dwell_sum_, out), out.push_back(',');
  PutInt(dwell_count_, out), out.push_back(',');
  PutInt(messages_, out), out.push_back(',');
  PutInt(last_contact_at_, out), out.push_back(',');
  PutDouble(sentiment_sum_, out), out.push_back(',');
  PutInt(sentiment_count_, out), out.push_back(',');
  PutInt(negative_messages_, out), out.push_back(',');
  PutInt(last_intent_at_, out), out.push_back(',');
  PutInt(surveys_, out), out.push_back(',');
  PutDouble(nps_sum_, out), out.push_back(',');
  PutInt(nps_count_, out), out.push_back(',');
  PutDouble(csat_sum_, out), out.push_back(',');
  PutInt(csat_count_, out), out.push_back(',');
  PutInt(first_seen_, out), out.push_back(',');
  PutInt(last_seen_, out), out.push_back(',');
  PutInt(events_, out);
  out.append("],\"c\":");
  PutObject(channels_, out, [&](std::int64_t n) { PutInt(n, out); });
  out.append(",\"i\":");
  PutString(last_intent_, out);
  out.push_back('}');
  return out;
}

// Records written before purchases were defined (IsPurchase) also counted orders with a total
// ≤ 0 (free orders; ingest never accepted negative totals). Take those out of the kept orders and
// the accumulators. A no-op on records written since; exact unless more than kMaxOrdersKept
// orders were folded (older free orders than the kept ones cannot be known).
void Profile::DropNonPurchases() {
  auto kept = std::stable_partition(orders_.begin(), orders_.end(),
                                    [](const std::pair<Millis, double>& o) { return IsPurchase(o.second); });
  if (kept == orders_.end()) return;
  const bool complete = static_cast<size_t>(order_count_) == orders_.size();
  for (auto it = kept; it != orders_.end(); ++it) {
    --order_count_;
    revenue_ -= it->second;
  }
  orders_.erase(kept, orders_.end());
  if (!orders_.empty()) last_order_at_ = orders_.back().first;
  if (complete) {
    first_order_at_ = orders_.empty() ? 0 : orders_.front().first;
    if (orders_.empty()) {
      last_order_at_ = 0;
      revenue_ = 0;
    }
  }
}

Result<Profile> Profile::Parse(std::string_view data) {
  try {
    json j = json::parse(data);
    Profile p;
    for (const auto& [name, v] : j.at("t").items()) p.traits_[name] = Trait{v.at(0).get<std::string>(), v.at(1).get<Millis>()};
    if (j.contains("g")) {
      for (const auto& [name, v] : j["g"].items()) p.tags_.emplace(name, v.get<std::string>());
    }
    for (const auto& o : j.at("o")) p.orders_.emplace_back(o.at(0).get<Millis>(), o.at(1).get<double>());
    const json& a = j.at("a");
    p.order_count_ = a.at(0);
    p.revenue_ = a.at(1);
    p.first_order_at_ = a.at(2);
    p.last_order_at_ = a.at(3);
    p.views_ = a.at(4);
    p.dwell_sum_ = a.at(5);
    p.dwell_count_ = a.at(6);
    p.messages_ = a.at(7);
    p.last_contact_at_ = a.at(8);
    p.sentiment_sum_ = a.at(9);
    p.sentiment_count_ = a.at(10);
    p.negative_messages_ = a.at(11);
    p.last_intent_at_ = a.at(12);
    p.surveys_ = a.at(13);
    p.nps_sum_ = a.at(14);
    p.nps_count_ = a.at(15);
    p.csat_sum_ = a.at(16);
    p.csat_count_ = a.at(17);
    p.first_seen_ = a.at(18);
    p.last_seen_ = a.at(19);
    p.events_ = a.at(20);
    for (auto& [k, v] : j.at("c").get<std::map<std::string, std::int64_t>>()) p.channels_.emplace(k, v);
    p.last_intent_ = j.at("i").get<std::string>();
    p.DropNonPurchases();
    return p;
  } catch (const std::exception& e) {
    return Status::Internal(std::string("corrupt profile record: ") + e.what());
  }
}

}  // namespace touchpoint::profile

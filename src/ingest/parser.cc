#include <touchpoint/ingest/parser.h>

#include <simdjson.h>
#include <xxhash.h>

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace touchpoint::ingest {
namespace {

using identity::Identifier;
using identity::IdentifierKind;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

constexpr size_t kMaxIdBytes = 256;

Status Bad(std::string m) { return Status::InvalidArgument(std::move(m)); }

// A string, or a number rendered as text (Segment allows numeric ids).
Result<std::string> ScalarText(element e, std::string_view field) {
  switch (e.type()) {
    case element_type::STRING: return std::string(e.get_string().value_unsafe());
    case element_type::INT64: return std::to_string(e.get_int64().value_unsafe());
    case element_type::UINT64: return std::to_string(e.get_uint64().value_unsafe());
    case element_type::DOUBLE: {
      double d = e.get_double().value_unsafe();
      if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
      break;
    }
    case element_type::NULL_VALUE: return std::string();
    default: break;
  }
  return Bad(std::string(field) + " must be a string");
}

// A number, or a numeric string.
Result<double> Number(element e, std::string_view field) {
  if (e.is_number()) return e.get_double().value_unsafe();
  if (e.is_string()) {
    std::string s(e.get_string().value_unsafe());
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size() && std::isfinite(v)) return v;
  }
  return Bad(std::string(field) + " must be a number");
}

std::optional<element> Field(object o, std::string_view key) {
  element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS) return std::nullopt;
  if (e.is_null()) return std::nullopt;
  return e;
}

std::optional<object> ObjectField(object o, std::string_view key) {
  auto e = Field(o, key);
  if (!e || !e->is_object()) return std::nullopt;
  return e->get_object().value_unsafe();
}

bool ValidUtf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

struct IdCollector {
  std::vector<Identifier> ids;
  Status Add(IdentifierKind kind, element e, std::string_view field) {
    TP_ASSIGN_OR_RETURN(std::string raw, ScalarText(e, field));
    if (raw.empty()) return Status::Ok();
    if (raw.size() > kMaxIdBytes) return Bad(std::string(field) + " is longer than 256 bytes");
    auto norm = identity::NormalizeIdentifier(kind, raw);
    if (!norm.ok()) return Bad(std::string(field) + ": " + norm.status().message());
    Identifier id{kind, std::move(*norm)};
    for (const auto& x : ids) {
      if (x == id) return Status::Ok();
    }
    ids.push_back(std::move(id));
    return Status::Ok();
  }
};

const char* const kMessageChannels[] = {"chat", "email", "social", "phone", "ivr", "app"};

}  // namespace

store::MessageHash HashMessageId(std::string_view message_id) {
  XXH128_hash_t h = XXH3_128bits(message_id.data(), message_id.size());
  return store::MessageHash{h.high64, h.low64};
}

struct Parser::Impl {
  ParserOptions options;
  simdjson::dom::parser json;

  Result<Event> Build(element root, std::string_view type_override, std::string_view raw,
                      std::optional<object> batch_context) {
    Event ev;
    TP_RETURN_IF_ERROR(BuildInto(root, type_override, raw, batch_context, ev));
    return ev;
  }

  // Fills `ev` (default-constructed) in place: an Event is ~40 strings and optionals, and moving
  // it through Results and vectors cost ~4 % of bulk ingest CPU. On error `ev` is partly filled.
  Status BuildInto(element root, std::string_view type_override, std::string_view raw,
                   std::optional<object> batch_context, Event& ev) {
    if (!root.is_object()) return Bad("message must be a JSON object");
    object o = root.get_object().value_unsafe();
    std::string type;
    if (!type_override.empty()) {
      type = std::string(type_override);
    } else {
      auto t = Field(o, "type");
      if (!t || !t->is_string()) return Bad("missing \"type\" (identify, track, page, screen, alias or group)");
      type = std::string(t->get_string().value_unsafe());
    }
    // Segment's `group` (a person joins an account or company) is kept as a track event named
    // "Group" with its groupId; its traits describe the group, not the person, so they are
    // neither the person's traits nor identifiers (context.traits still are).
    const bool group = type == "group";
    if (type == "identify") ev.kind = store::EventKind::kIdentify;
    else if (type == "track" || group) ev.kind = store::EventKind::kTrack;
    else if (type == "page" || type == "screen") ev.kind = store::EventKind::kPage;
    else if (type == "alias") ev.kind = store::EventKind::kAlias;
    else return Bad("unknown type \"" + type.substr(0, 40) + "\" (expected identify, track, page, screen, alias or group)");
    if (group) {
      auto g = Field(o, "groupId");
      if (!g) return Bad("group needs a groupId");
      TP_ASSIGN_OR_RETURN(std::string group_id, ScalarText(*g, "groupId"));
      if (group_id.empty()) return Bad("group needs a non-empty groupId");
      if (group_id.size() > kMaxIdBytes) return Bad("groupId is longer than 256 bytes");
    }

    // messageId: given, or derived from the content so a re-sent file stays idempotent.
    if (auto m = Field(o, "messageId")) {
      TP_ASSIGN_OR_RETURN(ev.message_id, ScalarText(*m, "messageId"));
      if (ev.message_id.size() > kMaxIdBytes) return Bad("messageId is longer than 256 bytes");
    }
    if (ev.message_id.empty()) {
      XXH128_hash_t h = XXH3_128bits(raw.data(), raw.size());
      char buf[48];
      std::snprintf(buf, sizeof buf, "tp-%016llx%016llx", static_cast<unsigned long long>(h.high64),
                    static_cast<unsigned long long>(h.low64));
      ev.message_id = buf;
    }
    ev.hash = HashMessageId(ev.message_id);

    // timestamp (or originalTimestamp / sentAt / receivedAt), ISO 8601 or epoch.
    std::optional<element> ts;
    for (const char* key : {"timestamp", "originalTimestamp", "sentAt", "receivedAt"}) {
      if ((ts = Field(o, key))) break;
    }
    if (ts) {
      if (ts->is_number()) {
        ev.timestamp = EpochNumberToMillis(ts->get_double().value_unsafe());
      } else if (ts->is_string()) {
        auto t = ParseTimestamp(ts->get_string().value_unsafe());
        if (!t.ok()) return Bad("timestamp: " + t.status().message());
        ev.timestamp = *t;
      } else {
        return Bad("timestamp must be a string or a number");
      }
    } else {
      ev.timestamp = options.default_timestamp ? options.default_timestamp : options.clock->Now();
    }

    std::optional<object> context = ObjectField(o, "context");
    if (!context) context = batch_context;

    IdCollector ids;
    ids.ids.reserve(4);  // a typical event carries 2-4: no regrowth
    auto user = Field(o, "userId");
    auto anon = Field(o, "anonymousId");
    if (ev.kind == store::EventKind::kAlias) {
      auto prev = Field(o, "previousId");
      if (!user || !prev) return Bad("alias needs userId and previousId");
      TP_RETURN_IF_ERROR(ids.Add(IdentifierKind::kUser, *user, "userId"));
      TP_ASSIGN_OR_RETURN(std::string prev_text, ScalarText(*prev, "previousId"));
      if (prev_text.empty()) return Bad("alias needs a non-empty previousId");
      // previousId may be an earlier user id or an anonymous id; record it as both forms are
      // looked up by the pipeline — here as a user id (the common SDK case after login: anon).
      TP_RETURN_IF_ERROR(ids.Add(IdentifierKind::kAnon, *prev, "previousId"));
      ev.is_alias = true;
    } else {
      if (user) TP_RETURN_IF_ERROR(ids.Add(IdentifierKind::kUser, *user, "userId"));
      if (anon) TP_RETURN_IF_ERROR(ids.Add(IdentifierKind::kAnon, *anon, "anonymousId"));
    }

    std::optional<object> traits = group ? std::nullopt : ObjectField(o, "traits");
    if (!traits && context) traits = ObjectField(*context, "traits");
    if (traits) {
      static constexpr std::pair<const char*, IdentifierKind> kTraitIds[] = {
          {"member_id", IdentifierKind::kMember}, {"external_id", IdentifierKind::kExternal},
          {"open_id", IdentifierKind::kOpen},     {"phone", IdentifierKind::kPhone},
          {"email", IdentifierKind::kEmail}};
      for (const auto& [key, kind] : kTraitIds) {
        if (auto v = Field(*traits, key)) {
          TP_RETURN_IF_ERROR(ids.Add(kind, *v, std::string("traits.") + key));
        }
      }
      for (auto [key, value] : *traits) {
        if (!ValidUtf8(key)) return Bad("trait name is not valid UTF-8");
        ev.traits.emplace_back(std::string(key), simdjson::to_string(value));
      }
    }
    if (context) {
      if (auto device = ObjectField(*context, "device")) {
        if (auto id = Field(*device, "id")) TP_RETURN_IF_ERROR(ids.Add(IdentifierKind::kDevice, *id, "context.device.id"));
      }
      if (auto ch = Field(*context, "channel")) {
        TP_ASSIGN_OR_RETURN(ev.channel, ScalarText(*ch, "context.channel"));
        if (ev.channel.size() > 64) return Bad("context.channel is longer than 64 bytes");
      }
    }
    // Segment requires userId or anonymousId; Touchpoint also accepts a record that carries only
    // an identifying trait or a device id (CRM exports, call-centre logs).
    if (ids.ids.empty()) {
      return Bad("needs userId, anonymousId or an identifying trait (phone, email, member_id, external_id, open_id)");
    }
    // Strongest identifier first: the enum order is the strength order.
    std::stable_sort(ids.ids.begin(), ids.ids.end(),
                     [](const Identifier& a, const Identifier& b) { return a.kind < b.kind; });
    ev.identifiers = std::move(ids.ids);

    if (group) {
      ev.name = "Group";
    } else if (ev.kind == store::EventKind::kTrack || ev.kind == store::EventKind::kPage) {
      auto name = Field(o, ev.kind == store::EventKind::kTrack ? "event" : "name");
      if (name) {
        TP_ASSIGN_OR_RETURN(ev.name, ScalarText(*name, "event"));
      }
      if (ev.kind == store::EventKind::kTrack && ev.name.empty()) return Bad("track needs a non-empty \"event\"");
      if (ev.name.size() > 200) return Bad("event name is longer than 200 bytes");
    }
    if (ev.kind == store::EventKind::kTrack) {
      std::optional<object> props = ObjectField(o, "properties");
      auto prop = [&](std::string_view key) { return props ? Field(*props, key) : std::nullopt; };
      if (ev.name == "Order Completed") {
        OrderPayload order;
        auto oid = prop("order_id");
        if (!oid) return Bad("Order Completed needs properties.order_id");
        TP_ASSIGN_OR_RETURN(order.order_id, ScalarText(*oid, "properties.order_id"));
        if (auto cur = prop("currency")) { TP_ASSIGN_OR_RETURN(order.currency, ScalarText(*cur, "properties.currency")); }
        if (order.currency.empty()) order.currency = "CNY";
        double sum = 0;
        if (auto products = prop("products")) {
          if (!products->is_array()) return Bad("properties.products must be an array");
          simdjson::dom::array lines;
          if (products->get_array().get(lines) != simdjson::SUCCESS) return Bad("properties.products must be an array");
          for (element p : lines) {
            if (!p.is_object()) return Bad("properties.products[] must be objects");
            object po = p.get_object().value_unsafe();
            OrderLine line;
            if (auto v = Field(po, "product_id")) { TP_ASSIGN_OR_RETURN(line.product_id, ScalarText(*v, "products[].product_id")); }
            if (auto v = Field(po, "category")) { TP_ASSIGN_OR_RETURN(line.category, ScalarText(*v, "products[].category")); }
            if (auto v = Field(po, "price")) { TP_ASSIGN_OR_RETURN(line.price, Number(*v, "products[].price")); }
            line.quantity = 1;
            if (auto v = Field(po, "quantity")) { TP_ASSIGN_OR_RETURN(line.quantity, Number(*v, "products[].quantity")); }
            if (line.price < 0 || line.quantity < 0) return Bad("products[].price and quantity must not be negative");
            sum += line.price * line.quantity;
            order.products.push_back(std::move(line));
          }
        }
        if (auto total = prop("total")) {
          TP_ASSIGN_OR_RETURN(order.total, Number(*total, "properties.total"));
        } else if (auto revenue = prop("revenue")) {
          TP_ASSIGN_OR_RETURN(order.total, Number(*revenue, "properties.revenue"));
        } else {
          order.total = sum;
        }
        if (order.total < 0) return Bad("properties.total must not be negative");
        ev.order = std::move(order);
      } else if (ev.name == "Product Viewed") {
        ViewPayload view;
        if (auto v = prop("product_id")) { TP_ASSIGN_OR_RETURN(view.product_id, ScalarText(*v, "properties.product_id")); }
        if (auto v = prop("category")) { TP_ASSIGN_OR_RETURN(view.category, ScalarText(*v, "properties.category")); }
        if (auto v = prop("dwell_seconds")) {
          TP_ASSIGN_OR_RETURN(view.dwell_seconds, Number(*v, "properties.dwell_seconds"));
          if (view.dwell_seconds < 0) return Bad("properties.dwell_seconds must not be negative");
        }
        ev.view = std::move(view);
      } else if (ev.name == "Message Received" || ev.name == "Message Sent") {
        MessagePayload msg;
        msg.inbound = ev.name == "Message Received";
        auto text = prop("text");
        if (!text || !text->is_string()) return Bad(ev.name + " needs properties.text (a string)");
        msg.text = std::string(text->get_string().value_unsafe());
        if (auto v = prop("conversation_id")) { TP_ASSIGN_OR_RETURN(msg.conversation_id, ScalarText(*v, "properties.conversation_id")); }
        if (auto v = prop("channel")) { TP_ASSIGN_OR_RETURN(msg.channel, ScalarText(*v, "properties.channel")); }
        if (msg.channel.empty()) msg.channel = ev.channel.empty() ? "chat" : ev.channel;
        bool known_channel = false;
        for (const char* c : kMessageChannels) known_channel = known_channel || msg.channel == c;
        if (!known_channel) return Bad("properties.channel must be one of chat, email, social, phone, ivr, app");
        if (auto v = prop("author")) { TP_ASSIGN_OR_RETURN(msg.author, ScalarText(*v, "properties.author")); }
        if (msg.author.empty()) msg.author = msg.inbound ? "customer" : "agent";
        if (msg.author != "customer" && msg.author != "agent" && msg.author != "bot") {
          return Bad("properties.author must be customer, agent or bot");
        }
        ev.message = std::move(msg);
      } else if (ev.name == "Survey Answered") {
        SurveyPayload s;
        if (auto v = prop("nps")) {
          TP_ASSIGN_OR_RETURN(double d, Number(*v, "properties.nps"));
          if (d < 0 || d > 10 || std::floor(d) != d) return Bad("properties.nps must be an integer 0-10");
          s.nps = static_cast<int>(d);
        }
        if (auto v = prop("csat")) {
          TP_ASSIGN_OR_RETURN(double d, Number(*v, "properties.csat"));
          if (d < 1 || d > 5 || std::floor(d) != d) return Bad("properties.csat must be an integer 1-5");
          s.csat = static_cast<int>(d);
        }
        if (s.nps < 0 && s.csat < 0) return Bad("Survey Answered needs properties.nps or properties.csat");
        if (auto v = prop("comment")) { TP_ASSIGN_OR_RETURN(s.comment, ScalarText(*v, "properties.comment")); }
        if (auto v = prop("touchpoint")) { TP_ASSIGN_OR_RETURN(s.touchpoint, ScalarText(*v, "properties.touchpoint")); }
        ev.survey = std::move(s);
      }
    }
    ev.body = std::string(raw);
    return Status::Ok();
  }

  Result<element> ParseDoc(std::string_view text) {
    if (text.size() > options.max_record_bytes) {
      return Bad("record is " + std::to_string(text.size()) + " bytes, over the limit of " +
                 std::to_string(options.max_record_bytes));
    }
    element root;
    auto err = json_parser().parse(text.data(), text.size()).get(root);
    if (err) return Bad(std::string("invalid JSON: ") + simdjson::error_message(err));
    return root;
  }

  simdjson::dom::parser& json_parser() { return json; }

  // The "batch" array and the batch-level context of a {"batch":[...], "context":{...}} object.
  static Status BatchParts(object o, simdjson::dom::array* items, std::optional<object>* context) {
    auto batch = Field(o, "batch");
    if (!batch || !batch->is_array() || batch->get_array().get(*items) != simdjson::SUCCESS) {
      return Bad("batch body needs a \"batch\" array");
    }
    *context = ObjectField(o, "context");
    return Status::Ok();
  }

  // The items of an already parsed batch object, each on its own.
  Result<std::vector<BatchItem>> BatchItems(object o) {
    simdjson::dom::array items;
    std::optional<object> context;
    TP_RETURN_IF_ERROR(BatchParts(o, &items, &context));
    std::vector<BatchItem> out;
    for (element item : items) {
      std::string raw = simdjson::to_string(item);
      std::string mid;
      if (item.is_object()) {
        if (auto m = Field(item.get_object().value_unsafe(), "messageId")) {
          mid = ScalarText(*m, "messageId").value_or("");
        }
      }
      out.push_back(BatchItem{Build(item, "", raw, context), std::move(mid)});
    }
    return out;
  }
};

Parser::Parser(ParserOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  if (impl_->options.clock == nullptr) impl_->options.clock = &SystemClock::Instance();
}
Parser::~Parser() = default;

Result<Event> Parser::ParseMessage(std::string_view json) { return ParseTyped(json, ""); }

Result<Event> Parser::ParseTyped(std::string_view json, std::string_view type) {
  TP_ASSIGN_OR_RETURN(element root, impl_->ParseDoc(json));
  return impl_->Build(root, type, json, std::nullopt);
}

Result<std::vector<Parser::BatchItem>> Parser::ParseBatch(std::string_view json) {
  TP_ASSIGN_OR_RETURN(element root, impl_->ParseDoc(json));
  if (!root.is_object()) return Bad("batch body must be a JSON object");
  return impl_->BatchItems(root.get_object().value_unsafe());
}

size_t Parser::ParseLineInto(std::string_view line, std::vector<Event>& out, std::vector<Status>& rejected) {
  auto root = impl_->ParseDoc(line);
  if (!root.ok()) {
    rejected.push_back(root.status());
    return 0;
  }
  auto build = [&](element item, std::string_view raw, std::optional<object> context) {
    Event& ev = out.emplace_back();
    Status s = impl_->BuildInto(item, "", raw, context, ev);
    if (!s.ok()) {
      out.pop_back();
      rejected.push_back(std::move(s));
      return size_t{0};
    }
    return size_t{1};
  };
  if (root->is_object()) {
    object o = root->get_object().value_unsafe();
    if (Field(o, "batch") && !Field(o, "type")) {
      simdjson::dom::array items;
      std::optional<object> context;
      if (Status s = Impl::BatchParts(o, &items, &context); !s.ok()) {
        rejected.push_back(std::move(s));
        return 0;
      }
      size_t n = 0;
      for (element item : items) n += build(item, simdjson::to_string(item), context);
      return n;
    }
  }
  return build(*root, line, std::nullopt);
}

}  // namespace touchpoint::ingest

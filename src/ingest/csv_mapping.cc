// CSV/TSV rows → tracking messages, so files of customers, orders and messages go through the
// same validation as NDJSON.
#include <xxhash.h>

#include <cstdio>

#include <nlohmann/json.hpp>
#include <touchpoint/ingest/parser.h>

namespace touchpoint::ingest {
namespace {

using nlohmann::json;

const char* const kIdColumns[][2] = {
    {"user_id", "userId"}, {"userId", "userId"}, {"anonymous_id", "anonymousId"}, {"anonymousId", "anonymousId"}};
const char* const kTraitIdColumns[] = {"phone", "email", "member_id", "external_id", "open_id"};

std::string RowHash(CsvKind kind, const std::vector<std::string>& row) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_128bits_reset(st);
  const int k = static_cast<int>(kind);
  XXH3_128bits_update(st, &k, sizeof k);
  for (const auto& f : row) {
    XXH3_128bits_update(st, f.data(), f.size());
    XXH3_128bits_update(st, "\x1f", 1);
  }
  XXH128_hash_t h = XXH3_128bits_digest(st);
  XXH3_freeState(st);
  char buf[48];
  std::snprintf(buf, sizeof buf, "csv-%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

}  // namespace

CsvKind GuessCsvKind(const CsvHeader& header) {
  if (header.Find("order_id")) return CsvKind::kOrders;
  if (header.Find("text")) return CsvKind::kMessages;
  return CsvKind::kCustomers;
}

Result<std::string> CsvRowToMessage(CsvKind kind, const CsvHeader& header,
                                    const std::vector<std::string>& row, std::string_view file,
                                    std::int64_t line) {
  auto where = [&](const std::string& m) {
    return Status::InvalidArgument(std::string(file) + ":" + std::to_string(line) + ": " + m);
  };
  if (row.size() != header.names().size()) {
    return where("has " + std::to_string(row.size()) + " fields, the header has " +
                 std::to_string(header.names().size()));
  }
  auto get = [&](std::string_view col) -> std::string {
    auto i = header.Find(col);
    return i ? row[*i] : std::string();
  };
  json msg;
  json traits = json::object();
  std::vector<bool> used(row.size(), false);
  auto mark = [&](std::string_view col) {
    if (auto i = header.Find(col)) used[*i] = true;
  };
  for (const auto& c : kIdColumns) {
    std::string v = get(c[0]);
    mark(c[0]);
    if (!v.empty()) msg[c[1]] = v;
  }
  for (const char* c : kTraitIdColumns) {
    std::string v = get(c);
    mark(c);
    if (!v.empty()) traits[c] = v;
  }
  std::string mid = get("message_id");
  mark("message_id");
  msg["messageId"] = mid.empty() ? RowHash(kind, row) : mid;
  std::string ts = get("timestamp");
  mark("timestamp");
  if (!ts.empty()) msg["timestamp"] = ts;
  std::string channel = get("channel");
  mark("channel");
  if (!channel.empty()) msg["context"]["channel"] = channel;
  std::string device = get("device_id");
  mark("device_id");
  if (!device.empty()) msg["context"]["device"]["id"] = device;

  switch (kind) {
    case CsvKind::kCustomers: {
      msg["type"] = "identify";
      for (size_t i = 0; i < row.size(); ++i) {
        if (!used[i] && !row[i].empty()) traits[header.names()[i]] = row[i];
      }
      msg["traits"] = traits;
      break;
    }
    case CsvKind::kOrders: {
      msg["type"] = "track";
      msg["event"] = "Order Completed";
      if (!traits.empty()) msg["context"]["traits"] = traits;
      json props;
      props["order_id"] = get("order_id");
      std::string currency = get("currency");
      if (!currency.empty()) props["currency"] = currency;
      std::string product = get("product_id");
      std::string price = get("price");
      std::string qty = get("quantity");
      auto number = [&](const std::string& col, const std::string& v) -> Result<double> {
        char* end = nullptr;
        double d = std::strtod(v.c_str(), &end);
        if (v.empty() || end != v.c_str() + v.size()) return where("column " + col + ": '" + v.substr(0, 40) + "' is not a number");
        return d;
      };
      if (!product.empty() || !price.empty()) {
        json item;
        if (!product.empty()) item["product_id"] = product;
        std::string cat = get("category");
        if (!cat.empty()) item["category"] = cat;
        if (!price.empty()) {
          TP_ASSIGN_OR_RETURN(double p, number("price", price));
          item["price"] = p;
        }
        if (!qty.empty()) {
          TP_ASSIGN_OR_RETURN(double q, number("quantity", qty));
          item["quantity"] = q;
        }
        props["products"] = json::array({item});
      }
      std::string total = get("total");
      if (!total.empty()) {
        TP_ASSIGN_OR_RETURN(double t, number("total", total));
        props["total"] = t;
      }
      msg["properties"] = props;
      break;
    }
    case CsvKind::kMessages: {
      msg["type"] = "track";
      std::string direction = get("direction");
      std::string author = get("author");
      const bool outbound = direction == "out" || author == "agent" || author == "bot";
      msg["event"] = outbound ? "Message Sent" : "Message Received";
      if (!traits.empty()) msg["context"]["traits"] = traits;
      json props;
      props["conversation_id"] = get("conversation_id");
      if (!channel.empty()) props["channel"] = channel;
      if (!author.empty()) props["author"] = author;
      props["text"] = get("text");
      msg["properties"] = props;
      break;
    }
  }
  try {
    return msg.dump(-1, ' ', false, json::error_handler_t::strict);
  } catch (const json::exception&) {
    return where("contains text that is not valid UTF-8");
  }
}

}  // namespace touchpoint::ingest

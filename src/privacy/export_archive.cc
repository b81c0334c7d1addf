#include <touchpoint/privacy/export_archive.h>

#include <zip.h>

#include <algorithm>
#include <deque>
#include <memory>

#include <nlohmann/json.hpp>

#include <touchpoint/core/csv.h>

namespace touchpoint::privacy {
namespace {

using Json = nlohmann::ordered_json;

struct Column {
  std::string_view key;
  std::string_view meaning;
};

// One CSV per array section of the export document. The columns listed are written in this
// order (a key the document's objects lack is an empty cell); keys not listed follow, in the
// order first seen, so nothing of the JSON is left out.
struct Table {
  std::string_view section;  // the JSON document's key
  std::string_view file;
  std::string_view about;
  std::vector<Column> columns;
};

const std::vector<Table>& Tables() {
  static const std::vector<Table> kTables = {
      {"identifiers", "identifiers.csv", "The identifiers that name you (phone, e-mail, user id, device, ...).",
       {{"kind", "what kind of identifier (phone, email, user, anonymous, device, ...)"},
        {"value", "the identifier, normalised as it is stored"},
        {"first_seen", "when it was first seen (UTC, ISO 8601)"},
        {"first_message_id", "the message that first carried it"},
        {"customer", "the customer id it was first seen with"},
        {"shared", "true when several people used it, so it no longer joins them"}}},
      {"merges", "merges.csv", "When two customer records were recognised as the same person and joined.",
       {{"id", "the merge's number"},
        {"at", "when (UTC)"},
        {"winner", "the customer id kept"},
        {"loser", "the customer id joined into it"},
        {"message_id", "the message that revealed the link"},
        {"reason", "why they were joined"},
        {"undone", "true when the merge was undone later"}}},
      {"stored_profiles", "stored_profiles.csv", "The profile data kept per customer record (traits, tags, scores).",
       {{"customer", "the customer id"},
        {"updated_at", "when it last changed (UTC)"},
        {"data", "the stored profile, as JSON text"}}},
      {"events", "events.csv", "Every event recorded about you (page views, purchases, messages, ...).",
       {{"seq", "the event's position in the event log"},
        {"message_id", "the sender's id for the event"},
        {"timestamp", "when it happened (UTC)"},
        {"type", "identify, track, page or alias"},
        {"name", "the event's name (for track events)"},
        {"customer", "the customer id it was recorded for"},
        {"body", "the whole event as received, as JSON text"}}},
      {"orders", "orders.csv", "Your orders.",
       {{"order_id", "the order's id"},
        {"timestamp", "when it was placed (UTC)"},
        {"total", "the order's total"},
        {"currency", "the currency of the total"},
        {"channel", "where it was placed"},
        {"items", "the items, as JSON text"}}},
      {"messages", "messages.csv", "Messages you wrote or received, with what the engine derived from them.",
       {{"message_id", "the message's id"},
        {"timestamp", "when it was sent (UTC)"},
        {"conversation_id", "the conversation it belongs to"},
        {"channel", "chat, email, sms, ..."},
        {"author", "who wrote it"},
        {"direction", "inbound (from you) or outbound (to you)"},
        {"text", "the text"},
        {"language", "the language detected"},
        {"sentiment", "the sentiment detected (positive, neutral, negative)"},
        {"sentiment_score", "the sentiment's score"},
        {"intent", "the intent detected"}}},
      {"surveys", "surveys.csv", "Your survey answers.",
       {{"message_id", "the answer's id"},
        {"timestamp", "when you answered (UTC)"},
        {"nps", "the 0-10 recommendation score, empty when not asked"},
        {"csat", "the satisfaction score, empty when not asked"},
        {"comment", "your comment"},
        {"touchpoint", "what the survey was about"}}},
      {"escalations", "escalations.csv", "When a conversation with you was escalated to a person, and why.",
       {{"at", "when (UTC)"},
        {"conversation_id", "the conversation"},
        {"message_id", "the message that triggered it"},
        {"rule", "the rule that fired"},
        {"action", "what it did"},
        {"reason", "why"}}},
      {"consents", "consents.csv", "Every consent decision recorded for you, oldest first.",
       {{"id", "the decision's number"},
        {"customer_id", "the customer id it was recorded for"},
        {"purpose", "personalisation or marketing"},
        {"channel", "for marketing: sms, email, push, wechat or phone"},
        {"value", "personalisation: off, low, medium or high; marketing: opt_in or opt_out"},
        {"source", "identify (sent by the company's systems), api, customer (you) or cli"},
        {"wording_version", "the version of the text you agreed to"},
        {"at", "when the decision was made (milliseconds since 1970-01-01 UTC)"},
        {"actor", "who recorded it (a pseudonymous id)"}}},
      {"tickets", "tickets.csv", "Your service tickets.",
       {{"number", "the ticket's number (shown as TP-000123)"},
        {"customer", "the customer id it was opened for"},
        {"status", "new, open, pending_customer, pending_third_party, solved or closed"},
        {"priority", "high, medium or low"},
        {"type", "request, complaint or incident"},
        {"channel", "where it was opened"},
        {"subject", "its subject"},
        {"created_at", "when it was opened (UTC)"},
        {"updated_at", "when it last changed (UTC)"},
        {"solved_at", "when it was solved (UTC), empty if not"}}},
      {"ticket_messages", "ticket_messages.csv", "The messages of your tickets.",
       {{"ticket", "the ticket's number"},
        {"at", "when (UTC)"},
        {"author", "customer, agent or bot"},
        {"channel", "the channel"},
        {"internal", "true for a note among staff that was not sent to you"},
        {"text", "the text"}}},
      {"ticket_history", "ticket_history.csv", "What changed on your tickets, and when.",
       {{"ticket", "the ticket's number"},
        {"at", "when (UTC)"},
        {"actor_kind", "who changed it: agent, supervisor, admin, bot, customer or system"},
        {"field", "what changed"},
        {"before", "the value before"},
        {"after", "the value after"}}},
      {"experiment_exposures", "experiment_exposures.csv",
       "The experiments (tests of service flows) you or your tickets took part in, and the variant you saw.",
       {{"experiment", "the experiment's id"},
        {"name", "the experiment's name"},
        {"unit_kind", "customer (you) or ticket (one of your tickets)"},
        {"unit", "your customer id or the ticket's number"},
        {"variant", "the variant you saw (the first of an experiment is the control)"},
        {"exposed_at", "when you first saw it (UTC)"}}},
      {"audit", "audit.csv", "The audit log's entries about you (who looked at or changed your data).",
       {{"seq", "the entry's number in the audit log"},
        {"time", "when (UTC)"},
        {"actor", "who (a pseudonymous id: key:..., user:..., customer:..., cli:...)"},
        {"action", "what they did"},
        {"target", "the customer id concerned"},
        {"details", "details, as JSON text (counts and ids only)"}}},
  };
  return kTables;
}

// A cell: text as it is, numbers and booleans as JSON writes them, null empty, structures as
// JSON text.
std::string Cell(const Json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void AppendRow(std::string& out, const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendCsvField(out, fields[i]);
  }
  out += "\r\n";
}

// Flattens the rendered profile into field/value rows: nested objects by dotted keys, arrays
// as JSON text.
void Flatten(const Json& v, const std::string& prefix, std::string& out) {
  if (v.is_object() && !v.empty()) {
    for (const auto& [key, value] : v.items()) Flatten(value, prefix.empty() ? key : prefix + "." + key, out);
    return;
  }
  AppendRow(out, {prefix, Cell(v)});
}

std::string TableCsv(const Table& t, const Json& rows, std::vector<std::string>* extra_columns) {
  std::vector<std::string> columns;
  for (const Column& c : t.columns) columns.emplace_back(c.key);
  for (const Json& row : rows) {
    if (!row.is_object()) continue;
    for (const auto& [key, value] : row.items()) {
      if (std::find(columns.begin(), columns.end(), key) == columns.end()) {
        columns.push_back(key);
        extra_columns->push_back(key);
      }
    }
  }
  std::string out;
  AppendRow(out, columns);
  for (const Json& row : rows) {
    std::vector<std::string> fields;
    fields.reserve(columns.size());
    for (const std::string& c : columns) fields.push_back(row.is_object() && row.contains(c) ? Cell(row[c]) : "");
    AppendRow(out, fields);
  }
  return out;
}

std::string Readme(const Json& header, const std::vector<std::pair<const Table*, std::vector<std::string>>>& written) {
  std::string r;
  r += "Everything Touchpoint holds on one person: a subject-rights export.\r\n";
  r += "Generated at " + Cell(header.value("generated_at", Json())) + " for customer " +
       Cell(header.value("customer", Json())) + " (customer ids " + Cell(header.value("customer_ids", Json())) +
       "; a person may have several customer records, merged into one).\r\n\r\n";
  r += "Each .csv file below is one kind of record: comma-separated (RFC 4180), UTF-8, a header row\r\n";
  r += "with the column names first. Times marked UTC are ISO 8601. A cell holding JSON text keeps a\r\n";
  r += "structured value as it was stored. The same content is available as one JSON document.\r\n\r\n";
  r += "profile.csv\r\n  Your profile as the service shows it: identifiers, traits, tags, scores and the features\r\n";
  r += "  computed from your activity.\r\n  field: the name (nested names joined by dots)\r\n  value: its value\r\n\r\n";
  for (const auto& [t, extra] : written) {
    r += std::string(t->file) + "\r\n  " + std::string(t->about) + "\r\n";
    for (const Column& c : t->columns) r += "  " + std::string(c.key) + ": " + std::string(c.meaning) + "\r\n";
    for (const std::string& c : extra) r += "  " + c + ": as the JSON export names it\r\n";
    r += "\r\n";
  }
  return r;
}

}  // namespace


Result<std::vector<CsvFile>> ExportCsvFiles(std::string_view export_json) {
  Json doc = Json::parse(export_json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("export") || !doc["export"].is_object()) {
    return Status::InvalidArgument("not a subject export document");
  }
  std::vector<CsvFile> files;
  std::string profile;
  AppendRow(profile, {"field", "value"});
  if (doc.contains("profile") && !doc["profile"].is_null()) Flatten(doc["profile"], "", profile);
  files.push_back({"profile.csv", std::move(profile)});
  std::vector<std::pair<const Table*, std::vector<std::string>>> written;
  for (const Table& t : Tables()) {
    const std::string section(t.section);
    // Tickets only when the document has them (an installation without the desk has none).
    if (!doc.contains(section) || !doc[section].is_array()) continue;
    std::vector<std::string> extra;
    files.push_back({std::string(t.file), TableCsv(t, doc[section], &extra)});
    written.emplace_back(&t, std::move(extra));
  }
  files.push_back({"README.txt", Readme(doc["export"], written)});
  return files;
}

Result<std::string> ExportArchive(std::string_view export_json, Millis generated_at) {
  TP_ASSIGN_OR_RETURN(std::vector<CsvFile> files, ExportCsvFiles(export_json));
  zip_error_t error;
  zip_error_init(&error);
  const auto fail = [&](std::string_view what) {
    Status s = Status::Internal("zip archive: " + std::string(what) + ": " + zip_error_strerror(&error));
    zip_error_fini(&error);
    return s;
  };
  // The archive is written into this memory source when the zip is closed.
  zip_source_t* memory = zip_source_buffer_create(nullptr, 0, 0, &error);
  if (memory == nullptr) return fail("create");
  std::unique_ptr<zip_source_t, void (*)(zip_source_t*)> keep(memory, zip_source_free);
  zip_source_keep(memory);  // zip_close/zip_discard release one reference; `keep` the other
  zip_t* archive = zip_open_from_source(memory, ZIP_TRUNCATE, &error);
  if (archive == nullptr) return fail("open");
  const time_t mtime = static_cast<time_t>(generated_at / 1000);
  for (const CsvFile& f : files) {
    zip_source_t* data = zip_source_buffer(archive, f.text.data(), f.text.size(), 0);
    if (data == nullptr) {
      zip_error_set(&error, zip_error_code_zip(zip_get_error(archive)), 0);
      zip_discard(archive);
      return fail("add " + f.name);
    }
    const zip_int64_t index = zip_file_add(archive, f.name.c_str(), data, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(data);
      zip_error_set(&error, zip_error_code_zip(zip_get_error(archive)), 0);
      zip_discard(archive);
      return fail("add " + f.name);
    }
    (void)zip_file_set_mtime(archive, static_cast<zip_uint64_t>(index), mtime, 0);
  }
  if (zip_close(archive) != 0) {
    zip_error_set(&error, zip_error_code_zip(zip_get_error(archive)), 0);
    zip_discard(archive);
    return fail("write");
  }
  zip_stat_t st;
  if (zip_source_stat(memory, &st) != 0 || (st.valid & ZIP_STAT_SIZE) == 0) return fail("size");
  std::string out(static_cast<size_t>(st.size), '\0');
  if (zip_source_open(memory) != 0) return fail("read back");
  const zip_int64_t n = zip_source_read(memory, out.data(), st.size);
  zip_source_close(memory);
  if (n < 0 || static_cast<zip_uint64_t>(n) != st.size) return fail("read back");
  zip_error_fini(&error);
  return out;
}

}  // namespace touchpoint::privacy

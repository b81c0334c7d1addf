// privacy/export_archive.h — a subject export (privacy/subject_rights.h) as a zip of CSV files:
// one file per section of the JSON document (profile, identifiers, merges, stored profiles,
// events, orders, messages, surveys, escalations, consents, tickets and their messages and
// history when the desk holds any, audit entries), plus README.txt explaining every file and
// column (docs/security.md, "Export formats"). The CSVs hold the same values as the JSON: a value
// that is itself structured (an event's body, an order's items) is one cell of JSON text.
//
// CSV: RFC 4180 (comma-separated, CRLF line ends, a header row, fields quoted when they hold a
// comma, quote, CR or LF, quotes doubled), UTF-8. The zip is written in memory with libzip
// (deflate); entries are dated `generated_at`.
//
// Thread-safe (stateless functions).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>

namespace touchpoint::privacy {

// The MIME type of the archive, for HTTP answers.
inline constexpr std::string_view kExportArchiveType = "application/zip";

// One CSV of the archive: its file name and its text.
struct CsvFile {
  std::string name;  // "events.csv"
  std::string text;
};

// The CSV files of the export document `export_json` (ExportSubject's), in archive order, and
// README.txt last. kInvalidArgument when the text is not an export document.
Result<std::vector<CsvFile>> ExportCsvFiles(std::string_view export_json);

// The zip archive of ExportCsvFiles(export_json), entries dated `generated_at`.
// kInvalidArgument as ExportCsvFiles; kInternal when libzip fails.
Result<std::string> ExportArchive(std::string_view export_json, Millis generated_at);

}  // namespace touchpoint::privacy

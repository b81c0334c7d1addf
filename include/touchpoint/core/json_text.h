// core/json_text.h — writing JSON text by hand where building a document tree first is too slow
// (profiles are serialised by the ten thousand; GET /v1/customers renders on every call).
#pragma once

#include <string>
#include <string_view>

namespace touchpoint {

// Appends `text` as a JSON string literal, quotes included. Escapes as nlohmann::json::dump
// does (\" \\ \b \f \n \r \t, other control characters as \u00xx; UTF-8 passes through), so
// hand-written and library-written output are byte-identical.
void AppendJsonString(std::string& out, std::string_view text);

// The same without the surrounding quotes.
void AppendJsonEscaped(std::string& out, std::string_view text);

}  // namespace touchpoint

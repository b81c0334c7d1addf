// cli/rule_json.h — one association rule as an NDJSON line, shared by `rules mine` over a file
// and over the store so both print exactly the same format.
#pragma once

#include <charconv>
#include <string>
#include <vector>

#include <touchpoint/ml/association.h>

namespace touchpoint::cli {

// Appends {"lhs":[…],"rhs":[…],"support":…,"confidence":…,"lift":…,"count":…}\n; `quoted` holds
// each item's name already JSON-escaped (index = item id). Numbers use the shortest text that
// reads back as the same double.
inline void AppendRuleJson(std::string& out, const ml::AssociationRule& r, const std::vector<std::string>& quoted) {
  auto number = [&out](auto v) {
    char tmp[32];
    auto res = std::to_chars(tmp, tmp + sizeof tmp, v);
    out.append(tmp, res.ptr);
  };
  out += "{\"lhs\":[";
  for (size_t i = 0; i < r.lhs.size(); ++i) {
    if (i > 0) out += ',';
    out += quoted[r.lhs[i]];
  }
  out += "],\"rhs\":[";
  out += quoted[r.rhs];
  out += "],\"support\":";
  number(r.support);
  out += ",\"confidence\":";
  number(r.confidence);
  out += ",\"lift\":";
  number(r.lift);
  out += ",\"count\":";
  number(r.count);
  out += "}\n";
}

}  // namespace touchpoint::cli

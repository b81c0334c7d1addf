// Private: data files from data/text compiled into the binary (generated embedded_data.cc).
#pragma once

#include <string_view>

namespace touchpoint::text::internal {

extern const std::string_view kSentimentLexiconTsv;  // data/text/sentiment_lexicon.tsv
extern const std::string_view kIntentRulesTsv;       // data/text/intent_rules.tsv
extern const std::string_view kEscalationRulesToml;  // data/text/escalation_rules.toml
extern const std::string_view kUserDictTxt;          // data/text/user_dict.txt

// Splits TSV text into lines and fields; skips blank lines and lines starting with '#'.
// Calls fn(line_number, fields) for each; stops at the first false.
template <typename Fn>
bool ForEachTsvLine(std::string_view tsv, Fn fn) {
  size_t line_no = 0;
  size_t start = 0;
  while (start <= tsv.size()) {
    size_t nl = tsv.find('\n', start);
    if (nl == std::string_view::npos) nl = tsv.size();
    std::string_view line = tsv.substr(start, nl - start);
    start = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') {
      if (nl == tsv.size()) break;
      continue;
    }
    std::string_view fields[4];
    size_t n = 0;
    size_t fs = 0;
    while (n < 4) {
      size_t tab = line.find('\t', fs);
      if (tab == std::string_view::npos) {
        fields[n++] = line.substr(fs);
        break;
      }
      fields[n++] = line.substr(fs, tab - fs);
      fs = tab + 1;
    }
    if (!fn(line_no, fields, n)) return false;
    if (nl == tsv.size()) break;
  }
  return true;
}

}  // namespace touchpoint::text::internal

#include <touchpoint/insight/kano.h>

#include <algorithm>
#include <unordered_map>

#include <touchpoint/core/csv.h>
#include <touchpoint/core/strings.h>

namespace touchpoint::insight {
std::string_view KanoCategoryName(KanoCategory c) {
  static constexpr std::string_view kNames[] = {"must-be",     "one-dimensional", "attractive",
                                                "indifferent", "reverse",         "questionable"};
  return kNames[static_cast<size_t>(c)];
}

Result<int> ParseKanoAnswer(std::string_view text) {
  text = TrimView(text, kAsciiBlank);
  if (text.size() == 1 && text[0] >= '1' && text[0] <= '5') return text[0] - '0';
  std::string w(text);
  for (char& c : w) {
    c = AsciiLower(c);
    if (c == '_' || c == ' ') c = '-';
  }
  static const std::pair<const char*, int> kWords[] = {
      {"like", 1},     {"expect", 2},    {"must-be", 2},   {"must", 2},
      {"neutral", 3},  {"tolerate", 4},  {"live-with", 4}, {"dislike", 5}};
  for (const auto& [word, value] : kWords) {
    if (w == word) return value;
  }
  return Status::InvalidArgument("not a KANO answer: '" + std::string(text) +
                                 "' (expected 1-5 or like/expect/neutral/tolerate/dislike)");
}

KanoCategory ClassifyKano(int functional, int dysfunctional) {
  using K = KanoCategory;
  static constexpr K kTable[5][5] = {
      {K::kQuestionable, K::kAttractive, K::kAttractive, K::kAttractive, K::kOneDimensional},
      {K::kReverse, K::kIndifferent, K::kIndifferent, K::kIndifferent, K::kMustBe},
      {K::kReverse, K::kIndifferent, K::kIndifferent, K::kIndifferent, K::kMustBe},
      {K::kReverse, K::kIndifferent, K::kIndifferent, K::kIndifferent, K::kMustBe},
      {K::kReverse, K::kReverse, K::kReverse, K::kReverse, K::kQuestionable},
  };
  return kTable[functional - 1][dysfunctional - 1];
}

Result<std::vector<KanoFeature>> EvaluateKano(const std::vector<KanoAnswer>& answers) {
  std::vector<KanoFeature> out;
  std::unordered_map<std::string, size_t> index;
  for (const auto& a : answers) {
    if (a.functional < 1 || a.functional > 5 || a.dysfunctional < 1 || a.dysfunctional > 5) {
      return Status::InvalidArgument("feature '" + a.feature + "': answers must be in 1..5");
    }
    auto [it, inserted] = index.emplace(a.feature, out.size());
    if (inserted) {
      out.emplace_back();
      out.back().feature = a.feature;
    }
    KanoFeature& f = out[it->second];
    ++f.responses;
    ++f.counts[static_cast<size_t>(ClassifyKano(a.functional, a.dysfunctional))];
  }
  for (auto& f : out) {
    // max_element keeps the first maximum, and the enum order is the tie-break order.
    f.category = static_cast<KanoCategory>(
        std::max_element(f.counts.begin(), f.counts.end()) - f.counts.begin());
    const auto m = static_cast<double>(f.counts[0]), o = static_cast<double>(f.counts[1]),
               a = static_cast<double>(f.counts[2]), i = static_cast<double>(f.counts[3]);
    const double denom = a + o + m + i;
    f.better = denom > 0 ? (a + o) / denom : 0.0;
    f.worse = denom > 0 ? 0.0 - (o + m) / denom : 0.0;  // 0.0 - x: never "-0"
  }
  return out;
}

Result<std::vector<KanoAnswer>> ReadKanoCsv(const std::string& path, const KanoCsvOptions& options) {
  TP_ASSIGN_OR_RETURN(auto reader, CsvReader::Open(path));
  std::vector<std::string> fields;
  TP_ASSIGN_OR_RETURN(bool has_header, reader->Next(&fields));
  if (!has_header) return Status::InvalidArgument(path + ": empty file (expected a header row)");
  CsvHeader header(fields);
  TP_ASSIGN_OR_RETURN(size_t fcol, header.Require(options.feature_column, path));
  TP_ASSIGN_OR_RETURN(size_t func_col, header.Require(options.functional_column, path));
  TP_ASSIGN_OR_RETURN(size_t dys_col, header.Require(options.dysfunctional_column, path));
  std::vector<KanoAnswer> answers;
  for (;;) {
    TP_ASSIGN_OR_RETURN(bool more, reader->Next(&fields));
    if (!more) break;
    auto cell = [&](size_t i) {
      return i < fields.size() ? TrimView(fields[i], kAsciiBlank) : std::string_view();
    };
    const std::string where = path + ":" + std::to_string(reader->record_line()) + ": column '";
    if (cell(func_col).empty() && cell(dys_col).empty()) continue;
    if (cell(fcol).empty()) {
      return Status::InvalidArgument(where + options.feature_column + "': empty feature");
    }
    KanoAnswer a;
    a.feature = std::string(cell(fcol));
    auto f = ParseKanoAnswer(cell(func_col));
    if (!f.ok()) return Status::InvalidArgument(where + options.functional_column + "': " + f.status().message());
    auto d = ParseKanoAnswer(cell(dys_col));
    if (!d.ok()) return Status::InvalidArgument(where + options.dysfunctional_column + "': " + d.status().message());
    a.functional = *f;
    a.dysfunctional = *d;
    answers.push_back(std::move(a));
  }
  if (answers.empty()) return Status::InvalidArgument(path + ": no answers");
  return answers;
}

}  // namespace touchpoint::insight

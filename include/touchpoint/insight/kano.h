// insight/kano.h — KANO classification of features from paired functional / dysfunctional
// survey answers.
//
// Answers are on the standard 5-point KANO scale: 1 like, 2 expect (must-be), 3 neutral,
// 4 tolerate (live with), 5 dislike. Each (functional, dysfunctional) pair is classified by
// the standard KANO evaluation table (rows functional, columns dysfunctional):
//
//               like  expect  neutral  tolerate  dislike
//   like         Q      A       A        A         O
//   expect       R      I       I        I         M
//   neutral      R      I       I        I         M
//   tolerate     R      I       I        I         M
//   dislike      R      R       R        R         Q
//
// A feature's category is the most frequent one (ties: must-be > one-dimensional >
// attractive > indifferent > reverse > questionable). Better = (A + O) / (A + O + M + I),
// Worse = -(O + M) / (A + O + M + I) (Berger et al. 1993); both 0 when the denominator is 0.
//
// Pure functions; thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>

namespace touchpoint::insight {

enum class KanoCategory {
  kMustBe = 0,
  kOneDimensional,
  kAttractive,
  kIndifferent,
  kReverse,
  kQuestionable,
};
inline constexpr size_t kKanoCategoryCount = 6;

// "must-be", "one-dimensional", "attractive", "indifferent", "reverse", "questionable".
std::string_view KanoCategoryName(KanoCategory c);

// Parses an answer: "1".."5", or (case-insensitive) like, expect / must-be, neutral,
// tolerate / live-with, dislike. Fails with kInvalidArgument.
Result<int> ParseKanoAnswer(std::string_view text);

// REQUIRES: both answers in 1..5.
KanoCategory ClassifyKano(int functional, int dysfunctional);

struct KanoAnswer {
  std::string feature;
  int functional = 0;     // 1..5
  int dysfunctional = 0;  // 1..5
};

struct KanoFeature {
  std::string feature;
  std::int64_t responses = 0;
  std::array<std::int64_t, kKanoCategoryCount> counts{};
  KanoCategory category = KanoCategory::kIndifferent;
  double better = 0;
  double worse = 0;
};

// Evaluates every feature, in order of first appearance. Fails with kInvalidArgument when an
// answer is outside 1..5.
Result<std::vector<KanoFeature>> EvaluateKano(const std::vector<KanoAnswer>& answers);

struct KanoCsvOptions {
  std::string feature_column = "feature";
  std::string functional_column = "functional";
  std::string dysfunctional_column = "dysfunctional";
};

// Reads a long CSV (one row per respondent and feature; other columns such as `respondent`
// are ignored). Rows where both answers are empty are skipped (no answer). Fails with
// kNotFound when the file cannot be opened; kInvalidArgument for an empty file, a missing
// column or an invalid answer ("FILE:LINE: column 'x': ...").
Result<std::vector<KanoAnswer>> ReadKanoCsv(const std::string& path, const KanoCsvOptions& options);

}  // namespace touchpoint::insight

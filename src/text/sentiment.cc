#include <touchpoint/text/sentiment.h>

#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include <touchpoint/text/normalize.h>

#include "text/data_internal.h"
#include "text/matcher_internal.h"
#include "text/utf8_internal.h"

namespace touchpoint::text {

namespace {

enum class Kind : uint8_t { kWord, kNegator, kDegree, kContrast, kRhetorical };

struct Entry {
  Kind kind;
  double weight;
};

constexpr int kScopeUnits = 3;       // a negator/degree adverb reaches this many units ahead
constexpr double kContrastBefore = 0.5;
constexpr double kNegatedNegative = 0.5;  // "不差" is mildly positive, not strongly
constexpr double kQuestionPositive = 0.3;  // positive words in a plain question

bool ParseDouble(std::string_view s, double* out) {
  std::string tmp(s);
  char* end = nullptr;
  *out = std::strtod(tmp.c_str(), &end);
  return end != tmp.c_str() && *end == '\0';
}

}  // namespace

std::string_view SentimentLabelName(SentimentLabel label) {
  switch (label) {
    case SentimentLabel::kNegative:
      return "negative";
    case SentimentLabel::kPositive:
      return "positive";
    case SentimentLabel::kNeutral:
      break;
  }
  return "neutral";
}

SentimentLabel LabelForScore(double score) {
  if (score >= 0.1) return SentimentLabel::kPositive;
  if (score <= -0.1) return SentimentLabel::kNegative;
  return SentimentLabel::kNeutral;
}

struct LexiconSentiment::Impl {
  const Normalizer* normalizer = nullptr;
  internal::Matcher matcher;
  std::vector<Entry> entries;
};

LexiconSentiment::LexiconSentiment() : impl_(std::make_unique<Impl>()) {}
LexiconSentiment::~LexiconSentiment() = default;

Result<std::unique_ptr<LexiconSentiment>> LexiconSentiment::Create() {
  auto r = FromTsv(internal::kSentimentLexiconTsv);
  if (!r.ok()) return Status::Internal("built-in sentiment lexicon: " + r.status().message());
  return r;
}

Result<std::unique_ptr<LexiconSentiment>> LexiconSentiment::FromTsv(std::string_view tsv) {
  TP_ASSIGN_OR_RETURN(const Normalizer* normalizer, Normalizer::Default());
  std::unique_ptr<LexiconSentiment> s(new LexiconSentiment());
  s->impl_->normalizer = normalizer;
  Status error;
  std::string norm;
  internal::ForEachTsvLine(tsv, [&](size_t line, const std::string_view* f, size_t n) {
    auto bad = [&](std::string_view why) {
      error = Status::InvalidArgument("lexicon line " + std::to_string(line) + ": " +
                                      std::string(why));
      return false;
    };
    if (n < 2) return bad("expected term<TAB>kind[<TAB>weight]");
    Entry e{Kind::kWord, 1.0};
    if (f[1] == "word") {
      e.kind = Kind::kWord;
    } else if (f[1] == "neg") {
      e.kind = Kind::kNegator;
    } else if (f[1] == "degree") {
      e.kind = Kind::kDegree;
    } else if (f[1] == "contrast") {
      e.kind = Kind::kContrast;
    } else if (f[1] == "rhetorical") {
      e.kind = Kind::kRhetorical;
    } else {
      return bad("unknown kind '" + std::string(f[1]) + "'");
    }
    if (n >= 3 && !f[2].empty() && !ParseDouble(f[2], &e.weight)) return bad("bad weight");
    normalizer->Normalize(f[0], &norm);
    if (norm.empty()) return bad("empty term");
    s->impl_->matcher.Add(norm, static_cast<uint32_t>(s->impl_->entries.size()));
    s->impl_->entries.push_back(e);
    return true;
  });
  if (!error.ok()) return error;
  if (s->impl_->matcher.size() == 0) return Status::InvalidArgument("lexicon has no entries");
  return s;
}

SentimentResult LexiconSentiment::Score(std::string_view text) const {
  thread_local std::string norm;
  impl_->normalizer->Normalize(text, &norm);
  return ScoreNormalized(norm);
}

SentimentResult LexiconSentiment::ScoreNormalized(std::string_view text) const {
  double total = 0;          // closed clauses
  double clause = 0;         // sentiment of the open clause
  double clause_mult = 1;    // 1.5 after a contrast word, until the sentence ends
  int negations = 0;
  int neg_age = 99;          // units since the last negator
  double degree = 1;
  int degree_age = 99;
  bool rhetorical = false;

  auto close_clause = [&](double mult) {
    total += clause * clause_mult * mult;
    clause = 0;
    negations = 0;
    degree = 1;
    neg_age = degree_age = 99;
    rhetorical = false;
  };
  auto add_unit = [&] {
    ++neg_age;
    ++degree_age;
  };

  size_t i = 0;
  const size_t n = text.size();
  internal::Matcher::Match m;
  while (i < n) {
    if (impl_->matcher.LongestAt(text, i, &m)) {
      const Entry& e = impl_->entries[m.value];
      switch (e.kind) {
        case Kind::kWord: {
          double v = e.weight;
          if (degree_age <= kScopeUnits) v *= degree;
          if (neg_age <= kScopeUnits && (negations % 2) == 1) {
            v = v > 0 ? -v : -v * kNegatedNegative;
          }
          clause += v;
          negations = 0;
          neg_age = 99;
          degree = 1;
          degree_age = 99;
          break;
        }
        case Kind::kNegator:
          if (neg_age > kScopeUnits) negations = 0;
          ++negations;
          neg_age = 0;
          break;
        case Kind::kDegree:
          degree = (degree_age <= kScopeUnits ? degree : 1.0) * e.weight;
          degree_age = 0;
          break;
        case Kind::kContrast:
          close_clause(1.0);
          total *= kContrastBefore;
          clause_mult = e.weight;
          break;
        case Kind::kRhetorical:
          clause += e.weight;
          rhetorical = true;
          break;
      }
      i = m.end;
      continue;
    }
    const char c = text[i];
    if (c == '!' || c == '?') {
      size_t bangs = 0, questions = 0;
      while (i < n && (text[i] == '!' || text[i] == '?' || text[i] == ' ')) {
        if (text[i] == '!') ++bangs;
        if (text[i] == '?') ++questions;
        ++i;
      }
      if (questions >= 2) clause -= 0.8;  // "到底什么时候发货???"
      // A plain question asks rather than praises: "好用吗?" "可以开发票吗?" keep little of
      // their positive words (complaints phrased as questions stay negative).
      if (questions == 1 && bangs == 0 && !rhetorical && clause > 0) clause *= kQuestionPositive;
      double mult = 1;
      if (bangs == 1) mult = 1.3;
      if (bangs >= 2) mult = 1.6;
      if (questions >= 1 && rhetorical) mult *= 1.3;
      close_clause(mult);
      if (bangs + questions >= 1 && c != ',') clause_mult = 1;
      continue;
    }
    if (c == ',' || c == ';' || c == ':') {
      close_clause(1.0);
      ++i;
      continue;
    }
    if (c == '.' || c == '\n') {
      close_clause(1.0);
      clause_mult = 1;
      ++i;
      continue;
    }
    if (internal::IsWordByte(c)) {
      while (i < n && internal::IsWordByte(text[i])) ++i;
      add_unit();
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '"' || c == '\'') {
      ++i;
      continue;
    }
    // Any other code point: one unit (a Han character, an unmatched emoji, ...). The
    // enumeration comma and a few CJK separators close a clause.
    char32_t cp;
    bool ok;
    const size_t len = internal::DecodeUtf8(text, i, &cp, &ok);
    if (cp == 0x3001 || cp == 0xFF5E || cp == 0x2026) {
      close_clause(1.0);
    } else {
      add_unit();
    }
    i += len;
  }
  close_clause(1.0);
  SentimentResult r;
  r.score = total / std::sqrt(total * total + 4.0);
  if (std::abs(r.score) < 1e-9) r.score = 0;
  r.label = LabelForScore(r.score);
  return r;
}

}  // namespace touchpoint::text

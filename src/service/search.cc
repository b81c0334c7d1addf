#include <touchpoint/service/search.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include <touchpoint/privacy/blind_index.h>
#include <touchpoint/service/ticket.h>
#include <touchpoint/store/deskflow_repository.h>
#include <touchpoint/text/segmenter.h>

namespace touchpoint::service {
namespace {

constexpr int kMaxCandidates = 5000;  // per term; a term matching more narrows nothing useful

bool IsAsciiWordChar(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Appends the index tokens of `text`: ASCII words and digits lower-cased; every other character
// (Han) alone and with its successor in its run (unigrams and bigrams); ASCII and CJK punctuation
// and spaces end runs. `query`: a run of two or more characters gives its bigrams only (each
// must match, so the run matches where it occurs), a single character its unigram.
void AppendTokens(std::string_view text, bool query, std::vector<std::string>* out) {
  std::string word;
  std::vector<std::string> run;  // the code points of a run of non-ASCII characters
  auto flush = [&] {
    if (!word.empty()) out->push_back(std::move(word));
    word.clear();
    if (!run.empty()) {
      if (!query || run.size() == 1) {
        for (const std::string& c : run) out->push_back(c);
      }
      for (size_t i = 0; i + 1 < run.size(); ++i) out->push_back(run[i] + run[i + 1]);
    }
    run.clear();
  };
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (!run.empty()) flush();
      if (IsAsciiWordChar(c)) {
        word.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
      } else {
        flush();
      }
      ++i;
      continue;
    }
    if (!word.empty()) flush();
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    len = std::min(len, text.size() - i);
    const std::string cp(text.substr(i, len));
    i += len;
    // CJK symbols and punctuation (U+3000–U+303F) and full-width forms (U+FF00–U+FFEF) end a run.
    const auto b0 = static_cast<unsigned char>(cp[0]);
    const auto b1 = cp.size() > 1 ? static_cast<unsigned char>(cp[1]) : 0;
    const bool punct = cp.size() == 3 && ((b0 == 0xE3 && b1 == 0x80) || (b0 == 0xEF && (b1 == 0xBC || b1 == 0xBD || b1 == 0xBE || b1 == 0xBF)));
    if (punct) {
      flush();
    } else {
      run.push_back(cp);
    }
  }
  flush();
}

void Intersect(std::optional<std::set<std::int64_t>>& acc, const std::vector<std::int64_t>& ids) {
  std::set<std::int64_t> next(ids.begin(), ids.end());
  if (!acc) {
    acc = std::move(next);
    return;
  }
  std::set<std::int64_t> both;
  std::set_intersection(acc->begin(), acc->end(), next.begin(), next.end(), std::inserter(both, both.begin()));
  acc = std::move(both);
}

}  // namespace

std::int64_t PlainTokenHasher::Hash(std::string_view token) const {
  std::uint64_t h = 14695981039346656037ull;
  for (char c : token) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return static_cast<std::int64_t>(h);
}

std::int64_t BlindTokenHasher::Hash(std::string_view token) const { return indexer_.Of("search", token).value; }

SearchIndex::SearchIndex(std::shared_ptr<const TokenHasher> hasher, SegmenterLoader segmenter)
    : hasher_(std::move(hasher)), load_segmenter_(std::move(segmenter)) {}

namespace {
std::vector<std::string> Distinct(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}
}  // namespace

std::vector<std::string> SearchIndex::Tokens(std::string_view text) const {
  std::vector<std::string> out;
  AppendTokens(text, false, &out);
  return Distinct(std::move(out));
}

std::vector<std::string> SearchIndex::QueryTokens(std::string_view text) const {
  std::call_once(loaded_, [this] {
    if (load_segmenter_) segmenter_ = load_segmenter_();
  });
  std::vector<std::string> out;
  if (segmenter_ == nullptr) {
    AppendTokens(text, true, &out);
  } else {
    // The segmenter's words, each matched where it occurs (not necessarily next to the others).
    for (const std::string& w : segmenter_->Segment(text)) AppendTokens(w, true, &out);
  }
  return Distinct(std::move(out));
}

Status SearchIndex::BeforeCommit(store::Store& store, store::Transaction& txn, std::span<const TicketChange> changes) {
  store::DeskflowRepository& repo = store.Get<store::DeskflowRepository>();
  for (const TicketChange& c : changes) {
    if (c.ticket == nullptr) continue;
    std::vector<std::int64_t> hashes;
    auto add = [&](std::string_view text) {
      for (const std::string& t : Tokens(text)) hashes.push_back(hasher_->Hash(t));
    };
    if (c.created) add(c.ticket->subject);
    for (const store::TicketMessageRecord& m : c.messages) add(m.text);
    if (hashes.empty()) continue;
    std::sort(hashes.begin(), hashes.end());
    hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
    TP_RETURN_IF_ERROR(repo.AddTokens(txn, c.ticket->number, hashes));
  }
  return Status::Ok();
}

Result<SearchQuery> ParseSearchQuery(std::string_view q,
                                     const std::function<Result<CustomerId>(const std::string&)>& resolve_customer) {
  SearchQuery out;
  std::string words;
  size_t pos = 0;
  while (pos < q.size()) {
    while (pos < q.size() && (q[pos] == ' ' || q[pos] == '\t')) ++pos;
    size_t end = q.find_first_of(" \t", pos);
    if (end == std::string_view::npos) end = q.size();
    const std::string term(q.substr(pos, end - pos));
    pos = end;
    if (term.empty()) continue;
    const size_t colon = term.find(':');
    auto upper = [](std::string s) {
      for (char& c : s) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
      return s;
    };
    if (upper(term).rfind("TP-", 0) == 0) {
      TP_ASSIGN_OR_RETURN(out.number, ParseTicketNumber(term, "q"));
    } else if (colon != std::string::npos && colon > 0 && colon + 1 < term.size()) {
      const std::string key = term.substr(0, colon);
      const std::string value = term.substr(colon + 1);
      if (key == "tag") {
        std::string tag = value;
        for (char& c : tag) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        TP_RETURN_IF_ERROR(CheckTag(tag));
        out.tags.push_back(tag);
      } else if (key == "status") {
        TP_RETURN_IF_ERROR(ParseStatus(value, "q: status").status());
        out.status = value;
      } else {
        if (!resolve_customer) return Status::InvalidArgument("q: customers cannot be searched here");
        TP_ASSIGN_OR_RETURN(out.customer, resolve_customer(key == "customer" ? value : term));
      }
    } else {
      words += (words.empty() ? "" : " ") + term;
    }
  }
  out.text = std::move(words);
  return out;
}

Result<std::vector<store::TicketRecord>> Search(store::Store& store, const SearchIndex& index, const SearchQuery& q) {
  store::TicketRepository& tickets = store.Get<store::TicketRepository>();
  store::DeskflowRepository& flow = store.Get<store::DeskflowRepository>();
  std::optional<std::set<std::int64_t>> candidates;
  if (q.number > 0) Intersect(candidates, {q.number});
  for (const std::string& tag : q.tags) {
    TP_ASSIGN_OR_RETURN(auto ids, flow.TicketsWithTag(tag, 0, kMaxCandidates));
    Intersect(candidates, ids);
  }
  if (!q.text.empty()) {
    const std::vector<std::string> tokens = index.QueryTokens(q.text);
    if (tokens.empty()) Intersect(candidates, {});
    for (const std::string& t : tokens) {
      if (candidates && candidates->empty()) break;
      TP_ASSIGN_OR_RETURN(auto ids, flow.TicketsWithToken(index.Hash(t), 0, kMaxCandidates));
      Intersect(candidates, ids);
    }
  }
  if (!candidates) {
    // Only status and/or customer: the ticket list answers (by its indexes).
    store::TicketFilter f;
    f.status = q.status;
    f.customer = q.customer;
    f.before = q.before;
    f.limit = q.limit;
    return tickets.List(f);
  }
  std::vector<store::TicketRecord> out;
  for (auto it = candidates->rbegin(); it != candidates->rend() && static_cast<int>(out.size()) < q.limit; ++it) {
    if (q.before > 0 && *it >= q.before) continue;
    TP_ASSIGN_OR_RETURN(auto t, tickets.Find(*it));
    if (!t) continue;
    if (!q.status.empty() && t->status != q.status) continue;
    if (q.customer.valid() && t->customer != q.customer) continue;
    out.push_back(std::move(*t));
  }
  return out;
}

}  // namespace touchpoint::service

// service/search.h — finding tickets (docs/service-desk.md, "Canned replies, tags, search,
// auto-close"): by number, customer identifier, tag, status and the full text of subjects and
// messages, in one query string:
//
//   TP-000123                 that ticket
//   phone:13812345678         the customer's tickets (any identifier kind:value, or customer:ID)
//   tag:vip  status:open      filters (several tags: all of them)
//   退款 card blocked          words: tickets whose subject or messages contain every one
//
// The full-text index is tokens → tickets (store/deskflow_repository.h), written by SearchIndex
// (a desk ChangeListener) in the transaction of each change that adds a subject or a message.
// The index holds Latin words and digits lower-cased and Han characters alone and in adjacent
// pairs (no dictionary, so it never depends on one); a query is cut into words by the text
// module's segmenter (jieba dictionary) and each Han word is looked up by its pairs, so every
// word of the query must occur, in any order. Each token is stored as a 64-bit hash through the
// TokenHasher seam: PlainTokenHasher (an unkeyed hash) today; with encryption at rest,
// BlindTokenHasher — the blind-index key's keyed hash (privacy/blind_index.h), so the index
// holds no recoverable text. A hit is a candidate: 64-bit hashes may collide (rarely).
//
// Thread safety: SearchIndex is immutable after construction (its segmenter too).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/store/store.h>
#include <touchpoint/store/ticket_repository.h>

namespace touchpoint::text {
class Segmenter;
}
namespace touchpoint::privacy {
class BlindIndexer;
}

namespace touchpoint::service {

// kInvalidArgument unless `tag` is 1–40 bytes of a-z 0-9 _ - . : (tags are lower-cased first).
Status CheckTag(std::string_view tag);

// The hashing seam of the full-text index.
class TokenHasher {
 public:
  virtual ~TokenHasher() = default;
  virtual std::int64_t Hash(std::string_view token) const = 0;
};
// FNV-1a 64 of the token: no key (encryption off).
class PlainTokenHasher final : public TokenHasher {
 public:
  std::int64_t Hash(std::string_view token) const override;
};
// The blind-index keyed hash of ("search", token). `indexer` must outlive this.
class BlindTokenHasher final : public TokenHasher {
 public:
  explicit BlindTokenHasher(const privacy::BlindIndexer& indexer) : indexer_(indexer) {}
  std::int64_t Hash(std::string_view token) const override;

 private:
  const privacy::BlindIndexer& indexer_;
};

// Loads the text module's segmenter (null when it cannot: no dictionary). Called once, at the
// first query: loading the jieba dictionary costs about 0.2 s of CPU (7 s in a debug build).
using SegmenterLoader = std::function<std::shared_ptr<const text::Segmenter>()>;

class SearchIndex final : public ChangeListener {
 public:
  // `segmenter` may be empty (no segmenter: a query's Han runs are matched as they are written).
  SearchIndex(std::shared_ptr<const TokenHasher> hasher, SegmenterLoader segmenter);
  Status BeforeCommit(store::Store& store, store::Transaction& txn, std::span<const TicketChange> changes) override;

  // The distinct index tokens of `text`: lower-cased ASCII words and digits; Han characters
  // alone and in adjacent pairs (unigrams and bigrams).
  std::vector<std::string> Tokens(std::string_view text) const;
  // The tokens a query's words must all have: the segmenter's words of `text` (Latin words as
  // they are; a Han word by its bigrams, or its unigram when it is one character).
  std::vector<std::string> QueryTokens(std::string_view text) const;
  std::int64_t Hash(std::string_view token) const { return hasher_->Hash(token); }

 private:
  std::shared_ptr<const TokenHasher> hasher_;
  SegmenterLoader load_segmenter_;
  mutable std::once_flag loaded_;
  mutable std::shared_ptr<const text::Segmenter> segmenter_;  // set once by loaded_
};

struct SearchQuery {
  std::int64_t number = 0;  // > 0: that ticket
  CustomerId customer;      // valid: that customer's tickets
  std::vector<std::string> tags;
  std::string status;
  std::string text;         // words (all must match)
  std::int64_t before = 0;  // the cursor: numbers below it
  int limit = 50;
};

// Parses a query string. `resolve_customer("phone:138…")` finds a customer (kNotFound: unknown;
// other errors: a malformed identifier); terms with a ':' that are not tag:/status:/customer:
// are identifiers. kInvalidArgument naming the term for a bad status, tag or number.
Result<SearchQuery> ParseSearchQuery(std::string_view q,
                                     const std::function<Result<CustomerId>(const std::string&)>& resolve_customer);

// The matching tickets, highest number first, at most query.limit. Words are matched against
// the tokens indexed when a subject or message was written: a merged-away ticket keeps the hits
// of the messages it had (its merged_into names where they went).
Result<std::vector<store::TicketRecord>> Search(store::Store& store, const SearchIndex& index, const SearchQuery& query);

}  // namespace touchpoint::service

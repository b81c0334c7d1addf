#include <touchpoint/insight/orders.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <optional>
#include <cstdio>
#include <cstring>
#include <cstdint>
#include <filesystem>

#include <sys/mman.h>

#include <touchpoint/core/csv.h>
#include <touchpoint/core/strings.h>

namespace touchpoint::insight {
namespace {

// Asks the kernel for transparent huge pages on a large, not yet touched allocation (THP is
// often in "madvise" mode). For 10 M order lines this cut user time by about a quarter.
// A no-op for small vectors or when the kernel says no.
template <typename T>
void AdviseHugePages(const std::vector<T>& v) {
  constexpr std::uintptr_t kHuge = 2u << 20;
  const std::size_t bytes = v.capacity() * sizeof(T);
  if (bytes < 2 * kHuge) return;
  const auto begin = reinterpret_cast<std::uintptr_t>(v.data());
  const std::uintptr_t aligned = (begin + kHuge - 1) & ~(kHuge - 1);
  const std::uintptr_t end = (begin + bytes) & ~(kHuge - 1);
  if (end > aligned) {
    (void)madvise(reinterpret_cast<void*>(aligned), end - aligned, MADV_HUGEPAGE);
  }
}

std::uint64_t HashBytes(std::string_view s) {
  std::uint64_t h = 0x9E3779B97F4A7C15ull ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 29;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, s.data() + i, s.size() - i);
  h = (h ^ tail) * 0x94D049BB133111EBull;
  h ^= h >> 31;
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 32);
}

// Open-addressing string -> dense id map; keys live in one arena. Each slot carries a hash
// tag and the key's arena position, so a lookup touches one slot and (on a tag match) the
// key bytes. Repeating the previous key (lines of one order are usually adjacent) skips the
// table entirely (see OrderBookBuilder::Impl::Flush).
class Interner {
 public:
  Interner() : slots_(1024) {}

  std::uint32_t Intern(std::string_view key) { return Lookup(key, HashBytes(key)); }
  // Warms the cache line of the slot where a key with hash `h` starts probing.
  void Prefetch(std::uint64_t h) const { __builtin_prefetch(&slots_[h & (slots_.size() - 1)]); }
  std::uint32_t InternHashed(std::string_view key, std::uint64_t h) { return Lookup(key, h); }

  size_t size() const { return offsets_.size(); }
  std::string_view Key(size_t id) const {
    const size_t begin = offsets_[id];
    const size_t end = id + 1 < offsets_.size() ? offsets_[id + 1] : arena_.size();
    return {arena_.data() + begin, end - begin};
  }

 private:
  struct Slot {
    std::uint64_t offset = 0;  // key start in arena_
    std::uint32_t length = 0;
    std::uint32_t tag = 0;     // high hash bits
    std::uint32_t id = kEmpty;
  };
  static constexpr std::uint32_t kEmpty = 0xFFFFFFFFu;

  std::uint32_t Lookup(std::string_view key, std::uint64_t h) {
    if ((size() + 1) * 10 > slots_.size() * 7) Grow();
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.id == kEmpty) {
        const auto id = static_cast<std::uint32_t>(offsets_.size());
        slot.offset = arena_.size();
        slot.length = static_cast<std::uint32_t>(key.size());
        slot.tag = tag;
        slot.id = id;
        offsets_.push_back(arena_.size());
        arena_.insert(arena_.end(), key.begin(), key.end());
        return id;
      }
      if (slot.tag == tag && slot.length == key.size() &&
          std::memcmp(arena_.data() + slot.offset, key.data(), key.size()) == 0) {
        return slot.id;
      }
    }
  }

  void Grow() {
    std::vector<Slot> slots;
    slots.reserve(slots_.size() * 2);
    AdviseHugePages(slots);
    slots.resize(slots_.size() * 2);
    const size_t mask = slots.size() - 1;
    for (const Slot& s : slots_) {
      if (s.id == kEmpty) continue;
      const std::uint64_t h = HashBytes(std::string_view(arena_.data() + s.offset, s.length));
      size_t i = h & mask;
      while (slots[i].id != kEmpty) i = (i + 1) & mask;
      slots[i] = s;
    }
    slots_.swap(slots);
  }

  std::vector<Slot> slots_;
  std::vector<size_t> offsets_;
  std::vector<char> arena_;
};

bool ReadInt(std::string_view s, size_t& pos, int max_digits, int& out) {
  int digits = 0;
  out = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && digits < max_digits) {
    out = out * 10 + (s[pos] - '0');
    ++pos;
    ++digits;
  }
  return digits > 0;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int DaysIn(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Slash dates: M/D/YYYY or YYYY/M/D, each with an optional " H:MM[:SS]".
std::optional<Millis> ParseSlashDate(std::string_view s) {
  size_t pos = 0;
  int a = 0, b = 0, c = 0;
  if (!ReadInt(s, pos, 4, a) || pos >= s.size() || s[pos] != '/') return std::nullopt;
  const size_t first_len = pos;
  ++pos;
  if (!ReadInt(s, pos, 2, b) || pos >= s.size() || s[pos] != '/') return std::nullopt;
  ++pos;
  const size_t third_start = pos;
  if (!ReadInt(s, pos, 4, c)) return std::nullopt;
  int year, month, day;
  if (first_len == 4) {
    year = a, month = b, day = c;
  } else if (pos - third_start == 4) {
    month = a, day = b, year = c;
  } else {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysIn(year, month)) return std::nullopt;
  int hour = 0, minute = 0, second = 0;
  if (pos < s.size()) {
    if (s[pos] != ' ' && s[pos] != 'T') return std::nullopt;
    ++pos;
    if (!ReadInt(s, pos, 2, hour) || pos >= s.size() || s[pos] != ':') return std::nullopt;
    ++pos;
    if (!ReadInt(s, pos, 2, minute)) return std::nullopt;
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!ReadInt(s, pos, 2, second)) return std::nullopt;
    }
    if (pos != s.size() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  }
  const std::int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return days * kMillisPerDay + (hour * 3600 + minute * 60 + second) * kMillisPerSecond;
}

// A chunked CSV splitter over a plain file: fields are views into its buffer (quoted fields
// are unescaped into scratch strings). RFC 4180, CRLF, BOM, embedded newlines.
class FastCsv {
 public:
  FastCsv(std::FILE* f, std::string name) : f_(f), name_(std::move(name)), buf_(1 << 20) {}
  ~FastCsv() { std::fclose(f_); }
  FastCsv(const FastCsv&) = delete;
  FastCsv& operator=(const FastCsv&) = delete;

  std::int64_t record_line() const { return record_line_; }

  Result<bool> Next(std::vector<std::string_view>* fields) {
    for (;;) {
      // Skip empty lines.
      while (true) {
        if (pos_ == end_ && !Refill()) return false;
        const char c = buf_[pos_];
        if (c == '\n') {
          ++pos_;
          ++line_;
        } else if (c == '\r') {
          ++pos_;
        } else {
          break;
        }
      }
      if (first_) {
        first_ = false;
        if (end_ - pos_ >= 3 && std::memcmp(buf_.data() + pos_, "\xEF\xBB\xBF", 3) == 0) {
          pos_ += 3;
          continue;
        }
      }
      break;
    }
    // Find the end of the record: the first newline outside quotes.
    size_t scan = pos_;
    bool quoted = false;
    bool has_quote = false;
    size_t newlines = 0;
    for (;;) {
      if (scan == end_) {
        if (eof_) break;
        const size_t consumed = pos_;
        if (!MoreData()) {
          scan -= consumed;
          break;
        }
        scan -= consumed;
        continue;
      }
      if (!quoted) {
        const char* p = static_cast<const char*>(
            std::memchr(buf_.data() + scan, '\n', end_ - scan));
        const size_t stop = p ? static_cast<size_t>(p - buf_.data()) : end_;
        const char* q = static_cast<const char*>(std::memchr(buf_.data() + scan, '"', stop - scan));
        if (q == nullptr) {
          scan = stop;
          if (p) break;
          continue;
        }
        has_quote = true;
        quoted = true;
        scan = static_cast<size_t>(q - buf_.data()) + 1;
      } else {
        const char c = buf_[scan];
        if (c == '"') quoted = false;  // a doubled quote re-enters quoted mode next char
        if (c == '\n') ++newlines;
        ++scan;
      }
    }
    if (quoted) {
      record_line_ = line_;
      return Status::InvalidArgument(name_ + ":" + std::to_string(line_) +
                                     ": unterminated quoted field");
    }
    record_line_ = line_;
    line_ += static_cast<std::int64_t>(newlines) + 1;
    std::string_view record(buf_.data() + pos_, scan - pos_);
    pos_ = scan < end_ ? scan + 1 : scan;
    if (!record.empty() && record.back() == '\r') record.remove_suffix(1);
    fields->clear();
    if (!has_quote) {
      size_t start = 0;
      for (;;) {
        const size_t comma = record.find(',', start);
        if (comma == std::string_view::npos) {
          fields->push_back(record.substr(start));
          break;
        }
        fields->push_back(record.substr(start, comma - start));
        start = comma + 1;
      }
      return true;
    }
    SplitQuoted(record, fields);
    return true;
  }

 private:
  void SplitQuoted(std::string_view record, std::vector<std::string_view>* fields) {
    size_t n = 0;
    size_t i = 0;
    for (;;) {
      if (scratch_.size() <= n) scratch_.emplace_back();
      std::string& f = scratch_[n];
      f.clear();
      if (i < record.size() && record[i] == '"') {
        ++i;
        while (i < record.size()) {
          if (record[i] == '"') {
            if (i + 1 < record.size() && record[i + 1] == '"') {
              f.push_back('"');
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          f.push_back(record[i++]);
        }
        while (i < record.size() && record[i] != ',') f.push_back(record[i++]);
      } else {
        while (i < record.size() && record[i] != ',') f.push_back(record[i++]);
      }
      ++n;
      if (i >= record.size()) break;
      ++i;  // the comma
      if (i == record.size()) {  // trailing comma: one more empty field
        if (scratch_.size() <= n) scratch_.emplace_back();
        scratch_[n].clear();
        ++n;
        break;
      }
    }
    for (size_t k = 0; k < n; ++k) fields->push_back(scratch_[k]);
  }

  // Moves the unread tail to the front and reads more; grows the buffer when one record fills
  // it. Returns false at end of file.
  bool MoreData() {
    const size_t tail = end_ - pos_;
    if (pos_ > 0) {
      std::memmove(buf_.data(), buf_.data() + pos_, tail);
    } else if (tail == buf_.size()) {
      buf_.resize(buf_.size() * 2);
    }
    pos_ = 0;
    end_ = tail;
    const size_t got = std::fread(buf_.data() + end_, 1, buf_.size() - end_, f_);
    end_ += got;
    if (got == 0) eof_ = true;
    return got > 0;
  }
  bool Refill() {
    if (eof_) return false;
    return MoreData() || pos_ < end_;
  }

  std::FILE* f_;
  std::string name_;
  std::vector<char> buf_;
  std::vector<std::string> scratch_;
  size_t pos_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  bool first_ = true;
  std::int64_t line_ = 1;
  std::int64_t record_line_ = 0;
};

// One interface over the fast path (plain files) and core's CsvReader (.gz, stdin).
class RecordSource {
 public:
  static Result<std::unique_ptr<RecordSource>> Open(const std::string& path) {
    auto src = std::make_unique<RecordSource>();
    const bool gz = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
    if (path == "-" || gz) {
      TP_ASSIGN_OR_RETURN(src->slow_, CsvReader::Open(path));
    } else {
      std::FILE* f = std::fopen(path.c_str(), "rb");
      if (f == nullptr) {
        return Status::NotFound(path + ": cannot open (" + std::strerror(errno) + ")");
      }
      src->fast_ = std::make_unique<FastCsv>(f, path);
    }
    return src;
  }
  Result<bool> Next(std::vector<std::string_view>* fields) {
    if (fast_) return fast_->Next(fields);
    TP_ASSIGN_OR_RETURN(bool more, slow_->Next(&owned_));
    fields->assign(owned_.begin(), owned_.end());
    return more;
  }
  std::int64_t record_line() const { return fast_ ? fast_->record_line() : slow_->record_line(); }

 private:
  std::unique_ptr<FastCsv> fast_;
  std::unique_ptr<CsvReader> slow_;
  std::vector<std::string> owned_;
};

}  // namespace

// Lines are buffered in batches: all keys of a batch are hashed and their slots prefetched
// before any lookup, so the cache misses of the hash tables overlap instead of queueing.
struct OrderBookBuilder::Impl {
  static constexpr size_t kBatch = 256;
  struct Pending {
    size_t customer_offset;
    size_t customer_length;
    size_t order_offset;
    size_t order_length;
    Millis time;
    double amount;
  };
  Interner customers;
  Interner orders;
  std::vector<OrderLine> lines;
  std::string keys;  // key bytes of the pending lines
  std::vector<Pending> pending;
  std::vector<std::uint64_t> hashes;
  std::vector<std::uint32_t> ids;
  std::string synthetic;

  void Flush() {
    const size_t n = pending.size();
    if (n == 0) return;
    hashes.resize(n);
    ids.resize(n);
    auto customer = [&](size_t i) {
      return std::string_view(keys.data() + pending[i].customer_offset, pending[i].customer_length);
    };
    auto order = [&](size_t i) {
      return std::string_view(keys.data() + pending[i].order_offset, pending[i].order_length);
    };
    for (size_t i = 0; i < n; ++i) {
      if (i > 0 && customer(i) == customer(i - 1)) continue;
      hashes[i] = HashBytes(customer(i));
      customers.Prefetch(hashes[i]);
    }
    for (size_t i = 0; i < n; ++i) {
      ids[i] = i > 0 && customer(i) == customer(i - 1) ? ids[i - 1]
                                                      : customers.InternHashed(customer(i), hashes[i]);
    }
    // Order keys; an empty key becomes "\0" + customer id + time, which no text key equals.
    synthetic.clear();
    for (size_t i = 0; i < n; ++i) {
      if (pending[i].order_length == 0) {
        pending[i].order_offset = keys.size() + synthetic.size();
        pending[i].order_length = 1 + sizeof(std::uint32_t) + sizeof(Millis);
        synthetic.push_back('\0');
        synthetic.append(reinterpret_cast<const char*>(&ids[i]), sizeof(std::uint32_t));
        synthetic.append(reinterpret_cast<const char*>(&pending[i].time), sizeof(Millis));
      }
    }
    keys += synthetic;
    std::vector<std::uint32_t>& order_ids = order_ids_;
    order_ids.resize(n);
    for (size_t i = 0; i < n; ++i) {
      if (i > 0 && order(i) == order(i - 1)) continue;
      hashes[i] = HashBytes(order(i));
      orders.Prefetch(hashes[i]);
    }
    for (size_t i = 0; i < n; ++i) {
      order_ids[i] = i > 0 && order(i) == order(i - 1) ? order_ids[i - 1]
                                                      : orders.InternHashed(order(i), hashes[i]);
      lines.push_back({ids[i], order_ids[i], pending[i].time, pending[i].amount});
    }
    pending.clear();
    keys.clear();
  }

  std::vector<std::uint32_t> order_ids_;
};

OrderBookBuilder::OrderBookBuilder() : impl_(std::make_unique<Impl>()) {}
OrderBookBuilder::~OrderBookBuilder() = default;

void OrderBookBuilder::Add(std::string_view customer, std::string_view order_key, Millis time,
                           double amount) {
  Impl& m = *impl_;
  Impl::Pending p{m.keys.size(), customer.size(), 0, order_key.size(), time, amount};
  m.keys.append(customer);
  p.order_offset = m.keys.size();
  m.keys.append(order_key);
  m.pending.push_back(p);
  if (m.pending.size() == Impl::kBatch) m.Flush();
}

void OrderBookBuilder::Reserve(size_t lines) {
  impl_->lines.reserve(lines);
  AdviseHugePages(impl_->lines);
}

size_t OrderBookBuilder::size() const { return impl_->lines.size() + impl_->pending.size(); }

OrderBook OrderBookBuilder::Finish() {
  impl_->Flush();
  OrderBook book;
  book.customers.reserve(impl_->customers.size());
  for (size_t i = 0; i < impl_->customers.size(); ++i) {
    book.customers.emplace_back(impl_->customers.Key(i));
  }
  book.num_orders = static_cast<std::uint32_t>(impl_->orders.size());
  book.lines = std::move(impl_->lines);
  impl_ = std::make_unique<Impl>();
  return book;
}

Result<Millis> ParseOrderDate(std::string_view text) {
  text = TrimView(text, kAsciiBlank);
  if (text.find('/') != std::string_view::npos) {
    if (auto t = ParseSlashDate(text)) return *t;
    return Status::InvalidArgument("unparsable date '" + std::string(text) +
                                   "' (expected e.g. 2011-12-09 12:50 or 12/9/2011 12:50)");
  }
  auto t = ParseTimestamp(text);
  if (!t.ok()) {
    return Status::InvalidArgument("unparsable date '" + std::string(text) +
                                   "' (expected e.g. 2011-12-09 12:50 or 12/9/2011 12:50)");
  }
  return t;
}

Result<OrderCsvResult> ReadOrdersCsv(const std::string& path, const OrderCsvOptions& options) {
  const bool has_amount = !options.amount_column.empty();
  if (has_amount == (!options.quantity_column.empty() || !options.price_column.empty()) ||
      (!has_amount && (options.quantity_column.empty() || options.price_column.empty()))) {
    return Status::InvalidArgument(
        "give either an amount column or both a quantity and a price column");
  }
  TP_ASSIGN_OR_RETURN(auto src, RecordSource::Open(path));
  std::vector<std::string_view> fields;
  TP_ASSIGN_OR_RETURN(bool has_header, src->Next(&fields));
  if (!has_header) return Status::InvalidArgument(path + ": empty file (expected a header row)");
  CsvHeader header(std::vector<std::string>(fields.begin(), fields.end()));
  TP_ASSIGN_OR_RETURN(size_t customer_col, header.Require(options.customer_column, path));
  TP_ASSIGN_OR_RETURN(size_t date_col, header.Require(options.date_column, path));
  size_t amount_col = 0, quantity_col = 0, price_col = 0, order_col = 0;
  if (has_amount) {
    TP_ASSIGN_OR_RETURN(amount_col, header.Require(options.amount_column, path));
  } else {
    TP_ASSIGN_OR_RETURN(quantity_col, header.Require(options.quantity_column, path));
    TP_ASSIGN_OR_RETURN(price_col, header.Require(options.price_column, path));
  }
  const bool has_order = !options.order_column.empty();
  if (has_order) {
    TP_ASSIGN_OR_RETURN(order_col, header.Require(options.order_column, path));
  }
  const size_t need = std::max({customer_col, date_col, amount_col, quantity_col, price_col,
                                order_col}) + 1;

  OrderCsvResult out;
  OrderBookBuilder builder;
  // Reserve generously from the file size (a data row takes at least ~20 bytes); pages that
  // are never written cost nothing, and no regrowth copies 10 M lines around.
  std::error_code size_error;
  const auto file_size = std::filesystem::file_size(path, size_error);
  if (!size_error && path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") != 0) {
    builder.Reserve(static_cast<size_t>(file_size / 20) + 16);
  }
  std::string last_date;
  Millis last_time = 0;
  auto where = [&](const std::string& column) {
    return path + ":" + std::to_string(src->record_line()) + ": column '" + column + "': ";
  };
  auto number = [&](std::string_view cell, const std::string& column) -> Result<double> {
    cell = TrimView(cell, kAsciiBlank);
    double v = 0;
    const char* begin = cell.data();
    if (!cell.empty() && cell.front() == '+') ++begin;
    auto [p, ec] = std::from_chars(begin, cell.data() + cell.size(), v);
    if (cell.empty() || ec != std::errc() || p != cell.data() + cell.size() || !std::isfinite(v)) {
      return Status::InvalidArgument(where(column) + "not a number: '" + std::string(cell) + "'");
    }
    return v;
  };
  for (;;) {
    TP_ASSIGN_OR_RETURN(bool more, src->Next(&fields));
    if (!more) break;
    ++out.stats.rows;
    if (fields.size() < need) {
      return Status::InvalidArgument(path + ":" + std::to_string(src->record_line()) +
                                     ": row has " + std::to_string(fields.size()) +
                                     " fields, the header has " +
                                     std::to_string(header.names().size()));
    }
    std::string_view order = has_order ? TrimView(fields[order_col], kAsciiBlank) : std::string_view();
    if (!options.cancel_prefix.empty() && order.starts_with(options.cancel_prefix)) {
      ++out.stats.cancelled;
      continue;
    }
    const std::string_view customer = TrimView(fields[customer_col], kAsciiBlank);
    double amount;
    bool positive;
    if (has_amount) {
      TP_ASSIGN_OR_RETURN(amount, number(fields[amount_col], options.amount_column));
      positive = amount > 0;
    } else {
      TP_ASSIGN_OR_RETURN(double q, number(fields[quantity_col], options.quantity_column));
      TP_ASSIGN_OR_RETURN(double p, number(fields[price_col], options.price_column));
      amount = q * p;
      positive = q > 0 && p > 0;
    }
    const std::string_view date = TrimView(fields[date_col], kAsciiBlank);
    if (date != last_date || last_date.empty()) {
      auto t = ParseOrderDate(date);
      if (!t.ok()) return Status::InvalidArgument(where(options.date_column) + t.status().message());
      last_time = *t;
      last_date.assign(date);
    }
    if (customer.empty()) {
      ++out.stats.missing_customer;
      continue;
    }
    if (!positive) {
      ++out.stats.non_positive;
      continue;
    }
    builder.Add(customer, order, last_time, amount);
    ++out.stats.kept;
  }
  out.book = builder.Finish();
  return out;
}

}  // namespace touchpoint::insight

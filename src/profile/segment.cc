#include <touchpoint/profile/segment.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <optional>
#include <system_error>
#include <utility>

#include <touchpoint/core/json_text.h>
#include <touchpoint/core/strings.h>

namespace touchpoint::profile {
namespace {

constexpr int kMaxDepth = 64;  // nesting of parentheses and `not`: keeps the recursion bounded

// ---- Values --------------------------------------------------------------------------------

enum class Tri : std::uint8_t { kFalse, kTrue, kUnknown };

// A literal of the rule, or the value of a field while a profile is evaluated.
struct Value {
  enum class Kind : std::uint8_t { kNull, kNumber, kString, kBool, kOther };  // kOther: object/array
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string_view text;
};

bool IsNameStart(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
bool IsNameChar(unsigned char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsNameShaped(std::string_view s) {
  if (s.empty() || !IsNameStart(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsNameChar(static_cast<unsigned char>(c)); });
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Reads 4 hex digits at s[i..i+4).
std::optional<std::uint32_t> Hex4(std::string_view s, size_t i) {
  if (i + 4 > s.size()) return std::nullopt;
  std::uint32_t v = 0;
  for (size_t k = i; k < i + 4; ++k) {
    const int d = HexDigit(s[k]);
    if (d < 0) return std::nullopt;
    v = v * 16 + static_cast<std::uint32_t>(d);
  }
  return v;
}

// Decodes the JSON escapes of a string body (the text between the quotes). On a bad escape,
// returns false with *error_at = its offset in `body` and *error = what is wrong.
bool DecodeEscapes(std::string_view body, std::string& out, size_t* error_at, std::string* error) {
  out.clear();
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    *error_at = i;
    if (i + 1 >= body.size()) {
      *error = "invalid escape at the end of the string";
      return false;
    }
    const char e = body[++i];
    switch (e) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '/': out.push_back('/'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        auto cp = Hex4(body, i + 1);
        if (!cp) {
          *error = "invalid \\u escape (expected 4 hex digits)";
          return false;
        }
        i += 4;
        if (*cp >= 0xDC00 && *cp <= 0xDFFF) {
          *error = "invalid \\u escape (a low surrogate without a high one)";
          return false;
        }
        if (*cp >= 0xD800 && *cp <= 0xDBFF) {
          std::optional<std::uint32_t> low;
          if (i + 2 < body.size() && body[i + 1] == '\\' && body[i + 2] == 'u') low = Hex4(body, i + 3);
          if (!low || *low < 0xDC00 || *low > 0xDFFF) {
            *error = "invalid \\u escape (a high surrogate without a low one)";
            return false;
          }
          i += 6;
          *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
        }
        AppendUtf8(*cp, out);
        break;
      }
      default: {
        // Name the escape as written (the byte after the backslash may start a UTF-8 sequence).
        size_t n = 1;
        while (i + n < body.size() && (static_cast<unsigned char>(body[i + n]) & 0xC0) == 0x80) ++n;
        *error = "invalid escape '\\" + std::string(body.substr(i, n)) + "' in a string";
        return false;
      }
    }
  }
  return true;
}

// The value of a tag or trait: JSON text, read without building a document. A string with
// escapes is decoded into *scratch (the returned view points there).
Value ReadJsonValue(std::string_view s, std::string* scratch) {
  s = TrimView(s, kJsonWhitespace);
  Value v;
  if (s.empty()) {
    v.kind = Value::Kind::kOther;
    return v;
  }
  switch (s.front()) {
    case '"': {
      if (s.size() < 2 || s.back() != '"') break;
      const std::string_view body = s.substr(1, s.size() - 2);
      if (body.find('\\') == std::string_view::npos) {
        v.kind = Value::Kind::kString;
        v.text = body;
        return v;
      }
      size_t at = 0;
      std::string error;
      if (!DecodeEscapes(body, *scratch, &at, &error)) break;
      v.kind = Value::Kind::kString;
      v.text = *scratch;
      return v;
    }
    case 't':
    case 'f':
      if (s == "true" || s == "false") {
        v.kind = Value::Kind::kBool;
        v.boolean = s == "true";
        return v;
      }
      break;
    case 'n':
      if (s == "null") return v;
      break;
    default:
      if (s.front() == '-' || IsDigit(s.front())) {
        auto r = std::from_chars(s.data(), s.data() + s.size(), v.number);
        if (r.ec == std::errc() && r.ptr == s.data() + s.size()) {
          v.kind = Value::Kind::kNumber;
          return v;
        }
      }
      break;
  }
  v.kind = Value::Kind::kOther;
  return v;
}

// ---- The compiled program ------------------------------------------------------------------

enum class Op : std::uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn, kIsNull, kIsNotNull };

std::string_view OpText(Op op) {
  switch (op) {
    case Op::kEq: return "=";
    case Op::kNe: return "!=";
    case Op::kLt: return "<";
    case Op::kLe: return "<=";
    case Op::kGt: return ">";
    case Op::kGe: return ">=";
    case Op::kIn: return "in";
    case Op::kNotIn: return "not in";
    case Op::kIsNull: return "is null";
    case Op::kIsNotNull: return "is not null";
  }
  return "?";
}

struct Literal {
  Value::Kind kind = Value::Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string text;
  bool timestamp = false;  // a string literal compared with a timestamp feature: number = its millis
};

struct Node {
  enum class Kind : std::uint8_t { kAnd, kOr, kNot, kPredicate };
  Kind kind = Kind::kPredicate;
  std::vector<int> children;  // kAnd, kOr (two or more), kNot (one)
  int field = -1;             // kPredicate: index into Program::fields
  Op op = Op::kEq;
  std::vector<Literal> values;  // one for comparisons, the list for in / not in, none for is null
};

}  // namespace

struct Segment::Program {
  std::string text;
  std::vector<SegmentField> fields;
  std::vector<Node> nodes;
  int root = 0;
  FeatureMask features = 0;
  bool depends_on_as_of = false;
};

namespace {

// ---- Tokens --------------------------------------------------------------------------------

struct Token {
  enum class Kind : std::uint8_t { kName, kNumber, kString, kOp, kLParen, kRParen, kComma, kDot, kEnd };
  Kind kind = Kind::kEnd;
  size_t at = 0;         // byte offset in the rule
  std::string_view src;  // as written
  std::string text;      // kString: decoded
  double number = 0;     // kNumber
  Op op = Op::kEq;       // kOp

  bool IsKeyword(std::string_view lower) const {
    return kind == Kind::kName && EqualsIgnoreAsciiCase(src, lower);
  }
};

constexpr std::array<std::string_view, 8> kKeywords = {"and", "or",   "not",  "in",
                                                       "is",  "null", "true", "false"};

bool IsKeyword(std::string_view name) {
  return std::any_of(kKeywords.begin(), kKeywords.end(),
                     [&](std::string_view k) { return EqualsIgnoreAsciiCase(name, k); });
}

// 1-based, counting UTF-8 characters (continuation bytes are not columns).
size_t ColumnAt(std::string_view rule, size_t at) {
  size_t column = 1;
  for (size_t i = 0; i < at && i < rule.size(); ++i) {
    if ((static_cast<unsigned char>(rule[i]) & 0xC0) != 0x80) ++column;
  }
  return column;
}

class Parser {
 public:
  explicit Parser(std::string_view rule) : rule_(rule) {}

  Result<std::shared_ptr<Segment::Program>> Run() {
    TP_RETURN_IF_ERROR(Tokenize());
    auto program = std::make_shared<Segment::Program>();
    program_ = program.get();
    if (tokens_.front().kind == Token::Kind::kEnd) return Error(0, "the rule is empty");
    TP_ASSIGN_OR_RETURN(program->root, ParseOr(0));
    if (Peek().kind != Token::Kind::kEnd) {
      return Error(Peek().at, "expected 'and', 'or' or the end of the rule, found " + DescribeToken(Peek()));
    }
    Finish(*program);
    return program;
  }

 private:
  // ---- Lexing

  Status Error(size_t at, const std::string& what) const {
    return Status::InvalidArgument("column " + std::to_string(ColumnAt(rule_, at)) + ": " + what);
  }

  Status Tokenize() {
    size_t i = 0;
    const std::string_view s = rule_;
    while (true) {
      while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
      Token t;
      t.at = i;
      if (i == s.size()) {
        tokens_.push_back(std::move(t));
        return Status::Ok();
      }
      const char c = s[i];
      const auto uc = static_cast<unsigned char>(c);
      if (IsNameStart(uc)) {
        size_t j = i;
        while (j < s.size() && IsNameChar(static_cast<unsigned char>(s[j]))) ++j;
        t.kind = Token::Kind::kName;
        t.src = s.substr(i, j - i);
        i = j;
      } else if (IsDigit(c) || (c == '-' && i + 1 < s.size() && (IsDigit(s[i + 1]) || s[i + 1] == '.'))) {
        TP_RETURN_IF_ERROR(LexNumber(i, t));
        i += t.src.size();
      } else if (c == '"') {
        TP_RETURN_IF_ERROR(LexString(i, t));
        i += t.src.size();
      } else {
        size_t n = 1;
        t.kind = Token::Kind::kOp;
        if (c == '=' && i + 1 < s.size() && s[i + 1] == '=') {
          return Error(i, "unexpected '==' (write '=')");
        } else if (c == '=') {
          t.op = Op::kEq;
        } else if (c == '!' && i + 1 < s.size() && s[i + 1] == '=') {
          t.op = Op::kNe, n = 2;
        } else if (c == '<' && i + 1 < s.size() && s[i + 1] == '=') {
          t.op = Op::kLe, n = 2;
        } else if (c == '<' && i + 1 < s.size() && s[i + 1] == '>') {
          return Error(i, "unexpected '<>' (write '!=')");
        } else if (c == '<') {
          t.op = Op::kLt;
        } else if (c == '>' && i + 1 < s.size() && s[i + 1] == '=') {
          t.op = Op::kGe, n = 2;
        } else if (c == '>') {
          t.op = Op::kGt;
        } else if (c == '(') {
          t.kind = Token::Kind::kLParen;
        } else if (c == ')') {
          t.kind = Token::Kind::kRParen;
        } else if (c == ',') {
          t.kind = Token::Kind::kComma;
        } else if (c == '.') {
          t.kind = Token::Kind::kDot;
        } else if (c == '\'') {
          return Error(i, "unexpected \"'\": strings are written in double quotes");
        } else {
          return Error(i, "unexpected character '" + std::string(1, c) + "'");
        }
        t.src = s.substr(i, n);
        i += n;
      }
      tokens_.push_back(std::move(t));
    }
  }

  // number = [ "-" ] digit { digit } [ "." digit { digit } ] [ ( "e" | "E" ) [ "+" | "-" ] digit { digit } ]
  Status LexNumber(size_t start, Token& t) const {
    const std::string_view s = rule_;
    size_t j = start;
    auto digits = [&] {
      const size_t from = j;
      while (j < s.size() && IsDigit(s[j])) ++j;
      return j > from;
    };
    bool ok = true;
    if (s[j] == '-') ++j;
    ok = digits();
    if (ok && j < s.size() && s[j] == '.') {
      ++j;
      ok = digits();
    }
    if (ok && j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
      ++j;
      if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
      ok = digits();
    }
    // A number runs up to a separator: "12abc" or "1.2.3" is one malformed word, not two tokens.
    while (j < s.size() && (IsNameChar(static_cast<unsigned char>(s[j])) || s[j] == '.')) {
      ok = false;
      ++j;
    }
    t.kind = Token::Kind::kNumber;
    t.src = s.substr(start, j - start);
    if (!ok) return Error(start, "malformed number '" + std::string(t.src) + "'");
    auto r = std::from_chars(t.src.data(), t.src.data() + t.src.size(), t.number);
    if (r.ec == std::errc::result_out_of_range || !std::isfinite(t.number)) {
      return Error(start, "number out of range '" + std::string(t.src) + "'");
    }
    if (r.ec != std::errc() || r.ptr != t.src.data() + t.src.size()) {
      return Error(start, "malformed number '" + std::string(t.src) + "'");
    }
    if (t.number == 0) t.number = 0;  // no "-0"
    return Status::Ok();
  }

  // string = '"' { char | escape } '"' with JSON's escapes.
  Status LexString(size_t start, Token& t) const {
    const std::string_view s = rule_;
    size_t j = start + 1;
    while (j < s.size() && s[j] != '"') j += s[j] == '\\' ? 2 : 1;
    if (j >= s.size()) return Error(start, "unterminated string (no closing '\"')");
    t.kind = Token::Kind::kString;
    t.src = s.substr(start, j + 1 - start);
    size_t bad = 0;
    std::string why;
    if (!DecodeEscapes(s.substr(start + 1, j - start - 1), t.text, &bad, &why)) {
      return Error(start + 1 + bad, why);
    }
    return Status::Ok();
  }

  static std::string DescribeToken(const Token& t) {
    switch (t.kind) {
      case Token::Kind::kEnd: return "the end of the rule";
      case Token::Kind::kString: return std::string(t.src);
      default: return "'" + std::string(t.src) + "'";
    }
  }

  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }

  // ---- Parsing

  int Add(Node n) {
    program_->nodes.push_back(std::move(n));
    return static_cast<int>(program_->nodes.size() - 1);
  }

  // A chain of `and` (or `or`): one node with every operand; operands that are the same kind of
  // chain (written in parentheses) are spliced in, so the canonical text needs no parentheses.
  int Chain(Node::Kind kind, const std::vector<int>& operands) {
    if (operands.size() == 1) return operands.front();
    Node n;
    n.kind = kind;
    for (int o : operands) {
      const Node& child = program_->nodes[static_cast<size_t>(o)];
      if (child.kind == kind) {
        n.children.insert(n.children.end(), child.children.begin(), child.children.end());
      } else {
        n.children.push_back(o);
      }
    }
    return Add(std::move(n));
  }

  Status CheckDepth(int depth) const {
    if (depth > kMaxDepth) return Error(Peek().at, "the rule nests too deeply (more than 64 levels)");
    return Status::Ok();
  }

  // or_expr = and_expr { "or" and_expr }
  Result<int> ParseOr(int depth) {
    std::vector<int> operands;
    TP_ASSIGN_OR_RETURN(int first, ParseAnd(depth));
    operands.push_back(first);
    while (Peek().IsKeyword("or")) {
      Next();
      TP_ASSIGN_OR_RETURN(int next, ParseAnd(depth));
      operands.push_back(next);
    }
    return Chain(Node::Kind::kOr, operands);
  }

  // and_expr = not_expr { "and" not_expr }
  Result<int> ParseAnd(int depth) {
    std::vector<int> operands;
    TP_ASSIGN_OR_RETURN(int first, ParseNot(depth));
    operands.push_back(first);
    while (Peek().IsKeyword("and")) {
      Next();
      TP_ASSIGN_OR_RETURN(int next, ParseNot(depth));
      operands.push_back(next);
    }
    return Chain(Node::Kind::kAnd, operands);
  }

  // not_expr = "not" not_expr | "(" or_expr ")" | predicate
  Result<int> ParseNot(int depth) {
    TP_RETURN_IF_ERROR(CheckDepth(depth));
    if (Peek().IsKeyword("not")) {
      Next();
      TP_ASSIGN_OR_RETURN(int operand, ParseNot(depth + 1));
      Node n;
      n.kind = Node::Kind::kNot;
      n.children.push_back(operand);
      return Add(std::move(n));
    }
    if (Peek().kind == Token::Kind::kLParen) {
      const size_t open = Next().at;
      TP_ASSIGN_OR_RETURN(int inner, ParseOr(depth + 1));
      if (Peek().kind != Token::Kind::kRParen) {
        return Error(Peek().at, "expected ')' to close the '(' at column " +
                                    std::to_string(ColumnAt(rule_, open)) + ", found " +
                                    DescribeToken(Peek()));
      }
      Next();
      return inner;
    }
    return ParsePredicate();
  }

  // predicate = field ( compare_op value | [ "not" ] "in" "(" value { "," value } ")" | "is" [ "not" ] "null"
  // )
  Result<int> ParsePredicate() {
    const size_t field_at = Peek().at;
    TP_ASSIGN_OR_RETURN(SegmentField field, ParseField());
    const Token& last = tokens_[pos_ - 1];
    const std::string field_text(rule_.substr(field_at, last.at + last.src.size() - field_at));  // as written
    Node n;
    const Token& t = Next();
    if (t.kind == Token::Kind::kOp) {
      n.op = t.op;
      const std::string after = "'" + std::string(t.src) + "'";
      TP_ASSIGN_OR_RETURN(Literal v, ParseValue(after, field, field_text, n.op));
      n.values.push_back(std::move(v));
    } else if (t.IsKeyword("in")) {
      n.op = Op::kIn;
      TP_RETURN_IF_ERROR(ParseList(field, field_text, n));
    } else if (t.IsKeyword("not")) {
      if (!Peek().IsKeyword("in"))
        return Error(Peek().at, "expected 'in' after 'not', found " + DescribeToken(Peek()));
      Next();
      n.op = Op::kNotIn;
      TP_RETURN_IF_ERROR(ParseList(field, field_text, n));
    } else if (t.IsKeyword("is")) {
      n.op = Op::kIsNull;
      if (Peek().IsKeyword("not")) {
        Next();
        n.op = Op::kIsNotNull;
      }
      if (!Peek().IsKeyword("null")) {
        return Error(Peek().at, std::string("expected 'null' after '") +
                                    (n.op == Op::kIsNull ? "is" : "is not") + "', found " +
                                    DescribeToken(Peek()));
      }
      Next();
    } else {
      return Error(t.at, "expected an operator (= != < <= > >= in, not in, is null, is not null) after '" +
                             field_text + "', found " + DescribeToken(t));
    }
    n.kind = Node::Kind::kPredicate;
    n.field = FieldSlot(std::move(field));
    return Add(std::move(n));
  }

  // field = name | ( "traits" | "tags" ) "." ( name | string )
  Result<SegmentField> ParseField() {
    const Token& t = Peek();
    if (t.kind != Token::Kind::kName || IsKeyword(t.src)) {
      return Error(t.at, "expected a field name, found " + DescribeToken(t));
    }
    Next();
    SegmentField f;
    const bool traits = t.src == "traits", tags = t.src == "tags";
    if ((traits || tags) && Peek().kind == Token::Kind::kDot) {
      Next();
      const Token& name = Next();
      if (name.kind == Token::Kind::kName) {
        f.name = std::string(name.src);
      } else if (name.kind == Token::Kind::kString && !name.text.empty()) {
        f.name = name.text;
      } else {
        return Error(name.at, std::string("expected a ") + (traits ? "trait" : "tag") + " name after '" +
                                  std::string(t.src) + ".', found " + DescribeToken(name));
      }
      f.source = traits ? SegmentField::Source::kTrait : SegmentField::Source::kTag;
      return f;
    }
    f.name = std::string(t.src);
    if (const FeatureInfo* info = FindFeature(f.name)) {
      if (!info->on_profile) {
        return Error(t.at, "field " + f.name +
                               " is computed only by the analytics jobs (insight), not on the profile; "
                               "write tags." +
                               f.name + " for a tag of that name");
      }
      f.source = SegmentField::Source::kFeature;
      f.feature = info->id;
    } else {
      f.source = SegmentField::Source::kTag;
    }
    return f;
  }

  // "(" value { "," value } ")"
  Status ParseList(const SegmentField& field, std::string_view field_text, Node& n) {
    const std::string keyword = n.op == Op::kIn ? "'in'" : "'not in'";
    if (Peek().kind != Token::Kind::kLParen) {
      return Error(Peek().at, "expected '(' after " + keyword + ", found " + DescribeToken(Peek()));
    }
    Next();
    std::string after = "'('";
    while (true) {
      TP_ASSIGN_OR_RETURN(Literal v, ParseValue(after, field, field_text, Op::kEq));
      n.values.push_back(std::move(v));
      const Token& sep = Next();
      if (sep.kind == Token::Kind::kRParen) return Status::Ok();
      if (sep.kind != Token::Kind::kComma) {
        return Error(sep.at,
                     "expected ',' or ')' in the list after " + keyword + ", found " + DescribeToken(sep));
      }
      after = "','";
    }
  }

  // value = number | string | "true" | "false" | "null", checked against the field.
  Result<Literal> ParseValue(const std::string& after, const SegmentField& field, std::string_view field_text,
                             Op op) {
    const Token& t = Peek();
    Literal v;
    if (t.kind == Token::Kind::kNumber) {
      v.kind = Value::Kind::kNumber;
      v.number = t.number;
    } else if (t.kind == Token::Kind::kString) {
      v.kind = Value::Kind::kString;
      v.text = t.text;
    } else if (t.IsKeyword("true") || t.IsKeyword("false")) {
      v.kind = Value::Kind::kBool;
      v.boolean = t.IsKeyword("true");
    } else if (t.IsKeyword("null")) {
      return Error(t.at, "a comparison with null is never true; write '" + std::string(field_text) +
                             " is null' or '" + std::string(field_text) + " is not null'");
    } else {
      std::string msg = "expected a value after " + after;
      if (t.kind != Token::Kind::kEnd) msg += ", found " + DescribeToken(t);
      return Error(t.at, msg);
    }
    const std::string written(t.src);
    const size_t at = t.at;
    Next();
    if (v.kind == Value::Kind::kBool && op != Op::kEq && op != Op::kNe) {
      return Error(at, written + " can only be compared with = or !=");
    }
    if (field.source != SegmentField::Source::kFeature) return v;  // tags and traits: typed at run time
    const FeatureInfo& info = Describe(field.feature);
    const std::string literal_kind = v.kind == Value::Kind::kNumber   ? "a number"
                                     : v.kind == Value::Kind::kString ? "a string"
                                                                      : "a boolean";
    const std::string mismatch = "field " + field.name + " is " + std::string(FeatureTypePhrase(info.type)) +
                                 "; " + written + " is " + literal_kind;
    switch (info.type) {
      case FeatureType::kNumber:
      case FeatureType::kInteger:
        if (v.kind != Value::Kind::kNumber) return Error(at, mismatch);
        break;
      case FeatureType::kString:
        if (v.kind != Value::Kind::kString) return Error(at, mismatch);
        break;
      case FeatureType::kTimestamp: {
        if (v.kind != Value::Kind::kString) {
          return Error(
              at,
              mismatch + " (write a date-time as a string, e.g. \"2024-03-01\" or \"2024-03-01T08:30:00Z\")");
        }
        auto when = ParseTimestamp(v.text);
        if (!when.ok()) {
          return Error(at, "field " + field.name + " is a timestamp; " + written +
                               " is not a date-time (write e.g. \"2024-03-01\" or \"2024-03-01T08:30:00Z\")");
        }
        v.kind = Value::Kind::kNumber;
        v.number = static_cast<double>(*when);
        v.timestamp = true;
        break;
      }
    }
    return v;
  }

  int FieldSlot(SegmentField field) {
    auto& fields = program_->fields;
    for (size_t i = 0; i < fields.size(); ++i) {
      if (fields[i] == field) return static_cast<int>(i);
    }
    fields.push_back(std::move(field));
    return static_cast<int>(fields.size() - 1);
  }

  // Orders the fields, and derives the feature mask and the canonical text.
  void Finish(Segment::Program& p) {
    std::vector<size_t> order(p.fields.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::vector<std::string> keys;
    for (const auto& f : p.fields) keys.push_back(f.ToString());
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
    std::vector<int> slot_of(order.size());
    std::vector<SegmentField> sorted;
    for (size_t k = 0; k < order.size(); ++k) {
      slot_of[order[k]] = static_cast<int>(k);
      sorted.push_back(std::move(p.fields[order[k]]));
    }
    p.fields = std::move(sorted);
    for (auto& n : p.nodes) {
      if (n.kind == Node::Kind::kPredicate) n.field = slot_of[static_cast<size_t>(n.field)];
    }
    for (const auto& f : p.fields) {
      if (f.source != SegmentField::Source::kFeature) continue;
      p.features |= FeatureBit(f.feature);
      p.depends_on_as_of = p.depends_on_as_of || Describe(f.feature).depends_on_as_of;
    }
    Write(p, p.root, p.text);
  }

  static int Precedence(Node::Kind k) {
    switch (k) {
      case Node::Kind::kOr: return 1;
      case Node::Kind::kAnd: return 2;
      case Node::Kind::kNot: return 3;
      case Node::Kind::kPredicate: return 4;
    }
    return 4;
  }

  static void WriteLiteral(const Literal& v, std::string& out) {
    switch (v.kind) {
      case Value::Kind::kNumber:
        if (v.timestamp) {
          AppendJsonString(out, FormatTimestamp(static_cast<Millis>(v.number)));
        } else {
          char buf[32];
          auto r = std::to_chars(buf, buf + sizeof buf, v.number);
          out.append(buf, r.ptr);
        }
        break;
      case Value::Kind::kString: AppendJsonString(out, v.text); break;
      case Value::Kind::kBool: out += v.boolean ? "true" : "false"; break;
      default: out += "null"; break;
    }
  }

  static void Write(const Segment::Program& p, int index, std::string& out) {
    const Node& n = p.nodes[static_cast<size_t>(index)];
    auto operand = [&](int child, int min_precedence) {
      const bool parens = Precedence(p.nodes[static_cast<size_t>(child)].kind) < min_precedence;
      if (parens) out += '(';
      Write(p, child, out);
      if (parens) out += ')';
    };
    switch (n.kind) {
      case Node::Kind::kOr:
      case Node::Kind::kAnd: {
        const bool is_or = n.kind == Node::Kind::kOr;
        for (size_t i = 0; i < n.children.size(); ++i) {
          if (i > 0) out += is_or ? " or " : " and ";
          operand(n.children[i], is_or ? 2 : 3);
        }
        break;
      }
      case Node::Kind::kNot:
        out += "not ";
        operand(n.children.front(), 3);
        break;
      case Node::Kind::kPredicate:
        out += p.fields[static_cast<size_t>(n.field)].ToString();
        out += ' ';
        out += OpText(n.op);
        if (n.op == Op::kIn || n.op == Op::kNotIn) {
          out += " (";
          for (size_t i = 0; i < n.values.size(); ++i) {
            if (i > 0) out += ", ";
            WriteLiteral(n.values[i], out);
          }
          out += ')';
        } else if (!n.values.empty()) {
          out += ' ';
          WriteLiteral(n.values.front(), out);
        }
        break;
    }
  }

  std::string_view rule_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  Segment::Program* program_ = nullptr;
};

// ---- Evaluation ----------------------------------------------------------------------------

Tri Not(Tri t) { return t == Tri::kTrue ? Tri::kFalse : t == Tri::kFalse ? Tri::kTrue : Tri::kUnknown; }

Tri FromBool(bool b) { return b ? Tri::kTrue : Tri::kFalse; }

template <typename T>
Tri Order(const T& a, const T& b, Op op) {
  switch (op) {
    case Op::kEq: return FromBool(a == b);
    case Op::kNe: return FromBool(!(a == b));
    case Op::kLt: return FromBool(a < b);
    case Op::kLe: return FromBool(a <= b);
    case Op::kGt: return FromBool(a > b);
    case Op::kGe: return FromBool(a >= b);
    default: return Tri::kUnknown;
  }
}

// `v op literal`; v is not null. A value of another type than the literal compares unknown.
Tri Compare(const Value& v, Op op, const Literal& lit) {
  if (v.kind != lit.kind) return Tri::kUnknown;
  switch (v.kind) {
    case Value::Kind::kNumber: return Order(v.number, lit.number, op);
    case Value::Kind::kString: return Order(v.text, std::string_view(lit.text), op);
    case Value::Kind::kBool: return Order(v.boolean, lit.boolean, op);
    default: return Tri::kUnknown;
  }
}

// One evaluation: the fields' values, each read at most once, on first use.
class Evaluation {
 public:
  Evaluation(const Segment::Program& program, const Profile& profile, const Features& features)
      : program_(program), profile_(profile), features_(features) {
    const size_t n = program.fields.size();
    if (n > inline_.size()) heap_.resize(n);
  }

  Tri Eval(int index) {
    const Node& n = program_.nodes[static_cast<size_t>(index)];
    switch (n.kind) {
      case Node::Kind::kAnd: {
        Tri r = Tri::kTrue;
        for (int c : n.children) {
          const Tri t = Eval(c);
          if (t == Tri::kFalse) return Tri::kFalse;
          if (t == Tri::kUnknown) r = Tri::kUnknown;
        }
        return r;
      }
      case Node::Kind::kOr: {
        Tri r = Tri::kFalse;
        for (int c : n.children) {
          const Tri t = Eval(c);
          if (t == Tri::kTrue) return Tri::kTrue;
          if (t == Tri::kUnknown) r = Tri::kUnknown;
        }
        return r;
      }
      case Node::Kind::kNot: return Not(Eval(n.children.front()));
      case Node::Kind::kPredicate: return Test(n);
    }
    return Tri::kUnknown;
  }

 private:
  struct Slot {
    bool read = false;
    Value value;
  };

  Tri Test(const Node& n) {
    const Value& v = Get(n.field);
    if (n.op == Op::kIsNull) return FromBool(v.kind == Value::Kind::kNull);
    if (n.op == Op::kIsNotNull) return FromBool(v.kind != Value::Kind::kNull);
    if (v.kind == Value::Kind::kNull) return Tri::kUnknown;
    if (n.op == Op::kIn || n.op == Op::kNotIn) {
      Tri found = Tri::kFalse;
      for (const Literal& lit : n.values) {
        const Tri t = Compare(v, Op::kEq, lit);
        if (t == Tri::kTrue) {
          found = Tri::kTrue;
          break;
        }
        if (t == Tri::kUnknown) found = Tri::kUnknown;
      }
      return n.op == Op::kIn ? found : Not(found);
    }
    return Compare(v, n.op, n.values.front());
  }

  const Value& Get(int field) {
    const auto i = static_cast<size_t>(field);
    Slot& s = heap_.empty() ? inline_[i] : heap_[i];
    if (s.read) return s.value;
    s.read = true;
    const SegmentField& f = program_.fields[i];
    switch (f.source) {
      case SegmentField::Source::kFeature: {
        const FeatureValue fv = features_.Get(f.feature);
        if (fv.kind == FeatureValue::Kind::kNumber) {
          s.value.kind = Value::Kind::kNumber;
          s.value.number = fv.number;
        } else if (fv.kind == FeatureValue::Kind::kString) {
          s.value.kind = Value::Kind::kString;
          s.value.text = fv.text;
        }
        break;
      }
      case SegmentField::Source::kTag:
      case SegmentField::Source::kTrait: {
        const std::string* json =
            f.source == SegmentField::Source::kTag ? profile_.FindTag(f.name) : profile_.FindTrait(f.name);
        if (json != nullptr) s.value = ReadJsonValue(*json, Scratch(i));
        break;
      }
    }
    return s.value;
  }

  // Room for one decoded string per field (only strings with escapes need it).
  std::string* Scratch(size_t i) {
    if (!scratch_) scratch_ = std::make_unique<std::string[]>(program_.fields.size());
    return &scratch_[i];
  }

  const Segment::Program& program_;
  const Profile& profile_;
  const Features& features_;
  std::array<Slot, 8> inline_{};
  std::vector<Slot> heap_;
  std::unique_ptr<std::string[]> scratch_;
};

}  // namespace

std::string SegmentField::ToString() const {
  switch (source) {
    case Source::kFeature: return name;
    case Source::kTag:
    case Source::kTrait: {
      std::string out = source == Source::kTag ? "tags." : "traits.";
      if (IsNameShaped(name)) {
        out += name;
      } else {
        AppendJsonString(out, name);
      }
      return out;
    }
  }
  return name;
}

Result<Segment> Segment::Compile(std::string_view rule) {
  Parser parser(rule);
  TP_ASSIGN_OR_RETURN(std::shared_ptr<Program> program, parser.Run());
  return Segment(std::move(program));
}

bool Segment::Matches(const Profile& profile, Millis as_of) const {
  const Program& p = *program_;
  const Features features = p.features != 0 ? profile.ComputeFeatures(as_of, p.features) : Features{};
  Evaluation evaluation(p, profile, features);
  return evaluation.Eval(p.root) == Tri::kTrue;
}

const std::string& Segment::text() const { return program_->text; }
const std::vector<SegmentField>& Segment::fields() const { return program_->fields; }
FeatureMask Segment::features() const { return program_->features; }
bool Segment::depends_on_as_of() const { return program_->depends_on_as_of; }

}  // namespace touchpoint::profile

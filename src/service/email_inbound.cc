#include <touchpoint/service/email_inbound.h>

#include <gmime/gmime.h>
#include <iconv.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <touchpoint/core/strings.h>

namespace touchpoint::service {
namespace {

void InitGMime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

// Owners of GLib objects and strings.
struct Unref {
  void operator()(void* p) const {
    if (p != nullptr) g_object_unref(p);
  }
};
template <class T>
using GPtr = std::unique_ptr<T, Unref>;
struct GFree {
  void operator()(char* p) const { g_free(p); }
};
using GString_ = std::unique_ptr<char, GFree>;

// Whitespace as std::isspace in the "C" locale.
std::string Trim(std::string_view s) { return touchpoint::Trim(s, kAsciiWhitespace); }

bool ValidUtf8(std::string_view s) { return g_utf8_validate(s.data(), static_cast<gssize>(s.size()), nullptr) != 0; }

// Invalid sequences become U+FFFD (header values GMime could not decode).
std::string CleanUtf8(std::string_view s) {
  if (ValidUtf8(s)) return std::string(s);
  GString_ fixed(g_utf8_make_valid(s.data(), static_cast<gssize>(s.size())));
  return fixed ? std::string(fixed.get()) : std::string();
}

Result<std::string> Iconv(std::string_view bytes, const std::string& from) {
  iconv_t cd = iconv_open("UTF-8", from.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) return Status::InvalidArgument("charset " + from + ": not supported");
  std::string out(bytes.size() * 4 + 16, '\0');
  char* in = const_cast<char*>(bytes.data());
  size_t in_left = bytes.size();
  char* o = out.data();
  size_t out_left = out.size();
  const size_t rc = iconv(cd, &in, &in_left, &o, &out_left);
  iconv_close(cd);
  if (rc == static_cast<size_t>(-1)) return Status::InvalidArgument("text is not valid " + from);
  out.resize(out.size() - out_left);
  return out;
}

// The Message-ID-like tokens of a header value ("<a@b> <c@d>"), without <>.
std::vector<std::string> Ids(const char* value) {
  std::vector<std::string> out;
  if (value == nullptr) return out;
  GMimeReferences* refs = g_mime_references_parse(nullptr, value);
  if (refs == nullptr) return out;
  for (int i = 0; i < g_mime_references_length(refs); ++i) {
    const char* id = g_mime_references_get_message_id(refs, i);
    if (id != nullptr && *id != '\0') out.push_back(CleanUtf8(id));
  }
  g_mime_references_free(refs);
  return out;
}

// The first line of a message must be a header field: printable ASCII name, then ':'. (GMime
// reads anything; a body posted without its headers must be refused, not stored as mail.)
Status CheckHeaderStart(std::string_view raw) {
  size_t i = 0;
  while (i < raw.size() && raw[i] != ':' && raw[i] != '\n') {
    const unsigned char c = static_cast<unsigned char>(raw[i]);
    if (c <= 32 || c >= 127) break;
    ++i;
  }
  if (i == 0 || i >= raw.size() || raw[i] != ':') {
    return Status::InvalidArgument("not an RFC 5322 message: the first line is not a header field");
  }
  return Status::Ok();
}

std::string Decoded(GMimePart* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (content == nullptr) return "";
  GPtr<GMimeStream> mem(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(content, mem.get());
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
  return bytes == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

struct Walk {
  explicit Walk(const EmailLimits& l) : limits(l) {}
  const EmailLimits& limits;
  Status status = Status::Ok();
  int parts = 0;
  std::string plain;
  std::string html;
  std::vector<InboundAttachment> attachments;
};

void Visit(GMimeObject* object, int depth, Walk& w) {
  if (!w.status.ok()) return;
  if (depth > w.limits.max_depth) {
    w.status = Status::InvalidArgument("MIME: nested deeper than " + std::to_string(w.limits.max_depth) + " levels");
    return;
  }
  GMimeContentType* ct = g_mime_object_get_content_type(object);
  if (GMIME_IS_MULTIPART(object)) {
    if (g_mime_content_type_get_parameter(ct, "boundary") == nullptr) {
      w.status = Status::InvalidArgument("Content-Type: multipart without a boundary");
      return;
    }
    GMimeMultipart* mp = GMIME_MULTIPART(object);
    const int n = g_mime_multipart_get_count(mp);
    for (int i = 0; i < n; ++i) Visit(g_mime_multipart_get_part(mp, i), depth + 1, w);
    return;
  }
  if (GMIME_IS_MESSAGE_PART(object)) {  // a forwarded message: its file is the attachment
    GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
    if (inner == nullptr) return;
    GString_ text(g_mime_object_to_string(GMIME_OBJECT(inner), nullptr));
    w.attachments.push_back(InboundAttachment{"forwarded.eml", "message/rfc822", text ? text.get() : ""});
    return;
  }
  if (!GMIME_IS_PART(object)) return;
  if (++w.parts > w.limits.max_parts) {
    w.status = Status::InvalidArgument("MIME: more than " + std::to_string(w.limits.max_parts) + " parts");
    return;
  }
  GMimePart* part = GMIME_PART(object);
  const char* type = g_mime_content_type_get_media_type(ct);
  const char* subtype = g_mime_content_type_get_media_subtype(ct);
  const std::string mime = AsciiLower(std::string(type ? type : "text") + "/" + (subtype ? subtype : "plain"));
  const bool attachment = g_mime_part_is_attachment(part) != 0;
  const char* filename = g_mime_part_get_filename(part);
  if (!attachment && (mime == "text/plain" || mime == "text/html") && (filename == nullptr)) {
    const char* charset = g_mime_content_type_get_parameter(ct, "charset");
    std::string cs = charset ? AsciiLower(charset) : "us-ascii";
    auto text = ToUtf8(Decoded(part), cs);
    if (!text.ok()) {
      w.status = text.status().WithContext("the " + mime + " body");
      return;
    }
    std::string& into = mime == "text/plain" ? w.plain : w.html;
    if (into.empty()) into = std::move(*text);  // the first of each kind (alternatives repeat it)
    return;
  }
  w.attachments.push_back(InboundAttachment{filename ? CleanUtf8(filename) : "", mime, Decoded(part)});
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool EndsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back(line);
    start = nl + 1;
  }
  return out;
}

}  // namespace

Result<std::string> ToUtf8(std::string_view bytes, std::string_view charset_in) {
  std::string charset = AsciiLower(Trim(charset_in));
  if (charset.empty() || charset == "us-ascii" || charset == "ascii" || charset == "utf-8" || charset == "utf8") {
    if (ValidUtf8(bytes)) return std::string(bytes);
    if (charset == "utf-8" || charset == "utf8") return Status::InvalidArgument("text is not valid UTF-8");
    // Undeclared 8-bit text: Chinese mail clients send GBK without saying so.
    auto gbk = Iconv(bytes, "GB18030");
    if (gbk.ok()) return gbk;
    return Iconv(bytes, "ISO-8859-1");
  }
  if (charset == "gb2312" || charset == "gbk" || charset == "cp936" || charset == "x-gbk") {
    auto gbk = Iconv(bytes, "GBK");
    if (gbk.ok()) return gbk;
    return Iconv(bytes, "GB18030");
  }
  return Iconv(bytes, charset);
}

Result<InboundEmail> ParseEmail(std::string_view raw, const EmailLimits& limits) {
  if (raw.empty()) return Status::InvalidArgument("empty message");
  if (raw.size() > limits.max_bytes) {
    return Status::InvalidArgument("message: larger than " + std::to_string(limits.max_bytes) + " bytes");
  }
  TP_RETURN_IF_ERROR(CheckHeaderStart(raw));
  InitGMime();
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  GPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), nullptr));
  if (message == nullptr) return Status::InvalidArgument("not an RFC 5322 message");

  InboundEmail out;
  InternetAddressList* from = g_mime_message_get_from(message.get());
  if (from == nullptr || internet_address_list_length(from) == 0) return Status::InvalidArgument("From: missing");
  InternetAddress* sender = internet_address_list_get_address(from, 0);
  if (!INTERNET_ADDRESS_IS_MAILBOX(sender)) return Status::InvalidArgument("From: not a mailbox");
  const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(sender));
  out.from_address = AsciiLower(Trim(addr ? addr : ""));
  const size_t at = out.from_address.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == out.from_address.size() ||
      out.from_address.find_first_of(" \t\r\n<>,;\"") != std::string::npos || !ValidUtf8(out.from_address)) {
    return Status::InvalidArgument("From: not an e-mail address");
  }
  if (const char* name = internet_address_get_name(sender)) out.from_name = CleanUtf8(name);
  if (InternetAddressList* to = g_mime_message_get_to(message.get())) {
    for (int i = 0; i < internet_address_list_length(to); ++i) {
      InternetAddress* a = internet_address_list_get_address(to, i);
      if (!INTERNET_ADDRESS_IS_MAILBOX(a)) continue;
      if (const char* s = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a))) out.to.push_back(AsciiLower(CleanUtf8(s)));
    }
  }
  if (const char* subject = g_mime_message_get_subject(message.get())) out.subject = Trim(CleanUtf8(subject));
  if (const char* id = g_mime_message_get_message_id(message.get())) out.message_id = Trim(CleanUtf8(id));
  GMimeObject* root = GMIME_OBJECT(message.get());
  if (auto ids = Ids(g_mime_object_get_header(root, "In-Reply-To")); !ids.empty()) out.in_reply_to = ids.back();
  out.references = Ids(g_mime_object_get_header(root, "References"));
  if (GDateTime* date = g_mime_message_get_date(message.get())) out.date = g_date_time_to_unix(date) * 1000;

  GMimeObject* body = g_mime_message_get_mime_part(message.get());
  Walk w(limits);
  if (body != nullptr) Visit(body, 0, w);
  TP_RETURN_IF_ERROR(w.status);
  out.text = Trim(!w.plain.empty() ? w.plain : HtmlToText(w.html));
  out.reply_text = StripQuotedReply(out.text);
  out.attachments = std::move(w.attachments);
  return out;
}

std::string StripQuotedReply(std::string_view text) {
  std::vector<std::string_view> lines = Lines(text);
  size_t cut = lines.size();
  auto has_any = [](std::string_view l, std::initializer_list<std::string_view> marks) {
    return std::any_of(marks.begin(), marks.end(), [&](std::string_view m) { return l.find(m) != std::string_view::npos; });
  };
  for (size_t i = 0; i < lines.size() && cut == lines.size(); ++i) {
    const std::string t = Trim(lines[i]);
    std::string two = t;  // "On … wrote:" is often wrapped over two lines
    if (i + 1 < lines.size()) two += " " + Trim(lines[i + 1]);
    const bool on_wrote = StartsWith(t, "On ") && (EndsWith(t, "wrote:") || EndsWith(two, "wrote:"));
    const bool zai_xiedao = StartsWith(t, "在") && (EndsWith(t, "写道：") || EndsWith(t, "写道:") ||
                                                   EndsWith(two, "写道：") || EndsWith(two, "写道:"));
    const bool original = has_any(t, {"-----Original Message-----", "----- Original Message -----", "原始邮件",
                                      "Original message", "-------- 转发邮件"});
    bool outlook = false;
    if (StartsWith(t, "From:") || StartsWith(t, "发件人:") || StartsWith(t, "发件人：")) {
      for (size_t j = i + 1; j < std::min(lines.size(), i + 4); ++j) {
        if (has_any(lines[j], {"Sent:", "Date:", "发送时间", "日期:", "日期："})) outlook = true;
      }
    }
    const bool signature = lines[i] == "-- " || lines[i] == "--";
    if (on_wrote || zai_xiedao || original || outlook || signature) cut = i;
  }
  while (cut > 0) {  // trailing quoted lines and blank lines
    const std::string t = Trim(lines[cut - 1]);
    if (!t.empty() && t[0] != '>') break;
    --cut;
  }
  std::string out;
  for (size_t i = 0; i < cut; ++i) {
    out.append(lines[i]);
    out.push_back('\n');
  }
  out = Trim(out);
  return out.empty() ? Trim(text) : out;
}

std::string HtmlToText(std::string_view html) {
  std::string out;
  size_t i = 0;
  auto skip_until = [&](std::string_view close) {  // `close`: "</name>", lower-case
    // Case-insensitively, without copying the rest of the document for every such element.
    for (size_t at = html.find('<', i); at != std::string_view::npos; at = html.find('<', at + 1)) {
      if (EqualsIgnoreAsciiCase(html.substr(at, close.size()), close)) {
        i = at + close.size();
        return;
      }
    }
    i = html.size();
  };
  while (i < html.size()) {
    const char c = html[i];
    if (c == '<') {
      const size_t end = html.find('>', i);
      if (end == std::string_view::npos) break;
      std::string tag = AsciiLower(html.substr(i + 1, end - i - 1));
      const bool closing = !tag.empty() && tag[0] == '/';
      if (closing) tag.erase(0, 1);
      const std::string name = tag.substr(0, tag.find_first_of(" \t\r\n/"));
      i = end + 1;
      if (!closing && (name == "script" || name == "style" || name == "head")) {
        skip_until("</" + name + ">");
      } else if (name == "br" || (closing && (name == "p" || name == "div" || name == "tr" || name == "li" ||
                                               name == "h1" || name == "h2" || name == "h3" || name == "blockquote"))) {
        out.push_back('\n');
      }
      continue;
    }
    if (c == '&') {
      const size_t semi = html.find(';', i);
      if (semi != std::string_view::npos && semi - i <= 10) {
        const std::string ent = AsciiLower(html.substr(i + 1, semi - i - 1));
        std::string rep;
        if (ent == "nbsp") rep = " ";
        else if (ent == "amp") rep = "&";
        else if (ent == "lt") rep = "<";
        else if (ent == "gt") rep = ">";
        else if (ent == "quot") rep = "\"";
        else if (ent == "apos" || ent == "#39") rep = "'";
        else if (ent.size() > 1 && ent[0] == '#') {
          gunichar cp = 0;
          bool ok = true;
          const bool hex = ent[1] == 'x';
          for (size_t k = hex ? 2 : 1; k < ent.size() && ok; ++k) {
            const char d = ent[k];
            if (std::isdigit(static_cast<unsigned char>(d))) cp = cp * (hex ? 16 : 10) + static_cast<gunichar>(d - '0');
            else if (hex && d >= 'a' && d <= 'f') cp = cp * 16 + static_cast<gunichar>(d - 'a' + 10);
            else ok = false;
            if (cp > 0x10FFFF) ok = false;
          }
          if (ok && g_unichar_validate(cp)) {
            char buf[8];
            rep.assign(buf, static_cast<size_t>(g_unichar_to_utf8(cp, buf)));
          }
        }
        if (!rep.empty()) {
          out += rep;
          i = semi + 1;
          continue;
        }
      }
    }
    if (c == '\r') {
      ++i;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  // Collapse runs of blank lines and trailing spaces.
  std::string clean;
  int blank = 0;
  for (std::string_view line : Lines(out)) {
    const std::string t = Trim(line);
    if (t.empty()) {
      if (++blank > 1) continue;
    } else {
      blank = 0;
    }
    clean += t;
    clean.push_back('\n');
  }
  return Trim(clean);
}

}  // namespace touchpoint::service

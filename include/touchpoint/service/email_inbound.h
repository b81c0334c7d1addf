// service/email_inbound.h — an inbound e-mail (RFC 5322 + MIME) as the desk needs it: sender,
// recipients, subject, threading ids, date, the customer's text without the quoted reply, and
// the attached files (docs/service-desk.md, "Channels").
//
// Parsing is GMime's (Debian libgmime-3.0: headers, RFC 2047 encoded words, MIME trees,
// quoted-printable and base64); this file adds what a desk must be strict about: a message
// without a sender address, a multipart without a boundary, a charset iconv does not know, text
// that is not valid in its charset, too many parts or too deep a tree — each refused with a
// reason (kInvalidArgument), never half-read. Body text is converted to UTF-8 with iconv
// (GB2312 is read as its superset GBK, then GB18030, as mail clients label GBK text GB2312).
//
// Thread safety: every function may be called from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>

namespace touchpoint::service {

struct InboundAttachment {
  std::string filename;      // decoded (RFC 2231/2047), as the sender named it; may be empty
  std::string content_type;  // as declared, lower case ("application/pdf")
  std::string data;          // transfer encoding removed
};

struct InboundEmail {
  std::string from_address;              // addr-spec, lower case
  std::string from_name;                 // display name, UTF-8; may be empty
  std::vector<std::string> to;           // addr-specs, lower case
  std::string subject;                   // UTF-8, encoded words decoded
  std::string message_id;                // without <>; empty when the message has none
  std::string in_reply_to;               // without <>
  std::vector<std::string> references;   // without <>, oldest first
  Millis date = 0;                       // from Date:; 0 when absent or unreadable
  std::string text;                      // the body as UTF-8 (text/plain preferred over text/html)
  std::string reply_text;                // text without the quoted earlier message and signature
  std::vector<InboundAttachment> attachments;
};

struct EmailLimits {
  size_t max_bytes = 32u << 20;  // the raw message
  int max_parts = 100;           // MIME leaves
  int max_depth = 8;             // multipart nesting
};

// kInvalidArgument naming what is wrong ("From: missing", "charset x-unknown: not supported", …).
Result<InboundEmail> ParseEmail(std::string_view raw, const EmailLimits& limits = {});

// The customer's own words of a reply: cuts at the first reliable marker of a quoted earlier
// message ("On … wrote:", "在 … 写道：", "-----Original Message-----", "------ 原始邮件 ------", an
// Outlook "From:/发件人:" block followed by "Sent:/Date:/发送时间:") and at a "-- " signature
// line, and drops trailing ">" lines. Returns the whole text (trimmed) when cutting would leave
// nothing.
std::string StripQuotedReply(std::string_view text);

// Visible text of an HTML body: tags dropped (script/style with their content), block ends and
// <br> as line breaks, the common entities and numeric references decoded.
std::string HtmlToText(std::string_view html);

// `bytes` in `charset` as UTF-8 (iconv; "gb2312" read as GBK, then GB18030). kInvalidArgument
// for an unknown charset or bytes that are not valid in it.
Result<std::string> ToUtf8(std::string_view bytes, std::string_view charset);

}  // namespace touchpoint::service

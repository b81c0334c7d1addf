// Request/Response helpers, JSON errors and request-target parsing (no Boost in this file).
#include <touchpoint/http/server.h>

#include <cstdio>

#include <touchpoint/core/json_text.h>

#include "http/target_internal.h"

namespace touchpoint::http {

const std::string* Request::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

std::string JsonEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  AppendJsonEscaped(out, text);
  return out;
}

Response JsonError(int status, std::string_view code, std::string_view message) {
  Response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = "{\"error\":{\"code\":\"" + JsonEscape(code) + "\",\"message\":\"" +
                  JsonEscape(message) + "\"}}";
  return response;
}

namespace internal {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

namespace {

Result<std::string> PercentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) {
      return Status::InvalidArgument("truncated %-escape in request path");
    }
    const int hi = HexValue(in[i + 1]);
    const int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("bad %-escape in request path");
    const int byte = hi * 16 + lo;
    if (byte == 0) return Status::InvalidArgument("encoded NUL in request path");
    out += static_cast<char>(byte);
    i += 2;
  }
  return out;
}

}  // namespace

Result<Target> ParseTarget(std::string_view target) {
  if (target.empty()) return Status::InvalidArgument("empty request target");
  if (target == "*") return Target{.path = "*", .query = ""};
  if (target.front() != '/') {
    // absolute-form: scheme "://" authority path-abempty [ "?" query ]
    const size_t scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos || scheme_end == 0) {
      return Status::InvalidArgument("request target is not a path");
    }
    const size_t path_start = target.find_first_of("/?", scheme_end + 3);
    if (path_start == std::string_view::npos) return Target{.path = "/", .query = ""};
    target.remove_prefix(path_start);
    if (target.front() == '?') {
      return Target{.path = "/", .query = std::string(target.substr(1))};
    }
  }
  Target out;
  const size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  TP_ASSIGN_OR_RETURN(out.path, PercentDecode(raw_path));
  return out;
}

std::string FormatHttpDate(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

bool IsHeaderName(std::string_view s) {
  if (s.empty()) return false;
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  for (char c : s) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && kExtra.find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool IsHeaderValue(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

namespace {

bool IsPlainHostName(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  if (h.front() == '[') {  // bracketed IPv6 literal
    if (h.size() < 3 || h.back() != ']') return false;
    for (char c : h.substr(1, h.size() - 2)) {
      const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
      if (!ok) return false;
    }
    return true;
  }
  for (char c : h) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string HttpsRedirectLocation(const std::string* host_header, std::string_view fallback_host,
                                  uint16_t https_port, std::string_view raw_target) {
  std::string_view host;
  if (host_header != nullptr) {
    std::string_view h = *host_header;
    if (!h.empty() && h.front() == '[') {
      const size_t close = h.find(']');
      host = close == std::string_view::npos ? std::string_view() : h.substr(0, close + 1);
    } else {
      host = h.substr(0, h.find(':'));
    }
  }
  std::string out = "https://";
  if (IsPlainHostName(host)) {
    out += host;
  } else if (fallback_host.find(':') != std::string_view::npos) {
    out += "[" + std::string(fallback_host) + "]";
  } else {
    out += fallback_host;
  }
  if (https_port != 443) out += ":" + std::to_string(https_port);
  bool origin_form = !raw_target.empty() && raw_target.front() == '/';
  for (char c : raw_target) {
    if (c <= ' ' || c > '~') origin_form = false;
  }
  out += origin_form ? raw_target : std::string_view("/");
  return out;
}

}  // namespace internal
}  // namespace touchpoint::http

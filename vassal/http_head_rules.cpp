#include "vassal/http_head_rules.hpp"

#include <vector>

#include "vassal/ascii.hpp"
#include "vassal/http_words.hpp"

namespace suz {

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

HeadProblem check_request_line(std::string_view line) {
  if (line.size() < 2 || line.substr(line.size() - 2) != "\r\n")
    return {400, "the request line does not end in CR LF"};
  line.remove_suffix(2);
  std::size_t sp = line.rfind(' ');
  std::string_view version = sp == std::string_view::npos ? line : line.substr(sp + 1);
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !is_digit(version[5]) || version[6] != '.' ||
      !is_digit(version[7]))
    return {400, "not an HTTP/1.x request line"};
  if (version[5] != '1') return {505, "HTTP version not supported"};
  return {};
}

bool split_target(std::string_view target, std::string_view method, std::string& path, std::string& query) {
  path.clear();
  query.clear();
  if (target.empty()) return false;
  if (target == "*") {
    if (method != "OPTIONS") return false;
    path = "*";
    return true;
  }
  if (method == "CONNECT") {  // authority-form: host:port, nothing else
    if (target.find_first_of("/?#@") != std::string_view::npos || target.find(':') == std::string_view::npos) return false;
    path = "/";
    return true;
  }
  std::string_view rest = target;
  if (target.front() != '/') {
    // absolute-form: scheme "://" authority, then the path
    std::size_t colon = target.find("://");
    if (colon == std::string_view::npos || colon == 0) return false;
    for (char c : target.substr(0, colon))
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '+' || c == '-' || c == '.')) return false;
    rest = target.substr(colon + 3);
    std::size_t path_at = rest.find_first_of("/?#");
    if (path_at == 0) return false;  // no authority
    rest = path_at == std::string_view::npos ? std::string_view() : rest.substr(path_at);
  }
  std::string_view no_fragment = rest.substr(0, rest.find('#'));
  std::size_t q = no_fragment.find('?');
  path = percent_decode(no_fragment.substr(0, q));
  if (q != std::string_view::npos) query = std::string(no_fragment.substr(q + 1));
  if (path.empty()) path = "/";
  return true;
}

HeadProblem check_field_names(const Request& r) {
  for (const auto& [name, value] : r.headers)
    if (!is_token(name)) return {400, "field name \"" + name + "\" is not a token"};
  return {};
}

void trim_field_values(Request& r) {
  for (auto& [name, value] : r.headers) {
    std::string_view t = ows_trimmed(value);
    if (t.size() != value.size()) value = std::string(t);
  }
}

HeadProblem check_singletons(const Request& r) {
  int hosts = 0, types = 0;
  for (const auto& [name, value] : r.headers) {
    if (iequals(name, "Host")) hosts++;
    if (iequals(name, "Content-Type")) types++;
  }
  if (hosts > 1) return {400, "more than one Host field"};
  if (types > 1) return {400, "more than one Content-Type field"};
  if (hosts == 0 && r.http_minor >= 1) return {400, "no Host field in an HTTP/1.1 request"};
  return {};
}

HeadProblem check_framing(const Request& r) {
  std::string codings;
  bool content_length = false;
  for (const auto& [name, value] : r.headers) {
    if (iequals(name, "Transfer-Encoding")) codings += (codings.empty() ? "" : ",") + value;
    if (iequals(name, "Content-Length")) content_length = true;
  }
  if (codings.empty()) return {};
  if (r.http_minor == 0) return {400, "Transfer-Encoding on an HTTP/1.0 request"};
  if (content_length) return {400, "both Content-Length and Transfer-Encoding"};
  std::vector<std::string_view> tokens;
  for_each_list_element(codings, [&](std::string_view token) {
    tokens.push_back(token);
    return false;
  });
  // RFC 9112 6.1: chunked must come last; other codings are not implemented here.
  if (tokens.empty() || !iequals(tokens.back(), "chunked") || !r.chunked)
    return {400, "Transfer-Encoding does not end in chunked: " + codings};
  if (tokens.size() > 1) return {501, "transfer coding not implemented: " + codings};
  return {};
}

HeadProblem check_expect(Request& r) {
  for (const auto& [name, value] : r.headers) {
    if (!iequals(name, "Expect")) continue;
    if (!iequals(value, "100-continue")) return {417, "unsupported Expect: " + value};
    r.expect_continue = true;
  }
  return {};
}

bool wants_keep_alive(const Request& r) {
  bool close = false, keep = false;
  for (const auto& [name, value] : r.headers) {
    if (!iequals(name, "Connection")) continue;
    close = close || contains_token(value, "close");
    keep = keep || contains_token(value, "keep-alive");
  }
  if (close) return false;
  return r.http_minor >= 1 || keep;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace suz

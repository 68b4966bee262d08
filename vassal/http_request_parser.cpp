#include "vassal/http_request_parser.hpp"


#include <cstring>
#include <vector>

#include "vassal/ascii.hpp"

namespace suz {
namespace {

const http_parser_settings kSettings = [] {
  http_parser_settings s;
  http_parser_settings_init(&s);
  return s;
}();

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

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

HttpRequestParser::HttpRequestParser(HttpLimits limits) : limits_(limits) { reset(); }

void HttpRequestParser::reset() {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  request_ = Request{};
  url_.clear();
  in_value_ = false;
  header_bytes_ = 0;
  body_piece_ = {};
  body_received_ = 0;
  head_complete_ = false;
  message_complete_ = false;
  error_status_ = 0;
  error_reason_.clear();
}

int HttpRequestParser::fail(int status, std::string reason) {
  error_status_ = status;
  error_reason_ = std::move(reason);
  return -1;
}

bool HttpRequestParser::count_header_bytes(std::size_t len) {
  header_bytes_ += len;
  return header_bytes_ <= limits_.max_header_size;
}

int HttpRequestParser::on_message_begin(http_parser*) { return 0; }

int HttpRequestParser::on_url(http_parser* p, const char* at, std::size_t len) {
  auto& s = self(p);
  if (!s.count_header_bytes(len)) return s.fail(414, "request target too long");
  s.url_.append(at, len);
  return 0;
}

int HttpRequestParser::on_header_field(http_parser* p, const char* at, std::size_t len) {
  auto& s = self(p);
  if (!s.count_header_bytes(len + 4)) return s.fail(431, "request headers too large");
  if (s.in_value_ || s.request_.headers.empty()) {
    s.request_.headers.emplace_back();
    s.in_value_ = false;
  }
  s.request_.headers.back().first.append(at, len);
  return 0;
}

int HttpRequestParser::on_header_value(http_parser* p, const char* at, std::size_t len) {
  auto& s = self(p);
  if (!s.count_header_bytes(len)) return s.fail(431, "request headers too large");
  // http-parser reports a value continued on the next line (obs-fold) as a
  // second piece of the same value, like a value split between two reads.
  // RFC 9112 lets a server reject obs-fold; rejecting leaves no room for a
  // proxy in front of us to read the header differently.
  if (s.in_value_ && !(s.value_at_chunk_end_ && at == s.chunk_begin_))
    return s.fail(400, "obs-fold: header " + s.request_.headers.back().first + " continued on the next line");
  s.value_at_chunk_end_ = at + len == s.chunk_end_;
  s.in_value_ = true;
  s.request_.headers.back().second.append(at, len);
  return 0;
}

bool HttpRequestParser::finish_head() {
  Request& r = request_;
  r.method = http_method_str(static_cast<http_method>(parser_.method));
  r.http_minor = parser_.http_minor;
  if (parser_.http_major != 1) return fail(505, "HTTP version not supported") == 0;
  r.protocol = parser_.http_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
  r.target = url_;
  r.head = parser_.method == HTTP_HEAD;
  r.keep_alive = http_should_keep_alive(&parser_) != 0;
  r.chunked = (parser_.flags & F_CHUNKED) != 0;
  if (!r.chunked && (parser_.flags & F_CONTENTLENGTH)) r.content_length = parser_.content_length;

  http_parser_url u;
  http_parser_url_init(&u);
  bool is_connect = parser_.method == HTTP_CONNECT;
  if (url_ == "*") {
    r.path = "*";
  } else if (http_parser_parse_url(url_.data(), url_.size(), is_connect, &u) != 0) {
    return fail(400, "malformed request target") == 0;
  } else {
    if (u.field_set & (1 << UF_PATH))
      r.path = percent_decode(std::string_view(url_).substr(u.field_data[UF_PATH].off, u.field_data[UF_PATH].len));
    if (u.field_set & (1 << UF_QUERY))
      r.query = url_.substr(u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
    if (r.path.empty()) r.path = "/";
  }
  if (std::string why = path_problem(r.path); !why.empty()) return fail(400, why) == 0;

  if (!check_transfer_encoding()) return false;
  for (const auto& [name, value] : r.headers) {
    if (iequals(name, "Expect")) {
      if (!iequals(value, "100-continue")) return fail(417, "unsupported Expect: " + value) == 0;
      r.expect_continue = true;
    }
  }
  std::uint64_t declared = r.content_length.value_or(0);
  if (limits_.max_body_size && declared > limits_.max_body_size)
    return fail(413, "request body of " + std::to_string(declared) + " bytes over the limit") == 0;
  head_complete_ = true;
  return true;
}

// Request smuggling lives in disagreements about where a body ends, so only
// one framing is accepted: Transfer-Encoding, if present, is exactly
// "chunked" (RFC 9112 6.1: chunked must come last; other codings are not
// implemented here), on HTTP/1.1, and never beside Content-Length.
bool HttpRequestParser::check_transfer_encoding() {
  std::string codings;
  bool content_length = false;
  for (const auto& [name, value] : request_.headers) {
    if (iequals(name, "Transfer-Encoding")) codings += (codings.empty() ? "" : ",") + value;
    if (iequals(name, "Content-Length")) content_length = true;
  }
  if (codings.empty()) return true;
  if (request_.http_minor == 0) return fail(400, "Transfer-Encoding on an HTTP/1.0 request") == 0;
  if (content_length) return fail(400, "both Content-Length and Transfer-Encoding") == 0;
  std::vector<std::string_view> tokens;
  for (std::string_view rest(codings); !rest.empty();) {
    std::size_t comma = rest.find(',');
    std::string_view token = rest.substr(0, comma);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (!token.empty()) tokens.push_back(token);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  if (tokens.empty() || !iequals(tokens.back(), "chunked") || !request_.chunked)
    return fail(400, "Transfer-Encoding does not end in chunked: " + codings) == 0;
  if (tokens.size() > 1) return fail(501, "transfer coding not implemented: " + codings) == 0;
  return true;
}

int HttpRequestParser::on_headers_complete(http_parser* p) {
  auto& s = self(p);
  if (!s.finish_head()) return -1;
  http_parser_pause(p, 1);
  return 0;
}

int HttpRequestParser::on_body(http_parser* p, const char* at, std::size_t len) {
  auto& s = self(p);
  s.body_received_ += len;
  if (s.limits_.max_body_size && s.body_received_ > s.limits_.max_body_size)
    return s.fail(413, "request body over the limit");
  s.body_piece_ = std::string_view(at, len);
  http_parser_pause(p, 1);
  return 0;
}

int HttpRequestParser::on_message_complete(http_parser* p) {
  auto& s = self(p);
  s.message_complete_ = true;
  http_parser_pause(p, 1);
  return 0;
}

std::size_t HttpRequestParser::feed(const char* data, std::size_t len, Stop* stop) {
  static const http_parser_settings settings = [] {
    http_parser_settings s = kSettings;
    s.on_message_begin = on_message_begin;
    s.on_url = on_url;
    s.on_header_field = on_header_field;
    s.on_header_value = on_header_value;
    s.on_headers_complete = on_headers_complete;
    s.on_body = on_body;
    s.on_message_complete = on_message_complete;
    return s;
  }();
  body_piece_ = {};
  if (message_complete_) {
    *stop = Stop::kComplete;
    return 0;
  }
  bool had_head = head_complete_;
  chunk_begin_ = data;
  chunk_end_ = data + len;
  http_parser_pause(&parser_, 0);
  std::size_t n = http_parser_execute(&parser_, &settings, data, len);
  auto err = HTTP_PARSER_ERRNO(&parser_);
  if (err != HPE_OK && err != HPE_PAUSED) {
    if (error_status_ == 0) {
      error_status_ = err == HPE_HEADER_OVERFLOW ? 431 : 400;
      error_reason_ = std::string(http_errno_name(err)) + ": " + http_errno_description(err);
    }
    *stop = Stop::kError;
    return n;
  }
  if (error_status_ != 0) *stop = Stop::kError;
  else if (!had_head && head_complete_) *stop = Stop::kHead;
  else if (!body_piece_.empty()) *stop = Stop::kBody;
  else if (message_complete_) *stop = Stop::kComplete;
  else *stop = Stop::kNeedMore;
  return n;
}

}  // namespace suz

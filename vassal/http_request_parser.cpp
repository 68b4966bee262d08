#include "vassal/http_request_parser.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "vassal/ascii.hpp"
#include "vassal/http_head_rules.hpp"

namespace suz {

const llhttp_settings_t& HttpRequestParser::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_url = on_url;
    s.on_header_field = on_header_field;
    s.on_header_value = on_header_value;
    s.on_headers_complete = on_headers_complete;
    s.on_body = on_body;
    s.on_chunk_header = on_chunk_header;
    s.on_message_complete = on_message_complete;
    return s;
  }();
  return s;
}

HttpRequestParser::HttpRequestParser(HttpLimits limits) : limits_(limits) { reset(); }

void HttpRequestParser::reset() {
  llhttp_init(&parser_, HTTP_REQUEST, &settings());  // strict: no llhttp_set_lenient_* ever
  parser_.data = this;
  request_ = Request{};
  request_line_.clear();
  request_line_done_ = false;
  method_unknown_ = false;
  prev_byte_ = '\n';
  last_chunk_ = false;
  in_trailers_ = false;
  trailer_name_.clear();
  trailer_value_seen_ = false;
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
  if (error_status_ == 0) {
    error_status_ = status;
    error_reason_ = std::move(reason);
  }
  return -1;
}

bool HttpRequestParser::count_header_bytes(std::size_t len) {
  header_bytes_ += len;
  return header_bytes_ <= limits_.max_header_size;
}

void HttpRequestParser::keep_request_line(const char* data, std::size_t len) {
  // Empty lines before the request line are skipped (RFC 9112 2.2).
  std::size_t i = 0;
  if (request_line_.empty())
    while (i < len && (data[i] == '\r' || data[i] == '\n')) ++i;
  const void* lf = std::memchr(data + i, '\n', len - i);
  std::size_t end = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - data) + 1 : len;
  if (request_line_.size() + (end - i) <= limits_.max_header_size + 2) request_line_.append(data + i, end - i);
  request_line_done_ = lf != nullptr;
}

int HttpRequestParser::on_url(llhttp_t* p, const char* at, std::size_t len) {
  auto& s = self(p);
  if (!s.count_header_bytes(len)) return s.fail(414, "request target too long");
  s.request_.target.append(at, len);
  return 0;
}

int HttpRequestParser::on_header_field(llhttp_t* p, const char* at, std::size_t len) {
  auto& s = self(p);
  if (s.head_complete_) return s.on_trailer_field(at, len);
  if (!s.count_header_bytes(len + 4)) return s.fail(431, "request headers too large");
  if (s.in_value_ || s.request_.headers.empty()) {
    s.request_.headers.emplace_back();
    s.in_value_ = false;
  }
  s.request_.headers.back().first.append(at, len);
  return 0;
}

int HttpRequestParser::on_header_value(llhttp_t* p, const char* at, std::size_t len) {
  auto& s = self(p);
  if (s.head_complete_) return s.check_trailer_field();
  if (!s.count_header_bytes(len)) return s.fail(431, "request headers too large");
  if (s.request_.headers.empty()) return s.fail(400, "a field value without a name");
  // llhttp reports a value continued on the next line (obs-fold) as a second
  // piece of the same value, like a value split between two reads. RFC 9112
  // lets a server reject obs-fold; rejecting leaves no room for a proxy in
  // front of us to read the field differently.
  if (s.in_value_ && !(s.value_at_chunk_end_ && at == s.chunk_begin_))
    return s.fail(400, "obs-fold: field " + s.request_.headers.back().first + " continued on the next line");
  s.value_at_chunk_end_ = at + len == s.chunk_end_;
  s.in_value_ = true;
  s.request_.headers.back().second.append(at, len);
  return 0;
}

// Trailer fields are not passed to the app; one that would change how the
// message is framed or routed is refused (RFC 9110 6.5.1).
int HttpRequestParser::on_trailer_field(const char* at, std::size_t len) {
  if (!count_header_bytes(len + 4)) return fail(431, "request trailers too large");
  if (trailer_value_seen_) {
    trailer_name_.clear();
    trailer_value_seen_ = false;
  }
  trailer_name_.append(at, len);
  return 0;
}

int HttpRequestParser::check_trailer_field() {
  if (trailer_value_seen_) return 0;
  trailer_value_seen_ = true;
  if (!is_token(trailer_name_)) return fail(400, "trailer field name \"" + trailer_name_ + "\" is not a token");
  for (const char* forbidden : {"Content-Length", "Transfer-Encoding", "Host", "TE", "Connection", "Content-Type"})
    if (iequals(trailer_name_, forbidden)) return fail(400, "a " + trailer_name_ + " field in the trailers");
  return 0;
}

bool HttpRequestParser::finish_head() {
  Request& r = request_;
  if (!request_line_done_) return fail(400, "malformed request line") == 0;
  if (HeadProblem bad = check_request_line(request_line_)) return fail(bad.status, bad.why) == 0;
  r.method = llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
  r.http_minor = parser_.http_minor;
  r.protocol = parser_.http_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
  r.head = parser_.method == HTTP_HEAD;
  r.chunked = (parser_.flags & F_CHUNKED) != 0;
  if (!r.chunked && (parser_.flags & F_CONTENT_LENGTH)) r.content_length = parser_.content_length;
  trim_field_values(r);
  r.keep_alive = wants_keep_alive(r);
  if (!split_target(r.target, r.method, r.path, r.query))
    return fail(400, "malformed request target") == 0;
  if (std::string why = path_problem(r.path); !why.empty()) return fail(400, why) == 0;
  for (HeadProblem bad : {check_field_names(r), check_singletons(r), check_framing(r), check_expect(r)})
    if (bad) return fail(bad.status, bad.why) == 0;
  std::uint64_t declared = r.content_length.value_or(0);
  if (limits_.max_body_size && declared > limits_.max_body_size)
    return fail(413, "request body of " + std::to_string(declared) + " bytes over the limit") == 0;
  head_complete_ = true;
  return true;
}

int HttpRequestParser::on_headers_complete(llhttp_t* p) {
  auto& s = self(p);
  if (!s.finish_head()) return -1;
  return HPE_PAUSED;
}

int HttpRequestParser::on_body(llhttp_t* p, const char* at, std::size_t len) {
  auto& s = self(p);
  s.body_received_ += len;
  if (s.limits_.max_body_size && s.body_received_ > s.limits_.max_body_size)
    return s.fail(413, "request body over the limit");
  s.body_piece_ = std::string_view(at, len);
  return HPE_PAUSED;
}

int HttpRequestParser::on_chunk_header(llhttp_t* p) {
  auto& s = self(p);
  // The chunk's size is known before its bytes: refused now, not after
  // max_body_size of them.
  if (s.limits_.max_body_size && p->content_length > s.limits_.max_body_size - std::min(s.body_received_, s.limits_.max_body_size))
    return s.fail(413, "request body over the limit");
  if (p->content_length == 0) {
    s.last_chunk_ = true;
    return HPE_PAUSED;  // feed() checks the trailer section's line ends
  }
  return 0;
}

int HttpRequestParser::on_message_complete(llhttp_t* p) {
  self(p).message_complete_ = true;
  return HPE_PAUSED;
}

void HttpRequestParser::fail_from_llhttp(llhttp_errno_t err) {
  if (err == HPE_INVALID_METHOD) {
    // Which answer depends on the whole request line: wait for its end.
    method_unknown_ = true;
    if (request_line_done_ || !method_may_be_token()) judge_unknown_method();
    return;
  }
  if (err == HPE_INVALID_VERSION) {
    // "HTTP/2.0", "HTTP/1.2": a version, not one of ours. Anything else
    // there (a bare CR after it, "HTTP/x") is a malformed line.
    std::size_t at = request_line_.rfind(" HTTP/");
    std::string_view v = at == std::string::npos ? std::string_view() : std::string_view(request_line_).substr(at + 6);
    if (v.size() >= 3 && std::isdigit(static_cast<unsigned char>(v[0])) && v[1] == '.' &&
        std::isdigit(static_cast<unsigned char>(v[2])) && v.substr(0, 3) != "1.0" && v.substr(0, 3) != "1.1") {
      fail(505, "HTTP version not supported");
      return;
    }
  }
  const char* reason = llhttp_get_error_reason(&parser_);
  fail(400, std::string(llhttp_errno_name(err)) + ": " + (reason ? reason : "malformed request"));
}

bool HttpRequestParser::method_may_be_token() const {
  std::string_view line(request_line_);
  std::string_view method = line.substr(0, line.find(' '));
  return method.empty() || is_token(method);
}

void HttpRequestParser::judge_unknown_method() {
  // A well-formed request line with a method we do not know is not
  // implemented (501); bytes that are no request line are a bad request.
  std::string_view line(request_line_);
  std::string_view method = line.substr(0, line.find(' '));
  if (is_token(method) && !check_request_line(line)) fail(501, "method not implemented: " + std::string(method));
  else fail(400, "malformed request line");
}

// llhttp 8.1 takes a CR followed by any byte as the end of the field
// section ("Host: a\r\n\rX"), and a bare LF after the request line: the
// head's and the trailers' bytes are checked here, every CR followed by LF
// and every LF preceded by CR, before anything they framed is used.
bool HttpRequestParser::line_ends_ok(const char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    char c = p[i];
    if ((prev_byte_ == '\r') != (c == '\n')) return false;
    prev_byte_ = c;
  }
  return true;
}

std::size_t HttpRequestParser::execute(const char* data, std::size_t len) {
  chunk_begin_ = data;
  chunk_end_ = data + len;
  bool checking = !head_complete_ || in_trailers_;
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  const char* pos = llhttp_get_error_pos(&parser_);
  std::size_t used = err == HPE_OK || !pos || pos < data || pos > data + len ? len : static_cast<std::size_t>(pos - data);
  if (err == HPE_PAUSED) llhttp_resume(&parser_);
  else if (err != HPE_OK) fail_from_llhttp(err);  // keeps a status a callback already chose
  if (checking && !line_ends_ok(data, used)) fail(400, "a line ending in a bare CR or a bare LF");
  return used;
}

std::size_t HttpRequestParser::feed(const char* data, std::size_t len, Stop* stop) {
  body_piece_ = {};
  if (message_complete_) {
    *stop = Stop::kComplete;
    return 0;
  }
  if (error_status_ != 0) {
    *stop = Stop::kError;
    return 0;
  }
  bool had_head = head_complete_;
  if (!request_line_done_) keep_request_line(data, len);
  std::size_t used = 0;
  if (!method_unknown_) {
    used = execute(data, len);
    if (last_chunk_ && !in_trailers_ && error_status_ == 0) {
      // Paused after the last chunk's size line: what follows, up to the
      // message's end, is the trailer section.
      in_trailers_ = true;
      prev_byte_ = '\n';
      used += execute(data + used, len - used);
    }
  }
  if (method_unknown_ && error_status_ == 0) {  // llhttp stopped at the method: only the line's end is awaited
    if (request_line_done_ || !method_may_be_token()) judge_unknown_method();
    else if (request_line_.size() > limits_.max_header_size) fail(400, "malformed request line");
    used = len;
  }
  if (error_status_ != 0) *stop = Stop::kError;
  else if (!had_head && head_complete_) *stop = Stop::kHead;
  else if (!body_piece_.empty()) *stop = Stop::kBody;
  else if (message_complete_) *stop = Stop::kComplete;
  else *stop = Stop::kNeedMore;
  return used;
}

}  // namespace suz

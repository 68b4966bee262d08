#pragma once
// An HTTP/1.1 request parser over llhttp in its strict mode (no lenient flag
// is ever set), with the rules llhttp 8.1 leaves to its user on top
// (http_head_rules.hpp): a request line that is exactly HTTP/1.x and ends in
// CR LF, one Host on HTTP/1.1, field values trimmed, one body framing.
// Streaming: the head, each body piece and the message end are separate
// stops, so a body is never buffered whole and pipelined bytes are left for
// the next request.
//
// feed() consumes bytes and stops at the first of: the head is complete, a
// piece of body is available, the message is complete, or an error.
#include <llhttp.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "vassal/request.hpp"

namespace suz {

struct HttpLimits {
  std::size_t max_header_size = 32 * 1024;  // request line and headers
  std::uint64_t max_body_size = 0;          // 0: unlimited
};

class HttpRequestParser {
 public:
  enum class Stop { kNeedMore, kHead, kBody, kComplete, kError };

  explicit HttpRequestParser(HttpLimits limits);
  HttpRequestParser(const HttpRequestParser&) = delete;
  HttpRequestParser& operator=(const HttpRequestParser&) = delete;

  // Consumes a prefix of data; *stop says why it stopped. Body bytes are
  // reported through body_piece() (valid until the next feed).
  std::size_t feed(const char* data, std::size_t len, Stop* stop);

  Request& request() { return request_; }
  std::string_view body_piece() const { return body_piece_; }
  bool head_complete() const { return head_complete_; }
  bool message_complete() const { return message_complete_; }
  std::uint64_t body_received() const { return body_received_; }

  // After kError: the status to answer with (400, 413, 414, 417, 431, 501, 505) and why.
  int error_status() const { return error_status_; }
  const std::string& error_reason() const { return error_reason_; }

  // Ready for the next request on the same connection.
  void reset();

 private:
  static int on_url(llhttp_t* p, const char* at, std::size_t len);
  static int on_header_field(llhttp_t* p, const char* at, std::size_t len);
  static int on_header_value(llhttp_t* p, const char* at, std::size_t len);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, std::size_t len);
  static int on_chunk_header(llhttp_t* p);
  static int on_message_complete(llhttp_t* p);
  static HttpRequestParser& self(llhttp_t* p) { return *static_cast<HttpRequestParser*>(p->data); }
  static const llhttp_settings_t& settings();

  int fail(int status, std::string reason);
  bool count_header_bytes(std::size_t len);
  void keep_request_line(const char* data, std::size_t len);
  bool finish_head();
  void fail_from_llhttp(llhttp_errno_t err);
  void judge_unknown_method();
  std::size_t execute(const char* data, std::size_t len);
  bool line_ends_ok(const char* p, std::size_t n);
  int on_trailer_field(const char* at, std::size_t len);
  int check_trailer_field();
  bool method_may_be_token() const;  // so far

  HttpLimits limits_;
  llhttp_t parser_;
  Request request_;
  // The request line's bytes up to its LF: llhttp 8.1 also takes RTSP/ and
  // ICE/ versions, and a bare LF ending that line.
  std::string request_line_;
  bool request_line_done_ = false;
  bool method_unknown_ = false;  // llhttp refused the method; the line decides 501 or 400
  char prev_byte_ = '\n';     // the last head or trailer byte checked: a CR wants LF next
  bool last_chunk_ = false;   // the zero-size chunk's line was read
  bool in_trailers_ = false;
  std::string trailer_name_;
  bool trailer_value_seen_ = false;
  bool in_value_ = false;
  // The bytes of the current feed(), and whether the last header value piece
  // ended with them: tells a value split across reads from an obs-fold.
  const char* chunk_begin_ = nullptr;
  const char* chunk_end_ = nullptr;
  bool value_at_chunk_end_ = false;
  std::size_t header_bytes_ = 0;
  std::string_view body_piece_;
  std::uint64_t body_received_ = 0;
  bool head_complete_ = false;
  bool message_complete_ = false;
  int error_status_ = 0;
  std::string error_reason_;
};

}  // namespace suz

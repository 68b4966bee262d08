#pragma once
// What a request head must be beyond what llhttp 8.1 checks, each rule a
// function of the head alone (unit-tested in tests/unit/http_parser_test.cpp).
// RFC 9112 is the reference; where it lets a server choose, the stricter
// choice leaves no room for a proxy in front to read a request differently.
#include <string>
#include <string_view>

#include "vassal/request.hpp"

namespace suz {

// Why a head is refused, and the status that says so; status 0: it is not.
struct HeadProblem {
  int status = 0;
  std::string why;
  explicit operator bool() const { return status != 0; }
};

// The request line with its line end, as received: METHOD SP TARGET SP
// HTTP/1.x CRLF. A bare LF, or another protocol (RTSP/1.0, ICE/1.0), is 400;
// a major version other than 1 is 505.
HeadProblem check_request_line(std::string_view line);

// Splits an origin-form ("/a%20b?q=1"), absolute-form ("http://h/a?q") or
// authority-form (CONNECT's "h:443") target, or OPTIONS's "*". The path is
// percent-decoded, the query kept raw. False if it is none of those.
bool split_target(std::string_view target, std::string_view method, std::string& path, std::string& query);

// Every field name is a token: llhttp 8.1 lets "X-Name : v" and "Bad Name: v"
// through for fields it does not know, which a proxy may read otherwise.
HeadProblem check_field_names(const Request& r);

// Leading and trailing spaces and tabs (OWS) are not part of a field value.
void trim_field_values(Request& r);

// HTTP/1.1 needs exactly one Host, HTTP/1.0 at most one; and one
// Content-Type (two would let the app and a proxy in front disagree).
HeadProblem check_singletons(const Request& r);

// Request smuggling lives in disagreements about where a body ends, so only
// one framing is accepted: Transfer-Encoding, if present, is exactly
// "chunked", on HTTP/1.1, never beside Content-Length.
HeadProblem check_framing(const Request& r);

// Expect: only 100-continue (417 otherwise); sets r.expect_continue.
HeadProblem check_expect(Request& r);

// What the Connection field and the version ask for.
bool wants_keep_alive(const Request& r);

// A method, a field name: RFC 9110's token characters, at least one.
bool is_token(std::string_view s);

// "%2Fa%20b" -> "/a b"; invalid escapes are kept as they are.
std::string percent_decode(std::string_view s);

}  // namespace suz

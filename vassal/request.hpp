#pragma once
// One parsed request, the same for HTTP/1.1 and the uwsgi protocol: what the
// app sees, before it is turned into a WSGI environ.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace suz {

// Why a decoded path cannot go to the app ("" if it can), the same rule for
// HTTP and uwsgi: a NUL ends the path early in any C code below the app
// (open(2), a proxied URL), so the app would check one path and use another.
inline std::string path_problem(const std::string& path) {
  return path.find('\0') == std::string::npos ? "" : "NUL byte in the request path";
}

struct Request {
  std::string method;      // "GET"
  std::string target;      // raw request target: "/path%20x?q=1"
  std::string path;        // percent-decoded path, bytes as sent: "/path x"
  std::string query;       // raw query string: "q=1"
  std::string protocol;    // "HTTP/1.1"
  // Header names as sent, in order; duplicates kept (the WSGI layer joins them).
  std::vector<std::pair<std::string, std::string>> headers;
  // uwsgi only: CGI variables exactly as the front end sent them.
  std::vector<std::pair<std::string, std::string>> cgi_vars;

  std::optional<std::uint64_t> content_length;  // absent: no body, or chunked
  bool chunked = false;
  bool keep_alive = false;       // what the client asked for
  bool expect_continue = false;  // "Expect: 100-continue"
  bool head = false;             // HEAD: the response carries no body
  int http_minor = 1;

  std::string remote_addr, remote_port;
  std::string server_name, server_port;
  std::string url_scheme = "http";

  bool has_body() const { return chunked || content_length.value_or(0) > 0; }
};

}  // namespace suz

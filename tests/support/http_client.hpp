#pragma once
// A deliberately small HTTP/1.1 client for tests: it sends raw bytes (so a
// test can send malformed requests) and parses responses with http-parser.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/fd.hpp"

namespace suz::test {

struct HttpResponse {
  int status = 0;
  std::multimap<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool chunked = false;
  bool keep_alive = false;
  std::string header(const std::string& lower_name) const;
};

class HttpClient {
 public:
  explicit HttpClient(int port, std::string host = "127.0.0.1");
  explicit HttpClient(const std::string& unix_path);
  // Sends raw bytes.
  void send(const std::string& bytes);
  // Reads exactly one response (or nullopt if the connection closed first or
  // the timeout passed). head_request: the response has no body.
  std::optional<HttpResponse> receive(std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                      bool head_request = false);
  // True if the server closed the connection (EOF) within the timeout.
  bool closed_by_server(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  int fd() const { return fd_.get(); }

 private:
  Fd fd_;
  std::string pending_;  // bytes received past the last response
};

// One request on a fresh connection: "GET /path" style convenience.
std::optional<HttpResponse> http_get(int port, const std::string& path,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(10));
// A uwsgi request packet (modifier1 0) carrying these CGI variables.
std::string uwsgi_packet(const std::vector<std::pair<std::string, std::string>>& vars);
// GET / on a fresh connection is answered 200.
bool serves(int port);
// A connection to 127.0.0.1:port is refused (nothing listens there).
bool refuses(int port);

}  // namespace suz::test

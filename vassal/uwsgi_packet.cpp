#include "vassal/uwsgi_packet.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

#include "vassal/http_head_rules.hpp"

namespace suz {
namespace {

std::uint16_t u16(const char* p) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(p[0]) | (static_cast<unsigned char>(p[1]) << 8));
}

std::optional<std::uint64_t> content_length(const std::string& value) {
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || ptr != value.data() + value.size()) return std::nullopt;
  return n;
}

}  // namespace

std::size_t uwsgi_packet_size(const char* header) { return kUwsgiHeaderSize + u16(header + 1); }

std::string parse_uwsgi_packet(const char* data, std::size_t len, Request& r) {
  if (len < kUwsgiHeaderSize || uwsgi_packet_size(data) != len) return "truncated packet";
  if (data[0] != 0) return "unsupported modifier1 " + std::to_string(static_cast<unsigned char>(data[0]));
  const char* p = data + kUwsgiHeaderSize;
  const char* end = data + len;
  std::vector<std::pair<std::string, std::string>> folded;
  while (p < end) {
    if (end - p < 2) return "truncated key length";
    std::size_t klen = u16(p);
    p += 2;
    if (static_cast<std::size_t>(end - p) < klen + 2) return "truncated key";
    std::string key(p, klen);
    p += klen;
    std::size_t vlen = u16(p);
    p += 2;
    if (static_cast<std::size_t>(end - p) < vlen) return "truncated value of " + key;
    std::string value(p, vlen);
    p += vlen;
    // nginx forwards every header as HTTP_*, Content-Length and Content-Type
    // too; CGI (and PEP 3333) has them only as CONTENT_LENGTH and CONTENT_TYPE.
    if (key == "HTTP_CONTENT_LENGTH" || key == "HTTP_CONTENT_TYPE") {
      folded.emplace_back(key.substr(5), std::move(value));
      continue;
    }
    if (key == "REQUEST_METHOD") r.method = value;
    else if (key == "REQUEST_URI") r.target = value;
    else if (key == "PATH_INFO") r.path = value;
    else if (key == "QUERY_STRING") r.query = value;
    else if (key == "SERVER_PROTOCOL") r.protocol = value;
    else if (key == "REMOTE_ADDR") r.remote_addr = value;
    else if (key == "REMOTE_PORT") r.remote_port = value;
    else if (key == "SERVER_NAME") r.server_name = value;
    else if (key == "SERVER_PORT") r.server_port = value;
    else if (key == "HTTPS" && (value == "on" || value == "1")) r.url_scheme = "https";
    else if (key == "REQUEST_SCHEME") r.url_scheme = value;
    else if (key == "CONTENT_LENGTH" && !value.empty()) {
      r.content_length = content_length(value);
      if (!r.content_length) return "bad CONTENT_LENGTH \"" + value + "\"";
    }
    r.cgi_vars.emplace_back(std::move(key), std::move(value));
  }
  for (auto& var : folded) {
    bool present = std::any_of(r.cgi_vars.begin(), r.cgi_vars.end(), [&](const auto& kv) { return kv.first == var.first; });
    if (present) continue;
    if (var.first == "CONTENT_LENGTH") {
      r.content_length = content_length(var.second);
      if (!r.content_length) return "bad Content-Length \"" + var.second + "\"";
    }
    r.cgi_vars.push_back(std::move(var));
  }
  if (r.method.empty()) return "no REQUEST_METHOD";
  if (r.path.empty()) {  // PATH_INFO is optional in some front ends: derive it from REQUEST_URI
    std::string_view uri = r.target;
    r.path = percent_decode(uri.substr(0, uri.find('?')));
  }
  if (std::string why = path_problem(r.path); !why.empty()) return why;
  if (r.protocol.empty()) r.protocol = "HTTP/1.0";
  r.head = r.method == "HEAD";
  r.keep_alive = false;  // one request per connection, as nginx's uwsgi module does
  return "";
}

}  // namespace suz

#include "tests/support/http_client.hpp"

#include <llhttp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <system_error>

#include "core/socket.hpp"

namespace suz::test {
namespace {

struct ParseState {
  HttpResponse response;
  std::string field;
  bool in_value = false;
  bool complete = false;
};

int on_header_field(llhttp_t* p, const char* at, std::size_t len) {
  auto* s = static_cast<ParseState*>(p->data);
  if (s->in_value) {
    s->field.clear();
    s->in_value = false;
  }
  s->field.append(at, len);
  return 0;
}

int on_header_value(llhttp_t* p, const char* at, std::size_t len) {
  auto* s = static_cast<ParseState*>(p->data);
  std::string name = s->field;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!s->in_value) s->response.headers.emplace(name, "");
  s->in_value = true;
  auto it = s->response.headers.equal_range(name);
  std::prev(it.second)->second.append(at, len);
  return 0;
}

int on_body(llhttp_t* p, const char* at, std::size_t len) {
  static_cast<ParseState*>(p->data)->response.body.append(at, len);
  return 0;
}

int on_message_complete(llhttp_t* p) {
  auto* s = static_cast<ParseState*>(p->data);
  s->complete = true;
  s->response.status = static_cast<int>(p->status_code);
  s->response.chunked = (p->flags & F_CHUNKED) != 0;
  s->response.keep_alive = llhttp_should_keep_alive(p) != 0;
  return HPE_PAUSED;
}

int on_headers_complete_head(llhttp_t*) { return 1; }  // HEAD: no body follows

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

HttpClient::HttpClient(int port, std::string host) {
  ListenAddress a;
  a.host = std::move(host);
  a.port = static_cast<std::uint16_t>(port);
  fd_ = connect_to(a);
}

HttpClient::HttpClient(const std::string& unix_path) {
  ListenAddress a;
  a.kind = ListenAddress::Kind::kUnix;
  a.path = unix_path;
  fd_ = connect_to(a);
}

void HttpClient::send(const std::string& bytes) {
  if (!write_all(fd_.get(), bytes.data(), bytes.size()))
    throw std::system_error(errno, std::generic_category(), "send");
}

std::optional<HttpResponse> HttpClient::receive(std::chrono::milliseconds timeout, bool head_request) {
  llhttp_settings_t settings;
  llhttp_settings_init(&settings);
  settings.on_header_field = on_header_field;
  settings.on_header_value = on_header_value;
  settings.on_body = on_body;
  settings.on_message_complete = on_message_complete;
  if (head_request) settings.on_headers_complete = on_headers_complete_head;
  ParseState state;
  llhttp_t parser;
  llhttp_init(&parser, HTTP_RESPONSE, &settings);
  parser.data = &state;

  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string data = std::move(pending_);
  pending_.clear();
  for (;;) {
    if (!data.empty()) {
      llhttp_errno_t err = llhttp_execute(&parser, data.data(), data.size());
      if (state.complete) {
        std::size_t n = err == HPE_PAUSED ? static_cast<std::size_t>(llhttp_get_error_pos(&parser) - data.data()) : data.size();
        pending_ = data.substr(n);
        // 1xx responses (100 Continue) are not the final response: keep reading.
        if (state.response.status >= 100 && state.response.status < 200) return receive(timeout, head_request);
        return state.response;
      }
      if (err != HPE_OK) return std::nullopt;
      data.clear();
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd_.get(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
    char buf[65536];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n <= 0) {
      // EOF may complete a close-delimited body.
      llhttp_finish(&parser);
      if (state.complete) return state.response;
      return std::nullopt;
    }
    data.assign(buf, static_cast<std::size_t>(n));
  }
}

bool HttpClient::closed_by_server(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd_.get(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

std::optional<HttpResponse> http_get(int port, const std::string& path, std::chrono::milliseconds timeout) {
  HttpClient client(port);
  client.send("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
  return client.receive(timeout);
}

bool serves(int port) {
  auto r = http_get(port, "/");
  return r && r->status == 200;
}

bool refuses(int port) {
  try {
    connect_to(ListenAddress{ListenAddress::Kind::kTcp, "127.0.0.1", static_cast<std::uint16_t>(port), ""});
    return false;
  } catch (const std::exception&) {
    return true;
  }
}

std::string uwsgi_packet(const std::vector<std::pair<std::string, std::string>>& vars) {
  std::string body;
  for (const auto& [k, v] : vars) {
    body += static_cast<char>(k.size() & 0xff);
    body += static_cast<char>(k.size() >> 8);
    body += k;
    body += static_cast<char>(v.size() & 0xff);
    body += static_cast<char>(v.size() >> 8);
    body += v;
  }
  std::string packet(4, '\0');
  packet[1] = static_cast<char>(body.size() & 0xff);
  packet[2] = static_cast<char>(body.size() >> 8);
  return packet + body;
}

}  // namespace suz::test
